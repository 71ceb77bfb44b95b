"""Synthetic street scenes: deterministic by seed, truth boxes inside the frame and of the promised size."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from contract.normalise import normalise
from models.synth import scenes
from models.synth.cars import CarSprite, motion_kernel, paste
from models.synth.scenes import CLASSIC_STYLES, MAX_SMEAR_MM, PLATE_MM, Scene, plate_smear_px, render_scene


def _scene(seed: int) -> Scene:
    return render_scene(np.random.default_rng([9, seed]))


def test_same_seed_same_scene() -> None:
    a, b = _scene(1), _scene(1)
    assert a.plates == b.plates
    assert np.array_equal(a.image, b.image)
    assert not np.array_equal(a.image, _scene(2).image)


@pytest.mark.parametrize("seed", range(8))
def test_truth_boxes_lie_inside_the_frame(seed: int) -> None:
    scene = _scene(seed)
    h, w = scene.image.shape[:2]
    assert scene.image.dtype == np.uint8 and scene.image.shape == (720, 1280, 3)
    for p in scene.plates:
        assert 0 <= p.x1 < p.x2 <= w and 0 <= p.y1 < p.y2 <= h
        assert 60 <= p.width <= 302  # 60-300 px plus rounding outward
        assert p.text == normalise(p.text)


def test_plates_do_not_overlap() -> None:
    for seed in range(10):
        boxes = [(p.x1, p.y1, p.x2, p.y2) for p in _scene(seed).plates]
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3])


def test_custom_size() -> None:
    scene = render_scene(np.random.default_rng(3), width=640, height=480, plate_width=(40, 80))
    assert scene.image.shape == (480, 640, 3)
    assert all(p.x2 <= 640 and p.y2 <= 480 for p in scene.plates)


def test_motion_kernel_smears_by_its_length_and_keeps_brightness() -> None:
    assert motion_kernel(4.0).shape == (1, 4)
    kernel = motion_kernel(6.5)
    assert kernel.shape == (1, 7)
    assert kernel.sum() == pytest.approx(1.0)
    assert kernel[0, -1] == pytest.approx(kernel[0, 0] / 2)


def test_a_passing_car_is_smeared_over_what_lies_behind_it() -> None:
    image = np.full((20, 40, 3), 200, np.uint8)
    sprite = CarSprite(
        image, np.full((20, 40), 255, np.uint8), np.array([[5, 5], [35, 5], [35, 15], [5, 15]], np.float32)
    )
    still, moving = (np.zeros((40, 100, 3), np.uint8) for _ in range(2))
    hom = np.array([[1, 0, 30], [0, 1, 10], [0, 0, 1]], np.float64)
    paste(still, sprite, hom, shadow=False)
    paste(moving, sprite, hom, shadow=False, motion=10.0)
    row_still, row_moving = still[20, :, 0].astype(int), moving[20, :, 0].astype(int)
    assert np.flatnonzero(row_still).tolist() == list(range(30, 70))
    covered = np.flatnonzero(row_moving)
    assert covered[0] <= 26 and covered[-1] >= 73  # half the smear beyond each side
    assert row_moving[50] == 200  # the middle stays the car's colour
    assert 0 < row_moving[27] < 100 and 100 < row_moving[68] < 200  # edges ramp
    assert abs(row_moving.sum() - row_still.sum()) <= 0.01 * row_still.sum()  # light is spread, not lost


def test_plate_motion_scenes_are_deterministic_and_keep_their_truth_boxes() -> None:
    for seed in range(6):
        a = render_scene(np.random.default_rng([9, seed]), motion="plate")
        b = render_scene(np.random.default_rng([9, seed]), motion="plate")
        assert a.plates == b.plates and np.array_equal(a.image, b.image)
        for p in a.plates:
            assert 0 <= p.x1 < p.x2 <= 1280 and 0 <= p.y1 < p.y2 <= 720
            assert 60 <= p.width <= 302


def test_plate_motion_is_the_same_share_of_every_plate_whatever_its_distance() -> None:
    # Exposure and speed fix the plate's movement in millimetres; near and far plates smear alike.
    assert MAX_SMEAR_MM / PLATE_MM < 0.05  # at most 0.4 of a character on an 8-character pitch
    near, far = plate_smear_px(0.04, 300, 0.0), plate_smear_px(0.04, 60, 0.0)
    assert near / 300 == pytest.approx(far / 60) == pytest.approx(0.04)
    assert plate_smear_px(0.04, 60, 30.0) == pytest.approx(0.04 * 60 / np.cos(np.radians(30)))


def test_plate_motion_scenes_differ_from_frame_motion_ones_only_in_their_blur() -> None:
    for seed in range(4):
        frame, plate = _scene(seed), render_scene(np.random.default_rng([9, seed]), motion="plate")
        assert frame.plates == plate.plates
        diff = np.abs(frame.image.astype(int) - plate.image.astype(int))
        assert (
            diff.mean() < 6
        )  # other seeds differ by 50-90; the same street, light and noise; only the blur (and JPEG after it) moved


@pytest.mark.parametrize("share", [0.0, 1.0])
def test_classic_share_draws_that_share_of_the_dutch_plates_old_blue_or_black(
    share: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = scenes.render_plate
    styles: list[str | None] = []

    def recorded(
        text: str, rng: np.random.Generator, style: str | None = None, country: str = "NL", **kw: Any
    ) -> np.ndarray:
        if country == "NL":
            styles.append(style)
        return real(text, rng, style=style, country=country, **kw)

    monkeypatch.setattr(scenes, "render_plate", recorded)
    for seed in range(12):
        render_scene(np.random.default_rng(seed), classic_share=share)
    assert len(styles) >= 10
    assert all(s in CLASSIC_STYLES for s in styles) if share else all(s is None for s in styles)
