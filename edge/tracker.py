"""Follow plates across frames (IoU + motion) and fuse each pass's OCR distributions by voting."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import numpy as np
import numpy.typing as npt

from edge.ctc import Columns

Box = tuple[int, int, int, int]  # x1, y1, x2, y2
Fusion = Literal["mean", "log-mean"]  # how a track's frames vote (TrackerSettings.fusion)
BgrImage = npt.NDArray[np.uint8]


def iou(a: Box, b: Box) -> float:
    ix = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Observation:
    """One detection in one frame with its OCR distribution and crop (RAM only)."""

    box: Box
    det_score: float
    probs: npt.NDArray[np.float32]
    crop: BgrImage
    columns: Columns | None = None  # the OCR's CTC columns of every view, when the model gives them


@dataclass(frozen=True, slots=True)
class TrackerSettings:
    min_iou: float = 0.1
    max_gap_frames: int = 6  # a track unseen this long has left the view
    max_age_frames: int = 300  # report long-lived tracks anyway (a car parked next to us), once
    min_frames: int = 2  # a single-frame track is too weak to report
    # How a track's frames vote: "mean" averages their distributions; "log-mean" averages their log-probabilities
    # (renormalised per slot), so a character only a few frames considered keeps next to nothing instead of its
    # share of those frames. Same weights either way. "log-mean" since 2026-12-07 (session 37, criteria written
    # before the run): on 12 development drive-bys (seeds 33001-33006, 33101-33106 blurred and noisy; 539 reads)
    # the same reads, all exact either way, with 1.09 candidates per read instead of 6.92 and 0.015 wrong valid
    # Dutch ones instead of 2.21: the mean gave every slot ~2 % of other characters, one-slot alternatives ~0.02.
    fusion: Fusion = "log-mean"
    # A track keeps the CTC columns (edge.ctc) of this many of its frames, the heaviest votes (RAM only; 53 kB each
    # for nine views): the candidates' texts are scored on them.
    column_frames: int = 8


LOG_FLOOR = 1e-6  # a probability the OCR rounded to 0 counts as this in the log-mean


@dataclass(eq=False)
class Track:
    track_id: int
    first_frame: int
    last_frame: int
    first_at: datetime
    box: Box
    fusion: Fusion
    column_frames: int = 8
    velocity: tuple[float, float] = (0.0, 0.0)
    vote_sum: npt.NDArray[np.float32] | None = None  # the frames' weighted distributions, or log-probabilities
    weight_sum: float = 0.0
    det_scores: list[float] = field(default_factory=list)
    column_votes: list[tuple[float, Columns]] = field(default_factory=list)  # (weight, columns), heaviest first
    best_quality: float = -1.0
    best_crop: BgrImage | None = None
    context: BgrImage | None = None
    frames: int = 0
    emitted: bool = False  # read already reported (at max age): keep following, never report again

    def predicted(self, frame_idx: int) -> Box:
        dt = frame_idx - self.last_frame
        dx, dy = self.velocity[0] * dt, self.velocity[1] * dt
        x1, y1, x2, y2 = self.box
        return (int(x1 + dx), int(y1 + dy), int(x2 + dx), int(y2 + dy))

    def add(self, obs: Observation, frame_idx: int, frame: BgrImage) -> None:
        if self.frames:
            dt = max(1, frame_idx - self.last_frame)
            cx_old = (self.box[0] + self.box[2]) / 2
            cx_new = (obs.box[0] + obs.box[2]) / 2
            cy_old = (self.box[1] + self.box[3]) / 2
            cy_new = (obs.box[1] + obs.box[3]) / 2
            v = ((cx_new - cx_old) / dt, (cy_new - cy_old) / dt)
            self.velocity = (0.5 * self.velocity[0] + 0.5 * v[0], 0.5 * self.velocity[1] + 0.5 * v[1])
        self.box, self.last_frame = obs.box, frame_idx
        if self.emitted:
            return  # only followed now, so that it is not read again; no pixels kept
        self.frames += 1
        self.det_scores.append(obs.det_score)
        # Vote: average the distributions, each frame weighted by how sure the OCR was and by
        # the plate's size (bigger crops read better).
        conf = float(obs.probs.max(axis=1).mean())
        width = obs.box[2] - obs.box[0]
        weight = conf * min(1.0, width / 150.0) + 1e-3
        vote = (obs.probs if self.fusion == "mean" else np.log(np.maximum(obs.probs, LOG_FLOOR))) * weight
        self.vote_sum = vote if self.vote_sum is None else self.vote_sum + vote
        self.weight_sum += weight
        if obs.columns is not None and self.column_frames > 0:
            self.column_votes.append((weight, obs.columns))
            self.column_votes.sort(key=lambda v: -v[0])
            del self.column_votes[self.column_frames :]
        quality = weight * obs.det_score
        if quality > self.best_quality:
            self.best_quality, self.best_crop, self.context = quality, obs.crop, frame

    @property
    def fused(self) -> npt.NDArray[np.float32]:
        assert self.vote_sum is not None
        if self.fusion == "mean":
            return (self.vote_sum / self.weight_sum).astype(np.float32)
        z = self.vote_sum / self.weight_sum
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)

    @property
    def detection_confidence(self) -> float:
        return float(np.mean(self.det_scores)) if self.det_scores else 0.0


class Tracker:
    """Associates observations frame by frame; returns tracks that ended."""

    def __init__(self, settings: TrackerSettings) -> None:
        self.settings = settings
        self._tracks: list[Track] = []
        self._next_id = 1

    @property
    def active(self) -> int:
        return len(self._tracks)

    def update(self, frame_idx: int, at: datetime, frame: BgrImage, observations: list[Observation]) -> list[Track]:
        pairs = sorted(
            (
                (iou(t.predicted(frame_idx), o.box), ti, oi)
                for ti, t in enumerate(self._tracks)
                for oi, o in enumerate(observations)
            ),
            reverse=True,
        )
        used_t: set[int] = set()
        used_o: set[int] = set()
        for score, ti, oi in pairs:
            if score < self.settings.min_iou:
                break
            if ti in used_t or oi in used_o:
                continue
            used_t.add(ti)
            used_o.add(oi)
            self._tracks[ti].add(observations[oi], frame_idx, frame)
        for oi, obs in enumerate(observations):
            if oi not in used_o:
                track = Track(
                    self._next_id, frame_idx, frame_idx, at, obs.box, self.settings.fusion, self.settings.column_frames
                )
                self._next_id += 1
                track.add(obs, frame_idx, frame)
                self._tracks.append(track)
        s = self.settings
        gone = [t for t in self._tracks if frame_idx - t.last_frame > s.max_gap_frames]
        self._tracks = [t for t in self._tracks if frame_idx - t.last_frame <= s.max_gap_frames]
        # A track that lives too long is reported now, but kept: the same parked car, still in
        # view, must not start a second track (and a second read) on the next frame.
        aged = [
            t
            for t in self._tracks
            if not t.emitted and t.frames >= s.min_frames and frame_idx - t.first_frame >= s.max_age_frames
        ]
        for t in aged:
            t.emitted = True
        return [t for t in gone if not t.emitted and t.frames >= s.min_frames] + aged

    def flush(self) -> list[Track]:
        """End every track (end of stream)."""
        done, self._tracks = self._tracks, []
        return [t for t in done if not t.emitted and t.frames >= self.settings.min_frames]
