"""US-style and Brazilian plates for the detector's scenes, and the scene options that use them."""

from __future__ import annotations

import numpy as np

from contract.normalise import normalise
from models.synth.scenes import render_scene
from models.synth.world_plates import random_br_plate, random_us_plate, random_world_plate


def test_us_and_br_plates_have_their_shapes_and_normalised_texts() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        text, img = random_us_plate(rng)
        assert img.shape == (180, 360, 3) and img.dtype == np.uint8
        assert text == normalise(text) and 5 <= len(text) <= 8
        text, img = random_br_plate(rng)
        assert img.shape == (130, 400, 3)
        assert text == normalise(text) and len(text) == 7


def test_world_plates_are_deterministic_by_seed() -> None:
    a = random_world_plate(np.random.default_rng(5))
    b = random_world_plate(np.random.default_rng(5))
    assert a[:2] == b[:2] and np.array_equal(a[2], b[2])


def test_scene_options_add_world_plates_with_their_aspect() -> None:
    seen: set[str] = set()
    for seed in range(6):
        scene = render_scene(np.random.default_rng([7, seed]), world_share=1.0, hard_negatives=True)
        for p in scene.plates:
            seen.add(p.country)
            assert p.country in ("US", "BR")
            # Yaw and roll widen or narrow the box; a 4.7:1 EU plate would be far wider.
            assert (p.x2 - p.x1) / (p.y2 - p.y1) < 4.0
    assert seen == {"US", "BR"}


def test_scene_defaults_are_unchanged_by_the_options() -> None:
    a = render_scene(np.random.default_rng([7, 1]))
    b = render_scene(np.random.default_rng([7, 1]), world_share=0.0, hard_negatives=False)
    assert a.plates == b.plates and np.array_equal(a.image, b.image)


def test_dealer_frame_covers_only_the_plate_rim() -> None:
    from models.synth.cars import _plate_frame

    for seed in range(10):
        img = np.full((200, 300, 3), 128, np.uint8)
        plate = (100, 80, 200, 130)  # 100 x 50 px, US-shaped
        _plate_frame(img, np.random.default_rng(seed), plate)
        changed = np.any(img != 128, axis=2)
        ys, xs = np.nonzero(changed)
        assert ys.size  # the frame was drawn
        # The frame reaches at most 3 % of the plate's width outside it: the box stays the plate.
        assert xs.min() >= 100 - 3 and xs.max() < 200 + 3 and ys.min() >= 80 - 3 and ys.max() < 130 + 3
        # ...and leaves the plate's middle (its characters) uncovered.
        assert not changed[80 + 12 : 130 - 12, 100 + 6 : 200 - 6].any()


def test_us_plates_sometimes_get_a_fitted_pocket_not_wider_than_twice_the_plate() -> None:
    from models.synth.cars import _recess

    fitted = 0
    for seed in range(20):
        img = np.zeros((300, 500, 3), np.uint8)
        _recess(img, np.random.default_rng(seed), np.array([150.0, 150.0, 150.0]), (220, 135, 280, 165))
        xs = np.nonzero(np.any(img != 0, axis=2))[1]
        # A fitted pocket is at most 1.8 x 60 px plus its rim; the EU-shaped one at least 0.3 x 500 = 150 px.
        if xs.max() - xs.min() < 2.0 * 60:
            fitted += 1
    assert 4 <= fitted <= 16
