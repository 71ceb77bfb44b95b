"""Street backgrounds for synthetic scenes: facades, pavement, kerb, road and plate-like distractors."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

BgrImage = npt.NDArray[np.uint8]  # (H, W, 3)

_FACADE_COLOURS = (
    (60, 70, 140), (70, 80, 160), (50, 60, 110), (150, 170, 190), (180, 190, 200),
    (120, 120, 120), (90, 100, 110), (200, 210, 215), (70, 90, 120), (40, 45, 60),
)  # fmt: skip
_SIGN_WORDS = (
    "BAKKERIJ", "APOTHEEK", "CAFE", "KAPPER", "HEMA", "ALBERT", "TE HUUR", "PARKEREN",
    "VERKOCHT", "STATION", "CENTRUM", "PIZZA", "SNACKBAR", "OPEN", "BLOEMEN", "SALE",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class StreetLayout:
    """Where the street's bands lie, in image rows: facade bottom, kerb top and bottom."""

    horizon: int
    kerb_top: int
    kerb_bottom: int


def _texture(rng: np.random.Generator, height: int, width: int, scale: int, amp: float) -> np.ndarray:
    """Low-frequency noise field in [-amp, amp] (float32, H x W), made by upscaling a small grid."""
    gh, gw = max(2, height // scale + 2), max(2, width // scale + 2)
    grid = rng.uniform(-amp, amp, size=(gh, gw)).astype(np.float32)
    return cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)


def _facades(img: BgrImage, rng: np.random.Generator, bottom: int) -> None:
    """Paint a row of buildings with windows and doors above `bottom`."""
    width = img.shape[1]
    x = int(rng.integers(-200, 0))
    sky = np.array([rng.uniform(170, 240), rng.uniform(150, 220), rng.uniform(120, 200)], np.float32)
    img[:bottom] = sky.astype(np.uint8)
    while x < width:
        bw = int(rng.integers(180, 520))
        top = int(rng.uniform(-0.2, 0.35) * bottom)
        colour = np.array(_FACADE_COLOURS[rng.integers(len(_FACADE_COLOURS))], np.float32)
        colour = np.clip(colour * rng.uniform(0.75, 1.2), 0, 255)
        x0, x1 = max(0, x), min(width, x + bw)
        if x1 > x0:
            img[max(0, top) : bottom, x0:x1] = colour.astype(np.uint8)
            # Brick-like horizontal courses give the facade a fine texture.
            if rng.random() < 0.6:
                step = int(rng.integers(4, 9))
                rows = np.arange(max(0, top), bottom, step)
                img[rows, x0:x1] = (colour * 0.8).astype(np.uint8)
            ww, wh = int(rng.integers(30, 80)), int(rng.integers(40, 110))
            gap_x, gap_y = int(rng.integers(15, 50)), int(rng.integers(20, 50))
            glass = np.array([rng.uniform(40, 120)] * 3, np.float32) + rng.uniform(-15, 25, 3)
            frame = (230, 230, 230) if rng.random() < 0.6 else (40, 40, 40)
            for wy in range(max(0, top) + gap_y, bottom - wh - 30, wh + gap_y):
                for wx in range(x + gap_x, x + bw - ww, ww + gap_x):
                    cv2.rectangle(img, (wx, wy), (wx + ww, wy + wh), frame, -1)
                    cv2.rectangle(img, (wx + 3, wy + 3), (wx + ww - 3, wy + wh - 3), glass.tolist(), -1)
            if rng.random() < 0.5:
                dx = x + int(rng.integers(10, max(11, bw - 60)))
                dh = min(bottom - max(0, top) - 5, int(rng.integers(80, 160)))
                door = tuple(int(v) for v in rng.integers(20, 120, 3))
                cv2.rectangle(img, (dx, bottom - dh), (dx + 50, bottom), door, -1)
        x += bw


