"""Generic non-European plates for the detector's scenes: US-style (2:1) and Brazilian (Mercosul and old grey).

These teach the detector that a plate is not always a 4.7:1 EU strip: US plates are 2:1 with a state
name above and a slogan below the characters in many colour schemes; Brazilian plates are 3.1:1, the
Mercosul ones with a blue band on top. They are detector data only (the OCR trains on its own crops);
the texts follow the common formats, the artwork is generic (no real state design is copied).
"""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

from models.synth.glyphs import draw_line
from models.synth.typefaces import Typeface

BgrImage = npt.NDArray[np.uint8]

_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"
_DIGITS = "0123456789"
_WORDS = (
    "OHIO", "TEXAS", "NEVADA", "GEORGIA", "FLORIDA", "ARIZONA", "INDIANA", "KANSAS", "OREGON", "MAINE",
    "UTAH", "IOWA", "COLORADO", "MONTANA", "VERMONT", "ALASKA", "IDAHO", "DELAWARE",
)  # fmt: skip
_SLOGANS = (
    "THE NATURAL STATE", "SUNSHINE STATE", "LAND OF LINCOLN", "GRAND CANYON STATE", "EMPIRE STATE",
    "DEALER", "EXPLORE", "VACATIONLAND", "LIVE FREE", "GREAT LAKES", "PEACH STATE", "FIRST IN FLIGHT",
)  # fmt: skip
# (background, characters, accent) in BGR; most US plates are light with dark characters.
_US_SCHEMES = (
    ((240, 240, 240), (110, 30, 20), (30, 30, 170)),
    ((235, 235, 235), (20, 20, 20), (120, 50, 20)),
    ((245, 245, 245), (30, 30, 150), (140, 60, 20)),
    ((225, 235, 240), (60, 90, 20), (60, 90, 20)),
    ((90, 215, 245), (80, 30, 20), (80, 30, 20)),
    ((230, 220, 200), (40, 40, 40), (30, 30, 170)),
    ((110, 40, 20), (240, 240, 240), (30, 200, 240)),
    ((25, 25, 25), (230, 230, 230), (40, 180, 230)),
    ((200, 225, 245), (120, 40, 40), (40, 40, 170)),
)  # fmt: skip


def _pick(rng: np.random.Generator, alphabet: str, n: int) -> str:
    return "".join(alphabet[rng.integers(len(alphabet))] for _ in range(n))


def _jitter(colour: tuple[int, int, int], rng: np.random.Generator, amount: int = 12) -> tuple[int, int, int]:
    c = np.clip(np.array(colour) + rng.integers(-amount, amount + 1, 3), 0, 255)
    return int(c[0]), int(c[1]), int(c[2])


def _centred_text(
    img: BgrImage, text: str, cy: float, height: float, colour: tuple[int, int, int], rng: np.random.Generator
) -> None:
    """A small line of cv2 text (state name, slogan) centred at row `cy`, `height` px tall."""
    font = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_SCRIPT_SIMPLEX)[rng.integers(3)]
    scale = height / 22.0
    thick = max(1, round(height / 9))
    (tw, th), _ = cv2.getTextSize(text, font, scale, thick)
    w = img.shape[1]
    if tw > 0.9 * w:
        scale *= 0.9 * w / tw
        (tw, th), _ = cv2.getTextSize(text, font, scale, thick)
    cv2.putText(img, text, (int((w - tw) / 2), int(cy + th / 2)), font, scale, colour, thick, cv2.LINE_AA)


def _main_text(
    img: BgrImage,
    shown: str,
    top: float,
    char_h: float,
    left: float,
    right: float,
    fg: tuple[int, int, int],
    typeface: Typeface | None,
) -> None:
    """The plate characters in the stroke font (or `typeface`), condensed to fit between `left` and `right`."""
    thickness = max(2, round(char_h * 0.12))
    draw_line(img, shown, left, right, top, char_h, 0.9, 0.7 * thickness, fg, thickness, typeface)


