"""Smeared plates: the smear's length is found on the box, undone, and read as more views of the box."""

from __future__ import annotations

import cv2
import numpy as np

from edge.deblur import DeblurSettings, deblurred, deconvolve, smear_px
from edge.frames import VideoFileSource
from edge.ocr import OcrResult, PlateReader
from edge.pipeline import read_boxes
from edge.service import EdgeSettings
from models.synth.scenes import render_scene

BOX = (60, 40, 260, 90)


def _smear(img: np.ndarray, length: int) -> np.ndarray:
    """A horizontal motion smear of `length` pixels, drawn as the synthetic camera draws it."""
    return cv2.filter2D(img, -1, np.full((1, length), 1.0 / length, np.float32))


def test_a_plate_smeared_more_than_its_strokes_are_wide_has_its_smear_found() -> None:
    found = []
    for index in range(8):
        scene = render_scene(np.random.default_rng([303, 9100 + index]), camera=False)  # sharp street scenes
        for plate in scene.plates:
            box = (plate.x1, plate.y1, plate.x2, plate.y2)
            for length in (5, 7, 9):
                got = smear_px(_smear(scene.image, length), box, DeblurSettings())
                found.append((plate.x2 - plate.x1, length, got))
    assert len(found) >= 30
    assert all(got == length for width, length, got in found if width <= 200)  # exactly, on plates up to 200 px
    assert all(abs(got - length) <= 1 for _, length, got in found)  # wider plates' own strokes pull it by one


def test_a_patch_with_nothing_repeated_shows_no_smear() -> None:
    flat = np.full((130, 320, 3), 128, np.uint8)
    assert smear_px(flat, BOX, DeblurSettings()) == 0
    noise = _smear(np.random.default_rng(1).integers(0, 255, (130, 320, 3), np.uint8), 5)
    assert smear_px(noise, (0, 0, 8, 8), DeblurSettings()) == 0  # a box too narrow to tell


def test_undoing_a_smear_sharpens_an_edge_again() -> None:
    edge = np.full((20, 120, 3), 40, np.uint8)
    edge[:, 60:] = 200

    def rise(img: np.ndarray) -> int:  # pixels from 10 % to 90 % of the step
        row = img[10, :, 0].astype(np.float32)
        return int(np.argmax(row > 184) - np.argmax(row > 56))

    smeared = _smear(edge, 6)
    restored = deconvolve(smeared, 6, DeblurSettings().wiener_k)
    assert restored.shape == smeared.shape and restored.dtype == np.uint8
    assert rise(edge) == 0 and rise(smeared) == 5 and rise(restored) <= 3


def test_the_deconvolved_surroundings_hold_the_box_at_the_same_place() -> None:
    scene = render_scene(np.random.default_rng([303, 9100]), camera=False)
    plate = scene.plates[0]
    box = (plate.x1, plate.y1, plate.x2, plate.y2)
    got = deblurred(_smear(scene.image, 7), box, DeblurSettings())
    assert got is not None
    region, (x1, y1, x2, y2) = got
    assert (x2 - x1, y2 - y1) == (box[2] - box[0], box[3] - box[1])
    assert x1 >= 0.16 * (x2 - x1) and y1 >= 0.16 * (y2 - y1)  # the widest OCR view's margin is inside it
    assert region.shape[1] - x2 >= 0.16 * (x2 - x1) and region.shape[0] - y2 >= 0.16 * (y2 - y1)
    assert deblurred(np.full((130, 320, 3), 128, np.uint8), BOX, DeblurSettings()) is None  # nothing to undo


class _CountingReader:
    """The committed OCR, counting the crops it reads."""

    def __init__(self) -> None:
        settings = EdgeSettings(source=VideoFileSource(path="unused.mp4"))
        self.reader, self.crops = PlateReader(settings.ocr_model, settings.ocr_config, threads=1), 0
        self.model_version, self.alphabet, self.pad_char = "counting", self.reader.alphabet, self.reader.pad_char

    def read(self, crops: list[np.ndarray]) -> list[OcrResult]:
        self.crops += len(crops)
        return self.reader.read(crops)


def test_a_smeared_box_the_plain_views_are_unsure_of_is_read_again_from_its_deconvolved_copy() -> None:
    scene = render_scene(np.random.default_rng([303, 9100]), camera=False)
    plate = scene.plates[0]
    frame, margins, box = _smear(scene.image, 7), (0.0, 0.08), (plate.x1, plate.y1, plate.x2, plate.y2)
    counts = {}
    for name, settings in {
        "unsure": DeblurSettings(enabled=True, below_confidence=1.01),  # any read is less sure than this
        "sure": DeblurSettings(enabled=True, below_confidence=0.0),  # no read is: the plain views suffice
        "off": DeblurSettings(enabled=False, below_confidence=1.01),
    }.items():
        reader = _CountingReader()
        (fused,) = read_boxes(reader, frame, [box], margins, settings)
        counts[name] = reader.crops
        if name == "unsure":  # every view of both copies votes
            assert fused.columns is not None and fused.columns.shape[0] == 2 * len(margins)
    assert counts == {"unsure": 2 * len(margins), "sure": len(margins), "off": len(margins)}