def _ground(img: BgrImage, rng: np.random.Generator, layout: StreetLayout) -> None:
    """Paint pavement tiles, the kerb and the asphalt road."""
    height, width = img.shape[:2]
    tile = np.array([rng.uniform(120, 190)] * 3, np.float32) + rng.uniform(-10, 10, 3)
    img[layout.horizon : layout.kerb_top] = np.clip(tile, 0, 255).astype(np.uint8)
    step = int(rng.integers(14, 30))
    line = np.clip(tile * 0.7, 0, 255).astype(np.uint8)
    for y in range(layout.horizon, layout.kerb_top, max(4, step // 2)):
        img[y, :] = line
    img[layout.horizon : layout.kerb_top, ::step] = line
    kerb = np.clip(np.array([rng.uniform(150, 215)] * 3), 0, 255).astype(np.uint8)
    img[layout.kerb_top : layout.kerb_bottom] = kerb
    asphalt = np.array([rng.uniform(45, 105)] * 3, np.float32) + rng.uniform(-6, 6, 3)
    img[layout.kerb_bottom :] = np.clip(asphalt, 0, 255).astype(np.uint8)
    if rng.random() < 0.6:
        # Parking-bay lines or a lane marking on the road.
        y = int(rng.integers(layout.kerb_bottom, height))
        colour = (235, 235, 235) if rng.random() < 0.8 else (40, 200, 230)
        dash, gap = int(rng.integers(60, 200)), int(rng.integers(40, 160))
        for x in range(int(rng.integers(-dash, 0)), width, dash + gap):
            cv2.rectangle(img, (x, y), (x + dash, y + int(rng.integers(4, 12))), colour, -1)


def render_street(rng: np.random.Generator, width: int, height: int) -> tuple[BgrImage, StreetLayout]:
    """Render an empty street (no cars, no distractors) and return it with its layout."""
    horizon = int(height * rng.uniform(0.25, 0.6))
    kerb_top = min(height - 20, horizon + int(height * rng.uniform(0.05, 0.2)))
    kerb_bottom = min(height - 5, kerb_top + int(rng.integers(8, 25)))
    layout = StreetLayout(horizon, kerb_top, kerb_bottom)
    img = np.empty((height, width, 3), np.uint8)
    _facades(img, rng, horizon)
    _ground(img, rng, layout)
    shade = _texture(rng, height, width, int(rng.integers(40, 160)), float(rng.uniform(5, 25)))
    shade += rng.standard_normal((height, width), dtype=np.float32) * np.float32(rng.uniform(2, 7))
    out = img.astype(np.float32)
    out += shade[:, :, None]
    return np.clip(out, 0, 255, out=out).astype(np.uint8), layout


def _fake_glyphs(img: BgrImage, rng: np.random.Generator, x: int, y: int, w: int, h: int) -> None:
    """Draw rows of small dark blocks that look like text from afar."""
    lines = int(rng.integers(1, 4))
    lh = max(3, h // (lines * 2))
    ink = (20, 20, 20) if rng.random() < 0.7 else tuple(int(v) for v in rng.integers(0, 255, 3))
    for li in range(lines):
        cy = y + (2 * li + 1) * h // (lines * 2) - lh // 2
        cx = x + int(0.08 * w)
        while cx < x + int(0.9 * w):
            gw = int(rng.integers(max(2, lh // 3), max(3, lh)))
            if rng.random() < 0.85:
                cv2.rectangle(img, (cx, cy), (cx + gw, cy + lh), ink, -1)
            cx += gw + int(rng.integers(1, max(2, lh // 2)))


STICKER_KINDS = (2, 3, 4)
"""Distractor kinds that stay within about 1.2 x size below (x, y): safe to put on a car."""


def draw_distractor(
    img: BgrImage,
    rng: np.random.Generator,
    x: int,
    y: int,
    size: int,
    kinds: tuple[int, ...] = (0, 1, 2, 3, 4, 5),
) -> None:
    """Draw one non-plate object (sign, shop board, sticker, plain plate-like rectangle) at (x, y)."""
    kind = kinds[int(rng.integers(len(kinds)))]
    if kind == 0:  # Round prohibition sign on a pole.
        r = max(6, size // 4)
        cv2.line(img, (x, y + r), (x, y + 6 * r), (90, 90, 90), max(2, r // 5))
        cv2.circle(img, (x, y), r, (30, 30, 200), -1, cv2.LINE_AA)
        cv2.circle(img, (x, y), int(r * 0.72), (240, 240, 240) if rng.random() < 0.5 else (160, 60, 20), -1)
    elif kind == 1:  # Blue square parking sign with a white letter.
        s = max(10, size // 3)
        cv2.rectangle(img, (x, y), (x + s, y + s), (150, 70, 20), -1)
        cv2.putText(img, "P", (x + s // 5, y + int(s * 0.85)), cv2.FONT_HERSHEY_SIMPLEX, s / 32, (255,) * 3, 2)
    elif kind == 2:  # Shop board with a word on it.
        word = _SIGN_WORDS[rng.integers(len(_SIGN_WORDS))]
        h = max(10, size // 5)
        scale = h / 30
        (tw, _), _ = cv2.getTextSize(word, cv2.FONT_HERSHEY_DUPLEX, scale, 2)
        bg = tuple(int(v) for v in rng.integers(0, 255, 3))
        cv2.rectangle(img, (x, y), (x + tw + h, y + h + h // 2), bg, -1)
        fg = (255, 255, 255) if sum(bg) < 380 else (10, 10, 10)
        cv2.putText(img, word, (x + h // 2, y + h + h // 6), cv2.FONT_HERSHEY_DUPLEX, scale, fg, 2, cv2.LINE_AA)
    elif kind == 3:  # Plain white or yellow rectangle, plate-like but blank (a hard negative).
        w = size
        h = int(w * rng.uniform(0.15, 0.5))
        colour = (30, 200, 240) if rng.random() < 0.5 else (235, 235, 235)
        cv2.rectangle(img, (x, y), (x + w, y + h), colour, -1)
        if rng.random() < 0.5:
            cv2.rectangle(img, (x, y), (x + w, y + h), (20, 20, 20), max(1, h // 12))
    elif kind == 4:  # Text-like sticker or poster: several lines of fake glyphs, not plate-shaped.
        w = size
        h = int(w * rng.uniform(0.5, 1.2))
        bg = (235, 235, 235) if rng.random() < 0.6 else (30, 200, 240)
        cv2.rectangle(img, (x, y), (x + w, y + h), bg, -1)
        _fake_glyphs(img, rng, x, y, w, h)
    else:  # House number / street name board: blue with white text, long and thin.
        w = size
        h = int(w * rng.uniform(0.12, 0.25))
        cv2.rectangle(img, (x, y), (x + w, y + h), (130, 60, 10), -1)
        word = _SIGN_WORDS[rng.integers(len(_SIGN_WORDS))]
        cv2.putText(img, word, (x + 4, y + int(h * 0.8)), cv2.FONT_HERSHEY_SIMPLEX, h / 36, (250,) * 3, 1)


_BRANDS = ("Auchan", "LIDL", "Kaufland", "FARMACIE", "HOTEL", "BANCA", "OMV", "PIZZA", "BAR", "Mega", "EXIT", "24/7")


def draw_night_negative(img: BgrImage, rng: np.random.Generator, x: int, y: int, size: int) -> None:
    """Draw one bright non-plate thing at (x, y): a lit shop sign, a row of lamps or an LED text board.

    Real dashcam frames show these next to plates (logos lit at night, festive lights, shop boards);
    the detector must not take them for plates.
    """
    h_img, w_img = img.shape[:2]
    kind = int(rng.integers(3))
    layer = np.zeros_like(img)
    if kind == 0:  # lit logo: bright text on a dark or coloured board
        word = _BRANDS[rng.integers(len(_BRANDS))]
        th = max(8, size // 5)
        scale = th / 22
        font = (cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_TRIPLEX)[rng.integers(3)]
        thick = max(1, th // 8)
        (tw, _), _ = cv2.getTextSize(word, font, scale, thick)
        if rng.random() < 0.6:
            board = tuple(int(v) for v in rng.integers(0, 90, 3))
            cv2.rectangle(img, (x - th // 3, y - th // 3), (x + tw + th // 3, y + th + th // 3), board, -1)
        ink = (255, 255, 255) if rng.random() < 0.6 else tuple(int(v) for v in rng.integers(120, 256, 3))
        cv2.putText(layer, word, (x, y + th), font, scale, ink, thick, cv2.LINE_AA)
    elif kind == 1:  # a row of small lamps (festive lights, distant traffic)
        n = int(rng.integers(3, 12))
        r = max(1, size // 40)
        step = max(2 * r + 2, size // n)
        colour = (255, 255, 255) if rng.random() < 0.5 else tuple(int(v) for v in rng.integers(100, 256, 3))
        for k in range(n):
            cv2.circle(layer, (x + k * step, y + int(rng.uniform(-r, r))), r, colour, -1, cv2.LINE_AA)
    else:  # LED text board: bright dots in text-like blocks
        w = size
        h = max(6, int(w * rng.uniform(0.15, 0.35)))
        cv2.rectangle(img, (x, y), (x + w, y + h), (10, 10, 10), -1)
        colour = (40, 40, 255) if rng.random() < 0.5 else (40, 200, 255)
        _fake_glyphs(layer, rng, x, y, w, h)
        layer[layer.sum(axis=2) > 0] = colour
    ys, xs = np.nonzero(layer.any(axis=2))
    if ys.size == 0:
        return
    pad = int(3 * max(1.0, size / 60)) + 2
    y0, y1 = max(0, ys.min() - pad), min(h_img, ys.max() + pad + 1)
    x0, x1 = max(0, xs.min() - pad), min(w_img, xs.max() + pad + 1)
    roi = layer[y0:y1, x0:x1]
    glow = cv2.GaussianBlur(roi, (0, 0), max(1.0, size / 60))
    out = img[y0:y1, x0:x1].astype(np.int16) + roi + glow
    img[y0:y1, x0:x1] = np.clip(out, 0, 255).astype(np.uint8)
