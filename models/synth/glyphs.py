"""A monoline stroke font close to the Dutch Kenteken typeface, drawn with cv2 polylines."""

from __future__ import annotations

import math

import cv2
import numpy as np
import numpy.typing as npt

from models.synth.typefaces import Typeface, draw_outline_line

Stroke = list[tuple[float, float]]
GLYPH_W = 5.0
GLYPH_H = 10.0
"""Glyph cell in font units: x 0..5, y 0..10 with y pointing down (as in images)."""


def _arc(cx: float, cy: float, rx: float, ry: float, a0: float, a1: float, n: int = 0) -> Stroke:
    """Points on an elliptic arc from angle a0 to a1 (degrees, y down: 90 is the bottom)."""
    n = n or max(4, int(abs(a1 - a0) / 12))
    return [
        (cx + rx * math.cos(math.radians(a)), cy + ry * math.sin(math.radians(a))) for a in np.linspace(a0, a1, n + 1)
    ]


def _ellipse(cx: float, cy: float, rx: float, ry: float) -> Stroke:
    return _arc(cx, cy, rx, ry, 0, 360, 32)


_STADIUM = _arc(2.5, 2.5, 2.5, 2.5, 180, 360) + _arc(2.5, 7.5, 2.5, 2.5, 0, 180)
_STADIUM.append(_STADIUM[0])
_C_SHAPE = _arc(2.5, 2.5, 2.5, 2.5, -35, -180) + _arc(2.5, 7.5, 2.5, 2.5, 180, 35)
_P_BOWL = [(0.0, 10.0), (0.0, 0.0), (2.6, 0.0), *_arc(2.6, 2.6, 2.4, 2.6, -90, 90), (0.0, 5.2)]

GLYPHS: dict[str, list[Stroke]] = {
    "0": [_STADIUM],
    "1": [[(0.9, 2.2), (3.2, 0.0), (3.2, 10.0)]],
    "2": [[*_arc(2.5, 2.5, 2.5, 2.5, 190, 385), (0.0, 10.0), (5.0, 10.0)]],
    "3": [[(0.3, 0.0), (4.8, 0.0), (2.0, 4.1), *_arc(2.5, 7.05, 2.5, 2.95, 270, 510)]],
    "4": [[(3.7, 10.0), (3.7, 0.0), (0.0, 7.0), (5.0, 7.0)]],
    "5": [[(4.8, 0.0), (0.5, 0.0), (0.3, 4.6), *_arc(2.5, 7.05, 2.5, 2.95, 230, 510)]],
    "6": [_ellipse(2.5, 7.3, 2.5, 2.7), [(0.0, 7.3), (0.0, 2.5), *_arc(2.5, 2.5, 2.5, 2.5, 180, 335)]],
    "7": [[(0.0, 0.0), (5.0, 0.0), (1.6, 10.0)]],
    "8": [_ellipse(2.5, 2.4, 2.2, 2.4), _ellipse(2.5, 7.3, 2.5, 2.7)],
    "9": [_ellipse(2.5, 2.7, 2.5, 2.7), [(5.0, 2.7), (5.0, 7.5), *_arc(2.5, 7.5, 2.5, 2.5, 0, 155)]],
    "A": [[(0.0, 10.0), (2.5, 0.0), (5.0, 10.0)], [(0.9, 6.6), (4.1, 6.6)]],
    "B": [
        [(0.0, 10.0), (0.0, 0.0), (2.7, 0.0), *_arc(2.7, 2.35, 2.0, 2.35, -90, 90), (0.0, 4.7)],
        [(0.0, 4.7), (2.8, 4.7), *_arc(2.8, 7.35, 2.2, 2.65, -90, 90), (0.0, 10.0)],
    ],
    "C": [_C_SHAPE],
    "D": [
        [
            (0.0, 0.0),
            (2.0, 0.0),
            *_arc(2.0, 3.0, 3.0, 3.0, -90, 0),
            *_arc(2.0, 7.0, 3.0, 3.0, 0, 90),
            (0.0, 10.0),
            (0.0, 0.0),
        ]
    ],
    "E": [[(5.0, 0.0), (0.0, 0.0), (0.0, 10.0), (5.0, 10.0)], [(0.0, 4.8), (4.0, 4.8)]],
    "F": [[(5.0, 0.0), (0.0, 0.0), (0.0, 10.0)], [(0.0, 4.8), (4.0, 4.8)]],
    "G": [[*_arc(2.5, 2.5, 2.5, 2.5, -35, -180), *_arc(2.5, 7.5, 2.5, 2.5, 180, 0), (5.0, 5.3), (2.9, 5.3)]],
    "H": [[(0.0, 0.0), (0.0, 10.0)], [(5.0, 0.0), (5.0, 10.0)], [(0.0, 4.8), (5.0, 4.8)]],
    "I": [[(2.5, 0.0), (2.5, 10.0)]],
    "J": [[(5.0, 0.0), (5.0, 7.5), *_arc(2.5, 7.5, 2.5, 2.5, 0, 180), (0.0, 6.8)]],
    "K": [[(0.0, 0.0), (0.0, 10.0)], [(5.0, 0.0), (0.0, 6.2)], [(1.7, 4.1), (5.0, 10.0)]],
    "L": [[(0.0, 0.0), (0.0, 10.0), (5.0, 10.0)]],
    "M": [[(0.0, 10.0), (0.0, 0.0), (2.5, 6.2), (5.0, 0.0), (5.0, 10.0)]],
    "N": [[(0.0, 10.0), (0.0, 0.0), (5.0, 10.0), (5.0, 0.0)]],
    "O": [_ellipse(2.5, 5.0, 2.5, 5.0)],
    "P": [_P_BOWL],
    "Q": [_ellipse(2.5, 5.0, 2.5, 5.0), [(3.0, 7.4), (5.2, 10.3)]],
    "R": [_P_BOWL, [(2.4, 5.2), (5.0, 10.0)]],
    "S": [[*_arc(2.5, 2.6, 2.4, 2.6, -20, -270), *_arc(2.5, 7.6, 2.5, 2.4, -90, 160)]],
    "T": [[(0.0, 0.0), (5.0, 0.0)], [(2.5, 0.0), (2.5, 10.0)]],
    "U": [[(0.0, 0.0), *_arc(2.5, 7.5, 2.5, 2.5, 180, 0), (5.0, 0.0)]],
    "V": [[(0.0, 0.0), (2.5, 10.0), (5.0, 0.0)]],
    "W": [[(0.0, 0.0), (1.2, 10.0), (2.5, 3.2), (3.8, 10.0), (5.0, 0.0)]],
    "X": [[(0.0, 0.0), (5.0, 10.0)], [(5.0, 0.0), (0.0, 10.0)]],
    "Y": [[(0.0, 0.0), (2.5, 5.0), (5.0, 0.0)], [(2.5, 5.0), (2.5, 10.0)]],
    "Z": [[(0.0, 0.0), (5.0, 0.0), (0.0, 10.0), (5.0, 10.0)]],
    "-": [[(0.4, 5.0), (2.6, 5.0)]],
    " ": [],
}
# Advance width of each glyph in font units (narrow glyphs take less room, as on real plates).
ADVANCE: dict[str, float] = {ch: GLYPH_W for ch in GLYPHS} | {"-": 3.0, " ": 2.2, "I": 2.0, "1": 4.2}
_X_OFFSET: dict[str, float] = {"I": -1.5, "1": -0.5}
_SHIFT = 4  # sub-pixel precision bits for cv2 drawing


