"""Random Dutch and foreign plate texts, and frontal plate images rendered like the real thing."""

from __future__ import annotations

import itertools
import math

import cv2
import numpy as np
import numpy.typing as npt

from contract.foreign import PL_SERIES_LETTERS, PL_VOIVODESHIPS
from contract.sidecodes import SIDECODES, allowed_letters, format_display, match_sidecode
from models.synth.glyphs import GLYPH_H, draw_line, draw_text, text_width
from models.synth.typefaces import Typeface

BgrImage = npt.NDArray[np.uint8]  # (H, W, 3)

PLATE_H = 110
PLATE_W = 520
"""Output size in pixels: 1 px per mm of a standard EU plate (520 x 110 mm)."""

# Rough share of each sidecode among cars on Dutch streets today (7-11 dominate; 12-14 are new).
STREET_WEIGHTS: dict[int, float] = {
    1: 0.3, 2: 0.3, 3: 0.6, 4: 1.5, 5: 4.0, 6: 7.0, 7: 12.0,
    8: 12.0, 9: 14.0, 10: 13.0, 11: 13.0, 12: 3.0, 13: 1.0, 14: 0.2,
}  # fmt: skip

DUTCH_STYLES = ("nl_yellow_eu", "nl_yellow_old", "nl_blue_old", "nl_black_classic")
FOREIGN_COUNTRIES = ("BE", "DE", "FR", "PL", "RO")
# Letters shown in the EU band (the distinguishing sign), by country.
_BAND_SIGN = {"NL": "NL", "BE": "B", "DE": "D", "FR": "F", "PL": "PL", "RO": "RO"}
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS = "0123456789"

_YELLOW = (10, 196, 247)
_EU_BLUE = (150, 52, 0)
_OLD_BLUE = (110, 50, 15)
_WHITE = (242, 242, 242)
_BLACK = (18, 18, 18)
_SILVER = (205, 205, 200)
_BE_RED = (40, 25, 175)
_STAR_YELLOW = (0, 204, 255)


def random_dutch_plate(rng: np.random.Generator, sidecode: int | None = None) -> str:
    """A normalised Dutch plate valid under the RDW rules, in `sidecode` or one drawn by street share."""
    if sidecode is None:
        codes = list(STREET_WEIGHTS)
        weights = np.array([STREET_WEIGHTS[c] for c in codes])
        sidecode = int(codes[int(rng.choice(len(codes), p=weights / weights.sum()))])
    if sidecode not in SIDECODES:
        raise ValueError(f"unknown sidecode {sidecode!r}; expected 1-{max(SIDECODES)}")
    letters = "".join(sorted(allowed_letters(sidecode)))
    pattern = "".join(SIDECODES[sidecode])
    for _ in range(1000):
        plate = "".join(
            letters[rng.integers(len(letters))] if spec == "X" else _DIGITS[rng.integers(10)] for spec in pattern
        )
        if match_sidecode(plate) == sidecode:
            return plate
    raise RuntimeError(f"could not generate a valid plate for sidecode {sidecode}")  # pragma: no cover


def _pick(rng: np.random.Generator, alphabet: str, n: int) -> str:
    return "".join(alphabet[rng.integers(len(alphabet))] for _ in range(n))


def random_foreign_plate(rng: np.random.Generator) -> tuple[str, str]:
    """A normalised plate in a plausible BE, DE, FR, PL or RO format, and its country code."""
    country = FOREIGN_COUNTRIES[int(rng.integers(len(FOREIGN_COUNTRIES)))]
    if country == "BE":  # 1-ABC-234
        text = str(rng.integers(1, 10)) + _pick(rng, _LETTERS, 3) + _pick(rng, _DIGITS, 3)
    elif country == "FR":  # AB-123-CD (SIV: no I, O, U)
        siv = "ABCDEFGHJKLMNPQRSTVWXYZ"
        text = _pick(rng, siv, 2) + _pick(rng, _DIGITS, 3) + _pick(rng, siv, 2)
    elif country == "DE":  # district 1-3 letters, 1-2 letters, 1-4 digits, at most 8 characters
        district = _pick(rng, _LETTERS, int(rng.integers(1, 4)))
        mid = _pick(rng, _LETTERS, int(rng.integers(1, 3)))
        n_digits = int(rng.integers(1, min(4, 8 - len(district) - len(mid)) + 1))
        text = district + mid + str(rng.integers(1, 10)) + _pick(rng, _DIGITS, n_digits - 1)
    elif country == "PL":  # WA 12345, KR 1AC23, WPR 1234A, WPI AC12: at most two series letters, no B D I O Z
        district = _pick(rng, PL_VOIVODESHIPS, 1) + _pick(rng, _LETTERS, int(rng.integers(1, 3)))
        n_series = 5 if len(district) == 2 or rng.random() < 0.2 else 4
        series = ""
        for i in range(n_series):
            letters_used = sum(ch.isalpha() for ch in series)
            if (i == 0 and len(district) == 2) or letters_used == 2 or rng.random() < 0.7:
                series += str(rng.integers(1, 10)) if i == 0 else _pick(rng, _DIGITS, 1)
            else:
                series += _pick(rng, PL_SERIES_LETTERS, 1)
        text = district + series
    else:  # RO: B 123 ABC or CJ 12 ABC
        if rng.random() < 0.4:
            text = "B" + _pick(rng, _DIGITS, int(rng.integers(2, 4))) + _pick(rng, _LETTERS, 3)
        else:
            text = _pick(rng, _LETTERS, 2) + _pick(rng, _DIGITS, 2) + _pick(rng, _LETTERS, 3)
    return text, country


