"""The committed ONNX models are the ones their model cards describe: every stated sha256 matches the file."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

MODELS = Path(__file__).resolve().parents[2] / "models"
ONNX_FILES = sorted(MODELS.glob("*/*.onnx"))
CARDS = [MODELS / "README.md", *sorted(MODELS.glob("*/README.md"))]
SHA = re.compile(r"\b[0-9a-f]{64}\b")


def stated_hashes(name: str) -> list[tuple[Path, str]]:
    """(card, hash) for every 64-hex string on a card line that names the file `name`."""
    out = []
    for card in CARDS:
        for line in card.read_text(encoding="utf-8").splitlines():
            if name in line:
                out.extend((card, h) for h in SHA.findall(line))
    return out


def test_there_is_a_summary_card_and_a_model() -> None:
    assert (MODELS / "README.md").is_file()
    assert any(p.name == "plate_detector.onnx" for p in ONNX_FILES)


@pytest.mark.parametrize("onnx", ONNX_FILES, ids=lambda p: p.name)
def test_model_cards_state_the_committed_files_sha256(onnx: Path) -> None:
    actual = hashlib.sha256(onnx.read_bytes()).hexdigest()
    stated = stated_hashes(onnx.name)
    assert stated, f"no model card line names {onnx.name} with its sha256 (expected {actual})"
    wrong = [f"{card.relative_to(MODELS.parent)}: {h}" for card, h in stated if h != actual]
    assert not wrong, f"{onnx.name} is {actual}, but the cards say {wrong}"
    assert (onnx.parent / "README.md").is_file(), f"{onnx.parent.name} has no model card"
