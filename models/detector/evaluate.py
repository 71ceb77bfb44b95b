"""Measure the plate detector: recall/precision at IoU 0.5 on held-out scenes, drive-bys and manifests."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from contract.errors import ConfigError, InputError
from edge.detector import Detection, DetectorSettings, PlateDetector, add_large_plate_passes
from models.detector.data import DEFAULT_MODEL, EVAL_DRIVEBY_SEEDS, EVAL_SCENES
from models.evaluate import matched_boxes
from models.manifest import read_manifest
from models.synth.scenes import render_scene
from models.synth.video import DriveBySpec, build_driveby

Box = tuple[float, float, float, float]


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


def eval_scenes(dets: Sequence[PlateDetector], count: int, threshold: float) -> list[tuple[Tally, list[float]]]:
    """Held-out synthetic scenes (seed namespace EVAL_SCENES) for each detector, and every detect() call timed.

    With several detectors they take turns on every scene, the first one first on even scenes and last on odd ones:
    this machine's speed moves more from one minute to the next than a model change does, so speeds are compared
    within one run, frame by frame (models/README.md, "The machine changed"). Taking turns in one process, each
    detector's onnxruntime threads spin on after its call while the other one runs: the figures hold for two
    single-session detectors, but overstate one with more sessions (the passes for large plates: 14.0-16.3 ms
    here against 10.4-13.2 ms alone; detector card, "Version 8.4"); time such settings in one process each."""
    out: list[tuple[Tally, list[float]]] = [(Tally(), []) for _ in dets]
    for i in tqdm(range(count), desc="scenes", unit="img"):
        scene = render_scene(np.random.default_rng([EVAL_SCENES, i]))
        truth = [(p.x1, p.y1, p.x2, p.y2) for p in scene.plates]
        turns = list(enumerate(dets)) if i % 2 == 0 else list(enumerate(dets))[::-1]
        for k, det in turns:
            t0 = time.perf_counter()
            found = det.detect(scene.image)
            out[k][1].append((time.perf_counter() - t0) * 1000)
            _add(out[k][0], truth, found, threshold)
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
        help="another detector timed and scored on the same scenes, taking turns frame by frame (in one process: "
        "fair for single-session detectors; with --large-plate-passes above 0 time each arm in its own run)",
    )
    add_large_plate_passes(
        p, "; the --against model runs as many when it can (exports before version 8.4 have a fixed input size)"
    )
    args = p.parse_args(argv)
    settings = DetectorSettings(args.score_threshold, large_plate_passes=args.large_plate_passes)
    try:
        det = PlateDetector(args.model, threads=args.threads, settings=settings)
        if args.against:
            against = replace(
                settings,
                large_plate_passes=settings.large_plate_passes if PlateDetector.takes_any_size(args.against) else 0,
            )
        dets = [det] + ([PlateDetector(args.against, threads=args.threads, settings=against)] if args.against else [])
    except ConfigError as e:
        raise SystemExit(str(e)) from None
    result: dict[str, object] = {
        "model": det.model_version, "iou": args.iou, "score_threshold": args.score_threshold,
        "large_plate_passes": det.large_plate_passes,
    }  # fmt: skip
    for k, (scenes, ms) in enumerate(eval_scenes(dets, args.scenes, args.iou)):
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
