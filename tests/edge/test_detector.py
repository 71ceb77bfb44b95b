"""The committed plate detector: finds the plates of fresh synthetic scenes, large ones too; clear errors; stable
output."""

from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np
import pytest

from contract.errors import ConfigError, InputError
from edge.detector import Detection, DetectorSettings, PlateDetector, halved, letterbox, nms
from models.detector.data import DEFAULT_MODEL, DEPLOY_H, DEPLOY_W, TEST_SCENES
from models.detector.evaluate import match
from models.detector.zoom import zoomed
from models.evaluate import iou
from models.synth.scenes import render_scene


@pytest.fixture(scope="module")
def detector() -> PlateDetector:
    return PlateDetector(DEFAULT_MODEL, threads=2)


def test_finds_nine_in_ten_plates_of_fresh_scenes(detector: PlateDetector) -> None:
    plates = found = detections = 0
    for i in range(20):
        scene = render_scene(np.random.default_rng([TEST_SCENES, i]))
        dets = detector.detect(scene.image)
        assert all(isinstance(d, Detection) and 0 <= d.score <= 1 for d in dets)
        truth = [(p.x1, p.y1, p.x2, p.y2) for p in scene.plates]
        plates += len(truth)
        detections += len(dets)
        found += match(truth, dets, 0.5)
    assert plates >= 30
    assert found / plates >= 0.9, f"recall {found}/{plates}"
    assert found / max(1, detections) >= 0.8, f"precision {found}/{detections}"


def test_model_version_names_the_file_and_hash(detector: PlateDetector) -> None:
    assert re.fullmatch(r"plate_detector-[0-9a-f]{8}", detector.model_version)


def test_missing_model_says_how_to_get_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="scanauto train detector"):
        PlateDetector(tmp_path / "nope.onnx")


def test_bad_frames_are_refused(detector: PlateDetector) -> None:
    with pytest.raises(InputError):
        detector.detect(np.zeros((720, 1280), np.uint8))
    with pytest.raises(InputError):
        detector.detect(np.zeros((720, 1280, 3), np.float32))  # type: ignore[arg-type]


def test_blank_frame_any_size(detector: PlateDetector) -> None:
    assert detector.detect(np.full((480, 640, 3), 128, np.uint8)) == []


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigError):
        DetectorSettings(score_threshold=1.5)


def test_letterbox_keeps_aspect() -> None:
    out, scale = letterbox(np.full((720, 1280, 3), 200, np.uint8), 640, 384)
    assert out.shape == (384, 640, 3) and scale == 0.5
    assert out[359, 639, 0] == 200 and out[360:, :].max() == 0


def test_letterbox_halving_is_the_area_mean_the_training_images_were_made_with() -> None:
    # Bilinear at exactly 0.5 averages each 2x2 block, as INTER_AREA did: 1280-px training frames are unchanged.
    frame = np.random.default_rng(5).integers(0, 256, (720, 1280, 3), dtype=np.uint8)
    out, scale = letterbox(frame, 640, 384)
    assert scale == 0.5
    assert np.array_equal(out[:360], cv2.resize(frame, (640, 360), interpolation=cv2.INTER_AREA))


def test_shipped_model_reads_frames_at_the_deployed_size(detector: PlateDetector) -> None:
    # The edge takes H x W from the model; the shipped one is exported at 480 x 800 (models/detector/export.py).
    assert (detector.input_height, detector.input_width) == (DEPLOY_H, DEPLOY_W) == (480, 800)
    out, scale = letterbox(np.full((720, 1280, 3), 200, np.uint8), DEPLOY_W, DEPLOY_H)
    assert out.shape == (480, 800, 3) and scale == 0.625
    assert out[449, 799, 0] == 200 and out[450:, :].max() == 0


def test_nms_drops_overlapping_boxes() -> None:
    boxes = np.array([[0, 0, 100, 20], [2, 1, 101, 21], [200, 0, 300, 20]], np.float32)
    scores = np.array([0.6, 0.9, 0.5], np.float32)
    assert nms(boxes, scores, 0.4) == [1, 2]


def test_shipped_model_takes_any_size_and_runs_the_passes_for_large_plates(detector: PlateDetector) -> None:
    assert PlateDetector.takes_any_size(DEFAULT_MODEL)
    assert detector.large_plate_passes == DetectorSettings().large_plate_passes == 1


def _large_plates(detector: PlateDetector, width: int, scenes: int) -> tuple[int, int]:
    """(plates, found) of fresh scenes cut around each plate so that it spans `width` px of the model's input."""
    plates = found = 0
    for i in range(scenes):
        scene = render_scene(np.random.default_rng([TEST_SCENES, i]))
        for p in scene.plates:
            cut = zoomed(scene.image, (p.x1, p.y1, p.x2, p.y2), width, detector.input_width)
            if cut is not None:
                plates += 1
                found += any(iou((d.x1, d.y1, d.x2, d.y2), cut[1]) >= 0.5 for d in detector.detect(cut[0]))
    return plates, found


@pytest.mark.parametrize(("width", "passes"), [(400, 1), (600, 2)])
def test_coarser_passes_find_plates_too_large_for_the_finer_ones(width: int, passes: int) -> None:
    # At 400 px of the 800-px input a plate is wider than what the network sees at once (receptive field about
    # 210 px; training plates up to 320 px): the full-scale pass alone finds about half of them; at 600 px the
    # pass at half scale sees it at 300 px, and the one at a quarter at 150.
    detector = PlateDetector(DEFAULT_MODEL, threads=2, settings=DetectorSettings(large_plate_passes=passes))
    plates, found = _large_plates(detector, width, 10)
    fewer = PlateDetector(DEFAULT_MODEL, threads=2, settings=DetectorSettings(large_plate_passes=passes - 1))
    _, found_with_fewer = _large_plates(fewer, width, 10)
    assert plates >= 15
    assert found / plates >= 0.9, f"{found}/{plates} large plates found"
    assert found_with_fewer < found


def test_halving_keeps_the_picture_at_the_top_left_and_pads_to_the_stride() -> None:
    image, _ = letterbox(np.random.default_rng(9).integers(0, 256, (720, 1280, 3), dtype=np.uint8), 800, 480)
    half, w, h = halved(image, 800, 450)
    assert half.shape == (256, 416, 3) and (w, h) == (400, 225)
    assert np.array_equal(half[:225, :400], cv2.resize(image[:450, :800], (400, 225), interpolation=cv2.INTER_AREA))
    assert half[225:].max() == 0 and half[:, 400:].max() == 0
    quarter, w, h = halved(half, w, h)
    assert quarter.shape == (128, 224, 3) and (w, h) == (200, 112)


def test_large_plate_passes_are_checked() -> None:
    with pytest.raises(ConfigError, match="large_plate_passes"):
        DetectorSettings(large_plate_passes=3)


def test_a_fixed_size_model_cannot_run_the_large_plate_passes_and_says_what_to_do(fixed_size_detector: Path) -> None:
    fixed = fixed_size_detector

    assert not PlateDetector.takes_any_size(fixed)
    with pytest.raises(ConfigError, match="--any-size"):
        PlateDetector(fixed)
    off = DetectorSettings(large_plate_passes=0)
    scene = render_scene(np.random.default_rng([TEST_SCENES, 0]))
    assert PlateDetector(fixed, settings=off).detect(scene.image) == PlateDetector(DEFAULT_MODEL, settings=off).detect(
        scene.image
    )
