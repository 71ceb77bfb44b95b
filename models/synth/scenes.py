"""Synthetic street scenes with parked cars carrying Dutch and foreign plates, and their true boxes."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from contract.normalise import normalise
from models.synth import photometric
from models.synth.cars import BgrImage, Quad, View, motion_kernel, paste, perspective, render_car, warp_points
from models.synth.plates import random_dutch_plate, random_foreign_plate, render_plate
from models.synth.street import STICKER_KINDS, draw_distractor, draw_night_negative, render_street
from models.synth.world_plates import random_world_plate

FOREIGN_SHARE = 0.2
"""Share of plates in a scene that are foreign (BE, DE, FR, PL, RO)."""

CLASSIC_STYLES = ("nl_blue_old", "nl_black_classic")
"""The Dutch plates of cars from before 1978 that are not yellow (`models.synth.plates`); the shipped detector found
0.920 of the black and 0.972 of the blue ones against 1.000 of the yellow ones, 500 development scenes each
(`scanauto testset --dutch-style`; models/README, session 42)."""

Motion = Literal["frame", "plate"]
"""How a scene's motion blur is measured: `frame`, one smear of 1-9 frame pixels for the whole frame
(what every training set and the held-out sets use); `plate`, the camera passing parked cars, where
each car smears by the same share of its plate's width whatever its distance (see `MAX_SMEAR_MM`)."""
PLATE_MM = 520.0
"""Width of a European plate; the unit in which the `plate` motion smear is drawn."""
MAX_SMEAR_MM = 25.0
"""Longest motion smear, on the plate, of a camera set up for plate reading: the LPR guideline of an
exposure no longer than 1 / (11 x km/h) s (Milestone XProtect LPR manual, "Lens and shutter speed")
lets a plate move 1000 / (3.6 x 11) = 25 mm during the exposure at any speed. For a camera moving past
parked cars, a plate at distance d moves f v t / d pixels while it is f W / d wide: the smear's share of
the plate's width, v t / W, does not depend on the distance."""


@dataclass(frozen=True, slots=True)
class ScenePlate:
    """One plate in a scene: normalised text, country and its axis-aligned box in pixels."""

    text: str
    country: str
    x1: int
    y1: int
    x2: int
    y2: int

    @property
    def width(self) -> int:
        return self.x2 - self.x1


@dataclass(frozen=True, slots=True)
class Scene:
    """A rendered frame (BGR uint8) and every plate that is fully visible in it."""

    image: BgrImage
    plates: tuple[ScenePlate, ...]


def random_plate(rng: np.random.Generator, foreign_share: float = FOREIGN_SHARE) -> tuple[str, str]:
    """A random plate text (normalised) and its country: mostly Dutch, sometimes foreign."""
    if rng.random() < foreign_share:
        text, country = random_foreign_plate(rng)
    else:
        text, country = random_dutch_plate(rng), "NL"
    return normalise(text), country


def quad_box(quad: Quad) -> tuple[int, int, int, int]:
    """The integer axis-aligned box around a quad: floor of the minimum, ceil of the maximum."""
    return (
        int(np.floor(quad[:, 0].min())),
        int(np.floor(quad[:, 1].min())),
        int(np.ceil(quad[:, 0].max())),
        int(np.ceil(quad[:, 1].max())),
    )