def _display_text(text: str, country: str) -> str:
    """How the plate is written on the plate: dashes for NL/BE/FR, spaces between groups elsewhere."""
    if country == "NL":
        return format_display(text)
    sep = "-" if country in ("BE", "FR") else " "
    out = text[:1]
    for prev, ch in itertools.pairwise(text):
        out += (sep if prev.isdigit() != ch.isdigit() else "") + ch
    return out


def _choose_style(text: str, country: str, rng: np.random.Generator) -> str:
    if country != "NL":
        return "eu_white"
    code = match_sidecode(text) or 8
    if code <= 3:  # cars from before 1978: blue plates, black classic plates or yellow
        options, p = (
            ("nl_blue_old", "nl_black_classic", "nl_yellow_old", "nl_yellow_eu"),
            (0.4, 0.2, 0.2, 0.2),
        )
    elif code <= 6:
        options, p = ("nl_yellow_eu", "nl_yellow_old", "nl_black_classic"), (0.75, 0.22, 0.03)
    else:
        options, p = ("nl_yellow_eu", "nl_yellow_old"), (0.97, 0.03)
    return options[int(rng.choice(len(options), p=np.array(p)))]


def _jitter(color: tuple[int, int, int], rng: np.random.Generator, amount: int) -> tuple[int, int, int]:
    # Mostly a common brightness shift, with a little per-channel tint.
    shift = rng.integers(-amount, amount + 1) + rng.integers(-amount // 3, amount // 3 + 1, 3)
    c = np.clip(np.array(color) + shift, 0, 255)
    return int(c[0]), int(c[1]), int(c[2])


def _draw_band(img: BgrImage, width: int, sign: str, rng: np.random.Generator) -> None:
    """The blue EU band: a ring of 12 stars and the distinguishing sign in white."""
    h = img.shape[0]
    cv2.rectangle(img, (0, 0), (width, h - 1), _jitter(_EU_BLUE, rng, 12), -1)
    cx, cy, r = width / 2, h * 0.3, width * 0.28
    star = _jitter(_STAR_YELLOW, rng, 15)
    for k in range(12):
        a = 2 * math.pi * k / 12
        center = (round((cx + r * math.cos(a)) * 16), round((cy + r * math.sin(a)) * 16))
        cv2.circle(img, center, max(16, round(width * 0.045 * 16)), star, -1, cv2.LINE_AA, 4)
    unit_y = h * 0.26 / GLYPH_H
    unit_x = min(unit_y * 0.75, width * 0.7 / max(1.0, text_width(sign, 1.4)))
    x0 = (width - text_width(sign, 1.4) * unit_x) / 2
    draw_text(img, sign, (x0, h * 0.6), unit_x, unit_y, 1.4, _WHITE, max(1, round(h * 0.02)))


def render_plate(
    text: str,
    rng: np.random.Generator,
    style: str | None = None,
    country: str = "NL",
    typeface: Typeface | None = None,
    dutch_style: str | None = None,
) -> BgrImage:
    """A frontal plate image (BGR uint8, PLATE_H x PLATE_W) showing `text` in `style`, its characters in the
    stroke font or in `typeface` (the same random draws either way). Without `style`, a Dutch plate's style is
    drawn from its sidecode's era, and `dutch_style` then replaces it (a set with every Dutch plate in one style)."""
    if style is None:
        style = _choose_style(text, country, rng)
        if dutch_style is not None and country == "NL":
            style = dutch_style
    if style not in (*DUTCH_STYLES, "eu_white"):
        raise ValueError(f"unknown plate style {style!r}; expected one of {(*DUTCH_STYLES, 'eu_white')}")
    if country != "NL" and country not in _BAND_SIGN:
        raise ValueError(f"unknown country {country!r}; expected NL or one of {FOREIGN_COUNTRIES}")
    h, w = PLATE_H, PLATE_W
    band = style in ("nl_yellow_eu", "eu_white")
    bg, fg = {
        "nl_yellow_eu": (_YELLOW, _BLACK),
        "nl_yellow_old": (_YELLOW, _BLACK),
        "nl_blue_old": (_OLD_BLUE, _WHITE),
        "nl_black_classic": (_BLACK, _SILVER),
        "eu_white": (_WHITE, _BE_RED if country == "BE" else _BLACK),
    }[style]
    img = np.empty((h, w, 3), np.uint8)
    img[:] = _jitter(bg, rng, 14)
    fg = _jitter(fg, rng, 12)
    band_w = round(w * 0.085) if band else 0
    if band:
        _draw_band(img, band_w, _BAND_SIGN.get(country, "NL"), rng)
    right = w
    if country == "FR" and rng.random() < 0.8:  # French plates carry a blue regional band on the right
        right = w - band_w
        cv2.rectangle(img, (right, 0), (w - 1, h - 1), _jitter(_EU_BLUE, rng, 12), -1)
    # Border: a thin line in the character colour, as on most plates.
    inset = int(rng.integers(2, 5))
    cv2.rectangle(img, (inset, inset), (w - 1 - inset, h - 1 - inset), fg, int(rng.integers(2, 4)), cv2.LINE_AA)

    shown = _display_text(text, country)
    char_h = h * rng.uniform(0.6, 0.7)
    thickness = max(2, round(char_h * rng.uniform(0.11, 0.14)))
    gap = thickness * rng.uniform(0.5, 1.1)
    shift = rng.uniform(-3, 3)
    top = (h - char_h) / 2 + rng.uniform(-2, 2)
    left, right = band_w + inset + 6 + shift, right - inset - 6 + shift
    draw_line(img, shown, left, right, top, char_h, rng.uniform(0.95, 1.15), gap, fg, thickness, typeface)
    return img
