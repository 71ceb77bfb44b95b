"""Measure the plate detector: recall/precision at IoU 0.5 on held-out scenes, drive-bys and manifests."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from contract.errors import InputError
from edge.detector import Detection, DetectorSettings, PlateDetector
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


def eval_scenes(det: PlateDetector, count: int, threshold: float) -> tuple[Tally, list[float]]:
    """Held-out synthetic scenes (seed namespace EVAL_SCENES); also times every detect() call."""
    tally, ms = Tally(), []
    for i in tqdm(range(count), desc="scenes", unit="img"):
        scene = render_scene(np.random.default_rng([EVAL_SCENES, i]))
        t0 = time.perf_counter()
        dets = det.detect(scene.image)
        ms.append((time.perf_counter() - t0) * 1000)
        _add(tally, [(p.x1, p.y1, p.x2, p.y2) for p in scene.plates], dets, threshold)
    return tally, ms


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
    args = p.parse_args(argv)
    det = PlateDetector(args.model, threads=args.threads, settings=DetectorSettings(args.score_threshold))
    result: dict[str, object] = {"model": det.model_version, "iou": args.iou, "score_threshold": args.score_threshold}
    scenes, ms = eval_scenes(det, args.scenes, args.iou)
    result["synthetic"] = scenes.summary()
    result["ms_per_frame_1280x720"] = {
        "p50": round(float(np.percentile(ms, 50)), 2),
        "p95": round(float(np.percentile(ms, 95)), 2),
        "threads": args.threads,
    }
    print(f"synthetic: {scenes.summary()}  ms/frame p50 {np.percentile(ms, 50):.1f} p95 {np.percentile(ms, 95):.1f}")
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
