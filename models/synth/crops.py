"""OCR training crops: a rendered plate, warped and degraded like a detector crop from a street camera."""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from models.synth import photometric, typefaces
from models.synth.cars import paste, perspective, render_car, warp_points
from models.synth.plates import (
    DUTCH_STYLES,
    STREET_WEIGHTS,
    random_dutch_plate,
    random_foreign_plate,
    render_plate,
)

BgrImage = npt.NDArray[np.uint8]  # (H, W, 3)

FOREIGN_SHARE = 0.15
SCENE_SHARE = 0.6
"""Share of crops cut from a car in a street-camera view (the scene generator's car, perspective and
camera chain), the rest are plates warped alone (`_detector_crop`); see `make_crop`."""
TYPEFACE_SHARE = {"NL": 0.04, "foreign": 0.2, "world": 0.6}
"""Share of crops whose characters are drawn in an outline typeface (`models.synth.typefaces`) instead of the
stroke font: most real US/BR plates use other faces than ours, and so do many foreign EU ones (a smaller share:
the stroke font is close to several EU faces); a few Dutch ones keep the reader
from hanging on one drawing of the Dutch font. The choice has its own random stream, so every other draw of
a crop is the same as without it."""
EDGE_MARGIN = 0.08
"""The edge's crop margin (`edge.pipeline.PipelineSettings.crop_margin`): scene crops are cut like the edge cuts."""
# OCR training sees old styles more often than the street does, so that it learns to read them.
_STYLE_P = np.array([0.66, 0.14, 0.1, 0.1])
# Half street share, half uniform: rare sidecodes still get enough examples.
_CODES = list(STREET_WEIGHTS)
_W = np.array([STREET_WEIGHTS[c] for c in _CODES])
_SIDECODE_P = 0.5 * _W / _W.sum() + 0.5 / len(_CODES)


@dataclass(frozen=True, slots=True)
class Crop:
    """One labelled OCR crop: the image as a detector would cut it, and the normalised plate."""

    image: BgrImage
    text: str
    country: str


def _background(h: int, w: int, rng: np.random.Generator) -> BgrImage:
    """Car paint or bumper around the plate: a shaded colour with some noise and a few edges."""
    base = rng.integers(0, 256, 3).astype(np.float32)
    if rng.random() < 0.5:  # most cars are grey, black, white or silver
        base[:] = rng.integers(0, 256)
    grad = np.linspace(rng.uniform(0.6, 1.0), rng.uniform(0.6, 1.2), h, dtype=np.float32)[:, None, None]
    img = np.clip(base[None, None, :] * grad + rng.normal(0, 6, (h, w, 1)), 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(0, 4))):  # bumper lines and panel edges
        y = int(rng.integers(0, h))
        shade = int(rng.integers(0, 256))
        cv2.line(img, (0, y), (w - 1, y + int(rng.integers(-10, 11))), (shade,) * 3, int(rng.integers(1, 6)))
    return img


def _dirt_and_glare(plate: BgrImage, rng: np.random.Generator) -> None:
    """Mud spots, a shadow or a highlight on the plate itself (in place)."""
    h, w = plate.shape[:2]
    if rng.random() < 0.3:
        overlay = plate.copy()
        for _ in range(int(rng.integers(1, 6))):
            center = (int(rng.integers(0, w)), int(rng.integers(0, h)))
            axes = (int(rng.integers(3, 30)), int(rng.integers(2, 15)))
            color = tuple(int(c) for c in rng.integers(20, 110, 3))
            cv2.ellipse(overlay, center, axes, float(rng.uniform(0, 180)), 0, 360, color, -1, cv2.LINE_AA)
        alpha = rng.uniform(0.2, 0.6)
        cv2.addWeighted(overlay, alpha, plate, 1 - alpha, 0, dst=plate)
    if rng.random() < 0.3:  # a soft shadow or highlight across part of the plate
        x = np.linspace(-1, 1, w, dtype=np.float32)[None, :]
        y = np.linspace(-1, 1, h, dtype=np.float32)[:, None]
        a = rng.uniform(0, 2 * math.pi)
        ramp = np.clip((x * math.cos(a) + y * math.sin(a) - rng.uniform(-0.5, 0.5)) * 4, 0, 1)
        gain = 1 + ramp * rng.uniform(-0.55, 0.45)
        plate[:] = np.clip(plate * gain[:, :, None], 0, 255).astype(np.uint8)


