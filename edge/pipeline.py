"""The frame pipeline: detect -> OCR -> track/vote -> candidates -> digests. No I/O here."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import numpy as np
import numpy.typing as npt

from contract.digest import KeyRing, digest
from contract.events import Candidate, GpsFix, ModelVersions, PlateRead, new_event_id, utcnow
from edge.candidates import CandidateSettings, PlateCandidate, candidates
from edge.deblur import DeblurSettings, deblurred
from edge.evidence import EvidenceWindow
from edge.ocr import OcrResult, fuse_views
from edge.tracker import Box, Observation, Track, Tracker, TrackerSettings

BgrImage = npt.NDArray[np.uint8]


class DetectionLike(Protocol):
    x1: int
    y1: int
    x2: int
    y2: int
    score: float


class Detector(Protocol):
    model_version: str

    def detect(self, frame: BgrImage) -> list[DetectionLike]: ...


class Reader(Protocol):
    model_version: str
    alphabet: str
    pad_char: str

    def read(self, crops: list[BgrImage]) -> list[OcrResult]: ...


@dataclass(frozen=True, slots=True)
class PipelineSettings:
    vehicle_id: str
    camera_id: str
    crop_margin: float = 0.08  # widen each box a little: detectors cut plates tight (the evidence crop)
    # The OCR reads each box at these margins and the views vote (`fuse_views`): on 1000 synthetic dev scenes
    # (seed namespace 707, not the test set; OCR v3, detector v4) one view at 0.08 read 89.1 % exactly, five 91.1 %.
    # Nine (0.00-0.16) since OCR 9: on development scenes 0-2999 they read 26 plates that five miss and miss 9
    # that five read (models/README.md, session 30), at 1.5-1.8x the OCR time per frame (eval, bench edge).
    ocr_margins: tuple[float, ...] = (0.0, 0.02, 0.04, 0.06, 0.08, 0.10, 0.12, 0.14, 0.16)
    min_ocr_confidence: float = 0.5  # a fused read below this is not reported
    # Optionally, a box the OCR is unsure of and that is smeared along the rows is also read at the same margins
    # from a copy with its smear undone (`edge.deblur`). Off: measured in session 41, not adopted (models/README.md).
    deblur: DeblurSettings = field(default_factory=DeblurSettings)
    candidates: CandidateSettings = field(default_factory=CandidateSettings)
    tracker: TrackerSettings = field(default_factory=TrackerSettings)


@dataclass(frozen=True, slots=True)
class FinishedRead:
    """A read with its plaintext candidates. It stays in this process; only `event` leaves."""

    event: PlateRead
    candidates: tuple[PlateCandidate, ...]


def crop_box(frame: BgrImage, box: Box, margin: float) -> BgrImage:
    h, w = frame.shape[:2]
    x1, y1, x2, y2 = box
    mx, my = int((x2 - x1) * margin), int((y2 - y1) * margin)
    return frame[max(0, y1 - my) : min(h, y2 + my), max(0, x1 - mx) : min(w, x2 + mx)]


def read_boxes(
    reader: Reader,
    frame: BgrImage,
    boxes: list[Box],
    margins: tuple[float, ...],
    deblur: DeblurSettings | None = None,
) -> list[OcrResult]:
    """Read every box of a frame: each box cropped at every margin, all crops in one OCR batch, the views of one
    box fused into one result (`fuse_views`). One result per box, in order.

    With `deblur` enabled, a box whose fused views are less sure than `deblur.below_confidence` and that shows a
    horizontal smear is cut again at every margin from its deconvolved surroundings (`edge.deblur.deblurred`), in
    a second batch, and all its views are fused."""
    if not boxes:
        return []
    n = len(margins)
    results = reader.read([crop_box(frame, box, m) for box in boxes for m in margins])
    views = [results[i : i + n] for i in range(0, len(results), n)]
    fused = [fuse_views(v, reader.alphabet, reader.pad_char) for v in views]
    if deblur is None or not deblur.enabled:
        return fused
    again: list[int] = []
    crops: list[BgrImage] = []
    for i, box in enumerate(boxes):
        sharp = deblurred(frame, box, deblur) if fused[i].confidence < deblur.below_confidence else None
        if sharp is not None:
            region, inner = sharp
            again.append(i)
            crops += [crop_box(region, inner, m) for m in margins]
    more = reader.read(crops) if crops else []
    for k, i in enumerate(again):
        fused[i] = fuse_views(views[i] + more[k * n : (k + 1) * n], reader.alphabet, reader.pad_char)
    return fused


class EdgePipeline:
    """`process(frame)` returns the reads of the vehicle passes that ended with this frame."""

    def __init__(
        self, detector: Detector, reader: Reader, keys: KeyRing, settings: PipelineSettings, evidence: EvidenceWindow
    ) -> None:
        self.detector, self.reader, self.keys, self.settings = detector, reader, keys, settings
        self.evidence = evidence
        self.tracker = Tracker(settings.tracker)
        self.models = ModelVersions(detector=detector.model_version, ocr=reader.model_version)
        self.frames = 0
        self.detections = 0
        self.rejected_tracks = 0
        self.stage_s = {"detect": 0.0, "ocr": 0.0, "track": 0.0, "digest": 0.0}  # seconds per stage, summed
        self._gps_at: dict[int, GpsFix | None] = {}  # frame index -> fix, for the frames a track may start in
        self._last_index = -1

    def detect(self, frame: BgrImage) -> list[DetectionLike]:
        """The detector's boxes of `frame` (non-empty ones). Touches nothing else of the pipeline, so the edge
        service runs it for the next frame in its own thread while `process` reads and tracks this one."""
        return [d for d in self.detector.detect(frame) if d.x2 > d.x1 and d.y2 > d.y1]

    def process(
        self,
        frame: BgrImage,
        captured_at: datetime,
        gps: GpsFix | None = None,
        index: int | None = None,
        detections: list[DetectionLike] | None = None,
    ) -> list[FinishedRead]:
        """`index` is the camera's frame number: when frames were dropped, the tracker must know how
        far a plate could move since the last processed frame (default: frames processed so far).
        `detections`: this frame's boxes as `detect` found them (detection is then neither run nor timed here)."""
        idx = self.frames if index is None else max(index, self._last_index + 1)
        self._last_index = idx
        self.frames += 1
        self._gps_at[idx] = gps
        horizon = idx - self.settings.tracker.max_age_frames - self.settings.tracker.max_gap_frames - 2
        while self._gps_at and next(iter(self._gps_at)) < horizon:
            del self._gps_at[next(iter(self._gps_at))]
        t0 = time.perf_counter()
        dets = self.detect(frame) if detections is None else detections
        self.detections += len(dets)
        t1 = time.perf_counter()
        boxes: list[Box] = [(d.x1, d.y1, d.x2, d.y2) for d in dets]
        results = self.read_boxes(frame, boxes)
        crops = [crop_box(frame, box, self.settings.crop_margin) for box in boxes]
        t2 = time.perf_counter()
        if detections is None:
            self.stage_s["detect"] += t1 - t0
        self.stage_s["ocr"] += t2 - t1
        obs = [
            Observation((d.x1, d.y1, d.x2, d.y2), float(d.score), r.probs, c, r.columns)
            for d, r, c in zip(dets, results, crops, strict=True)
        ]
        ended = self.tracker.update(idx, captured_at, frame, obs)
        t3 = time.perf_counter()
        reads = self._finish(ended, gps)
        self.stage_s["track"] += t3 - t2
        self.stage_s["digest"] += time.perf_counter() - t3
        return reads

    def read_boxes(self, frame: BgrImage, boxes: list[Box]) -> list[OcrResult]:
        """The OCR's fused reading of each box (see `read_boxes`)."""
        return read_boxes(self.reader, frame, boxes, self.settings.ocr_margins, self.settings.deblur)

    def flush(self, gps: GpsFix | None = None) -> list[FinishedRead]:
        return self._finish(self.tracker.flush(), gps)

    def _finish(self, tracks: list[Track], gps: GpsFix | None) -> list[FinishedRead]:
        out = []
        for track in tracks:
            read = self._read_of(track, gps)
            if read is None:
                self.rejected_tracks += 1
            else:
                out.append(read)
        return out

    def _read_of(self, track: Track, gps: GpsFix | None) -> FinishedRead | None:
        crop, context = track.best_crop, track.context
        track.best_crop = track.context = None  # from now on only the evidence window holds pixels
        votes, track.column_votes = track.column_votes, []  # its OCR columns too: a parked car's track lives on
        gps = self._gps_at.get(track.first_frame, gps)  # where the car was first seen
        fused = track.fused
        confidence = float(fused.max(axis=1).mean())
        if confidence < self.settings.min_ocr_confidence:
            return None
        cands = candidates(fused, self.reader.alphabet, self.reader.pad_char, self.settings.candidates, votes or None)
        if not cands:
            return None
        key = self.keys.current_at(utcnow())
        event = PlateRead(
            event_id=new_event_id(),
            vehicle_id=self.settings.vehicle_id,
            camera_id=self.settings.camera_id,
            captured_at=track.first_at,
            gps=gps,
            key_id=key.key_id,
            candidates=[Candidate(digest=digest(c.text, key), probability=min(1.0, c.probability)) for c in cands],
            models=self.models,
            detection_confidence=min(1.0, track.detection_confidence),
            ocr_confidence=min(1.0, confidence),
            frames=track.frames,
        )
        if crop is not None and context is not None:
            self.evidence.put(event.event_id, crop, context, frozenset(c.digest for c in event.candidates), key)
        return FinishedRead(event, tuple(cands))
