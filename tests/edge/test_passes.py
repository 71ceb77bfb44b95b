"""The real models on synthetic drive-bys: one read per car passing, and voting beats single frames.

The pipeline is a pure function of frames (`pipeline.process(frame)`): these tests feed it the
generated frames directly, with the committed detector and OCR models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from contract.digest import KeyRing
from edge.candidates import CandidateSettings, candidates
from edge.evidence import EvidenceWindow
from edge.frames import VideoFileSource
from edge.ocr import OcrResult
from edge.pipeline import EdgePipeline, FinishedRead
from edge.service import EdgeSettings, build_pipeline
from edge.tracker import iou
from models.synth.video import DriveBy, DriveBySpec, build_driveby

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@dataclass
class Recorder:
    """Wraps the pipeline's OCR step and keeps each frame's fused single-frame reading per box (RAM only)."""

    pipeline: EdgePipeline
    frames: list[list[tuple[tuple[int, int, int, int], np.ndarray]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._read_boxes = self.pipeline.read_boxes
        self.pipeline.read_boxes = self.read_boxes  # type: ignore[method-assign]

    def read_boxes(self, frame: np.ndarray, boxes: list[tuple[int, int, int, int]]) -> list[OcrResult]:
        results = self._read_boxes(frame, boxes)
        self.frames.append([(b, r.probs) for b, r in zip(boxes, results, strict=True)])
        return results


def _pipeline(keys: KeyRing, **overrides: object) -> EdgePipeline:
    settings = EdgeSettings(source=VideoFileSource(path="unused.mp4"), status_port=None)
    settings = EdgeSettings.model_validate({**settings.model_dump(), **overrides})
    return build_pipeline(settings, keys, EvidenceWindow(60))


def _drive(pipeline: EdgePipeline, drive: DriveBy) -> list[FinishedRead]:
    reads: list[FinishedRead] = []
    for i, frame in enumerate(drive):
        reads += pipeline.process(frame, T0 + timedelta(seconds=i / drive.spec.fps))
    return reads + pipeline.flush()


def _car_of(read: FinishedRead, texts: set[str]) -> str | None:
    """The car a read belongs to: the listed truth text among its candidates, if any."""
    hits = [c.text for c in read.candidates if c.text in texts]
    return hits[0] if hits else None


def test_each_car_passing_gives_exactly_one_read(keys: KeyRing) -> None:
    drive = build_driveby(DriveBySpec(seed=31, n_cars=6))
    texts = {c.text for c in drive.truth.cars}
    reads = _drive(_pipeline(keys), drive)
    assert len(reads) == len(texts) == 6
    cars = [_car_of(r, texts) for r in reads]
    assert len(set(cars) - {None}) >= 5  # distinct cars: no car was read twice
    assert len([c for c in cars if c is not None]) == len(set(cars) - {None})
    assert all(r.event.frames >= 2 and r.event.candidates for r in reads)
    assert all(len(r.event.candidates) <= 8 for r in reads)


def test_alternatives_the_ocr_barely_considered_never_leave_the_car(keys: KeyRing) -> None:
    drive = build_driveby(DriveBySpec(seed=31, n_cars=6))
    reads = _drive(_pipeline(keys), drive)
    floor = EdgeSettings.model_fields["min_alternative_prob"].default
    assert floor > 0 and all(c.probability >= floor for r in reads for c in r.event.candidates[1:])
    every = _drive(_pipeline(keys, min_alternative_prob=0.0), drive)
    # The same reads, each with its first candidate unchanged; without the floor they carry more digests.
    assert [r.event.candidates[0].probability for r in every] == [r.event.candidates[0].probability for r in reads]
    assert sum(len(r.event.candidates) for r in every) > sum(len(r.event.candidates) for r in reads)
    # The edge before those changes is three settings away: the mean vote keeps more alternatives still.
    old = _drive(_pipeline(keys, min_alternative_prob=0.0, track_fusion="mean", ctc_texts=False), drive)
    assert [r.event.candidates[0].probability for r in old] != [r.event.candidates[0].probability for r in every]
    assert len(old) == len(reads) and all(len(r.event.candidates) == 8 for r in old)


def test_voting_beats_single_frames_on_a_blurred_noisy_clip(keys: KeyRing) -> None:
    # Blur and noise chosen so that single frames misread about half the time with OCR v1 (~16 % with v2).
    spec = DriveBySpec(seed=33, n_cars=12, blur=1.8, noise=12.0)
    drive = build_driveby(spec)
    pipeline = _pipeline(keys)
    recorder = Recorder(pipeline)
    alphabet, pad = pipeline.reader.alphabet, pipeline.reader.pad_char
    reads = _drive(pipeline, drive)

    single_exact = single_total = 0
    for idx, seen in enumerate(recorder.frames):
        for car, truth_box in drive.truth.boxes_at(idx):
            matched = [probs for box, probs in seen if iou(box, truth_box) >= 0.4]
            if matched:
                single_total += 1
                best = candidates(matched[0], alphabet, pad, CandidateSettings())
                single_exact += bool(best) and best[0].text == car.text
    texts = {c.text for c in drive.truth.cars}
    voted_exact = len({r.candidates[0].text for r in reads} & texts)
    single_rate, voted_rate = single_exact / single_total, voted_exact / len(texts)
    print(f"exact read rate: single frames {single_rate:.1%} of {single_total}, voted {voted_rate:.1%}")
    assert single_total >= 5 * len(texts)
    # Voting removes at least a quarter of the single-frame errors. Measured with OCR v1: 83 % voted against
    # 51 % single; OCR v2 ~84 % single, 91.7 % voted (11 of 12 cars, detector v3); OCR v3 87.6 % single,
    # 91.7 % voted (11 of 12, detector v4); each frame read at five margins (`ocr_margins`): 90.0 % single,
    # 100 % voted (12 of 12). With 12 cars one car is 8.3 points, so "halves the error" would
    # now demand all 12 right against a 12.4 % single-frame error; a quarter still needs voting to beat
    # single frames by a margin, and the voted floor is raised from 0.7 to 0.8.
    assert 1 - voted_rate <= 0.75 * (1 - single_rate), (single_rate, voted_rate)
    assert voted_rate >= 0.8


@pytest.fixture(autouse=True)
def _models_present() -> None:
    settings = EdgeSettings(source=VideoFileSource(path="unused.mp4"))
    for path in (settings.detector_model, settings.ocr_model, settings.ocr_config):
        assert path.is_file(), f"{path} missing: the committed models are needed (scanauto train ...)"
