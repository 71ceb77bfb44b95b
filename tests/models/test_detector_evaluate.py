"""The detector evaluation compares two models in one run: they take turns on every scene."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edge.detector import Detection, PlateDetector
from models.detector.data import DEFAULT_MODEL
from models.detector.evaluate import eval_scenes, main


class Recorded(PlateDetector):
    """The shipped detector, noting in a shared list when it ran."""

    def __init__(self, name: str, log: list[str]) -> None:
        super().__init__(DEFAULT_MODEL, threads=1)
        self.name, self.log = name, log

    def detect(self, frame_bgr: np.ndarray) -> list[Detection]:
        self.log.append(self.name)
        return super().detect(frame_bgr)


def test_two_detectors_take_turns_on_every_scene_and_score_alike_when_they_are_one_model() -> None:
    log: list[str] = []
    (a_tally, a_ms), (b_tally, b_ms) = eval_scenes([Recorded("a", log), Recorded("b", log)], 4, 0.5)

    assert log == ["a", "b", "b", "a", "a", "b", "b", "a"]  # who goes first alternates
    assert a_tally == b_tally and a_tally.images == 4 and a_tally.plates > 0
    assert len(a_ms) == len(b_ms) == 4 and min(a_ms + b_ms) > 0


def test_evaluate_against_reports_the_second_model_beside_the_first(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--scenes", "2", "--driveby-every", "100000", "--threads", "1", "--against", str(DEFAULT_MODEL)]) == 0

    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["against"]["model"] == result["model"] == PlateDetector(Path(DEFAULT_MODEL)).model_version
    assert result["against"]["synthetic"] == result["synthetic"]
    assert result["large_plate_passes"] == result["against"]["large_plate_passes"] == 1
    assert set(result["against"]["ms_per_frame_1280x720"]) == {"p50", "p95", "threads"}


def test_evaluate_against_a_fixed_size_model_runs_it_without_the_large_plate_passes(
    fixed_size_detector: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--scenes", "1", "--driveby-every", "100000", "--threads", "1", "--against", str(fixed_size_detector)]

    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["large_plate_passes"] == 1 and result["against"]["large_plate_passes"] == 0
    with pytest.raises(SystemExit, match="--any-size"):
        main(["--model", str(fixed_size_detector), "--scenes", "1"])
