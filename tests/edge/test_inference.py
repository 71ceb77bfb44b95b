"""The edge service's inference: detection of the next frame beside reading of this one, in frame order.

Real models, a real video and a real outbox; the broker address has nothing listening (reads wait in the outbox,
as on a dead mobile link), so these tests need no broker.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from contract.bus import KafkaSettings
from contract.digest import KeyRing
from edge.frames import VideoFileSource
from edge.outbox import OutboxSettings
from edge.pipeline import FinishedRead
from edge.service import EdgeService, EdgeSettings
from models.synth.video import DriveBySpec, DriveByTruth, render_driveby
from scanauto.broker import free_port


@pytest.fixture(scope="module")
def drive(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DriveByTruth]:
    video = tmp_path_factory.mktemp("drive") / "drive.mp4"
    return video, render_driveby(DriveBySpec(seed=52, n_cars=4), video, progress=False)


def _service(video: Path, tmp_path: Path, keys: KeyRing, reads: list[FinishedRead]) -> EdgeService:
    settings = EdgeSettings(
        source=VideoFileSource(path=video, pace=False),  # not live: every frame is processed, none dropped
        kafka=KafkaSettings(bootstrap_servers=f"127.0.0.1:{free_port()}", connect_timeout_s=1),
        outbox=OutboxSettings(path=tmp_path / "outbox.sqlite"),
        status_port=None,
        drain_timeout_s=0,
    )
    return EdgeService(settings, keys, on_read=reads.append)


def _spy(obj: Any, name: str, before: Callable[..., None]) -> None:
    """Call `before(*args, **kwargs)`, then the real method, whenever `obj.name` is called."""
    real = getattr(obj, name)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        before(*args, **kwargs)
        return real(*args, **kwargs)

    setattr(obj, name, wrapped)


async def test_detection_runs_in_its_own_thread_and_every_frame_is_read_once_in_order(
    drive: tuple[Path, DriveByTruth], tmp_path: Path, keys: KeyRing
) -> None:
    video, truth = drive
    reads: list[FinishedRead] = []
    edge = _service(video, tmp_path, keys, reads)
    await edge.start()
    pipeline = edge._pipeline
    assert pipeline is not None
    detect_threads: set[str] = set()
    read_threads: set[str] = set()
    indices: list[int] = []
    _spy(pipeline, "detect", lambda *a, **k: detect_threads.add(threading.current_thread().name))

    def on_process(*args: Any, index: int, detections: list[Any] | None = None, **kwargs: Any) -> None:
        assert detections is not None, "the reading thread ran the detector itself"
        read_threads.add(threading.current_thread().name)
        indices.append(index)

    _spy(pipeline, "process", on_process)
    try:
        stats = await edge.run()
    finally:
        await edge.stop()

    assert detect_threads == {"edge-detect"}
    assert read_threads and "edge-detect" not in read_threads
    assert indices == list(range(truth.n_frames)) == list(range(stats.processed))  # each frame once, in order
    assert stats.dropped_frames == 0
    assert sorted(r.candidates[0].text for r in reads) == sorted(c.text for c in truth.cars)
    assert stats.stage_ms["detect"] > 0 and stats.stage_ms["ocr"] > 0
    assert stats.outbox_left == len(reads)  # nothing listens at the broker address: the reads wait, none lost


async def test_a_detector_failure_mid_stream_stops_the_run_with_its_error(
    drive: tuple[Path, DriveByTruth], tmp_path: Path, keys: KeyRing
) -> None:
    video, _ = drive
    edge = _service(video, tmp_path, keys, [])
    await edge.start()
    assert edge._pipeline is not None
    calls = [0]

    def fail_on_the_tenth(*args: Any) -> None:
        calls[0] += 1
        if calls[0] == 10:
            raise RuntimeError("detector failed on frame 10")

    _spy(edge._pipeline, "detect", fail_on_the_tenth)
    try:
        with pytest.raises(RuntimeError, match="detector failed on frame 10"):
            await asyncio.wait_for(edge.run(), timeout=120)  # raised, not hung
        assert edge.monitor is not None and 8 <= edge.monitor.times.processed <= 9
    finally:
        await edge.stop()
