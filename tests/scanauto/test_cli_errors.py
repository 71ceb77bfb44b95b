"""Bad input gets a one-line error and a non-zero exit, never a bare traceback."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scanauto.broker import EmbeddedBroker, free_port

GOOD_KEY = "k1:" + os.urandom(32).hex()


def _run(args: list[str], env_key: str | None = GOOD_KEY) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SCANAUTO_FLEET_KEY"}
    if env_key is not None:
        env["SCANAUTO_FLEET_KEY"] = env_key
    return subprocess.run(
        [sys.executable, "-m", "scanauto.cli", *args], capture_output=True, text=True, env=env, timeout=120
    )


def _assert_clean_error(proc: subprocess.CompletedProcess[str], needle: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and needle in errors[0], proc.stderr


@pytest.fixture
def list_file(tmp_path: Path) -> Path:
    path = tmp_path / "stolen.csv"
    path.write_text("plate,reference,valid_until\nAB-12-34,SV-1,2099-01-01\n")
    return path


def test_missing_key(list_file: Path) -> None:
    _assert_clean_error(_run(["ingest", "--list", "stolen", str(list_file)], env_key=None), "no fleet key")


def test_weak_key(list_file: Path) -> None:
    _assert_clean_error(_run(["ingest", "--list", "stolen", str(list_file)], env_key="k1:00ff"), "at least 32")


def test_empty_list_file(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("")
    _assert_clean_error(_run(["ingest", "--list", "stolen", str(tmp_path / "empty.csv")]), "is empty")


def test_unreachable_broker(list_file: Path) -> None:
    port = free_port()  # nothing listens there
    proc = _run(["ingest", "--list", "stolen", str(list_file), "--bootstrap-servers", f"127.0.0.1:{port}"])
    _assert_clean_error(proc, "cannot reach Kafka")


def test_missing_video(tmp_path: Path) -> None:
    proc = _run(["edge", "--video", str(tmp_path / "none.mp4"), "--bootstrap-servers", "127.0.0.1:1"])
    _assert_clean_error(proc, "does not exist")


def test_corrupt_video(tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(os.urandom(4096))
    proc = _run(["edge", "--video", str(bad), "--bootstrap-servers", "127.0.0.1:1"])
    _assert_clean_error(proc, "cannot be opened")


def test_malformed_rows_are_reported_and_the_rest_published(tmp_path: Path, broker: EmbeddedBroker) -> None:
    path = tmp_path / "stolen.csv"
    path.write_text("plate,reference\nAB-12-34,SV-1\n???,SV-2\nBD-12-FG,\n")
    proc = _run(["ingest", "--list", "stolen", str(path), "--bootstrap-servers", broker.bootstrap])
    assert proc.returncode == 5, proc.stderr
    assert f"{path}:3: rejected" in proc.stderr and f"{path}:4: rejected: reference is empty" in proc.stderr
    assert "1 rows accepted" in proc.stdout and "2 rejected" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_testset_with_a_negative_first_scene(tmp_path: Path) -> None:
    proc = _run(["testset", str(tmp_path / "set"), "--first", "-1", "--images", "2"], env_key=None)
    _assert_clean_error(proc, "--first >= 0")
    assert proc.returncode == 2


@pytest.mark.parametrize("margins", ["0.02,x", "0.02,0.9", ""])
def test_eval_with_ocr_margins_that_are_not_fractions_of_the_box(tmp_path: Path, margins: str) -> None:
    proc = _run(["eval", "--manifest", str(tmp_path / "m.csv"), "--ocr-margins", margins], env_key=None)
    _assert_clean_error(proc, "--ocr-margins")
    assert proc.returncode == 2
