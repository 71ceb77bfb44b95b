"""Deterministic drive-by videos: a scan car passes a row of parked cars; with per-car plate truth."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from contract.normalise import normalise
from contract.sidecodes import is_valid_dutch
from models.synth.cars import BgrImage, paste, perspective, render_car, warp_points
from models.synth.plates import render_plate
from models.synth.scenes import quad_box, random_plate
from models.synth.street import STICKER_KINDS, draw_distractor, render_street

FOURCC = "mp4v"
"""MPEG-4 Part 2: the only encoder opencv-python-headless has here (no H.264)."""

_PLATE_W = (100.0, 190.0)  # plate widths on the panorama; the perspective turns them into ~85-235 px
_KEYSTONE = 0.08  # how much taller the left frame edge is than the right (fraction of the height)


@dataclass(frozen=True, slots=True)
class DriveBySpec:
    """What to render. `plates` forces texts (or (text, country) pairs) onto randomly chosen cars."""

    seed: int
    n_cars: int = 45
    fps: int = 30
    width: int = 1280
    height: int = 720
    duration_s: float | None = None  # None: as long as the cars need at `speed_px` per frame
    speed_px: float = 36.0  # scroll speed in panorama pixels per frame (ignored if duration_s is set)
    plates: tuple[str | tuple[str, str], ...] = ()
    blur: float = 0.0  # Gaussian blur sigma applied to every frame (0 = sharp)
    noise: float = 0.0  # sensor noise standard deviation in grey levels (0 = none)

    def __post_init__(self) -> None:
        if self.n_cars < 1 or len(self.plates) > self.n_cars:
            raise ValueError(f"n_cars must be >= 1 and >= len(plates), got {self.n_cars} and {len(self.plates)}")
        if self.width < 320 or self.height < 240:
            raise ValueError(f"frame size {self.width}x{self.height} too small (min 320x240)")
        if self.fps < 1 or self.speed_px <= 0 or self.blur < 0 or self.noise < 0:
            raise ValueError("fps, speed_px must be positive; blur, noise must be >= 0")


@dataclass(frozen=True, slots=True)
class DriveByCar:
    """One parked car: its plate (normalised), country, and the frames where the plate is fully visible."""

    text: str
    country: str
    first_frame: int
    last_frame: int  # inclusive
    boxes: tuple[tuple[int, int, int, int], ...]  # x1, y1, x2, y2 for first_frame..last_frame

    def box_at(self, frame: int) -> tuple[int, int, int, int] | None:
        """The plate's box in `frame`, or None when it is not fully visible there."""
        if self.first_frame <= frame <= self.last_frame:
            return self.boxes[frame - self.first_frame]
        return None


@dataclass(frozen=True, slots=True)
class DriveByTruth:
    """Ground truth of a drive-by video: frame count and size, and every car in passing order."""

    n_frames: int
    fps: int
    width: int
    height: int
    cars: tuple[DriveByCar, ...]

    def boxes_at(self, frame: int) -> list[tuple[DriveByCar, tuple[int, int, int, int]]]:
        """Every car whose plate is fully visible in `frame`, with its box."""
        return [(c, b) for c in self.cars if (b := c.box_at(frame)) is not None]


@dataclass(frozen=True, slots=True)
class _Parked:
    text: str
    country: str
    quad: npt.NDArray[np.float32]  # plate corners on the panorama


