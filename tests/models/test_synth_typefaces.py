"""Outline typefaces for OCR training plates: spaced like real plates, fitted to the plate, and chosen on
their own random stream so that every other draw of a crop stays the same."""

from __future__ import annotations

import numpy as np
import pytest

from models.synth import crops, typefaces
from models.synth.glyphs import draw_line
from models.synth.plates import render_plate
from models.synth.world_plates import random_world_plate


def _ink_runs(img: np.ndarray) -> int:
    """Horizontal runs of columns holding any ink (dark pixels) in a white image."""
    inked = (img.min(axis=2) < 128).any(axis=0)
    return int(np.count_nonzero(inked[1:] & ~inked[:-1]) + inked[0])


@pytest.mark.parametrize("path", typefaces.font_files(), ids=lambda p: p.stem)
def test_every_face_keeps_a_gap_between_characters(path: object) -> None:
    face = typefaces.Typeface(path, 0.8)  # type: ignore[arg-type]
    img = np.full((110, 520, 3), 255, np.uint8)
    draw_line(img, "XB-138-G", 50.0, 500.0, 20.0, 70.0, 1.0, 6.0, (0, 0, 0), 9, face)
    assert _ink_runs(img) == len("XB-138-G")
    rows = np.flatnonzero((img.min(axis=2) < 128).any(axis=1))
    assert rows.min() >= 20 - 6 and rows.max() <= 20 + 70 + 6  # capitals 70 px tall, round ones overshoot a little


def test_a_too_long_text_is_condensed_inside_the_plate() -> None:
    face = typefaces.Typeface(typefaces.font_files()[2], 0.9)  # the widest: Roboto Black, set widest
    img = np.full((110, 520, 3), 255, np.uint8)
    draw_line(img, "WMW 8888 ZZQ", 50.0, 500.0, 20.0, 70.0, 1.0, 6.0, (0, 0, 0), 9, face)
    inked = np.flatnonzero((img.min(axis=2) < 128).any(axis=0))
    assert inked.min() >= 49 and inked.max() <= 501
    assert _ink_runs(img) == len("WMW8888ZZQ")


def test_a_typeface_changes_the_characters_and_no_other_draw() -> None:
    face = typefaces.Typeface(typefaces.font_files()[0])
    a_rng, b_rng = np.random.default_rng(3), np.random.default_rng(3)
    a = render_plate("GBXR12", a_rng, style="nl_yellow_eu")
    b = render_plate("GBXR12", b_rng, style="nl_yellow_eu", typeface=face)
    assert a_rng.random() == b_rng.random()  # the same number of draws
    assert np.array_equal(a[:, :40], b[:, :40])  # the EU band is the same
    assert not np.array_equal(a, b)
    a_rng, b_rng = np.random.default_rng(4), np.random.default_rng(4)
    ta, _, wa = random_world_plate(a_rng)
    tb, _, wb = random_world_plate(b_rng, face)
    assert ta == tb and a_rng.random() == b_rng.random() and not np.array_equal(wa, wb)


def test_crops_use_typefaces_in_their_shares_deterministically() -> None:
    faces = [crops._typeface(9, i, "foreign") for i in range(400)]
    share = sum(f is not None for f in faces) / len(faces)
    assert abs(share - crops.TYPEFACE_SHARE["foreign"]) < 0.08
    assert faces == [crops._typeface(9, i, "foreign") for i in range(400)]
    assert len({f.path for f in faces if f is not None}) == len(typefaces.font_files())
    dutch = sum(crops._typeface(9, i, "NL") is not None for i in range(400)) / 400
    assert abs(dutch - crops.TYPEFACE_SHARE["NL"]) < 0.05
