"""Drive-by video: deterministic, the promised size and length, and every truth plate visible in its range."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from models.synth.video import DriveBySpec, build_driveby, iter_driveby_frames, render_driveby


@pytest.fixture(scope="module")
def demo_like():  # the demo's default shape: 45 cars at 1280x720
    return build_driveby(DriveBySpec(seed=4242))


def test_demo_spec_meets_the_promises(demo_like) -> None:
    truth = demo_like.truth
    assert (truth.width, truth.height, truth.fps) == (1280, 720, 30)
    assert truth.n_frames >= 20 * truth.fps
    assert len(truth.cars) == 45 and len({c.text for c in truth.cars}) == 45
    for car in truth.cars:
        frames = car.last_frame - car.first_frame + 1
        assert 0.5 * truth.fps <= frames <= 1.5 * truth.fps
        assert len(car.boxes) == frames
        for x1, y1, x2, y2 in car.boxes:
            assert 0 <= x1 < x2 <= truth.width and 0 <= y1 < y2 <= truth.height
            assert 80 <= x2 - x1 <= 250


def test_no_two_plates_overlap(demo_like) -> None:
    truth = demo_like.truth
    for i in range(truth.n_frames):
        boxes = [b for _, b in truth.boxes_at(i)]
        for j, a in enumerate(boxes):
            for b in boxes[j + 1 :]:
                assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), f"frame {i}"


def test_plate_pixels_are_in_the_truth_box(demo_like) -> None:
    """The plate (high-contrast characters on a flat ground) is where the truth says, mid-pass."""
    for car in demo_like.truth.cars[:10]:
        mid = (car.first_frame + car.last_frame) // 2
        x1, y1, x2, y2 = car.box_at(mid)
        frame = demo_like.frame(mid)
        grey = cv2.cvtColor(frame[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY)
        assert grey.std() > 25, car.text
        assert car.box_at(car.first_frame - 1) is None and car.box_at(car.last_frame + 1) is None


def test_same_seed_same_video() -> None:
    spec = DriveBySpec(seed=5, n_cars=3, noise=3.0, blur=0.7)
    a, b = build_driveby(spec), build_driveby(spec)
    assert a.truth == b.truth
    for i in (0, len(a) // 2, len(a) - 1):
        assert np.array_equal(a.frame(i), b.frame(i))
    assert build_driveby(DriveBySpec(seed=6, n_cars=3)).truth != a.truth


def test_forced_plates_and_duration() -> None:
    spec = DriveBySpec(seed=8, n_cars=5, plates=("XX-99-99", ("M-AB-1234", "DE")), duration_s=4.0)
    truth = build_driveby(spec).truth
    assert truth.n_frames == 120
    found = {c.text: c.country for c in truth.cars}
    assert found["XX9999"] == "NL" and found["MAB1234"] == "DE"


def test_iterator_matches_truth_frame_count() -> None:
    spec = DriveBySpec(seed=9, n_cars=2, width=640, height=360)
    frames = list(iter_driveby_frames(spec))
    assert len(frames) == build_driveby(spec).truth.n_frames
    assert all(f.shape == (360, 640, 3) and f.dtype == np.uint8 for f in frames)


def test_written_file_has_the_promised_frames(tmp_path: Path) -> None:
    path = tmp_path / "drive.mp4"
    truth = render_driveby(DriveBySpec(seed=10, n_cars=3), path, progress=False)
    cap = cv2.VideoCapture(str(path))
    try:
        count = 0
        while True:
            ok, frame = cap.read()
            if not ok:
                break
            assert frame.shape == (720, 1280, 3)
            count += 1
    finally:
        cap.release()
    assert count == truth.n_frames


def test_bad_spec_is_refused() -> None:
    with pytest.raises(ValueError, match="n_cars"):
        DriveBySpec(seed=1, n_cars=1, plates=("AB12CD", "XY34ZZ"))