def random_us_plate(rng: np.random.Generator, typeface: Typeface | None = None) -> tuple[str, BgrImage]:
    """A US-style plate (2:1, 360 x 180 px): normalised text and image."""
    fmt = int(rng.integers(4))
    if fmt == 0:
        shown = _pick(rng, _LETTERS, 3) + " " + _pick(rng, _DIGITS, 4)
    elif fmt == 1:
        shown = _pick(rng, _DIGITS, 1) + _pick(rng, _LETTERS, 3) + _pick(rng, _DIGITS, 3)
    elif fmt == 2:
        shown = _pick(rng, _DIGITS, 3) + "-" + _pick(rng, _LETTERS, 3)
    else:
        shown = _pick(rng, _LETTERS + _DIGITS, 2) + _pick(rng, _DIGITS, 1) + " " + _pick(rng, _LETTERS + _DIGITS, 3)
    text = shown.replace(" ", "").replace("-", "")
    h, w = 180, 360
    bg, fg, accent = (_jitter(c, rng) for c in _US_SCHEMES[rng.integers(len(_US_SCHEMES))])
    img = np.empty((h, w, 3), np.uint8)
    img[:] = bg
    art = rng.random()
    if art < 0.35:  # a vertical colour gradient (sky, sunset) behind the characters
        other = np.array(_jitter(accent, rng, 40), np.float32)
        t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None] ** rng.uniform(0.5, 2)
        mix = rng.uniform(0.2, 0.6)
        img[:] = np.clip(img * (1 - mix * t) + other * mix * t, 0, 255).astype(np.uint8)
    elif art < 0.6:  # coloured bands at top and/or bottom
        band = int(h * rng.uniform(0.1, 0.22))
        cv2.rectangle(img, (0, 0), (w, band), accent, -1)
        if rng.random() < 0.5:
            cv2.rectangle(img, (0, h - band), (w, h), accent, -1)
    elif art < 0.75:  # a landscape-like silhouette behind the lower half
        pts = [(0, h)] + [(x, int(h * rng.uniform(0.45, 0.8))) for x in range(0, w + 40, 40)] + [(w, h)]
        overlay = img.copy()
        cv2.fillPoly(overlay, [np.array(pts, np.int32)], _jitter(accent, rng, 40))
        alpha = rng.uniform(0.2, 0.5)
        cv2.addWeighted(overlay, alpha, img, 1 - alpha, 0, dst=img)
    if rng.random() < 0.7:
        cv2.rectangle(img, (3, 3), (w - 4, h - 4), accent, int(rng.integers(2, 6)), cv2.LINE_AA)
    light_bg = sum(bg) > 380
    band_ink = accent if light_bg or art >= 0.6 else (240, 240, 240)
    _centred_text(img, _WORDS[rng.integers(len(_WORDS))], h * 0.15, h * rng.uniform(0.12, 0.2), band_ink, rng)
    if rng.random() < 0.75:
        _centred_text(img, _SLOGANS[rng.integers(len(_SLOGANS))], h * 0.88, h * rng.uniform(0.07, 0.12), band_ink, rng)
    for cx in (int(w * 0.25), int(w * 0.75)):  # bolt holes
        cv2.circle(img, (cx, int(h * 0.12)), 5, (70, 70, 70), -1, cv2.LINE_AA)
    if rng.random() < 0.6:  # registration sticker in a corner
        sx = 10 if rng.random() < 0.5 else w - 62
        cv2.rectangle(img, (sx, 8), (sx + 52, 40), _jitter((40, 160, 60), rng, 80), -1)
    char_h = h * rng.uniform(0.38, 0.48)
    _main_text(img, shown, h * 0.5 - char_h / 2 + rng.uniform(-4, 4), char_h, 12, w - 12, fg, typeface)
    return text, img


def random_br_plate(rng: np.random.Generator, typeface: Typeface | None = None) -> tuple[str, BgrImage]:
    """A Brazilian plate (400 x 130 mm, 3.1:1, 400 x 130 px): Mercosul (LLLNLNN) or old grey (LLL-NNNN)."""
    h, w = 130, 400
    img = np.empty((h, w, 3), np.uint8)
    if rng.random() < 0.6:  # Mercosul: white, blue band with "BRASIL" on top
        text = _pick(rng, _LETTERS, 3) + _pick(rng, _DIGITS, 1) + _pick(rng, _LETTERS, 1) + _pick(rng, _DIGITS, 2)
        shown = text
        img[:] = _jitter((240, 240, 240), rng)
        band = int(h * 0.24)
        cv2.rectangle(img, (0, 0), (w, band), _jitter((150, 60, 10), rng), -1)
        _centred_text(img, "BRASIL", band * 0.5, band * 0.55, (245, 245, 245), rng)
        cv2.rectangle(img, (w - 34, 6), (w - 10, band - 6), _jitter((40, 150, 30), rng), -1)  # flag
        cv2.rectangle(img, (1, 1), (w - 2, h - 2), (20, 20, 20), 2)
        fg = (20, 20, 20) if rng.random() < 0.85 else (30, 30, 170)
        top, char_h = band + (h - band) * 0.14, (h - band) * 0.72
    else:  # old grey plate with the city name on top
        text = _pick(rng, _LETTERS, 3) + _pick(rng, _DIGITS, 4)
        shown = text[:3] + "-" + text[3:]
        grey = int(rng.uniform(160, 215))
        img[:] = _jitter((grey, grey, grey), rng, 6)
        cv2.rectangle(img, (3, 3), (w - 4, h - 4), (30, 30, 30), 3)
        _centred_text(img, ("SP", "RJ", "MG", "PR", "RS")[rng.integers(5)] + " - CIDADE", h * 0.16, h * 0.13,
                      (30, 30, 30), rng)  # fmt: skip
        fg = (25, 25, 25)
        top, char_h = h * 0.3, h * 0.58
    _main_text(img, shown, top, char_h, 10, w - 10, fg, typeface)
    return text, img


def random_world_plate(rng: np.random.Generator, typeface: Typeface | None = None) -> tuple[str, str, BgrImage]:
    """A US-style (60 %) or Brazilian (40 %) plate: normalised text, country code and image (characters in
    the stroke font, or in `typeface`)."""
    if rng.random() < 0.6:
        text, img = random_us_plate(rng, typeface)
        return text, "US", img
    text, img = random_br_plate(rng, typeface)
    return text, "BR", img
