"""The detector's boxes that match no labelled plate, for a person to judge.

A real set whose labels box only some plates of a frame (romanian-dashcam) counts every other plate the
detector finds as a false positive. This lists those boxes (`unmatched.csv`) and draws them as numbered
tiles with their surroundings (`sheet_K.png`: red the detection, green the labelled plates), so that a
person can write in the csv's `judged` column what each one is. With `--judged` it checks a judged csv
against the current detector's boxes and prints the precision the labels would give if they boxed every
plate judged `plate`.

    python -m models.detector.unmatched --manifest M [--split valid] --out DIR
    python -m models.detector.unmatched --manifest M [--split valid] --judged FILE

Development data only (labelled public sets): the tiles show real plates in plaintext, so this never runs on
a scan car's frames.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from contract.errors import InputError
from edge.detector import Detection, PlateDetector
from models.detector.data import DEFAULT_MODEL
from models.evaluate import matched_boxes
from models.manifest import LabelledImage, read_manifest

CSV_COLUMNS = ("n", "image", "x1", "y1", "x2", "y2", "score", "judged")
JUDGEMENTS = ("plate", "sign", "badge", "light", "misplaced", "other", "unclear")
TILE_W, TILE_H, COLS, PER_SHEET = 240, 160, 6, 48


@dataclass(frozen=True, slots=True)
class Unmatched:
    n: int  # 1-based, the tile's number
    image: str  # path relative to the manifest
    det: Detection


@dataclass(frozen=True, slots=True)
class Census:
    images: int
    detections: int
    unmatched: list[Unmatched]


def find_unmatched(
    det: PlateDetector, manifest: Path, images: Sequence[LabelledImage], iou: float = 0.5, tiles: bool = True
) -> tuple[Census, dict[int, np.ndarray]]:
    """Every detection that `scanauto eval` counts as a false positive (the same one-to-one matching),
    and (unless `tiles` is off) a tile of each, keyed by its number."""
    found: list[Unmatched] = []
    drawn: dict[int, np.ndarray] = {}
    detections = 0
    for image in tqdm(images, desc=manifest.parent.name, unit="img"):
        frame = cv2.imread(str(image.path), cv2.IMREAD_COLOR)
        if frame is None:
            raise InputError(f"cannot read image {image.path} (listed in {manifest})")
        dets = det.detect(frame)
        detections += len(dets)
        truth = [p.box for p in image.plates]
        matched = set(matched_boxes(truth, dets, iou).values())
        for j, d in enumerate(dets):
            if j in matched:
                continue
            item = Unmatched(len(found) + 1, str(image.path.relative_to(manifest.parent)), d)
            found.append(item)
            if tiles:
                drawn[item.n] = _tile(frame, item, [b for b in truth if b is not None])
    return Census(len(images), detections, found), drawn


def _tile(frame: np.ndarray, item: Unmatched, truth: list[tuple[float, float, float, float]]) -> np.ndarray:
    d = item.det
    w, h = d.x2 - d.x1, d.y2 - d.y1
    x1, y1 = max(0, d.x1 - w), max(0, d.y1 - 2 * h)
    x2, y2 = min(frame.shape[1], d.x2 + w), min(frame.shape[0], d.y2 + 2 * h)
    crop = frame[y1:y2, x1:x2].copy()
    for box in truth:
        bx = [round(v) for v in box]
        cv2.rectangle(crop, (bx[0] - x1, bx[1] - y1), (bx[2] - x1, bx[3] - y1), (0, 200, 0), 1)
    cv2.rectangle(crop, (d.x1 - x1, d.y1 - y1), (d.x2 - x1, d.y2 - y1), (0, 0, 255), 1)
    tile = cv2.resize(crop, (TILE_W, TILE_H), interpolation=cv2.INTER_AREA)
    label = f"#{item.n} {d.score:.2f} {w}x{h}"
    cv2.putText(tile, label, (3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (0, 0, 0), 3)
    cv2.putText(tile, label, (3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 0), 1)
    return tile


def write_review(census: Census, tiles: dict[int, np.ndarray], out: Path) -> list[Path]:
    """`unmatched.csv` (judged left empty) and the contact sheets; returns the sheets' paths."""
    out.mkdir(parents=True, exist_ok=True)
    with (out / "unmatched.csv").open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        for u in census.unmatched:
            d = u.det
            writer.writerow([u.n, u.image, d.x1, d.y1, d.x2, d.y2, f"{d.score:.3f}", ""])
    sheets: list[Path] = []
    numbers = sorted(tiles)
    for start in range(0, len(numbers), PER_SHEET):
        chunk = [tiles[n] for n in numbers[start : start + PER_SHEET]]
        chunk += [np.zeros((TILE_H, TILE_W, 3), np.uint8)] * (-len(chunk) % COLS)
        rows = [np.hstack(chunk[i : i + COLS]) for i in range(0, len(chunk), COLS)]
        path = out / f"sheet_{start // PER_SHEET}.png"
        cv2.imwrite(str(path), np.vstack(rows))
        sheets.append(path)
    return sheets


def judged_summary(census: Census, judged: Path) -> dict[str, object]:
    """Check `judged` against this detector's unmatched boxes and count its judgements."""
    with judged.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    want = [(u.image, u.det.x1, u.det.y1, u.det.x2, u.det.y2) for u in census.unmatched]
    have = [(r["image"], int(r["x1"]), int(r["y1"]), int(r["x2"]), int(r["y2"])) for r in rows]
    if have != want:
        raise InputError(
            f"{judged} lists {len(have)} boxes, the detector now leaves {len(want)} unmatched and they differ: "
            "it was judged for another detector or manifest; write a new review with --out and judge it again"
        )
    bad = sorted({r["judged"] for r in rows} - set(JUDGEMENTS))
    if bad:
        raise InputError(f"{judged}: judgements {bad} are not among {', '.join(JUDGEMENTS)}")
    counts = Counter(r["judged"] for r in rows)
    matched = census.detections - len(census.unmatched)

    def precision(extra: int) -> float | None:
        return round((matched + extra) / census.detections, 4) if census.detections else None

    return {
        "images": census.images,
        "detections": census.detections,
        "unmatched": len(census.unmatched),
        "judged": {k: counts.get(k, 0) for k in JUDGEMENTS},
        "precision_labelled": precision(0),
        "precision_with_judged_plates": precision(counts["plate"]),
        "precision_with_judged_and_unclear_plates": precision(counts["plate"] + counts["unclear"]),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--manifest", type=Path, required=True)
    ap.add_argument("--split", default=None)
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    ap.add_argument("--iou", type=float, default=0.5)
    ap.add_argument("--threads", type=int, default=2)
    what = ap.add_mutually_exclusive_group(required=True)
    what.add_argument("--out", type=Path, help="write unmatched.csv and the contact sheets here")
    what.add_argument("--judged", type=Path, help="a judged unmatched.csv: print the precision it implies")
    args = ap.parse_args(argv)
    det = PlateDetector(args.model, threads=args.threads)
    images = read_manifest(args.manifest, args.split)
    census, drawn = find_unmatched(det, args.manifest, images, args.iou, tiles=args.out is not None)
    if args.out is not None:
        sheets = write_review(census, drawn, args.out)
        summary: dict[str, object] = {
            "images": census.images,
            "detections": census.detections,
            "unmatched": len(census.unmatched),
            "csv": str(args.out / "unmatched.csv"),
            "sheets": [str(s) for s in sheets],
        }
    else:
        summary = judged_summary(census, args.judged)
    summary["detector"] = det.model_version
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
