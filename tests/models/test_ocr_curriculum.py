"""The OCR training curriculum: clean crops until the net reads them, then hard crops ramped in."""

from __future__ import annotations

import math

import pytest

from models.ocr.curriculum import Curriculum


def test_only_clean_crops_while_the_loss_is_high() -> None:
    c = Curriculum(clean_loss=1.0, max_clean_steps=1000, ramp_steps=100)
    assert [c.split(step, 3.5, 128) for step in (0, 10, 500, 999)] == [(128, 0)] * 4
    assert c.ramp_start is None


def test_hard_crops_ramp_in_linearly_once_the_loss_falls() -> None:
    c = Curriculum(clean_loss=1.0, max_clean_steps=1000, ramp_steps=100, clean_floor=0.05)
    assert c.hard_share(200, 0.9) == pytest.approx(0.95 / 100)
    assert c.ramp_start == 200
    assert c.hard_share(249, 2.0) == pytest.approx(0.95 * 50 / 100)  # a loss rising again does not go back
    assert c.hard_share(299, 2.0) == pytest.approx(0.95)
    assert c.hard_share(5000, 0.1) == pytest.approx(0.95)  # a floor of clean crops stays


def test_the_ramp_starts_after_max_clean_steps_even_on_the_plateau() -> None:
    c = Curriculum(clean_loss=1.0, max_clean_steps=300, ramp_steps=10)
    assert c.hard_share(299, 3.5) == 0.0
    assert c.hard_share(300, 3.5) > 0.0
    assert c.ramp_start == 300


def test_no_clean_phase_gives_hard_crops_from_the_first_step() -> None:
    c = Curriculum(max_clean_steps=0, ramp_steps=1, clean_floor=0.0)
    assert c.split(0, math.inf, 128) == (0, 128)


def test_split_always_fills_the_batch() -> None:
    c = Curriculum(clean_loss=1.0, max_clean_steps=0, ramp_steps=7, clean_floor=0.05)
    for step in range(20):
        clean, hard = c.split(step, math.inf, 100)
        assert clean + hard == 100 and clean >= 5


def test_bad_settings_name_the_value() -> None:
    with pytest.raises(ValueError, match=r"1\.5"):
        Curriculum(clean_floor=1.5)
    with pytest.raises(ValueError, match="0"):
        Curriculum(ramp_steps=0)
