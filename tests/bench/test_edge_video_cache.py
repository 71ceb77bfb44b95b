"""bench edge reuses a rendered drive-by only if the generator that drew it is the current one."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import edge as bench_edge
from models import synth
from models.synth.video import DriveBySpec

SPEC = DriveBySpec(seed=4, n_cars=15, fps=30, width=1280, height=720, duration_s=10)


def fake_generator(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    package = root / "synth"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "glyphs.py").write_text("GAP = 0.5\n")
    monkeypatch.setattr(synth, "PACKAGE_DIR", package)
    return package


def test_cached_video_name_changes_with_the_generator_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = fake_generator(tmp_path, monkeypatch)
    before = bench_edge.video_path(SPEC, tmp_path / "cache")
    assert bench_edge.video_path(SPEC, tmp_path / "cache") == before  # same code: the cached video is reused

    (package / "glyphs.py").write_text("GAP = 0.8\n")

    after = bench_edge.video_path(SPEC, tmp_path / "cache")
    assert after != before and after.parent == before.parent
    assert after.name.startswith("driveby-4-15cars-10s-1280x720-") and after.suffix == ".mp4"


def test_cached_video_name_covers_every_generator_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = fake_generator(tmp_path, monkeypatch)
    before = bench_edge.video_path(SPEC, tmp_path)

    (package / "typefaces.py").write_text("FACES = ()\n")  # a new module the video may draw with

    assert bench_edge.video_path(SPEC, tmp_path) != before
