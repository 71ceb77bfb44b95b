"""OCR views: several crops of one box vote slot by slot, only the views that agree on the plate's length."""

from __future__ import annotations

import numpy as np

from edge.frames import VideoFileSource
from edge.ocr import OcrResult, PlateReader, fuse_views
from edge.pipeline import PipelineSettings, read_boxes
from edge.service import EdgeSettings
from models.synth.scenes import render_scene

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_"
SLOTS = 10


def _view(text: str, sure: float = 0.9) -> OcrResult:
    """A reading whose best character per slot spells `text`, each with probability `sure`."""
    out = np.full((SLOTS, len(ALPHABET)), (1 - sure) / (len(ALPHABET) - 1), dtype=np.float32)
    for i in range(SLOTS):
        out[i, ALPHABET.index(text[i] if i < len(text) else "_")] = sure
    return OcrResult(out)


def _text(result: OcrResult) -> str:
    return "".join(ALPHABET[i] for i in result.probs.argmax(axis=1) if ALPHABET[i] != "_")


def test_a_character_one_view_misreads_is_outvoted_by_the_others() -> None:
    fused = fuse_views([_view("GB801B"), _view("GBB01B"), _view("GBB01B")], ALPHABET, "_")
    assert _text(fused) == "GBB01B"
    assert fused.probs.shape == (SLOTS, len(ALPHABET))
    assert np.allclose(fused.probs.sum(axis=1), 1.0, atol=1e-5)


def test_a_view_of_another_length_is_left_out_rather_than_blurring_the_slots() -> None:
    views = [_view("GBB01B", 0.8), _view("GBB01B", 0.7), _view("GBXB01B", 0.99)]
    fused = fuse_views(views, ALPHABET, "_")
    assert _text(fused) == "GBB01B"
    # The average of the two agreeing views only: the 7-character view added nothing.
    assert np.allclose(fused.probs, (views[0].probs + views[1].probs) / 2)


def test_a_tie_in_length_goes_to_the_views_the_ocr_is_surer_of() -> None:
    fused = fuse_views([_view("GBB01", 0.5), _view("GBB01B", 0.95)], ALPHABET, "_")
    assert _text(fused) == "GBB01B"


def test_one_view_is_the_reading_itself() -> None:
    view = _view("GBB01B")
    assert fuse_views([view], ALPHABET, "_") is view


class _CountingReader:
    """The committed OCR, counting its batches."""

    def __init__(self, reader: PlateReader) -> None:
        self.reader, self.batches = reader, 0
        self.model_version, self.alphabet, self.pad_char = reader.model_version, reader.alphabet, reader.pad_char

    def read(self, crops: list[np.ndarray]) -> list[OcrResult]:
        self.batches += 1
        return self.reader.read(crops)


def test_every_box_is_read_at_every_margin_in_one_batch_and_gives_one_fused_reading() -> None:
    settings = EdgeSettings(source=VideoFileSource(path="unused.mp4"))
    reader = _CountingReader(PlateReader(settings.ocr_model, settings.ocr_config, threads=1))
    margins = PipelineSettings(vehicle_id="t", camera_id="t").ocr_margins  # the edge's own
    assert len(margins) > 1
    right = total = 0
    for index in range(6):
        scene = render_scene(np.random.default_rng([303, 9000 + index]))
        boxes = [(p.x1, p.y1, p.x2, p.y2) for p in scene.plates]
        results = read_boxes(reader, scene.image, boxes, margins)
        assert reader.batches == index + 1 and len(results) == len(boxes)
        right += sum(reader.reader.decode(r.probs) == p.text for r, p in zip(results, scene.plates, strict=True))
        total += len(boxes)
    assert total >= 6 and right >= 0.75 * total, (right, total)
    assert read_boxes(reader, scene.image, [], margins) == []


def test_the_committed_ocr_gives_its_ctc_columns_and_fused_views_keep_every_view() -> None:
    settings = EdgeSettings(source=VideoFileSource(path="unused.mp4"))
    reader = PlateReader(settings.ocr_model, settings.ocr_config, threads=1)
    scene = render_scene(np.random.default_rng([303, 9000]))
    box = (scene.plates[0].x1, scene.plates[0].y1, scene.plates[0].x2, scene.plates[0].y2)
    margins = PipelineSettings(vehicle_id="t", camera_id="t").ocr_margins
    (fused,) = read_boxes(reader, scene.image, [box], margins)
    assert fused.columns is not None and fused.columns.shape == (len(margins), 40, len(ALPHABET))
    assert np.allclose(fused.columns.sum(axis=2), 1.0, atol=1e-4)
    # The slots are the greedy collapse of the columns: the best view's columns spell the view's own slots.
    (view,) = reader.read([scene.image[box[1] : box[3], box[0] : box[2]]])
    assert view.columns is not None
    best = view.columns[0].argmax(axis=1)
    collapsed = "".join(ALPHABET[c] for i, c in enumerate(best) if ALPHABET[c] != "_" and (i == 0 or c != best[i - 1]))
    assert collapsed == reader.decode(view.probs)