def _fixtures(plate: BgrImage, rng: np.random.Generator) -> None:
    """Things on and around real plates (in place): screw heads, a dealer frame, a glossy reflection,
    a tow bar or bike-rack strut hiding a little of one end."""
    h, w = plate.shape[:2]
    if rng.random() < 0.3:  # two screw heads in the upper part, between characters or on them
        r = max(2, round(h * rng.uniform(0.035, 0.06)))
        y = round(h * rng.uniform(0.12, 0.3))
        shade = tuple(int(c) for c in rng.integers(60, 220, 1).repeat(3))
        for x in (round(w * rng.uniform(0.2, 0.3)), round(w * rng.uniform(0.7, 0.8))):
            cv2.circle(plate, (x, y), r, shade, -1, cv2.LINE_AA)
            cv2.circle(plate, (x, y), r, (30, 30, 30), 1, cv2.LINE_AA)
    if rng.random() < 0.25:  # a dealer frame: a dark or chrome border, sometimes wider at the bottom
        t = max(2, round(h * rng.uniform(0.03, 0.09)))
        colour = (20, 20, 20) if rng.random() < 0.7 else tuple(int(c) for c in rng.integers(150, 230, 1).repeat(3))
        cv2.rectangle(plate, (0, 0), (w - 1, h - 1), colour, t)
        if rng.random() < 0.4:
            plate[h - round(t * rng.uniform(1.5, 2.5)) :] = colour
    if rng.random() < 0.15:  # a specular reflection: a bright soft band across the plate
        x = np.linspace(-1, 1, w, dtype=np.float32)[None, :]
        y = np.linspace(-1, 1, h, dtype=np.float32)[:, None]
        a = rng.uniform(-1.2, 1.2)
        d = np.abs(x * math.cos(a) + y * math.sin(a) - rng.uniform(-0.8, 0.8))
        band = np.clip(1 - d / rng.uniform(0.05, 0.3), 0, 1) * rng.uniform(0.25, 0.7)
        plate[:] = np.clip(plate + band[:, :, None] * (255 - plate.astype(np.float32)), 0, 255).astype(np.uint8)
    if rng.random() < 0.05:  # a strut over one end of the plate (band or border side, not mid-text)
        bw = round(w * rng.uniform(0.02, 0.05))
        x = round(w * rng.uniform(0.0, 0.06)) if rng.random() < 0.5 else round(w * rng.uniform(0.92, 0.98)) - bw
        shade = tuple(int(c) for c in rng.integers(10, 90, 1).repeat(3))
        cv2.rectangle(plate, (x, 0), (x + bw, h - 1), shade, -1)


def _plate_quad(w: int, h: int, rng: np.random.Generator) -> npt.NDArray[np.float64]:
    """Corners of the plate seen under yaw, pitch, roll and shear, centred on the origin."""
    yaw, pitch = rng.normal(0, 0.08), rng.normal(0, 0.05)  # how much one side shrinks
    roll = math.radians(rng.normal(0, 3.0))
    aspect = rng.uniform(0.85, 1.1)  # horizontal foreshortening from viewing at an angle
    cw, ch = w * aspect / 2, h / 2
    left_h, right_h = ch * (1 - yaw), ch * (1 + yaw)
    top_w, bottom_w = cw * (1 - pitch), cw * (1 + pitch)
    shear = rng.normal(0, 0.04) * h
    quad = np.array([[-top_w + shear, -left_h], [top_w + shear, -right_h], [bottom_w, right_h], [-bottom_w, left_h]])
    rot = np.array([[math.cos(roll), -math.sin(roll)], [math.sin(roll), math.cos(roll)]])
    return quad @ rot.T


