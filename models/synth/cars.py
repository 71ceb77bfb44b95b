"""Simple car bodies seen from the rear or front, with a plate mounted, pasted with perspective."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
import numpy.typing as npt

BgrImage = npt.NDArray[np.uint8]  # (H, W, 3)
Quad = npt.NDArray[np.float32]  # (4, 2): top-left, top-right, bottom-right, bottom-left
View = Literal["rear", "front"]

_BODY_COLOURS = (
    (240, 240, 240), (25, 25, 25), (170, 170, 165), (110, 110, 110), (140, 70, 30), (40, 40, 170),
    (40, 80, 40), (150, 180, 200), (90, 40, 30), (30, 120, 200), (60, 60, 70), (200, 200, 195),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class CarSprite:
    """A car drawn upright: image, alpha mask (255 = car) and the plate's corners in sprite pixels."""

    image: BgrImage
    mask: npt.NDArray[np.uint8]
    plate_quad: Quad


def _shade(colour: np.ndarray, factor: float) -> tuple[int, int, int]:
    c = np.clip(colour * factor, 0, 255)
    return int(c[0]), int(c[1]), int(c[2])


def render_car(
    rng: np.random.Generator,
    car_width: int,
    plate: BgrImage,
    view: View,
    plate_frac: tuple[float, float] = (0.26, 0.31),
    extras: bool = False,
) -> CarSprite:
    """Draw a car `car_width` pixels wide carrying `plate` (its aspect is kept) on the bumper.

    The plate spans `plate_frac` of the car's width (EU plates about 0.28, US plates about 0.18).
    With `extras`, the car also carries plate-like things that are not plates (badges, chrome strips,
    stickers, reflectors), hard negatives for the detector.
    """
    cw = int(car_width)
    ch = int(cw * rng.uniform(0.62, 0.85))
    img = np.zeros((ch, cw, 3), np.uint8)
    mask = np.zeros((ch, cw), np.uint8)
    body = np.array(_BODY_COLOURS[rng.integers(len(_BODY_COLOURS))], np.float32) * rng.uniform(0.85, 1.1)
    r = max(2, cw // 14)
    # Wheels first, so the body overlaps them.
    wy0 = int(0.82 * ch)
    for wx in (int(0.05 * cw), int(0.77 * cw)):
        cv2.rectangle(img, (wx, wy0), (wx + int(0.18 * cw), ch - 1), (18, 18, 18), -1)
        cv2.rectangle(mask, (wx, wy0), (wx + int(0.18 * cw), ch - 1), 255, -1)
    # Lower body: rounded rectangle.
    y0, y1 = int(0.42 * ch), int(0.9 * ch)
    for target, value in ((img, _shade(body, 1.0)), (mask, 255)):
        cv2.rectangle(target, (r, y0), (cw - r, y1), value, -1)
        cv2.rectangle(target, (0, y0 + r), (cw - 1, y1 - r), value, -1)
        for cx, cy in ((r, y0 + r), (cw - r, y0 + r), (r, y1 - r), (cw - r, y1 - r)):
            cv2.circle(target, (cx, cy), r, value, -1, cv2.LINE_AA)
    # Cabin: trapezoid narrowing to the roof, with a dark window inside.
    top_w = rng.uniform(0.6, 0.78) * cw
    roof = int(rng.uniform(0.02, 0.1) * ch)
    cabin = np.array(
        [[(cw - top_w) / 2, roof], [(cw + top_w) / 2, roof], [0.96 * cw, y0 + 2], [0.04 * cw, y0 + 2]],
        np.int32,
    )
    cv2.fillPoly(img, [cabin], _shade(body, 0.92), cv2.LINE_AA)
    cv2.fillPoly(mask, [cabin], 255)
    inset = max(2, cw // 40)
    window = cabin + np.array([[inset, inset], [-inset, inset], [-2 * inset, -inset], [2 * inset, -inset]])
    glass = rng.uniform(25, 80)
    cv2.fillPoly(img, [window.astype(np.int32)], (glass, glass * 1.05, glass * 1.1), cv2.LINE_AA)
    if rng.random() < 0.5:  # A reflection streak across the glass.
        sx = int(rng.uniform(0.2, 0.7) * cw)
        pts = np.array([[sx, roof + inset], [sx + cw // 12, roof + inset], [sx - cw // 20, y0 - inset],
                        [sx - cw // 8, y0 - inset]], np.int32)  # fmt: skip
        overlay = img.copy()
        cv2.fillPoly(overlay, [pts], (200, 200, 200))
        cv2.addWeighted(overlay, 0.15, img, 0.85, 0, dst=img)
    # Lights and grille.
    ly0, ly1 = int(0.47 * ch), int(rng.uniform(0.56, 0.64) * ch)
    lw = int(rng.uniform(0.12, 0.2) * cw)
    if view == "rear":
        lamp = (30, 30, int(rng.uniform(150, 230)))
        amber = (20, 140, 230)
        for lx in (int(0.03 * cw), cw - int(0.03 * cw) - lw):
            cv2.rectangle(img, (lx, ly0), (lx + lw, ly1), lamp, -1)
            cv2.rectangle(img, (lx, ly1 - (ly1 - ly0) // 3), (lx + lw, ly1), amber, -1)
        plate_cy = rng.uniform(0.6, 0.7) * ch
    else:
        lamp = (int(rng.uniform(180, 250)),) * 3
        for lx in (int(0.04 * cw), cw - int(0.04 * cw) - lw):
            cv2.rectangle(img, (lx, ly0), (lx + lw, ly1), (60, 60, 60), -1)
            axes = (lw // 2 - 1, (ly1 - ly0) // 2 - 1)
            cv2.ellipse(img, (lx + lw // 2, (ly0 + ly1) // 2), axes, 0, 0, 360, lamp, -1, cv2.LINE_AA)
        gx0, gx1 = int(0.04 * cw) + lw + cw // 30, cw - int(0.04 * cw) - lw - cw // 30
        cv2.rectangle(img, (gx0, ly0), (gx1, ly1), (35, 35, 35), -1)
        for gy in range(ly0 + 3, ly1, max(3, (ly1 - ly0) // 5)):
            cv2.line(img, (gx0, gy), (gx1, gy), (90, 90, 90), 1)
        plate_cy = rng.uniform(0.74, 0.8) * ch
    # Bumper band: black plastic or body colour, darker.
    by0 = int(0.7 * ch)
    bumper = (30, 30, 30) if rng.random() < 0.5 else _shade(body, 0.75)
    cv2.rectangle(img, (int(0.01 * cw), by0), (cw - int(0.01 * cw), y1), bumper, -1)
    # Plate: keep its aspect; mount it centred, sometimes in a dark holder frame.
    ph_px, pw_px = plate.shape[:2]
    pw = int(cw * rng.uniform(*plate_frac))
    ph = max(4, round(pw * ph_px / pw_px))
    px0 = (cw - pw) // 2 + int(rng.uniform(-0.02, 0.02) * cw)
    py0 = int(min(plate_cy, y1 - ph / 2 - 2) - ph / 2)
    if extras and rng.random() < 0.75:
        _recess(img, rng, body, (px0, py0, px0 + pw, py0 + ph))
    if rng.random() < 0.4:
        b = max(1, pw // 40)
        cv2.rectangle(img, (px0 - b, py0 - b), (px0 + pw + b, py0 + ph + b * 2), (15, 15, 15), -1)
    if extras:
        _extras(img, rng, body, (px0, py0, px0 + pw, py0 + ph), ly0, ly1, y1)
    img[py0 : py0 + ph, px0 : px0 + pw] = cv2.resize(plate, (pw, ph), interpolation=cv2.INTER_AREA)
    if extras and pw < 2.6 * ph and rng.random() < 0.45:
        _plate_frame(img, rng, (px0, py0, px0 + pw, py0 + ph))
    # Vertical shading: roof lit, sills darker.
    grad = np.linspace(rng.uniform(1.0, 1.2), rng.uniform(0.7, 0.95), ch, dtype=np.float32)[:, None, None]
    img = np.clip(img.astype(np.float32) * grad, 0, 255).astype(np.uint8)
    quad = np.array([[px0, py0], [px0 + pw, py0], [px0 + pw, py0 + ph], [px0, py0 + ph]], np.float32)
    return CarSprite(img, mask, quad)


_BADGES = ("GOLF", "TDI", "LEAF", "e-tron", "320d", "CIVIC", "SPORT", "4MOTION", "HYBRID", "AMG", "CLIO", "V70")
_DEALER = ("AUTO", "DEALER", "GARAGE", "CARS", "MOTORS", "RENT")


def _recess(img: BgrImage, rng: np.random.Generator, body: np.ndarray, plate: tuple[int, int, int, int]) -> None:
    """The plate pocket in the boot lid or bumper: shaped for a European plate (about 4:1) and larger than
    a US (2:1) or Brazilian plate, or (half the time around a US-shaped plate) fitted to it, 1.15-1.8x its
    width and 1.2-1.9x its height, often with a chrome surround, as American cars have them. Either way
    the plate's box is the plate, not its pocket."""
    cw = img.shape[1]
    px0, py0, px1, py1 = plate
    pcx, pcy = (px0 + px1) / 2, (py0 + py1) / 2
    if px1 - px0 < 2.6 * (py1 - py0) and rng.random() < 0.5:
        rw, rh = (px1 - px0) * rng.uniform(1.15, 1.8), (py1 - py0) * rng.uniform(1.2, 1.9)
        x0, y0, x1, y1 = int(pcx - rw / 2), int(pcy - rh / 2), int(pcx + rw / 2), int(pcy + rh / 2)
        if rng.random() < 0.5:  # chrome surround
            rim = max(1, int(rh * rng.uniform(0.04, 0.1)))
            cv2.rectangle(img, (x0 - rim, y0 - rim), (x1 + rim, y1 + rim), (int(rng.uniform(170, 235)),) * 3, -1)
        cv2.rectangle(img, (x0, y0), (x1, y1), _shade(body, rng.uniform(0.2, 0.7)), -1, cv2.LINE_AA)
        return
    rw = max((px1 - px0) * rng.uniform(1.05, 1.25), cw * rng.uniform(0.3, 0.4))
    rh = max((py1 - py0) * rng.uniform(1.1, 1.4), rw * rng.uniform(0.2, 0.3))
    x0, y0, x1, y1 = int(pcx - rw / 2), int(pcy - rh / 2), int(pcx + rw / 2), int(pcy + rh / 2)
    dark = rng.uniform(0.45, 0.85)
    cv2.rectangle(img, (x0, y0), (x1, y1), _shade(body, dark), -1, cv2.LINE_AA)
    edge = max(1, int(rh * 0.06))
    cv2.rectangle(img, (x0, y0), (x1, y0 + edge), _shade(body, dark * 0.6), -1)  # shadowed top lip
    cv2.rectangle(img, (x0, y1 - edge), (x1, y1), _shade(body, min(1.3, dark * 1.5)), -1)  # lit bottom lip
    if rng.random() < 0.4:  # chrome trim or licence lamps above the pocket
        cv2.rectangle(img, (x0, max(0, y0 - edge * 2)), (x1, y0), (210, 210, 210), -1)


def _plate_frame(img: BgrImage, rng: np.random.Generator, plate: tuple[int, int, int, int]) -> None:
    """A dealer's plate frame over the plate's edge (black, chrome or white; a wider band below, sometimes
    above, with the dealer's name), as on many American cars. It covers the rim of the plate, not more:
    the box stays the plate."""
    ch, cw = img.shape[:2]
    px0, py0, px1, py1 = plate
    pw, ph = px1 - px0, py1 - py0
    colour = ((20, 20, 20), (200, 200, 205), (235, 235, 235))[int(rng.integers(3))]
    ink = (235, 235, 235) if colour[0] < 100 else (30, 30, 30)
    side = max(1, int(pw * rng.uniform(0.02, 0.05)))
    top = max(1, int(ph * rng.uniform(0.04, 0.15)))
    bottom = max(1, int(ph * rng.uniform(0.08, 0.2)))
    out = max(1, side // 2)  # the part of the frame outside the plate
    x0, y0, x1, y1 = max(0, px0 - out), max(0, py0 - out), min(cw, px1 + out), min(ch, py1 + out)
    cv2.rectangle(img, (x0, y0), (x1 - 1, py0 + top), colour, -1)
    cv2.rectangle(img, (x0, py1 - bottom), (x1 - 1, y1 - 1), colour, -1)
    cv2.rectangle(img, (x0, y0), (px0 + side, y1 - 1), colour, -1)
    cv2.rectangle(img, (px1 - side, y0), (x1 - 1, y1 - 1), colour, -1)
    if bottom >= 5:
        word = _DEALER[rng.integers(len(_DEALER))]
        if rng.random() < 0.5:
            word += " " + _DEALER[rng.integers(len(_DEALER))]
        scale = bottom / 34
        (tw, _), _ = cv2.getTextSize(word, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
        org = (int((px0 + px1 - tw) / 2), int(py1 - bottom * 0.2))
        cv2.putText(img, word, org, cv2.FONT_HERSHEY_SIMPLEX, scale, ink, 1, cv2.LINE_AA)


def _extras(
    img: BgrImage,
    rng: np.random.Generator,
    body: np.ndarray,
    plate: tuple[int, int, int, int],
    ly0: int,
    ly1: int,
    y1: int,
) -> None:
    """Plate-like things around, never on, the plate box (drawn before the plate, which covers them)."""
    ch, cw = img.shape[:2]
    px0, py0, px1, py1 = plate
    font = cv2.FONT_HERSHEY_SIMPLEX
    if rng.random() < 0.5:  # chrome strip or light bar across the boot, above the plate
        sy = int(rng.uniform(ly0, max(ly0 + 1, min(ly1, py0 - 6))))
        th = max(2, int(ch * rng.uniform(0.01, 0.03)))
        colour = (230, 230, 230) if rng.random() < 0.6 else (40, 40, int(rng.uniform(160, 240)))
        cv2.rectangle(img, (int(0.2 * cw), sy), (int(0.8 * cw), min(py0 - 2, sy + th)), colour, -1)
    if rng.random() < 0.6:  # model badge in chrome letters, above the plate
        word = _BADGES[rng.integers(len(_BADGES))]
        scale = cw / 600 * rng.uniform(0.5, 1.1)
        (tw, th), _ = cv2.getTextSize(word, font, scale, max(1, int(scale * 2)))
        x = int(rng.uniform(0.05 * cw, max(0.05 * cw + 1, 0.95 * cw - tw)))
        y = int(min(py0 - 4, rng.uniform(ly0, ly1 + th)))
        if y - th > 0:
            cv2.putText(img, word, (x, y), font, scale, (215, 215, 210), max(1, int(scale * 2)), cv2.LINE_AA)
    if rng.random() < 0.4:  # a sticker or row of round stickers beside the plate
        sh = max(4, int((py1 - py0) * rng.uniform(0.5, 1.2)))
        side = rng.random() < 0.5
        x0 = int(rng.uniform(0.05 * cw, max(0.05 * cw + 1, px0 - 4 * sh))) if side else px1 + 4
        if rng.random() < 0.5:
            for k in range(int(rng.integers(2, 5))):
                cx = x0 + k * sh + sh // 2
                if cx + sh // 2 < (px0 if side else cw):
                    cv2.circle(img, (cx, py0 + sh // 2), sh // 2, (235, 235, 235), -1, cv2.LINE_AA)
                    cv2.circle(img, (cx, py0 + sh // 2), sh // 2, (30, 30, 200), max(1, sh // 8), cv2.LINE_AA)
        else:
            sw = min(int(sh * rng.uniform(1.5, 4)), max(2, (px0 - x0 - 2) if side else cw - x0 - 2))
            bg = tuple(int(v) for v in rng.integers(0, 256, 3))
            cv2.rectangle(img, (x0, py0), (x0 + sw, py0 + sh), bg, -1)
            ink = (15, 15, 15) if sum(bg) > 380 else (240, 240, 240)
            word = _DEALER[rng.integers(len(_DEALER))]
            cv2.putText(img, word, (x0 + 2, py0 + int(sh * 0.7)), font, sh / 40, ink, max(1, sh // 12), cv2.LINE_AA)
    if rng.random() < 0.4:  # red reflectors low on the bumper
        rh = max(2, int(ch * 0.015))
        ry = int(min(y1 - rh - 1, py1 + rng.uniform(4, 0.06 * ch)))
        if ry > py1:
            rw = int(cw * rng.uniform(0.06, 0.14))
            for rx in (int(0.06 * cw), cw - int(0.06 * cw) - rw):
                cv2.rectangle(img, (rx, ry), (rx + rw, ry + rh), (20, 20, int(rng.uniform(120, 220))), -1)
    if rng.random() < 0.3:  # dealer frame text under the plate
        scale = (py1 - py0) / 60
        ry = py1 + max(3, int((py1 - py0) * 0.35))
        if ry < y1:
            word = _DEALER[rng.integers(len(_DEALER))]
            cv2.putText(img, word, (px0, ry), font, max(0.2, scale), (200, 200, 200), 1, cv2.LINE_AA)


def perspective(
    size: tuple[int, int], yaw_deg: float, pitch_deg: float, roll_deg: float, focal_factor: float = 2.0
) -> npt.NDArray[np.float64]:
    """Homography that turns a (width, height) sprite by yaw/pitch/roll about its centre (pinhole view).

    The result maps sprite pixels to pixels around the origin; add the placement offset afterwards.
    """
    w, h = size
    y, p, r = (math.radians(a) for a in (yaw_deg, pitch_deg, roll_deg))
    ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    rot = rz @ rx @ ry
    f = focal_factor * max(w, h)
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    pts3 = np.column_stack([src[:, 0] - w / 2, src[:, 1] - h / 2, np.zeros(4)]) @ rot.T
    z = pts3[:, 2] + f
    dst = np.column_stack([f * pts3[:, 0] / z, f * pts3[:, 1] / z]).astype(np.float32)
    return cv2.getPerspectiveTransform(src, dst)


def warp_points(hom: npt.NDArray[np.float64], pts: Quad) -> Quad:
    """Apply a homography to (N, 2) points."""
    out = cv2.perspectiveTransform(pts.reshape(-1, 1, 2).astype(np.float32), hom)
    return out.reshape(-1, 2).astype(np.float32)


def paste(
    dst: BgrImage, sprite: CarSprite, hom: npt.NDArray[np.float64], shadow: bool = True, motion: float = 0.0
) -> Quad:
    """Warp `sprite` into `dst` with `hom` (sprite -> dst pixels) in place; return the plate quad in dst.

    `motion` smears the car (not what lies behind it) horizontally by that many dst pixels, as a car
    passing during the exposure: its colour and coverage are both averaged along the smear.
    """
    h, w = sprite.mask.shape
    corners = warp_points(hom, np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32))
    reach = int(np.ceil(motion / 2)) + 1 if motion >= 1.0 else 0  # the smear runs past the car's ends
    x0 = max(0, int(np.floor(corners[:, 0].min())) - reach)
    y0 = max(0, int(np.floor(corners[:, 1].min())))
    x1 = min(dst.shape[1], int(np.ceil(corners[:, 0].max())) + 1 + reach)
    y1 = min(dst.shape[0], int(np.ceil(corners[:, 1].max())) + 1)
    quad = warp_points(hom, sprite.plate_quad)
    if x1 <= x0 or y1 <= y0:
        return quad
    shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], np.float64) @ hom
    roi = dst[y0:y1, x0:x1]
    if shadow:
        # Soft dark ground shadow under the car's bottom edge.
        bl, br = corners[3] - (x0, y0), corners[2] - (x0, y0)
        centre = (int((bl[0] + br[0]) / 2), int((bl[1] + br[1]) / 2))
        axes = (max(1, int(abs(br[0] - bl[0]) * 0.55)), max(1, int(abs(br[0] - bl[0]) * 0.05)))
        shade = np.zeros(roi.shape[:2], np.uint8)
        cv2.ellipse(shade, centre, axes, 0, 0, 360, 110, -1)
        shade = cv2.GaussianBlur(shade, (0, 0), max(1.0, axes[1] / 2))
        roi[:] = (roi.astype(np.float32) * (1 - shade[:, :, None] / 255.0)).astype(np.uint8)
    size = (x1 - x0, y1 - y0)
    warped = cv2.warpPerspective(sprite.image, shift, size, flags=cv2.INTER_LINEAR)
    alpha = cv2.warpPerspective(sprite.mask, shift, size, flags=cv2.INTER_LINEAR)
    a = alpha.astype(np.float32)[:, :, None] / 255.0
    colour = warped * a
    if motion >= 1.0:
        kernel = motion_kernel(motion)
        colour = cv2.filter2D(colour, -1, kernel, borderType=cv2.BORDER_CONSTANT)
        a = cv2.filter2D(a, -1, kernel, borderType=cv2.BORDER_CONSTANT)[:, :, None]
    roi[:] = np.clip(colour + roi * (1 - a), 0, 255).astype(np.uint8)
    return quad


def motion_kernel(length: float) -> npt.NDArray[np.float32]:
    """A horizontal box kernel that smears by `length` pixels (fractional ends weighted), summing to 1."""
    whole = int(np.floor(length))
    frac = length - whole
    taps = np.ones(whole + (1 if frac > 0 else 0), np.float32)
    if frac > 0:
        taps[-1] = frac
    return (taps / taps.sum()).reshape(1, -1)
