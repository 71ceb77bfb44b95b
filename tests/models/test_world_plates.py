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