@dataclass(slots=True)
class DriveBy:
    """A prepared drive-by: the pre-rendered street panorama, the camera warp and the truth."""

    spec: DriveBySpec
    panorama: BgrImage
    truth: DriveByTruth
    _offsets: npt.NDArray[np.float64]
    _map_x: npt.NDArray[np.float32] = field(repr=False)
    _map_y: npt.NDArray[np.float32] = field(repr=False)
    _noise: list[npt.NDArray[np.int16]] = field(repr=False)

    def __len__(self) -> int:
        return self.truth.n_frames

    def frame(self, index: int) -> BgrImage:
        """Render frame `index` (0-based) from the panorama."""
        if not 0 <= index < self.truth.n_frames:
            raise IndexError(f"frame {index} outside 0..{self.truth.n_frames - 1}")
        x0 = float(self._offsets[index])
        ix = math.floor(x0)
        crop = self.panorama[:, ix : ix + self.spec.width + 2]
        map_x = self._map_x + np.float32(x0 - ix)
        out = cv2.remap(crop, map_x, self._map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        if self.spec.blur > 0:
            out = cv2.GaussianBlur(out, (0, 0), self.spec.blur)
        if self._noise:
            noisy = out.astype(np.int16)
            noisy += self._noise[index % len(self._noise)]
            out = np.clip(noisy, 0, 255).astype(np.uint8)
        return out

    def __iter__(self) -> Iterator[BgrImage]:
        for i in range(self.truth.n_frames):
            yield self.frame(i)


def _camera_homography(width: int, height: int) -> npt.NDArray[np.float64]:
    """Panorama crop -> frame: the left edge is nearer (taller) than the right, as from an oblique camera."""
    k = _KEYSTONE * height
    src = np.array([[0, 0], [width, 0], [width, height], [0, height]], np.float32)
    dst = np.array([[0, -k], [width, 0.75 * k], [width, height - 0.75 * k], [0, height + k]], np.float32)
    return cv2.getPerspectiveTransform(src, dst)


def _forced(entry: str | tuple[str, str]) -> tuple[str, str]:
    text, country = (entry, "") if isinstance(entry, str) else entry
    text = normalise(text)
    return text, country or ("NL" if is_valid_dutch(text) else "DE")


def _build_panorama(spec: DriveBySpec, rng: np.random.Generator) -> tuple[BgrImage, list[_Parked]]:
    w, h = spec.width, spec.height
    plate_ws = rng.uniform(*_PLATE_W, spec.n_cars)
    gaps = rng.uniform(60, 260, spec.n_cars)
    car_ws = plate_ws / 0.285
    forced = dict(zip(rng.permutation(spec.n_cars)[: len(spec.plates)].tolist(), spec.plates, strict=True))
    pano_w = int(2 * w + (car_ws + gaps).sum()) + 4
    pano, layout = render_street(rng, pano_w, h)
    for _ in range(pano_w // 400):
        size = int(rng.uniform(40, 220))
        draw_distractor(pano, rng, int(rng.uniform(0, pano_w)), int(rng.uniform(0, layout.kerb_top)), size)
    parked: list[_Parked] = []
    x = float(w)
    seen: set[str] = {_forced(p)[0] for p in spec.plates}
    for i in range(spec.n_cars):
        if i in forced:
            text, country = _forced(forced[i])
        else:
            text, country = random_plate(rng)
            while text in seen:
                text, country = random_plate(rng)
        seen.add(text)
        sprite = render_car(rng, int(car_ws[i]), render_plate(text, rng, country=country), "rear")
        sh, sw = sprite.mask.shape
        yaw, pitch, roll = rng.uniform(-15, 15), rng.uniform(-6, 6), rng.uniform(-2, 2)
        hom = perspective((sw, sh), yaw, pitch, roll, 3.0)
        corners = warp_points(hom, np.array([[0, 0], [sw, 0], [sw, sh], [0, sh]], np.float32))
        left, right = corners[:, 0].min(), corners[:, 0].max()
        bottom = h * rng.uniform(0.9, 1.0)
        move = np.array([[1, 0, x - left], [0, 1, bottom - corners[:, 1].max()], [0, 0, 1]], np.float64)
        hom = move @ hom
        quad = paste(pano, sprite, hom)
        top = int(warp_points(hom, np.array([[sw / 2, 0]], np.float32))[0, 1])
        plate_top = int(quad[:, 1].min())
        if rng.random() < 0.3 and plate_top - top > 40:
            size = int(min(0.2 * car_ws[i], (plate_top - top) * 0.5))
            draw_distractor(pano, rng, int(x + 0.3 * car_ws[i]), max(0, top + 10), size, STICKER_KINDS)
        parked.append(_Parked(text, country, quad))
        x += (right - left) + gaps[i]
    # One exposure for the whole drive (a video does not flicker between frames).
    gain, gamma = rng.uniform(0.75, 1.15), rng.uniform(0.8, 1.25)
    lut = np.clip(((np.arange(256) / 255.0) ** gamma) * 255.0 * gain, 0, 255).astype(np.uint8)
    return cv2.LUT(pano, lut), parked


def _truth(
    spec: DriveBySpec, parked: Sequence[_Parked], offsets: np.ndarray, hom: np.ndarray
) -> tuple[DriveByCar, ...]:
    cars: list[DriveByCar] = []
    for p in parked:
        # Plate corners in every frame at once: shift by the scroll offset, then apply the camera warp.
        pts = np.repeat(p.quad[None], len(offsets), axis=0).astype(np.float64)
        pts[:, :, 0] -= offsets[:, None]
        flat = cv2.perspectiveTransform(pts.reshape(-1, 1, 2), hom).reshape(len(offsets), 4, 2)
        inside = (
            (flat[:, :, 0] >= 1).all(1)
            & (flat[:, :, 0] <= spec.width - 1).all(1)
            & (flat[:, :, 1] >= 1).all(1)
            & (flat[:, :, 1] <= spec.height - 1).all(1)
        )
        frames = np.flatnonzero(inside)
        if len(frames) == 0:
            raise RuntimeError(f"plate {p.text} is never fully visible; check the spec")
        first, last = int(frames[0]), int(frames[-1])
        boxes = tuple(quad_box(flat[i].astype(np.float32)) for i in range(first, last + 1))
        cars.append(DriveByCar(p.text, p.country, first, last, boxes))
    return tuple(cars)


def build_driveby(spec: DriveBySpec) -> DriveBy:
    """Pre-render the street panorama and compute the truth; frames are then cheap crops and warps."""
    rng = np.random.default_rng(spec.seed)
    pano, parked = _build_panorama(spec, rng)
    travel = pano.shape[1] - spec.width - 3
    if spec.duration_s is None:
        n_frames = int(travel // spec.speed_px) + 1
        speed = spec.speed_px
    else:
        n_frames = max(2, round(spec.duration_s * spec.fps))
        speed = travel / (n_frames - 1)
    offsets = np.arange(n_frames, dtype=np.float64) * speed
    hom = _camera_homography(spec.width, spec.height)
    inv = np.linalg.inv(hom)
    ys, xs = np.mgrid[0 : spec.height, 0 : spec.width].astype(np.float32)
    src = cv2.perspectiveTransform(np.dstack([xs, ys]).reshape(-1, 1, 2), inv).reshape(spec.height, spec.width, 2)
    map_x, map_y = np.ascontiguousarray(src[:, :, 0]), np.ascontiguousarray(src[:, :, 1])
    noise_bank: list[npt.NDArray[np.int16]] = []
    if spec.noise > 0:
        nrng = np.random.default_rng([spec.seed, 2])
        shape = (spec.height, spec.width, 3)
        noise_bank = [np.round(nrng.standard_normal(shape) * spec.noise).astype(np.int16) for _ in range(7)]
    truth = DriveByTruth(n_frames, spec.fps, spec.width, spec.height, _truth(spec, parked, offsets, hom))
    return DriveBy(spec, pano, truth, offsets, map_x, map_y, noise_bank)


def iter_driveby_frames(spec: DriveBySpec) -> Iterator[BgrImage]:
    """Yield the frames of the drive-by without writing a file."""
    yield from build_driveby(spec)


def render_driveby(spec: DriveBySpec, path: Path, progress: bool = True) -> DriveByTruth:
    """Write the drive-by as an MPEG-4 Part 2 (`mp4v`) .mp4 at `path` and return its truth."""
    drive = build_driveby(spec)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*FOURCC), spec.fps, (spec.width, spec.height))
    if not writer.isOpened():
        raise RuntimeError(f"cannot open a {FOURCC} video writer for {path}")
    try:
        frames = tqdm(drive, total=len(drive), desc="drive-by", unit="frame", disable=not progress)
        for frame in frames:
            writer.write(frame)
    finally:
        writer.release()
    return drive.truth
