"""Frame sources (a config union keyed on `kind`) and the readers that pull frames from them.

A reader's `read()` never raises for what a camera does in the field: it reports a frame, a
corrupt frame, nothing yet (idle), a lost connection or the end of a file. Opening a source
that is not there raises `SourceUnavailable` (retriable): the capture loop reconnects.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Literal, Protocol

import cv2
import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, ConfigDict, Field

from contract.errors import InputError, ScanautoError
from contract.events import utcnow

BgrImage = npt.NDArray[np.uint8]  # (H, W, 3)

# OpenCV's FFmpeg layer prints a warning line for every stream timeout; our state says it once.
cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)


class SourceUnavailable(ScanautoError):
    """The camera, stream or folder cannot be opened now; the capture loop retries with backoff."""

    retriable = True
    exit_code = 3


class _Source(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @property
    def live(self) -> bool:
        """A live source runs at its own pace: when inference falls behind, frames are dropped."""
        return True

    @property
    def stall_s(self) -> float:
        return float(getattr(self, "stall_timeout_s", 3.0))


class VideoFileSource(_Source):
    """A video file read frame by frame; `pace` plays it at its native rate like a camera."""

    kind: Literal["video-file"] = "video-file"
    path: Path = Field(description="video file (mp4, avi, ...) readable by OpenCV")
    pace: bool = Field(False, description="deliver frames at the file's frame rate (acts as a live camera)")

    @property
    def live(self) -> bool:
        return self.pace  # an unpaced file waits for inference instead: no frame is dropped


class StreamSource(_Source):
    """An RTSP or HTTP (MJPEG, HLS ...) stream decoded by OpenCV's FFmpeg backend."""

    kind: Literal["stream"] = "stream"
    url: str = Field(pattern=r"^(rtsp|rtsps|http|https)://\S+$", max_length=500, description="stream URL")
    open_timeout_s: float = Field(5.0, gt=0, le=120, description="give up opening the stream after this")
    stall_timeout_s: float = Field(3.0, gt=0, le=120, description="no frame for this long: stalled, reconnect")


class DeviceSource(_Source):
    """A V4L2 camera device."""

    kind: Literal["v4l2"] = "v4l2"
    device: str = Field("/dev/video0", pattern=r"^/dev/video\d{1,3}$", description="V4L2 device node")
    width: int | None = Field(None, ge=160, le=7680, description="requested frame width")
    height: int | None = Field(None, ge=120, le=4320, description="requested frame height")
    fps: float | None = Field(None, gt=0, le=240, description="requested frame rate")
    stall_timeout_s: float = Field(3.0, gt=0, le=120, description="no frame for this long: stalled, reconnect")


class ImageFolderSource(_Source):
    """A folder a camera writes still images into, read in name order as they appear.

    Writers should write each image under another name (e.g. `.tmp`) and rename it when
    complete, so a half-written file is never read.
    """

    kind: Literal["image-folder"] = "image-folder"
    path: Path = Field(description="folder with the images")
    patterns: tuple[str, ...] = Field(("*.jpg", "*.jpeg", "*.png"), min_length=1, description="file name globs")
    poll_s: float = Field(0.02, gt=0, le=5, description="how often to look for new images")
    stall_timeout_s: float = Field(3.0, gt=0, le=600, description="no new image for this long: stalled")
    once: bool = Field(False, description="end after the images present (a replay), instead of waiting for more")


FrameSource = Annotated[VideoFileSource | StreamSource | DeviceSource | ImageFolderSource, Field(discriminator="kind")]


class GrabStatus(enum.Enum):
    FRAME = "frame"
    CORRUPT = "corrupt"  # skipped and counted
    IDLE = "idle"  # nothing new yet (image folder)
    LOST = "lost"  # connection lost or timed out: reconnect
    END = "end"  # end of a file or a one-shot folder


@dataclass(frozen=True, slots=True)
class Grabbed:
    status: GrabStatus
    image: BgrImage | None = None
    captured_at: datetime | None = None
    due: float | None = None  # time.monotonic() at which a paced file delivers this frame


@dataclass(frozen=True, slots=True)
class Frame:
    """A frame on its way to inference; `grabbed` (perf_counter) measures its latency."""

    index: int
    image: BgrImage
    captured_at: datetime
    grabbed: float


class FrameReader(Protocol):
    position: str  # where to resume after a reconnect (the last image name of a folder)

    def read(self) -> Grabbed: ...

    def close(self) -> None: ...


def open_video(path: Path) -> cv2.VideoCapture:
    if not path.is_file():
        raise InputError(f"video {path} does not exist")
    cap = cv2.VideoCapture(str(path))
    if not cap.isOpened():
        raise InputError(f"video {path} cannot be opened: not a video OpenCV can decode")
    return cap


def _valid(image: BgrImage | None) -> bool:
    return image is not None and image.ndim == 3 and image.shape[2] == 3 and image.size > 0


