"""Camera effects for synthetic frames: lighting, shadows, blur, sensor noise and JPEG artefacts."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt

BgrImage = npt.NDArray[np.uint8]  # (H, W, 3)


def lighting(img: BgrImage, rng: np.random.Generator, lights: bool = True) -> BgrImage:
    """Random exposure, gamma, colour cast, cast shadows and vignetting (day, dusk or night).

    `lights` draws street lamps and car lights at night; leave it off for a small patch of a frame
    (an OCR crop), where one lamp would cover the whole plate.
    """
    h, w = img.shape[:2]
    night = rng.random() < 0.12
    gain = rng.uniform(0.25, 0.5) if night else rng.uniform(0.6, 1.35)
    gamma = rng.uniform(0.7, 1.4)
    lut = np.clip(((np.arange(256) / 255.0) ** gamma) * 255.0, 0, 255).astype(np.uint8)
    out = cv2.LUT(img, lut).astype(np.float32)
    cast = rng.uniform(0.9, 1.1, 3).astype(np.float32) * gain
    out *= cast
    if rng.random() < 0.4:
        # Shadow of a building or tree: a dark polygon with a soft edge.
        shade = np.zeros((h, w), np.uint8)
        pts = np.column_stack([rng.uniform(-0.2, 1.2, 4) * w, rng.uniform(-0.2, 1.2, 4) * h]).astype(np.int32)
        cv2.fillPoly(shade, [cv2.convexHull(pts)], 255)
        shade = cv2.blur(shade, (31, 31))
        out *= 1.0 - rng.uniform(0.25, 0.55) * (shade.astype(np.float32) / 255.0)[:, :, None]
    if night and lights:
        _lights(out, rng)
    if rng.random() < 0.4:
        ys = np.linspace(-1, 1, h, dtype=np.float32)[:, None]
        xs = np.linspace(-1, 1, w, dtype=np.float32)[None, :]
        out *= (1.0 - rng.uniform(0.1, 0.4) * (xs * xs + ys * ys) / 2)[:, :, None]
    return np.clip(out, 0, 255).astype(np.uint8)


def _lights(out: npt.NDArray[np.float32], rng: np.random.Generator) -> None:
    """Street lamps, headlights and tail lights at night: bright blobs with a soft glow (in place)."""
    h, w = out.shape[:2]
    glow = np.zeros((h // 4, w // 4, 3), np.float32)
    for _ in range(int(rng.integers(2, 12))):
        centre = (int(rng.uniform(0, w / 4)), int(rng.uniform(0, h / 4 * 0.8)))
        colour = ((60, 140, 255), (40, 40, 255), (230, 230, 255), (120, 200, 255))[int(rng.integers(4))]
        cv2.circle(glow, centre, int(rng.uniform(1, 6)), tuple(float(c) for c in colour), -1)
    glow = cv2.GaussianBlur(glow, (0, 0), float(rng.uniform(2, 6))) * np.float32(rng.uniform(2, 5))
    out += cv2.resize(glow, (w, h), interpolation=cv2.INTER_LINEAR)


MOTION_PX = (1.0, 9.0)
"""The range of the frame-pixel motion smear `draw_blur` draws from."""


def draw_blur(rng: np.random.Generator) -> tuple[float, float]:
    """The frame's blur: (defocus sigma, 0) or (0, motion smear in `MOTION_PX`), half the frames each."""
    if rng.random() < 0.5:
        return float(rng.uniform(0.0, 1.6)), 0.0
    return 0.0, float(rng.uniform(*MOTION_PX))


def blur(img: BgrImage, rng: np.random.Generator, strength: float = 1.0) -> BgrImage:
    """Gaussian defocus or horizontal motion blur; `strength` scales the kernel (0 = none)."""
    if strength <= 0:
        return img
    sigma, smear = draw_blur(rng)
    if sigma > 0:
        sigma *= strength
        return cv2.GaussianBlur(img, (0, 0), sigma) if sigma > 0.3 else img
    length = round(smear * strength)
    if length < 2:
        return img
    kernel = np.zeros((1, length), np.float32)
    kernel[0, :] = 1.0 / length
    return cv2.filter2D(img, -1, kernel)


def noise(img: BgrImage, rng: np.random.Generator, sigma: float) -> BgrImage:
    """Additive Gaussian sensor noise with standard deviation `sigma` (grey levels)."""
    if sigma <= 0:
        return img
    n = rng.standard_normal(img.shape, dtype=np.float32)
    n *= sigma
    n += img
    return np.clip(n, 0, 255, out=n).astype(np.uint8)


def jpeg(img: BgrImage, quality: int) -> BgrImage:
    """Round-trip through JPEG at `quality` to add block artefacts."""
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def camera(img: BgrImage, rng: np.random.Generator, lights: bool = True, defocus: float | None = None) -> BgrImage:
    """The full random camera chain used for training scenes (`lights`: see `lighting`).

    With `defocus` None the chain draws its own blur (`blur`: defocus or motion, in frame pixels); given a
    sigma, it applies that defocus only (0: none), for scenes whose motion blur was drawn per car. Its
    random draws are the same either way, so both kinds of scene share their light, noise and JPEG.
    """
    img = lighting(img, rng, lights)
    if defocus is None:
        img = blur(img, rng)
    else:
        draw_blur(rng)
        if defocus > 0.3:
            img = cv2.GaussianBlur(img, (0, 0), defocus)
    img = noise(img, rng, rng.uniform(0, 9))
    if rng.random() < 0.8:
        img = jpeg(img, int(rng.integers(30, 96)))
    return img
