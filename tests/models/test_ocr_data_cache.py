"""The OCR training caches are keyed by the code that draws the crops, not only by a hand-bumped version."""

from __future__ import annotations

from pathlib import Path

import pytest

from models import synth
from models.ocr import dataset


def test_cache_tag_changes_when_the_generator_changes_without_a_version_bump(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "synth"
    package.mkdir()
    (package / "crops.py").write_text('TYPEFACE_SHARE = {"foreign": 0.6}\n')
    monkeypatch.setattr(synth, "PACKAGE_DIR", package)
    before = dataset.data_tag()

    (package / "crops.py").write_text('TYPEFACE_SHARE = {"foreign": 0.2}\n')  # OCR v7b -> v7c: no bump

    after = dataset.data_tag()
    assert after != before
    assert before.startswith(f"{dataset.DATA_VERSION}-") and after.startswith(f"{dataset.DATA_VERSION}-")


def test_cache_tag_is_the_same_for_the_same_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "synth"
    package.mkdir()
    (package / "glyphs.py").write_text("GAP = 0.5\n")
    monkeypatch.setattr(synth, "PACKAGE_DIR", package)

    assert dataset.data_tag() == dataset.data_tag()  # cached crops of this code are reused