def _overlaps(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def render_scene(
    rng: np.random.Generator,
    width: int = 1280,
    height: int = 720,
    max_cars: int = 4,
    plate_width: tuple[int, int] = (60, 300),
    camera: bool = True,
    max_yaw: float = 35.0,
    world_share: float = 0.0,
    hard_negatives: bool = False,
    motion: Motion = "frame",
    classic_share: float = 0.0,
    dutch_style: str | None = None,
) -> Scene:
    """Render one street scene with up to `max_cars` cars whose plate boxes are `plate_width` px wide,
    seen at up to `max_yaw` degrees from straight on.

    Cars are drawn far to near (small plates first); a car that would hide an earlier plate, or
    whose plate would not be fully inside the frame, is skipped, so every visible plate is in
    `plates` and every entry is visible. Deterministic for a given generator state.

    Detector training options (off by default, so the held-out sets rendered with the defaults stay as
    they are): `world_share` of the plates are US-style (2:1) or Brazilian (3.1:1) plates, mounted at
    their real share of the car's width; `hard_negatives` adds lit signs, light rows, badges, chrome
    strips, stickers and reflectors that are not plates; `classic_share` of the Dutch plates are drawn as the old
    blue or the black classic plates (`CLASSIC_STYLES`, half each), which the street's own mix makes about 1 %.
    `motion`: see `Motion`; with `plate` the scene is either defocused (as in `frame`) or smeared per car by up to
    `MAX_SMEAR_MM` on its plate. `dutch_style` draws every Dutch plate in that style; a style draws its own colours,
    so the rest of the scene after its first Dutch plate is another draw of the same generator.
    """
    defocus: float | None = None
    smear = 0.0  # share of a plate's width
    if camera and motion == "plate":
        # The camera chain's own blur draw, from a child stream: the scene itself (street, cars, plates, light,
        # noise) is the one the same seed draws with frame-pixel blur, so the two kinds of test set differ
        # only in their blur. A motion draw's place in MOTION_PX becomes the same place in 0-MAX_SMEAR_MM.
        defocus, frame_px = photometric.draw_blur(rng.spawn(1)[0])
        lo, hi = photometric.MOTION_PX
        smear = (frame_px - lo) / (hi - lo) * MAX_SMEAR_MM / PLATE_MM if frame_px else 0.0
    img, layout = render_street(rng, width, height)
    for _ in range(int(rng.integers(0, 7))):
        size = int(rng.uniform(30, 260))
        draw_distractor(img, rng, int(rng.uniform(0, width)), int(rng.uniform(0, height * 0.9)), size)
    if hard_negatives:
        for _ in range(int(rng.integers(0, 4))):
            x, y = int(rng.uniform(0, width)), int(rng.uniform(0, layout.kerb_top))
            draw_night_negative(img, rng, x, y, int(rng.uniform(30, 300)))
    if smear * plate_width[0] >= 1.0:
        # The street behind the parked cars is at least as far as the farthest plate.
        img = cv2.filter2D(img, -1, motion_kernel(smear * plate_width[0]))
    n_cars = int(rng.integers(0, max_cars + 1)) if rng.random() < 0.1 else int(rng.integers(1, max_cars + 1))
    wanted = sorted(rng.uniform(plate_width[0], plate_width[1], n_cars))
    boxes: list[tuple[int, int, int, int]] = []
    plates: list[ScenePlate] = []
    for target_w in wanted:
        frac = (0.26, 0.31)
        if world_share > 0 and rng.random() < world_share:
            text, country, plate_img = random_world_plate(rng)
            frac = (0.15, 0.2) if country == "US" else (0.2, 0.25)
        else:
            text, country = random_plate(rng)
            style = None
            if classic_share > 0 and country == "NL" and rng.random() < classic_share:
                style = CLASSIC_STYLES[int(rng.integers(len(CLASSIC_STYLES)))]
            plate_img = render_plate(text, rng, style=style, country=country, dutch_style=dutch_style)
        view: View = "rear" if rng.random() < 0.6 else "front"
        yaw, pitch, roll = rng.uniform(-max_yaw, max_yaw), rng.uniform(-12, 12), rng.uniform(-4, 4)
        # The sprite's resolution only; the warped plate is scaled to target_w below. Capped for speed.
        car_w = int(min(target_w / (sum(frac) / 2), 1800))
        sprite = render_car(rng, car_w, plate_img, view, plate_frac=frac, extras=hard_negatives)
        base = perspective((sprite.mask.shape[1], sprite.mask.shape[0]), yaw, pitch, roll, rng.uniform(1.5, 4))
        quad0 = _warp(base, sprite.plate_quad)
        scale = target_w / max(1.0, float(quad0[:, 0].max() - quad0[:, 0].min()))
        placed = False
        for _attempt in range(8):
            # Bottom of the car on or below the kerb; plate box fully inside the frame.
            bottom_y = rng.uniform(layout.kerb_top, height + sprite.mask.shape[0] * scale * 0.1)
            cx = rng.uniform(0, width)
            hom = _place(base, sprite.mask.shape, scale, cx, bottom_y)
            quad = _warp(hom, sprite.plate_quad)
            box = quad_box(quad)
            car_box = quad_box(_warp(hom, _corners(sprite.mask.shape)))
            inside = box[0] >= 1 and box[1] >= 1 and box[2] <= width - 1 and box[3] <= height - 1
            if inside and not any(_overlaps(car_box, b) for b in boxes):
                placed = True
                break
        if not placed:
            continue
        quad = paste(img, sprite, hom, motion=plate_smear_px(smear, target_w, yaw))
        box = quad_box(quad)
        room = box[1] - car_box[1]
        if rng.random() < 0.3 and room > 40:
            # A sticker or dealer sign in the rear window: text near, but never on, the plate.
            size = int(min(rng.uniform(0.1, 0.3) * (car_box[2] - car_box[0]), room * 0.6))
            x = int(rng.uniform(car_box[0], max(car_box[0] + 1, car_box[2] - size)))
            draw_distractor(img, rng, x, car_box[1] + int(room * 0.15), size, STICKER_KINDS)
        boxes.append(box)
        plates.append(ScenePlate(text, country, *box))
    if camera:
        img = photometric.camera(img, rng, defocus=defocus)
    return Scene(np.ascontiguousarray(img), tuple(plates))


def plate_smear_px(share: float, box_width: float, yaw_deg: float) -> float:
    """The motion smear in pixels of a car whose plate box is `box_width` px wide at `yaw_deg`, when the
    plate moves `share` of its own width during the exposure (a turned plate's box is narrower than the
    plate, its movement along the street is not)."""
    return share * box_width / math.cos(math.radians(yaw_deg))


def _corners(shape: tuple[int, ...]) -> Quad:
    h, w = shape[:2]
    return np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)


def _warp(hom: np.ndarray, pts: Quad) -> Quad:
    return warp_points(hom, pts)


def _place(base: np.ndarray, shape: tuple[int, ...], scale: float, cx: float, bottom_y: float) -> np.ndarray:
    """Scale the centred homography `base` and move the warped sprite's bottom centre to (cx, bottom_y)."""
    corners = _warp(base, _corners(shape)) * scale
    dx = cx - (corners[:, 0].min() + corners[:, 0].max()) / 2
    dy = bottom_y - corners[:, 1].max()
    move = np.array([[scale, 0, dx], [0, scale, dy], [0, 0, 1]], np.float64)
    return move @ base