def text_width(text: str, spacing: float) -> float:
    """Width of a text line in font units, with `spacing` units between glyphs."""
    if not text:
        return 0.0
    return sum(ADVANCE[ch] for ch in text) + spacing * (len(text) - 1)


def draw_line(
    img: npt.NDArray[np.uint8],
    text: str,
    left: float,
    right: float,
    top: float,
    char_h: float,
    width: float,
    gap: float,
    color: tuple[int, int, int],
    thickness: int,
    typeface: Typeface | None = None,
) -> None:
    """Draw `text` centred between `left` and `right` (pixels), glyphs `char_h` px tall and `width` x as wide as
    the font's natural cell, with `gap` px of background between the ink of neighbouring glyphs; in the stroke
    font `thickness` px wide, or in the outline `typeface` (`models.synth.typefaces`) when one is given.

    Real plates keep a clear gap between characters (the UK standard: 11 mm between 50 mm characters drawn with a
    14 mm stroke): a text too long for the plate is condensed, not crowded. The glyphs narrow first (down to 60 %
    of `width`), then the gaps shrink (down to half), then the glyphs narrow further.
    """
    if typeface is not None:
        draw_outline_line(img, text, (left, top, right, top + char_h), (width, gap), color, typeface)
        return
    if not text:
        return
    unit_y = char_h / GLYPH_H
    unit_x = unit_y * width
    cells = sum(ADVANCE[ch] for ch in text)
    between = len(text) - 1
    pitch = thickness + gap  # px from one glyph cell's edge to the next (ink overhangs each edge by half a stroke)
    avail = right - left - thickness
    if cells * unit_x + between * pitch > avail:
        unit_x = max(0.6 * unit_x, (avail - between * pitch) / cells)
    if cells * unit_x + between * pitch > avail and between:
        pitch = max(thickness + gap / 2, (avail - cells * unit_x) / between)
    if cells * unit_x + between * pitch > avail:
        unit_x = max(0.5, (avail - between * pitch) / cells)
    natural = cells * unit_x + between * pitch
    x0 = left + thickness / 2 + (avail - natural) / 2
    draw_text(img, text, (x0, top), unit_x, unit_y, pitch / unit_x, color, thickness)


def draw_text(
    img: npt.NDArray[np.uint8],
    text: str,
    origin: tuple[float, float],
    unit_x: float,
    unit_y: float,
    spacing: float,
    color: tuple[int, int, int],
    thickness: int,
) -> None:
    """Draw `text` in place with its top-left corner at `origin` (pixels); 1 font unit = unit_x/y px."""
    x, y = origin
    scale = float(1 << _SHIFT)
    for ch in text:
        strokes = GLYPHS.get(ch)
        if strokes is None:
            raise ValueError(f"no glyph for character {ch!r}")
        dx = x + _X_OFFSET.get(ch, 0.0) * unit_x
        polys = [
            np.array([[(dx + px * unit_x) * scale, (y + py * unit_y) * scale] for px, py in stroke], np.int32)
            for stroke in strokes
        ]
        if polys:
            cv2.polylines(img, polys, False, color, thickness, cv2.LINE_AA, _SHIFT)
        x += (ADVANCE[ch] + spacing) * unit_x
