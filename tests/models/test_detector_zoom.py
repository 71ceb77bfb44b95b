"""`python -m models.detector.zoom`: detection recall against the plate's width at the detector's input."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.detector import PlateDetector, letterbox
from models.detector.data import DEFAULT_MODEL
from models.detector.zoom import main, recall_by_width, zoomed
from models.evaluate import matched_boxes
from models.manifest import read_manifest
from models.synth.testset import write_testset


@pytest.fixture(scope="module")
def scenes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_testset(tmp_path_factory.mktemp("zoom"), 8, workers=1, progress=False)


@pytest.mark.parametrize("width", [100, 250, 400])
def test_the_window_shows_the_plate_at_the_asked_width_of_the_detector_input(width: int) -> None:
    frame = np.zeros((720, 1280, 3), np.uint8)
    box = (600, 400, 760, 440)  # 160 px wide
    window, inner = zoomed(frame, box, width, 800)
    _, scale = letterbox(window, 800, 480)
    assert abs((inner[2] - inner[0]) * scale - width) <= 2
    assert inner[2] - inner[0] == box[2] - box[0] and 0 <= inner[0] < inner[2] <= window.shape[1]
    assert 0 <= inner[1] < inner[3] <= window.shape[0]


def test_a_plate_that_cannot_be_shown_that_small_is_left_out() -> None:
    frame = np.zeros((720, 1280, 3), np.uint8)
    assert zoomed(frame, (100, 300, 700, 420), 100, 800) is None  # a 600-px plate at 100 px: a 4800-px window


def test_as_is_counts_what_the_eval_matching_counts(scenes: Path) -> None:
    detector = PlateDetector(DEFAULT_MODEL, threads=1)
    images = read_manifest(scenes)
    result = recall_by_width(detector, images, widths=(0, 150), progress=False)
    plates = found = 0
    for image in images:
        truth = [p.box for p in image.plates]
        plates += len(truth)
        found += len(matched_boxes(truth, detector.detect(cv2.imread(str(image.path))), 0.5))
    assert result[0]["plates"] == plates > 0 and result[0]["found"] == found
    assert 0 < result[150]["plates"] <= plates and 0.0 <= result[150]["recall"] <= 1.0


def test_the_command_prints_one_json_object_per_run(scenes: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--manifest", str(scenes), "--widths", "0,200", "--threads", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["input_width"] == 800 and set(out["widths"]) == {"0", "200"}
    assert out["model"] == PlateDetector(DEFAULT_MODEL).model_version
    assert out["large_plate_passes"] == 1  # the edge's default


def test_the_large_plate_passes_can_be_turned_off(scenes: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["--manifest", str(scenes), "--widths", "0", "--threads", "1", "--large-plate-passes", "0", "--json"]) == 0
    )
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["large_plate_passes"] == 0


def test_widths_that_are_not_whole_pixels_say_what_to_pass(scenes: Path) -> None:
    with pytest.raises(SystemExit, match="whole pixel widths"):
        main(["--manifest", str(scenes), "--widths", "0,big"])


def test_a_missing_manifest_says_which_file(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match=r"nope\.csv"):
        main(["--manifest", str(tmp_path / "nope.csv")])
