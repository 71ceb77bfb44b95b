"""Frame sources and the capture thread: reconnects with an alarm, corrupt frames counted, newest frame wins."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
from edge_helpers import MjpegCamera
from pydantic import TypeAdapter, ValidationError

from edge.capture import Capture, CaptureSettings, FrameQueue
from edge.frames import (
    DeviceSource,
    Frame,
    FrameSource,
    ImageFolderSource,
    StreamSource,
    VideoFileSource,
)

FAST = CaptureSettings(queue_size=4, backoff_initial_s=0.1, backoff_max_s=0.4)


def _wait(cond: Callable[[], bool], timeout: float = 15.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def _drain(capture: Capture) -> list[Frame]:
    got = []
    while (item := capture.queue.get(0.0)) not in (False, None):
        assert isinstance(item, Frame)
        got.append(item)
    return got


def test_sources_are_a_union_keyed_on_kind() -> None:
    adapter: TypeAdapter[FrameSource] = TypeAdapter(FrameSource)
    assert isinstance(adapter.validate_python({"kind": "stream", "url": "rtsp://cam/1"}), StreamSource)
    assert isinstance(adapter.validate_python({"kind": "v4l2", "device": "/dev/video2"}), DeviceSource)
    assert isinstance(adapter.validate_python({"kind": "image-folder", "path": "/x"}), ImageFolderSource)
    video = adapter.validate_python({"kind": "video-file", "path": "a.mp4", "pace": True})
    assert isinstance(video, VideoFileSource) and video.live
    for bad in ({"kind": "ftp"}, {"kind": "stream", "url": "file:///etc/passwd"}, {"kind": "v4l2", "speed": 1}):
        with pytest.raises(ValidationError):
            adapter.validate_python(bad)


def test_stream_that_stops_and_comes_back_is_reconnected_with_an_alarm(mjpeg_camera: MjpegCamera) -> None:
    capture = Capture(StreamSource(url=mjpeg_camera.url, stall_timeout_s=0.5, open_timeout_s=1.0), FAST)
    capture.start()
    try:
        _wait(lambda: capture.stats.frames >= 10 and capture.stats.state == "ok")
        mjpeg_camera.down()  # the camera disconnects
        _wait(lambda: capture.stats.state == "reconnecting")
        assert capture.stats.alarm is not None and "camera" in capture.stats.alarm
        _drain(capture)
        frames_while_down = capture.stats.frames
        time.sleep(1.0)
        assert capture.stats.frames == frames_while_down and capture.stats.reconnects >= 2  # kept trying
        mjpeg_camera.up()
        _wait(lambda: capture.stats.frames >= frames_while_down + 10)
        assert capture.stats.state == "ok" and capture.stats.alarm is None
        mjpeg_camera.pause()  # connected, but no frames: a stall
        _wait(lambda: capture.stats.state == "reconnecting", timeout=5)
        mjpeg_camera.resume()
        _wait(lambda: capture.stats.state == "ok", timeout=10)
    finally:
        capture.stop()
        capture.stop()  # safe twice
    assert capture.stats.state == "stopped"


def _write(folder: Path, name: str, shade: int) -> None:
    """As a camera should: write under a temporary name, then rename."""
    _ok, buf = cv2.imencode(".png", np.full((48, 64, 3), shade, np.uint8))
    (folder / (name + ".tmp")).write_bytes(buf.tobytes())
    (folder / (name + ".tmp")).rename(folder / name)


def test_image_folder_that_stops_raises_a_stall_alarm_and_resumes_in_order(tmp_path: Path) -> None:
    for i in range(5):
        _write(tmp_path, f"{i:05d}.png", 10 * i)
    (tmp_path / "00005.png").write_bytes(b"not an image")  # a corrupt frame: skipped and counted
    source = ImageFolderSource(path=tmp_path, stall_timeout_s=0.3, poll_s=0.01)
    capture = Capture(source, FAST.model_copy(update={"queue_size": 64}))
    capture.start()
    try:
        _wait(lambda: capture.stats.frames == 5 and capture.stats.corrupt == 1)
        _wait(lambda: capture.stats.state == "stalled")
        assert capture.stats.stalls == 1 and "stalled" in (capture.stats.alarm or "")
        for i in range(6, 9):
            _write(tmp_path, f"{i:05d}.png", 10 * i)
        _wait(lambda: capture.stats.frames == 8)
        assert capture.stats.state == "ok" and capture.stats.alarm is None
    finally:
        capture.stop()
    shades = [int(f.image[0, 0, 0]) for f in _drain(capture)]
    assert shades == [0, 10, 20, 30, 40, 60, 70, 80]  # in name order, each once


def test_a_missing_folder_is_retried_with_backoff_until_it_appears(tmp_path: Path) -> None:
    folder = tmp_path / "later"
    capture = Capture(ImageFolderSource(path=folder, poll_s=0.01), FAST)
    capture.start()
    try:
        _wait(lambda: capture.stats.reconnects >= 3)
        assert capture.stats.state == "reconnecting" and "unavailable" in (capture.stats.alarm or "")
        folder.mkdir()
        _write(folder, "a.png", 50)
        _wait(lambda: capture.stats.frames == 1)
        assert capture.stats.state == "ok"
    finally:
        capture.stop()


def test_newest_frame_wins_when_inference_falls_behind() -> None:
    queue = FrameQueue(3)
    at = datetime.now(UTC)
    for i in range(10):
        queue.put(Frame(i, np.zeros((2, 2, 3), np.uint8), at, 0.0), wait=False)
    assert queue.dropped == 7
    got = [queue.get(0.0) for _ in range(3)]
    assert [f.index for f in got if isinstance(f, Frame)] == [7, 8, 9]
    assert queue.get(0.01) is False


def test_paced_video_drops_frames_for_a_slow_consumer_and_unpaced_video_drops_none(tmp_path: Path) -> None:
    path = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 30, (64, 48))
    for i in range(30):
        writer.write(np.full((48, 64, 3), i * 8, np.uint8))
    writer.release()
    for pace, expect_drops in ((True, True), (False, False)):
        capture = Capture(VideoFileSource(path=path, pace=pace), CaptureSettings(queue_size=2))
        capture.start()
        seen = 0
        while (item := capture.queue.get(5.0)) is not None:
            assert item is not False
            seen += 1
            time.sleep(0.1)  # inference three times slower than the camera
        capture.stop()
        assert capture.stats.state == "ended"
        assert (capture.dropped > 0) == expect_drops
        assert seen + capture.dropped == 30
