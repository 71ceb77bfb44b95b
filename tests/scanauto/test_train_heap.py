"""`scanauto train` restarts itself once with glibc told to keep freed memory (a trainer's batch buffers would
otherwise page-fault back in every step), and lets the user's own settings win."""

import os
import subprocess
import sys

from scanauto.cli import KEPT_HEAP_ENV, kept_heap_env


def test_a_trainer_restarts_with_the_heap_kept_and_the_users_settings_win() -> None:
    env = kept_heap_env({"PATH": "/bin", "MALLOC_TOP_PAD_": "4096"}, "linux")
    assert env is not None
    assert env["PATH"] == "/bin" and env["MALLOC_TOP_PAD_"] == "4096"
    assert env["MALLOC_MMAP_THRESHOLD_"] == KEPT_HEAP_ENV["MALLOC_MMAP_THRESHOLD_"]


def test_no_restart_once_set_or_off_linux() -> None:
    assert kept_heap_env(dict(KEPT_HEAP_ENV), "linux") is None
    assert kept_heap_env({}, "darwin") is None


def test_the_restarted_command_runs_once_with_its_arguments() -> None:
    env = {k: v for k, v in os.environ.items() if k not in KEPT_HEAP_ENV}
    proc = subprocess.run(
        [sys.executable, "-m", "scanauto.cli", "train", "ocr", "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    # With the train extra the trainer prints its own usage; without it (make test) one clean error says so.
    if proc.returncode == 0:
        assert proc.stdout.count("usage: scanauto train ocr") == 1 and "--minutes" in proc.stdout
    else:
        errors = [line for line in proc.stderr.splitlines() if "error:" in line]
        assert len(errors) == 1 and "'train' extra" in errors[0], proc.stderr
