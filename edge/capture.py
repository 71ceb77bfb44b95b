"""Capture in its own thread: source -> bounded queue, reconnecting with backoff, never blocked by inference.

Drop policy: for a live source (camera, stream, folder, paced file) the queue holds the newest
frames; when it is full the oldest waiting frame is dropped and counted, so inference always
works on the most recent picture. An unpaced file is not live: capture waits for room instead.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from contract.errors import InputError
from edge.frames import Frame, FrameReader, FrameSource, GrabStatus, SourceUnavailable, open_source

log = logging.getLogger("scanauto.edge.capture")


class CaptureSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    queue_size: int = Field(4, ge=1, le=256, description="frames waiting for inference; newest wins when full")
    backoff_initial_s: float = Field(0.5, gt=0, le=60, description="first wait before reconnecting a camera")
    backoff_max_s: float = Field(30.0, gt=0, le=600, description="longest wait between reconnect attempts")
    max_corrupt_in_row: int = Field(50, ge=1, le=10_000, description="this many corrupt frames in a row: reconnect")


class FrameQueue:
    """A bounded queue between capture and inference; `dropped` counts frames it threw away."""

    def __init__(self, size: int) -> None:
        self._items: collections.deque[Frame | None] = collections.deque()
        self._size = size
        self._cond = threading.Condition()
        self.dropped = 0
        self._closed = False

    def __len__(self) -> int:
        return len(self._items)

    def put(self, frame: Frame | None, wait: bool) -> None:
        """Add a frame (None marks the end). `wait`: block for room; else drop the oldest frame."""
        with self._cond:
            while wait and len(self._items) >= self._size and not self._closed:
                self._cond.wait(0.1)
            if frame is not None and len(self._items) >= self._size:
                self._items.popleft()
                self.dropped += 1
            self._items.append(frame)
            self._cond.notify_all()

    def get(self, timeout: float) -> Frame | bool | None:
        """The oldest waiting frame, None at the end of the source, False when nothing came in time."""
        with self._cond:
            if not self._items and not self._cond.wait_for(lambda: bool(self._items), timeout):
                return False
            item = self._items.popleft()
            self._cond.notify_all()
            return item

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


@dataclass
class CaptureStats:
    """Live capture figures, written by the capture thread and read by status and metrics."""

    state: str = "starting"  # starting | ok | stalled | reconnecting | ended | failed | stopped
    frames: int = 0
    corrupt: int = 0
    reconnects: int = 0
    stalls: int = 0
    decode_s: float = 0.0  # summed time spent reading and decoding frames
    last_frame_at: float = 0.0  # time.monotonic() of the last frame
    alarm: str | None = None
    error: str | None = None
    fps_window: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=120))

    @property
    def fps(self) -> float:
        """Frames per second captured over the last few seconds."""
        w = self.fps_window
        if len(w) < 2 or time.monotonic() - w[-1] > 2.0:
            return 0.0
        return (len(w) - 1) / max(1e-6, w[-1] - w[0])


class Capture:
    """Runs a source in a thread and feeds `queue`; `start()`, then `stop()` (safe twice)."""

    def __init__(self, source: FrameSource, settings: CaptureSettings | None = None) -> None:
        self.source = source
        self.settings = settings or CaptureSettings()
        self.queue = FrameQueue(self.settings.queue_size)
        self.stats = CaptureStats()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="edge-capture", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.queue.close()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=10)
        if self.stats.state not in ("ended", "failed"):
            self.stats.state = "stopped"

    @property
    def dropped(self) -> int:
        return self.queue.dropped

    def _set_alarm(self, state: str, alarm: str | None) -> None:
        if alarm and alarm != self.stats.alarm:
            log.warning("camera: %s", alarm)
        elif not alarm and self.stats.alarm:
            log.info("camera: frames flow again")
        self.stats.state, self.stats.alarm = state, alarm

    def _run(self) -> None:
        s, st = self.settings, self.stats
        backoff = s.backoff_initial_s
        position = ""
        index = 0
        try:
            while not self._stop.is_set():
                try:
                    reader = open_source(self.source, position)
                except SourceUnavailable as exc:
                    st.reconnects += 1
                    self._set_alarm("reconnecting", f"camera unavailable ({exc}); retrying in {backoff:.1f} s")
                    self._stop.wait(backoff)
                    backoff = min(s.backoff_max_s, backoff * 2)
                    continue
                frames_before = st.frames
                try:
                    index, ended = self._pump(reader, index)
                    position = reader.position
                finally:
                    reader.close()
                if ended:
                    st.state = "ended"
                    break
                if self._stop.is_set():
                    break
                if st.frames > frames_before:
                    backoff = s.backoff_initial_s  # the link worked for a while: start the backoff over
                st.reconnects += 1
                self._set_alarm("reconnecting", f"camera connection lost; reconnecting in {backoff:.1f} s")
                self._stop.wait(backoff)
                backoff = min(s.backoff_max_s, backoff * 2)
        except InputError as exc:  # a broken file: reconnecting cannot help
            st.error = str(exc)
            self._set_alarm("failed", f"camera source failed: {exc}")
        finally:
            self.queue.put(None, wait=False)

    def _pump(self, reader: FrameReader, index: int) -> tuple[int, bool]:
        """Read until the source ends (True) or is lost (False)."""
        st, live, stall_s = self.stats, self.source.live, self.source.stall_s
        corrupt_in_row = 0
        last = time.monotonic()
        while not self._stop.is_set():
            t0 = time.perf_counter()
            got = reader.read()
            now = time.monotonic()
            if got.status is GrabStatus.FRAME and got.image is not None and got.captured_at is not None:
                st.decode_s += time.perf_counter() - t0
                if got.due is not None and got.due > now:  # a paced file plays at its frame rate
                    self._stop.wait(got.due - now)
                    now = time.monotonic()
                st.frames += 1
                st.last_frame_at = last = now
                st.fps_window.append(now)
                corrupt_in_row = 0
                if st.state != "ok":
                    self._set_alarm("ok", None)
                self.queue.put(Frame(index, got.image, got.captured_at, time.perf_counter()), wait=not live)
                index += 1
            elif got.status is GrabStatus.CORRUPT:
                st.corrupt += 1
                corrupt_in_row += 1
                if corrupt_in_row >= self.settings.max_corrupt_in_row:
                    return index, False
            elif got.status is GrabStatus.IDLE:
                if now - last > stall_s and st.state != "stalled":
                    st.stalls += 1
                    self._set_alarm("stalled", f"camera stalled: no frame for {now - last:.1f} s")
            elif got.status is GrabStatus.LOST:
                return index, False
            else:
                return index, True
        return index, False
