"""Synthetic plates: valid Dutch texts per sidecode, plausible foreign texts, deterministic rendering."""

from __future__ import annotations

import numpy as np
import pytest

from contract.normalise import normalise
from contract.sidecodes import SIDECODES, match_sidecode
from models.synth.crops import make_crop
from models.synth.plates import (
    DUTCH_STYLES,
    FOREIGN_COUNTRIES,
    PLATE_H,
    PLATE_W,
    random_dutch_plate,
    random_foreign_plate,
    render_plate,
)


@pytest.mark.parametrize("sidecode", sorted(SIDECODES))
def test_dutch_plates_are_valid_in_their_sidecode(sidecode: int) -> None:
    rng = np.random.default_rng(sidecode)
    for _ in range(50):
        plate = random_dutch_plate(rng, sidecode)
        assert match_sidecode(plate) == sidecode
        assert normalise(plate) == plate


def test_street_mix_covers_the_common_sidecodes() -> None:
    rng = np.random.default_rng(0)
    codes = [match_sidecode(random_dutch_plate(rng)) for _ in range(2000)]
    assert None not in codes
    common = sum(5 <= c <= 11 for c in codes if c is not None)
    assert common / len(codes) > 0.8


def test_unknown_sidecode_is_refused() -> None:
    with pytest.raises(ValueError, match="sidecode 15"):
        random_dutch_plate(np.random.default_rng(0), 15)


def test_foreign_plates_are_normalised_text_of_the_known_countries() -> None:
    rng = np.random.default_rng(3)
    seen = set()
    for _ in range(300):
        text, country = random_foreign_plate(rng)
        assert country in FOREIGN_COUNTRIES
        assert normalise(text) == text
        assert 3 <= len(text) <= 8
        seen.add(country)
    assert seen == set(FOREIGN_COUNTRIES)


@pytest.mark.parametrize("style", DUTCH_STYLES)
def test_render_is_deterministic_by_seed_and_has_plate_shape(style: str) -> None:
    a = render_plate("GBXR12", np.random.default_rng(7), style=style)
    b = render_plate("GBXR12", np.random.default_rng(7), style=style)
    c = render_plate("GBXR12", np.random.default_rng(8), style=style)
    assert a.shape == (PLATE_H, PLATE_W, 3)
    assert a.dtype == np.uint8
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_render_foreign_and_default_style() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        text, country = random_foreign_plate(rng)
        assert render_plate(text, rng, country=country).shape == (PLATE_H, PLATE_W, 3)
    assert render_plate(random_dutch_plate(rng), rng).shape == (PLATE_H, PLATE_W, 3)


def test_render_refuses_unknown_style_and_country() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="style"):
        render_plate("GBXR12", rng, style="pink")
    with pytest.raises(ValueError, match="country"):
        render_plate("ABC123", rng, country="XX")


def test_crops_are_deterministic_by_seed_and_index() -> None:
    a, b, c = make_crop(5, 11), make_crop(5, 11), make_crop(5, 12)
    assert a.text == b.text and np.array_equal(a.image, b.image)
    assert a.image.ndim == 3 and a.image.shape[2] == 3 and a.image.dtype == np.uint8
    assert (a.text, a.image.shape) != (c.text, c.image.shape) or not np.array_equal(a.image, c.image)