class VideoFileReader:
    """Frames of a file with capture times from its frame rate; paced on request."""

    def __init__(self, source: VideoFileSource, start: datetime | None = None) -> None:
        self._cap = open_video(source.path)
        self._source = source
        fps = self._cap.get(cv2.CAP_PROP_FPS) or 0.0
        self.fps = fps if 0 < fps < 1000 else 25.0
        self._total = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self._t0 = start or utcnow()
        self._wall0 = time.monotonic()
        self._index = 0
        self._failures = 0
        self._corrupt = 0
        self.position = ""

    def read(self) -> Grabbed:
        ok, image = self._cap.read()
        if not ok or not _valid(image):
            # End of file, or a corrupt frame: OpenCV cannot tell these apart, so step past it
            # while the container says frames remain.
            if self._total and self._index + self._corrupt < self._total - 1 and self._failures < 25:
                self._failures += 1
                self._corrupt += 1
                return Grabbed(GrabStatus.CORRUPT)
            if self._index == 0:
                raise InputError(f"video {self._source.path} has no decodable frames (corrupt or empty file)")
            return Grabbed(GrabStatus.END)
        self._failures = 0
        offset = (self._index + self._corrupt) / self.fps
        self._index += 1
        due = self._wall0 + offset if self._source.pace else None
        return Grabbed(GrabStatus.FRAME, image, self._t0 + timedelta(seconds=offset), due)

    def close(self) -> None:
        self._cap.release()


class CvLiveReader:
    """A stream or device through OpenCV; a read that times out or fails means the link is lost."""

    def __init__(self, source: StreamSource | DeviceSource) -> None:
        stall_ms = int(source.stall_s * 1000)
        if isinstance(source, StreamSource):
            params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(source.open_timeout_s * 1000)]
            self._cap = cv2.VideoCapture(
                source.url, cv2.CAP_FFMPEG, [*params, cv2.CAP_PROP_READ_TIMEOUT_MSEC, stall_ms]
            )
            where = "stream"  # the URL may carry credentials: never print it
        else:
            self._cap = cv2.VideoCapture(source.device, cv2.CAP_V4L2)
            for prop, value in ((cv2.CAP_PROP_FRAME_WIDTH, source.width), (cv2.CAP_PROP_FRAME_HEIGHT, source.height),
                                (cv2.CAP_PROP_FPS, source.fps)):  # fmt: skip
                if value:
                    self._cap.set(prop, value)
            where = f"device {source.device}"
        if not self._cap.isOpened():
            self._cap.release()
            raise SourceUnavailable(f"{where} cannot be opened; check the camera, cable or URL")
        self._shape: tuple[int, ...] | None = None
        self.position = ""

    def read(self) -> Grabbed:
        ok, image = self._cap.read()
        if not ok:
            return Grabbed(GrabStatus.LOST)
        if not _valid(image) or (self._shape is not None and image.shape != self._shape):
            return Grabbed(GrabStatus.CORRUPT)
        self._shape = image.shape
        return Grabbed(GrabStatus.FRAME, image, utcnow())

    def close(self) -> None:
        self._cap.release()


class ImageFolderReader:
    """New images of a folder in name order; unreadable images are corrupt frames."""

    def __init__(self, source: ImageFolderSource, after: str = "") -> None:
        if not source.path.is_dir():
            raise SourceUnavailable(f"image folder {source.path} does not exist")
        self._source = source
        self.position = after  # the last image read: a reconnect resumes after it
        self._pending: list[str] = []

    def _scan(self) -> list[str]:
        names: set[str] = set()
        try:
            for pattern in self._source.patterns:
                names.update(p.name for p in self._source.path.glob(pattern))
        except OSError:
            return []
        return sorted(n for n in names if n > self.position)

    def read(self) -> Grabbed:
        if not self._source.path.is_dir():
            return Grabbed(GrabStatus.LOST)
        if not self._pending:
            self._pending = self._scan()
            if not self._pending:
                if self._source.once:
                    return Grabbed(GrabStatus.END)
                time.sleep(self._source.poll_s)
                return Grabbed(GrabStatus.IDLE)
        name = self._pending.pop(0)
        self.position = name
        image = cv2.imread(str(self._source.path / name), cv2.IMREAD_COLOR)
        if not _valid(image):
            return Grabbed(GrabStatus.CORRUPT)
        return Grabbed(GrabStatus.FRAME, image, utcnow())

    def close(self) -> None:
        self._pending = []


def open_source(
    source: VideoFileSource | StreamSource | DeviceSource | ImageFolderSource, position: str = ""
) -> FrameReader:
    """A reader for `source`; raises SourceUnavailable (retry) or InputError (a broken file: give up)."""
    if isinstance(source, VideoFileSource):
        return VideoFileReader(source)
    if isinstance(source, ImageFolderSource):
        return ImageFolderReader(source, position)
    return CvLiveReader(source)