def _detector_crop(plate: BgrImage, rng: np.random.Generator) -> BgrImage:
    """The plate warped onto a background and cut out with margins like a detector box, at camera size.

    Works at the final (small) resolution, so a crop costs about a millisecond.
    """
    h, w = plate.shape[:2]
    quad = _plate_quad(w, h, rng)
    x1, y1 = quad.min(axis=0)
    x2, y2 = quad.max(axis=0)
    bw, bh = x2 - x1, y2 - y1
    # Detector boxes: mostly loose, sometimes cutting a little into the plate.
    x1 -= bw * rng.uniform(-0.02, 0.12)
    x2 += bw * rng.uniform(-0.02, 0.12)
    y1 -= bh * rng.uniform(-0.05, 0.35)
    y2 += bh * rng.uniform(-0.05, 0.35)
    # Plate height in the camera image: 16-70 px, log-uniform (far and near cars).
    scale = math.exp(rng.uniform(math.log(16), math.log(70))) / h
    out_w, out_h = max(8, round((x2 - x1) * scale)), max(6, round((y2 - y1) * scale))
    small = cv2.resize(plate, (max(4, round(w * scale)), max(2, round(h * scale))), interpolation=cv2.INTER_AREA)
    sh, sw = small.shape[:2]
    src = np.array([[0, 0], [sw, 0], [sw, sh], [0, sh]], np.float32)
    dst = ((quad - [x1, y1]) * scale).astype(np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    crop = _background(out_h, out_w, rng)
    cv2.warpPerspective(small, m, (out_w, out_h), dst=crop, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_TRANSPARENT)
    return crop


def _detector_box(
    box: tuple[float, float, float, float], rng: np.random.Generator
) -> tuple[float, float, float, float]:
    """A detector's box around a true plate box: each side off by a few percent, sometimes more."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    sx, sy = (0.03, 0.08) if rng.random() < 0.85 else (0.08, 0.18)
    dx1, dx2 = rng.normal(0, sx * w, 2)
    dy1, dy2 = rng.normal(0, sy * h, 2)
    return x1 + dx1, y1 + dy1, x2 + dx2, y2 + dy2


def _scene_crop(plate: BgrImage, rng: np.random.Generator) -> BgrImage:
    """The plate on a car seen like `models.synth.scenes` sees it, cut out the way the edge cuts detections.

    Only a patch around the plate is rendered (not the 1280x720 frame), so a crop costs a few ms:
    the car's yaw up to 45 degrees, pitch, roll and pinhole perspective, the plate 40-300 px wide, the
    scene camera chain (light, shadows, night, defocus or motion blur in frame pixels, noise, JPEG),
    then a detector-like box widened by the edge's crop margin.
    """
    target_w = rng.uniform(60, 300) if rng.random() < 0.6 else math.exp(rng.uniform(math.log(40), math.log(140)))
    view = "rear" if rng.random() < 0.6 else "front"
    yaw = rng.uniform(-45, 45) if rng.random() < 0.3 else rng.uniform(-35, 35)
    pitch, roll = rng.uniform(-12, 12), rng.uniform(-4, 4)
    sprite = render_car(rng, int(target_w / 0.285), plate, view)
    base = perspective((sprite.mask.shape[1], sprite.mask.shape[0]), yaw, pitch, roll, rng.uniform(1.5, 4))
    quad0 = warp_points(base, sprite.plate_quad)
    scale = target_w / max(1.0, float(quad0[:, 0].max() - quad0[:, 0].min()))
    pw, ph = target_w, float(quad0[:, 1].max() - quad0[:, 1].min()) * scale
    pad_x, pad_y = 0.25 * pw + 4, 0.6 * ph + 4
    dx = pad_x - float(quad0[:, 0].min()) * scale
    dy = pad_y - float(quad0[:, 1].min()) * scale
    hom = np.array([[scale, 0, dx], [0, scale, dy], [0, 0, 1]], np.float64) @ base
    out_w, out_h = round(pw + 2 * pad_x), round(ph + 2 * pad_y)
    patch = _background(out_h, out_w, rng)
    quad = paste(patch, sprite, hom, shadow=False)
    patch = photometric.camera(patch, rng, lights=False)
    box = _detector_box((quad[:, 0].min(), quad[:, 1].min(), quad[:, 0].max(), quad[:, 1].max()), rng)
    x1, y1, x2, y2 = (round(v) for v in box)
    mx, my = int((x2 - x1) * EDGE_MARGIN), int((y2 - y1) * EDGE_MARGIN)
    crop = patch[max(0, y1 - my) : min(out_h, y2 + my), max(0, x1 - mx) : min(out_w, x2 + mx)]
    return np.ascontiguousarray(crop) if crop.size else patch


def _degrade(img: BgrImage, rng: np.random.Generator) -> BgrImage:
    """Blur, motion, light, night/IR, sensor noise and JPEG, as a street camera gives."""
    size = min(1.0, img.shape[0] / 50)  # small crops get gentler blur: they are soft already
    blurred = rng.random() < 0.25
    if blurred:
        img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.3, 1.1) * size) + 0.01)
    if not blurred and rng.random() < 0.2:  # motion blur along the driving direction
        n = max(2, round(rng.uniform(2, 6) * size))
        kernel = np.zeros((n, n), np.float32)
        kernel[n // 2, :] = 1.0 / n
        rot = cv2.getRotationMatrix2D((n / 2 - 0.5, n / 2 - 0.5), float(rng.normal(0, 8)), 1.0)
        kernel = cv2.warpAffine(kernel, rot, (n, n))
        img = cv2.filter2D(img, -1, kernel / max(kernel.sum(), 1e-6))
    f = img.astype(np.float32)
    if rng.random() < 0.15:  # night with IR illumination: grey, the reflective plate bright
        g = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32)
        f = np.repeat(g[:, :, None], 3, axis=2)
    contrast = rng.uniform(0.45, 1.3)
    brightness = rng.uniform(-70, 60)
    f = (f - 128) * contrast + 128 + brightness
    f *= rng.uniform(0.85, 1.15, 3)[None, None, :]  # white balance
    if rng.random() < 0.3:
        gamma = rng.uniform(0.6, 1.6)
        f = 255 * (np.clip(f, 0, 255) / 255) ** gamma
    f += rng.normal(0, rng.uniform(0, 12), f.shape)
    img = np.clip(f, 0, 255).astype(np.uint8)
    if rng.random() < 0.6:
        img = photometric.jpeg(img, int(rng.integers(20, 96)))
    return img


def _typeface(seed: int, index: int, kind: str) -> typefaces.Typeface | None:
    """The outline typeface crop `index` is drawn in, or None for the stroke font (TYPEFACE_SHARE[kind])."""
    rng = np.random.default_rng([seed, index, 11])
    return typefaces.random_typeface(rng) if rng.random() < TYPEFACE_SHARE[kind] else None


def random_plate_text(rng: np.random.Generator) -> tuple[str, str, str | None]:
    """Text, country and style of a plate for OCR training: Dutch majority, FOREIGN_SHARE foreign."""
    if rng.random() < FOREIGN_SHARE:
        text, country = random_foreign_plate(rng)
        return text, country, None
    code = int(_CODES[int(rng.choice(len(_CODES), p=_SIDECODE_P))])
    style = DUTCH_STYLES[int(rng.choice(len(DUTCH_STYLES), p=_STYLE_P))]
    return random_dutch_plate(rng, code), "NL", style


def make_crop(seed: int, index: int, clean: bool = False) -> Crop:
    """Crop number `index` of the set made with `seed`; the same (seed, index) gives the same crop.

    `clean` skips perspective and degradation: the rendered plate on a plain grey surround, with
    the margins of a typical detector box (8% of the width left and right, 25% of the height above
    and below). Clean crops are never used for training.
    """
    rng = np.random.default_rng([seed, index])
    text, country, style = random_plate_text(rng)
    face = _typeface(seed, index, "NL" if country == "NL" else "foreign")
    plate = render_plate(text, rng, style=style, country=country, typeface=face)
    if clean:
        h, w = plate.shape[:2]
        mx, my, grey = round(0.08 * w), round(0.25 * h), int(rng.integers(40, 200))
        image = cv2.copyMakeBorder(plate, my, my, mx, mx, cv2.BORDER_CONSTANT, value=(grey, grey, grey))
        return Crop(image=image, text=text, country=country)
    _dirt_and_glare(plate, rng)
    _fixtures(plate, rng)
    if rng.random() < SCENE_SHARE:
        return Crop(image=_scene_crop(plate, rng), text=text, country=country)
    return Crop(image=_degrade(_detector_crop(plate, rng), rng), text=text, country=country)


def make_crops(seed: int, start: int, count: int, clean: bool = False, world: bool = False) -> list[Crop]:
    """Crops start .. start+count-1 of the set made with `seed` (`world`: see `make_world_crop`)."""
    if world:
        return [make_world_crop(seed, i) for i in range(start, start + count)]
    return [make_crop(seed, i, clean) for i in range(start, start + count)]


def make_world_crop(seed: int, index: int) -> Crop:
    """A US-style or Brazilian plate (`models.synth.world_plates`: generic artwork, our glyphs) as an OCR
    crop: "foreign text" in other layouts (2:1 and 3.1:1 plates with state names, slogans and bands
    that must not be read), so the OCR does not only know the EU strip."""
    from models.synth.world_plates import random_world_plate

    rng = np.random.default_rng([seed, index, 7])
    text, country, plate = random_world_plate(rng, _typeface(seed, index, "world"))
    _dirt_and_glare(plate, rng)
    _fixtures(plate, rng)
    if rng.random() < SCENE_SHARE:
        return Crop(image=_scene_crop(plate, rng), text=text, country=country)
    return Crop(image=_degrade(_detector_crop(plate, rng), rng), text=text, country=country)
