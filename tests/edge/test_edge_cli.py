"""`scanauto edge` settings: a file plus flags, validated strictly; errors name the bad setting."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

KEY = "k1:" + os.urandom(32).hex()


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SCANAUTO_FLEET_KEY": KEY}
    return subprocess.run(
        [sys.executable, "-m", "scanauto.cli", "edge", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_settings_file_and_flags_combine_into_validated_settings(tmp_path: Path) -> None:
    config = tmp_path / "edge.yaml"
    config.write_text(
        "source: {kind: stream, url: 'rtsp://10.0.0.2/front', stall_timeout_s: 2}\n"
        "gps: {kind: gpsd, port: 2947}\nmax_candidates: 6\nevidence_window_s: 60\ntrack_fusion: mean\n"
    )
    proc = _run("--config", str(config), "--outbox", str(tmp_path / "o.sqlite"), "--status-port", "0",
                "--vehicle-id", "scan-09", "--validate-config")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    s = json.loads(proc.stdout)
    assert s["source"] == {"kind": "stream", "url": "rtsp://10.0.0.2/front", "open_timeout_s": 5.0,
                           "stall_timeout_s": 2.0}  # fmt: skip
    assert s["gps"]["kind"] == "gpsd" and s["max_candidates"] == 6 and s["vehicle_id"] == "scan-09"
    assert s["track_fusion"] == "mean" and s["min_alternative_prob"] == 0.01
    assert s["outbox"]["path"] == str(tmp_path / "o.sqlite") and s["status_port"] == 0
    proc = _run("--config", str(config), "--image-folder", str(tmp_path), "--validate-config")
    assert json.loads(proc.stdout)["source"]["kind"] == "image-folder"  # a flag overrides the file


def test_bad_settings_fail_with_one_line_naming_the_setting(tmp_path: Path) -> None:
    config = tmp_path / "edge.yaml"
    config.write_text("source: {kind: v4l2, device: /dev/video0}\nmax_candidates: 99\n")
    proc = _run("--config", str(config), "--validate-config")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "invalid setting max_candidates" in proc.stderr
    proc = _run("--validate-config")
    assert proc.returncode == 2 and "no frame source" in proc.stderr
