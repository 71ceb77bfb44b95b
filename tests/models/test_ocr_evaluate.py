"""The OCR evaluation compares two models in one run: they read the same crops, taking turns batch by batch."""

from __future__ import annotations

import json

import pytest

from models.ocr.evaluate import HERE, main


def test_evaluate_against_reads_the_same_crops_with_the_second_model(capsys: pytest.CaptureFixture[str]) -> None:
    model = HERE / "plate_ocr.onnx"
    argv = ["--size", "96", "--batch", "32", "--single", "4", "--threads", "1", "--against", str(model)]

    assert main(argv) == 0

    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    other = result["against"]
    assert other["model"] == str(model)
    assert (other["exact"], other["char_accuracy"]) == (result["exact"], result["char_accuracy"])
    assert result["exact"] > 0.5 and other["plates_per_s_batched"] > 0 and result["plates_per_s_batched"] > 0
