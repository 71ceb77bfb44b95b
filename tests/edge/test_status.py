"""The operator status: page rendered by a real headless Chromium, JSON and Prometheus metrics; no plate text."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_outbox import plate_read

from contract.digest import KeyRing
from edge.capture import Capture, CaptureSettings
from edge.evidence import EvidenceWindow
from edge.frames import ImageFolderSource
from edge.gps import GpsReceiver, ReplayGps
from edge.monitor import EdgeMonitor
from edge.outbox import Outbox, OutboxSettings
from edge.publisher import LinkStats
from edge.status import StatusServer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PLATES = ["AB12CD", "ZX98YW"]


@dataclass
class Running:
    server: StatusServer
    monitor: EdgeMonitor


@pytest.fixture
def running(tmp_path: Path, keys: KeyRing) -> Iterator[Running]:
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(3):
        cv2.imwrite(str(frames / f"{i:03d}.png"), np.full((48, 64, 3), 40 * i, np.uint8))
    capture = Capture(ImageFolderSource(path=frames, stall_timeout_s=60), CaptureSettings(queue_size=8))
    gps = GpsReceiver(ReplayGps(path=tmp_path / "none.nmea"))  # missing recording: no fix, an alarm
    outbox = Outbox(OutboxSettings(path=tmp_path / "outbox.sqlite"))
    outbox.append([plate_read(keys, p) for p in PLATES])  # the plates exist only as digests here
    evidence = EvidenceWindow(120)
    evidence.put("a" * 32, np.zeros((20, 80, 3), np.uint8), np.zeros((72, 128, 3), np.uint8), frozenset(), keys.current)
    link = LinkStats(state="down", down_since=time.monotonic() - 12)
    monitor = EdgeMonitor("scan-07", "cam-left", capture, gps, outbox, link, evidence)
    server = StatusServer(monitor.status, port=0)
    capture.start()
    gps.start()
    server.start()
    deadline = time.monotonic() + 10
    while capture.stats.frames < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield Running(server, monitor)
    finally:
        server.stop()
        server.stop()  # safe twice
        capture.stop()
        gps.stop()
        outbox.close()


def _get(url: str) -> tuple[str, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.headers["Content-Type"], response.read()


def _no_plate_text(blob: bytes) -> None:
    assert not [p for p in PLATES if p.encode() in blob]


def test_status_json_reports_every_part_and_its_alarms(running: Running) -> None:
    ctype, body = _get(running.server.url + "status.json")
    assert ctype == "application/json"
    s = json.loads(body)
    assert s["vehicle_id"] == "scan-07" and s["camera"]["frames"] == 3 and s["camera"]["state"] == "ok"
    assert s["outbox"]["backlog"] == 2 and s["link"]["state"] == "down" and s["link"]["down_for_s"] >= 12
    assert s["gps"]["state"] in ("disconnected", "starting", "no-fix")
    assert s["evidence"]["held"] == 1
    assert set(s["latency_ms"]) == {"decode", "detect", "ocr", "track", "digest", "outbox", "publish"}
    assert any("broker unreachable" in a for a in s["alarms"])
    _no_plate_text(body)


def test_metrics_are_prometheus_text(running: Running) -> None:
    ctype, body = _get(running.server.url + "metrics")
    text = body.decode()
    assert ctype.startswith("text/plain")
    assert "scanauto_edge_frames_total 3.0" in text
    assert "scanauto_edge_outbox_backlog 2.0" in text
    assert 'scanauto_edge_link_state{state="down"} 1.0' in text
    assert 'scanauto_edge_stage_ms{stage="detect"}' in text
    assert "scanauto_edge_evidence_oldest_age_seconds" in text
    _no_plate_text(body)
    with pytest.raises(urllib.error.HTTPError):
        _get(running.server.url + "nope")


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (make test installs it)")
def test_page_renders_live_figures_in_headless_chromium(running: Running) -> None:
    with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
        proc = subprocess.run(
            [
                CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={profile}", "--virtual-time-budget=5000", "--dump-dom", running.server.url,
            ],
            capture_output=True, timeout=90, check=False,
        )  # fmt: skip
    dom = proc.stdout.decode()
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert 'id="camera-state" class="ok">ok<' in dom  # filled in by the page's script from /status.json
    assert "scan-07 / cam-left" in dom
    assert "broker unreachable" in dom and "2 of 200000" in dom
    assert "alarm(s)" in dom and "waiting for the first status" not in dom
    _no_plate_text(proc.stdout)


def test_an_alarm_says_when_inference_falls_behind_the_camera(tmp_path: Path) -> None:
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(60):
        cv2.imwrite(str(frames / f"{i:03d}.png"), np.full((48, 64, 3), i, np.uint8))
    # Nothing takes frames from the queue: a live source keeps the newest two and drops the rest.
    capture = Capture(ImageFolderSource(path=frames, stall_timeout_s=60), CaptureSettings(queue_size=2))
    gps = GpsReceiver(ReplayGps(path=tmp_path / "none.nmea"))
    outbox = Outbox(OutboxSettings(path=tmp_path / "outbox.sqlite"))
    monitor = EdgeMonitor("scan-07", "cam-left", capture, gps, outbox, LinkStats(), EvidenceWindow(120))
    assert not [a for a in monitor.alarms() if "falls behind" in a]
    capture.start()
    try:
        deadline = time.monotonic() + 10
        while capture.stats.frames < 60 and time.monotonic() < deadline:
            time.sleep(0.02)
        alarms = [a for a in monitor.alarms() if "falls behind" in a]
        status = monitor.status()
    finally:
        capture.stop()
        outbox.close()
    assert alarms == ["inference falls behind the camera: 58 of the last 60 frames dropped; plates may be missed "
                      "(check the computer's CPU load and model threads)"]  # fmt: skip
    assert alarms[0] in status.alarms and status.camera.dropped == 58
