"""Frame sources. This version reads video files (optionally paced like a live camera)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from contract.errors import InputError
from contract.events import utcnow

BgrImage = npt.NDArray[np.uint8]


class VideoFileSource(BaseModel):
    """A video file read frame by frame; `pace` plays it at its native rate like a camera."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["video-file"] = "video-file"
    path: Path = Field(description="video file (mp4, avi, ...) readable by OpenCV")
    pace: bool = Field(False, description="deliver frames at the file's frame rate")


@dataclass(frozen=True, slots=True)
class Frame:
    index: int
    image: BgrImage
    captured_at: datetime


@dataclass
class SourceStats:
    frames: int = 0
    corrupt: int = 0
    fps: float = 0.0


def open_video(path: Path) -> cv2.VideoCapture:
    if not path.is_file():
        raise InputError(f"video {path} does not exist")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise InputError(f"video {path} cannot be opened: not a video OpenCV can decode")
    return cap


def read_frames(source: VideoFileSource, stats: SourceStats, start: datetime | None = None) -> Iterator[Frame]:
    """Yield frames with capture times derived from the file's frame rate.

    Frames that fail to decode are skipped and counted. A file with no decodable frame at
    all is an error.
    """
    cap = open_video(source.path)
    try:
        fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
        stats.fps = fps if 0 < fps < 1000 else 25.0
        total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        t0 = start or utcnow()
        wall0 = time.monotonic()
        index = 0
        consecutive_failures = 0
        while True:
            ok, image = cap.read()
            if not ok or image is None:
                # End of file, or a corrupt frame: OpenCV cannot tell these apart, so try to
                # step past it while the container says frames remain.
                if total and index + stats.corrupt < total - 1 and consecutive_failures < 25:
                    stats.corrupt += 1
                    consecutive_failures += 1
                    continue
                break
            consecutive_failures = 0
            if source.pace:
                delay = wall0 + index / stats.fps - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            stats.frames += 1
            yield Frame(index, image, t0 + timedelta(seconds=index / stats.fps))
            index += 1
        if stats.frames == 0:
            raise InputError(f"video {source.path} has no decodable frames (corrupt or empty file)")
    finally:
        cap.release()
