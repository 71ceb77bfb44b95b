"""Detector training data: synthetic scenes, drive-by frames and (optionally) labelled manifests."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from edge.detector import letterbox
from models.shared import SHARED
from models.synth.scenes import render_scene
from models.synth.video import DriveBySpec, build_driveby

DEFAULT_MODEL = Path(__file__).resolve().parent / "plate_detector.onnx"
TRAIN_W, TRAIN_H = 640, 384
"""Letterbox of the training images: a 1280x720 frame is halved to 640x360 and padded to 640x384. Training crops
are zoomed 0.55-1.6x on top of it, so the network (fully convolutional) sees plates at many scales."""
DEPLOY_W, DEPLOY_H = 800, 480
"""Input of the exported model: a 1280x720 frame is scaled to 800x450 and padded to 800x480, so a plate is 1.25x
as many pixels wide as in the training letterbox. The small far plates are the ones the detector misses (model
card); int8 quantization pays for the larger input."""

# Seed namespaces (first element of the seed sequence) keep training, evaluation and tests disjoint.
TRAIN_SCENES, EVAL_SCENES, TEST_SCENES = 101, 202, 303
TRAIN_DRIVEBY_SEEDS = (11_001, 11_002, 11_003, 11_004, 11_005, 11_006)
EVAL_DRIVEBY_SEEDS = (22_001, 22_002, 22_003)
EVAL_ONLY_SETS = ("openalpr",)  # AGPL evaluation data: never train on it
ROMANIAN = SHARED / "data" / "romanian-dashcam" / "manifest.csv"
"""Real dashcam frames (MIT, RobertLucian/license-plate-dataset): its train split is trained on by default."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One letterboxed image and its plate boxes (N, 4) x1, y1, x2, y2 in its pixels."""

    image: npt.NDArray[np.uint8]
    boxes: npt.NDArray[np.float32]


def _to_sample(
    frame: npt.NDArray[np.uint8],
    boxes: Iterable[tuple[float, float, float, float]],
    size: tuple[int, int] = (TRAIN_W, TRAIN_H),
) -> Sample:
    image, scale = letterbox(frame, *size)
    arr = np.array(list(boxes), np.float32).reshape(-1, 4) * scale
    return Sample(image, arr)


FRAME_SHAPES = ((1280, 960), (1280, 1280), (1024, 640), (960, 720))
"""Other camera shapes (width, height), letterboxed like any frame: every eighth scene uses one."""
WORLD_SHARE = 0.35
"""Share of scene plates that are US-style or Brazilian (generic foreign plates of other shapes)."""
CANDIDATE_CLASSIC_SHARE = 0.1
"""`scanauto train detector --classic-share`: the share of the Dutch scene plates drawn as old blue or black classic
plates (`models.synth.scenes.CLASSIC_STYLES`; about 1 % in the street's own mix, which the shipped detector and the
default train on) that detector candidate 13 trained on (detector card, session 42: it found them, and was not
shipped)."""


def scene_sample(
    namespace: int, index: int, size: tuple[int, int] = (TRAIN_W, TRAIN_H), classic_share: float = 0.0
) -> Sample:
    """Synthetic scene number `index` of seed namespace `namespace`, letterboxed to `size` (width, height).

    Every fourth scene is a close-up or far view: plates 40-520 px wide (up to 40 % of a 1280-px frame)
    and yaw up to 45 degrees, as handheld photos and wide streets show them; another fourth has small plates
    (40-180 px: the 26-48 px of the letterboxed input where most missed US plates were); the others are the
    street camera's 60-300 px. Every eighth scene has another frame shape (4:3, square, 16:10), so the model sees
    the letterbox padding of non-16:9 images. 35 % of the plates are US-style (2:1) or Brazilian
    (3.1:1), and every scene carries hard negatives (lit signs, lamp rows, badges, stickers, reflectors).
    `classic_share`: see `models.synth.scenes.render_scene` (0: the street's mix).
    """
    rng = np.random.default_rng([namespace, index])
    wide, far = index % 4 == 3, index % 4 == 1
    width, height = FRAME_SHAPES[(index // 8) % len(FRAME_SHAPES)] if index % 8 == 5 else (1280, 720)
    plate_width = (40, 520) if wide else (40, 180) if far else (60, 300)
    scene = render_scene(
        rng, width, height, plate_width=plate_width, max_yaw=45.0 if wide else 35.0,
        world_share=WORLD_SHARE, hard_negatives=True, classic_share=classic_share,
    )  # fmt: skip
    return _to_sample(scene.image, [(p.x1, p.y1, p.x2, p.y2) for p in scene.plates], size)


def driveby_samples(seed: int, every: int) -> list[Sample]:
    """Every `every`-th frame of drive-by `seed` (with mild blur/noise on odd seeds), at input size."""
    spec = DriveBySpec(seed=seed, blur=0.8 if seed % 2 else 0.0, noise=4.0 if seed % 2 else 0.0)
    drive = build_driveby(spec)
    out = []
    for i in range(seed % every, len(drive), every):
        boxes = [b for _, b in drive.truth.boxes_at(i)]
        out.append(_to_sample(drive.frame(i), boxes))
    return out


def manifest_samples(
    manifest: Path, split: str | None, size: tuple[int, int] = (TRAIN_W, TRAIN_H), limit: int | None = None
) -> list[Sample]:
    """Images and boxes of a DATA.md manifest (rows of `split` only, if given; the first `limit` images),
    letterboxed to `size`. Refuses evaluation-only sets."""
    if any(name in str(manifest).lower() for name in EVAL_ONLY_SETS):
        raise ValueError(f"{manifest} is an evaluation-only set; it must never be used for training")
    rows: dict[str, list[tuple[float, float, float, float]]] = {}
    with manifest.open(newline="") as fh:
        for row in csv.DictReader(fh):
            if split is not None and row.get("split") != split:
                continue
            boxes = rows.setdefault(row["image"], [])
            if row["x1"]:
                boxes.append((float(row["x1"]), float(row["y1"]), float(row["x2"]), float(row["y2"])))
    out = []
    for rel, boxes in list(rows.items())[:limit]:
        frame = cv2.imread(str(manifest.parent / rel), cv2.IMREAD_COLOR)
        if frame is None:
            raise FileNotFoundError(f"cannot read image {manifest.parent / rel} listed in {manifest}")
        out.append(_to_sample(frame, boxes, size))
    return out


def _scene_job(args: tuple[int, int, float]) -> Sample:
    namespace, index, classic_share = args
    return scene_sample(namespace, index, classic_share=classic_share)


def synthetic_samples(
    namespace: int, count: int, workers: int, progress: bool = True, classic_share: float = 0.0
) -> list[Sample]:
    """`count` scenes of `namespace`, rendered in `workers` processes, in index order."""
    jobs = [(namespace, i, classic_share) for i in range(count)]
    bar = tqdm(total=count, desc="scenes", unit="img", disable=not progress)
    out: list[Sample] = []
    if workers <= 1:
        for job in jobs:
            out.append(_scene_job(job))
            bar.update()
    else:
        with ProcessPoolExecutor(workers) as pool:
            for sample in pool.map(_scene_job, jobs, chunksize=16):
                out.append(sample)
                bar.update()
    bar.close()
    return out
