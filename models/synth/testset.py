"""The synthetic held-out test set: street scenes from a seed namespace no training uses, as a manifest."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from contract.errors import ConfigError
from models.manifest import LabelledPlate, write_manifest
from models.synth.plates import DUTCH_STYLES
from models.synth.scenes import Motion, ScenePlate, render_scene

TESTSET_NAMESPACE = 404
"""Seed namespace of the test set. Detector training uses 101, its evaluation 202, unit tests 303,
OCR validation 606."""
DEV_NAMESPACE = 707
"""The development set: the same scenes from another namespace, for choosing edge settings (OCR margins,
thresholds) without looking at the test set."""
JPEG_QUALITY = 95


def _render(args: tuple[Path, int, int, Motion, str | None]) -> tuple[str, tuple[ScenePlate, ...]]:
    out, index, namespace, motion, dutch_style = args
    scene = render_scene(np.random.default_rng([namespace, index]), motion=motion, dutch_style=dutch_style)
    rel = f"images/{index:06d}.jpg"
    if not cv2.imwrite(str(out / rel), scene.image, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY]):
        raise OSError(f"cannot write {out / rel}")
    return rel, scene.plates


def write_testset(
    out: Path,
    images: int,
    workers: int = 2,
    progress: bool = True,
    namespace: int = TESTSET_NAMESPACE,
    motion: Motion = "frame",
    first: int = 0,
    dutch_style: str | None = None,
) -> Path:
    """Render scenes first .. first+images-1 of `namespace` (the test set's unless told) into `out`, their motion
    blur measured as `motion` says (`models.synth.scenes.Motion`); returns the manifest. A set that starts where
    another ends (`first`) shares no scene with it: a second development set for a confirmatory look.
    `dutch_style`: every Dutch plate in that style (`models.synth.plates.DUTCH_STYLES`; the scenes are other draws
    of the same generator), so that the plate styles the street has few of can be measured on their own."""
    if first < 0 or images < 1:
        raise ConfigError(f"a test set needs --first >= 0 and --images >= 1 (got --first {first}, --images {images})")
    (out / "images").mkdir(parents=True, exist_ok=True)
    if dutch_style is not None and dutch_style not in DUTCH_STYLES:
        raise ConfigError(f"unknown Dutch plate style {dutch_style!r}; expected one of {', '.join(DUTCH_STYLES)}")
    jobs = [(out, i, namespace, motion, dutch_style) for i in range(first, first + images)]
    bar = tqdm(total=images, desc="test set", unit="img", disable=not progress)
    rows: list[tuple[str, LabelledPlate | None]] = []

    def collect(rel: str, plates: tuple[ScenePlate, ...]) -> None:
        rows.extend((rel, LabelledPlate(p.text, (p.x1, p.y1, p.x2, p.y2), p.country)) for p in plates)
        if not plates:
            rows.append((rel, None))
        bar.update()

    if workers <= 1:
        for job in jobs:
            collect(*_render(job))
    else:
        with ProcessPoolExecutor(workers) as pool:
            for rel, plates in pool.map(_render, jobs, chunksize=8):
                collect(rel, plates)
    bar.close()
    manifest = out / "manifest.csv"
    write_manifest(manifest, rows)
    return manifest
