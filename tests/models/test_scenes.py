"""Synthetic street scenes: deterministic by seed, truth boxes inside the frame and of the promised size."""

from __future__ import annotations

import numpy as np
import pytest

from contract.normalise import normalise
from models.synth.scenes import Scene, render_scene


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
