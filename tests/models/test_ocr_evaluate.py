"""The OCR evaluation compares two models in one run: they read the same crops, each in a process of its own."""

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
    assert result["timing"] == "one process per model, taking turns every 8 batches"


def test_evaluate_alone_reads_as_it_does_beside_another_model(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--size", "96", "--batch", "32", "--single", "4", "--threads", "1"]

    assert main(argv) == 0
    alone = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert main([*argv, "--against", str(HERE / "plate_ocr.onnx")]) == 0
    beside = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (alone["exact"], alone["by_country"]) == (beside["exact"], beside["by_country"])
    assert "against" not in alone and "timing" not in alone
