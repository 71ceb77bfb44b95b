"""Synthetic plates: valid Dutch texts per sidecode, plausible foreign texts, deterministic rendering."""

from __future__ import annotations

import numpy as np
import pytest

from contract.foreign import foreign_countries
from contract.normalise import normalise
from contract.sidecodes import SIDECODES, match_sidecode
from models.shared import PEER_OCR
from models.synth.crops import make_crop
from models.synth.glyphs import draw_line
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


def test_foreign_plates_fit_their_own_country_format() -> None:
    """The generator draws what each country issues, so the reader's foreign-format prior never demotes a label."""
    rng = np.random.default_rng(11)
    for _ in range(3000):
        text, country = random_foreign_plate(rng)
        assert country in foreign_countries(text), (text, country)


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


def _ink_runs(img: np.ndarray) -> int:
    """Horizontal runs of columns holding any ink (dark pixels) in a white image."""
    inked = (img.min(axis=2) < 128).any(axis=0)
    return int(np.count_nonzero(inked[1:] & ~inked[:-1]) + inked[0])


@pytest.mark.parametrize("text", ["GNL-86-R", "WMW-12-H", "88-88-88"])
def test_glyphs_keep_a_visible_gap_as_on_real_plates(text: str) -> None:
    img = np.full((110, 520, 3), 255, np.uint8)
    draw_line(img, text, 50.0, 500.0, 20.0, 70.0, 1.05, 6.0, (0, 0, 0), 9)
    assert _ink_runs(img) == len(text)


def test_a_too_long_text_is_condensed_not_crowded() -> None:
    img = np.full((110, 520, 3), 255, np.uint8)
    draw_line(img, "ABC-123-DEF", 50.0, 500.0, 20.0, 70.0, 1.05, 6.0, (0, 0, 0), 9)
    inked = np.flatnonzero((img.min(axis=2) < 128).any(axis=0))
    assert inked.min() >= 49 and inked.max() <= 501  # one pixel of anti-aliasing
    assert _ink_runs(img) == len("ABC-123-DEF")


@pytest.mark.skipif(
    not (PEER_OCR / "cct_xs_v1_global.onnx").is_file(), reason=f"needs the peer model in {PEER_OCR} (SCANAUTO_SHARED)"
)
def test_a_reader_trained_on_real_plates_reads_our_clean_dutch_plates() -> None:
    """fast-plate-ocr's global model (220k real plates) reads the generator's clean Dutch plates: a generator
    whose glyphs real plates do not look like (crowded, touching) scored 0.28 here; `bench synth-realism`."""
    from bench.ocr_peers import fpo_reader
    from bench.synth_realism import PEER, exact, renders

    crops, texts = renders("nl_yellow_eu", 200)
    peer = fpo_reader(PEER / "cct_xs_v1_global.onnx", PEER / "plate_config.yaml", 2, 64)
    assert exact(peer(crops), texts) >= 0.85


def test_a_dutch_style_replaces_the_drawn_style_of_dutch_plates_only() -> None:
    yellow = render_plate("GBXR12", np.random.default_rng(3))
    black = render_plate("GBXR12", np.random.default_rng(3), dutch_style="nl_black_classic")
    assert np.median(yellow.max(axis=2)) > 160 > 80 > np.median(black.max(axis=2))  # a yellow ground, a black one
    foreign = render_plate("B123ABC", np.random.default_rng(3), country="RO")
    assert np.array_equal(
        foreign, render_plate("B123ABC", np.random.default_rng(3), country="RO", dutch_style="nl_black_classic")
    )
    given = render_plate("GBXR12", np.random.default_rng(3), style="nl_yellow_eu")
    assert np.array_equal(
        given, render_plate("GBXR12", np.random.default_rng(3), style="nl_yellow_eu", dutch_style="nl_black_classic")
    )
