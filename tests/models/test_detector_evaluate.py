"""The detector evaluation compares two models in one run, each in a process of its own, taking turns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.detector import DetectorSettings, PlateDetector
from models.detector.data import DEFAULT_MODEL
from models.detector.evaluate import Arm, eval_scenes, eval_scenes_apart, main


def test_detectors_compared_in_processes_of_their_own_score_as_one_in_process_when_they_are_one_model() -> None:
    arm = Arm(DEFAULT_MODEL, 1, DetectorSettings())
    (a_tally, a_ms), (b_tally, b_ms) = eval_scenes_apart([arm, arm], 5, 0.5, turn=2)  # blocks of 2, 2 and 1 scenes

    alone, alone_ms = eval_scenes(PlateDetector(DEFAULT_MODEL, threads=1), 5, 0.5)
    assert a_tally == b_tally == alone and alone.images == 5 and alone.plates > 0
    assert len(a_ms) == len(b_ms) == len(alone_ms) == 5 and min(a_ms + b_ms) > 0


def test_a_detector_that_fails_in_its_process_is_named_in_the_error(tmp_path: Path) -> None:
    broken = tmp_path / "not_a_model.onnx"
    broken.write_bytes(b"not onnx")

    with pytest.raises(RuntimeError, match=r"not_a_model\.onnx failed"):
        eval_scenes_apart([Arm(DEFAULT_MODEL, 1, DetectorSettings()), Arm(broken, 1, DetectorSettings())], 2, 0.5)


def test_evaluate_against_reports_the_second_model_beside_the_first(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--scenes", "2", "--driveby-every", "100000", "--threads", "1", "--against", str(DEFAULT_MODEL)]) == 0

    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["against"]["model"] == result["model"] == PlateDetector(Path(DEFAULT_MODEL)).model_version
    assert result["against"]["synthetic"] == result["synthetic"]
    assert result["large_plate_passes"] == result["against"]["large_plate_passes"] == 1
    assert set(result["against"]["ms_per_frame_1280x720"]) == {"p50", "p95", "threads"}
    assert result["timing"] == "one process per detector, taking turns every 20 scenes"


def test_evaluate_against_a_fixed_size_model_runs_it_without_the_large_plate_passes(
    fixed_size_detector: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--scenes", "1", "--driveby-every", "100000", "--threads", "1", "--against", str(fixed_size_detector)]

    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["large_plate_passes"] == 1 and result["against"]["large_plate_passes"] == 0
    with pytest.raises(SystemExit, match="--any-size"):
        main(["--model", str(fixed_size_detector), "--scenes", "1"])
