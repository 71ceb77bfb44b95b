"""Measure the plate detector: recall/precision at IoU 0.5 on held-out scenes, drive-bys and manifests."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from contract.errors import ConfigError, InputError
from edge.detector import Detection, DetectorSettings, PlateDetector, add_large_plate_passes
from models.apart import Apart, turns
from models.detector.data import DEFAULT_MODEL, EVAL_DRIVEBY_SEEDS, EVAL_SCENES
from models.evaluate import matched_boxes
from models.manifest import read_manifest
from models.synth.scenes import render_scene
from models.synth.video import DriveBySpec, build_driveby

Box = tuple[float, float, float, float]
TURN_SCENES = 20  # scenes a detector runs in a row before the other one's turn (--against)


@dataclass(slots=True)
class Tally:
    """Counts of one evaluation set: true plates, detections, and matches at the IoU threshold."""

    images: int = 0
    plates: int = 0
    detections: int = 0
    matched: int = 0

    @property
    def recall(self) -> float:
        return self.matched / self.plates if self.plates else 0.0

    @property
    def precision(self) -> float:
        return self.matched / self.detections if self.detections else 0.0

    def summary(self) -> dict[str, float | int]:
        return {**asdict(self), "recall": round(self.recall, 4), "precision": round(self.precision, 4)}


def match(truth: Sequence[Box], dets: Sequence[Detection], threshold: float = 0.5) -> int:
    """Greedy one-to-one matching, best score first (as `scanauto eval`); returns how many true boxes were found."""
    return len(matched_boxes(truth, dets, threshold))


def _add(tally: Tally, truth: Sequence[Box], dets: Sequence[Detection], threshold: float) -> None:
    tally.images += 1
    tally.plates += len(truth)
    tally.detections += len(dets)
    tally.matched += match(truth, dets, threshold)


def eval_scenes(det: PlateDetector, count: int, threshold: float) -> tuple[Tally, list[float]]:
    """Held-out synthetic scenes (seed namespace EVAL_SCENES) for one detector, every detect() call timed."""
    tally, ms = Tally(), []
    for i in tqdm(range(count), desc="scenes", unit="img"):
        scene = render_scene(np.random.default_rng([EVAL_SCENES, i]))
        t0 = time.perf_counter()
        found = det.detect(scene.image)
        ms.append((time.perf_counter() - t0) * 1000)
        _add(tally, [(p.x1, p.y1, p.x2, p.y2) for p in scene.plates], found, threshold)
    return tally, ms


@dataclass(frozen=True, slots=True)
class Arm:
    """One detector of a comparison: its file, onnxruntime threads and post-processing."""

    model: Path
    threads: int
    settings: DetectorSettings


def _detect(det: PlateDetector, frame: np.ndarray) -> list[Detection]:
    return det.detect(frame)


def eval_scenes_apart(arms: Sequence[Arm], count: int, threshold: float, turn: int = TURN_SCENES) -> list[
    tuple[Tally, list[float]]
]:  # fmt: skip
    """The held-out scenes for several detectors, each in a process of its own (`models.apart`), taking turns every
    `turn` scenes, who goes first alternating. The scenes are rendered here, once, and sent to every arm."""
    out: list[tuple[Tally, list[float]]] = [(Tally(), []) for _ in arms]
    builds = [partial(PlateDetector, arm.model, threads=arm.threads, settings=arm.settings) for arm in arms]
    with (
        Apart(builds, _detect, [str(arm.model) for arm in arms]) as models,
        tqdm(total=count, desc="scenes", unit="img") as bar,
    ):
        for b, first in enumerate(range(0, count, turn)):
            scenes = [
                render_scene(np.random.default_rng([EVAL_SCENES, i])) for i in range(first, min(count, first + turn))
            ]
            for k in turns(len(arms), b):
                for scene, (ms, found) in zip(scenes, models.run(k, [s.image for s in scenes]), strict=True):
                    out[k][1].append(ms)
                    _add(out[k][0], [(p.x1, p.y1, p.x2, p.y2) for p in scene.plates], found, threshold)
            bar.update(len(scenes))
    return out


def _ms(ms: list[float], threads: int) -> dict[str, float | int]:
    return {"p50": round(float(np.percentile(ms, 50)), 2), "p95": round(float(np.percentile(ms, 95)), 2),
            "threads": threads}  # fmt: skip


def eval_driveby(det: PlateDetector, seed: int, every: int, threshold: float) -> Tally:
    """Frames of one drive-by clip (every `every`-th frame); only fully visible plates count as truth."""
    drive = build_driveby(DriveBySpec(seed=seed))
    tally = Tally()
    for i in tqdm(range(0, len(drive), every), desc=f"drive-by {seed}", unit="frame"):
        truth = [tuple(map(float, b)) for _, b in drive.truth.boxes_at(i)]
        dets = det.detect(drive.frame(i))
        # Plates entering or leaving the frame are not in the truth; do not count them as false.
        edge = [d for d in dets if d.x1 <= 2 or d.x2 >= drive.truth.width - 2]
        _add(tally, truth, [d for d in dets if d not in edge], threshold)
    return tally


def eval_manifest(det: PlateDetector, manifest: Path, split: str | None, threshold: float) -> Tally:
    """A DATA.md manifest (real photographs), rows of `split` only if given."""
    tally = Tally()
    for image in tqdm(read_manifest(manifest, split), desc=manifest.parent.name, unit="img"):
        frame = cv2.imread(str(image.path), cv2.IMREAD_COLOR)
        if frame is None:
            raise InputError(f"cannot read image {image.path} (listed in {manifest})")
        _add(tally, [p.box for p in image.plates if p.box is not None], det.detect(frame), threshold)
    return tally


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.detector.evaluate", description=__doc__)
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    p.add_argument("--scenes", type=int, default=500, help="held-out synthetic scenes (namespace 202)")
    p.add_argument("--driveby-every", type=int, default=2, help="every n-th frame of the 3 evaluation clips")
    p.add_argument("--manifest", action="append", default=[], help="PATH[:SPLIT] of a labelled real set")
    p.add_argument("--iou", type=float, default=0.5)
    p.add_argument("--score-threshold", type=float, default=DetectorSettings().score_threshold)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--against",
        type=Path,
        help="another detector timed and scored on the same scenes; each runs in a process of its own and they take "
        "turns every --turn-scenes scenes",
    )
    p.add_argument(
        "--turn-scenes", type=int, default=TURN_SCENES, help="scenes a detector runs before the other's turn"
    )
    add_large_plate_passes(
        p, "; the --against model runs as many when it can (exports before version 8.4 have a fixed input size)"
    )
    args = p.parse_args(argv)
    if args.turn_scenes < 1:
        p.error(f"--turn-scenes must be at least 1, got {args.turn_scenes}")
    settings = DetectorSettings(args.score_threshold, large_plate_passes=args.large_plate_passes)
    try:
        det = PlateDetector(args.model, threads=args.threads, settings=settings)
        arms = [Arm(args.model, args.threads, settings)]
        if args.against:
            passes = settings.large_plate_passes if PlateDetector.takes_any_size(args.against) else 0
            against = PlateDetector(
                args.against, threads=args.threads, settings=replace(settings, large_plate_passes=passes)
            )
            arms.append(Arm(args.against, args.threads, against.settings))
            dets = [det, against]
    except ConfigError as e:
        raise SystemExit(str(e)) from None
    result: dict[str, object] = {
        "model": det.model_version, "iou": args.iou, "score_threshold": args.score_threshold,
        "large_plate_passes": det.large_plate_passes,
    }  # fmt: skip
    if args.against:
        try:
            runs = eval_scenes_apart(arms, args.scenes, args.iou, args.turn_scenes)
        except RuntimeError as e:
            raise SystemExit(str(e)) from None
        result["timing"] = f"one process per detector, taking turns every {args.turn_scenes} scenes"
    else:
        runs, dets = [eval_scenes(det, args.scenes, args.iou)], [det]
    for k, (scenes, ms) in enumerate(runs):
        figures = {"synthetic": scenes.summary(), "ms_per_frame_1280x720": _ms(ms, args.threads)}
        if k == 0:
            result.update(figures)
        else:
            result["against"] = {
                "model": dets[k].model_version,
                "large_plate_passes": dets[k].large_plate_passes,
                **figures,
            }
        print(
            f"{dets[k].model_version} synthetic: {scenes.summary()}  "
            f"ms/frame p50 {np.percentile(ms, 50):.1f} p95 {np.percentile(ms, 95):.1f}"
        )
    total = Tally()
    for seed in EVAL_DRIVEBY_SEEDS:
        t = eval_driveby(det, seed, args.driveby_every, args.iou)
        result[f"driveby_{seed}"] = t.summary()
        print(f"drive-by {seed}: {t.summary()}")
        for field in ("images", "plates", "detections", "matched"):
            setattr(total, field, getattr(total, field) + getattr(t, field))
    result["driveby"] = total.summary()
    for spec in args.manifest:
        path, _, split = spec.partition(":")
        t = eval_manifest(det, Path(path), split or None, args.iou)
        result[f"manifest:{Path(path).parent.name}:{split or 'all'}"] = t.summary()
        print(f"{spec}: {t.summary()}")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
