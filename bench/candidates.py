"""`scanauto bench candidates`: what ranking a read's texts on the OCR's CTC columns costs the edge per read.

Renders held-out street scenes (seed namespace 505, used nowhere else), reads every plate's labelled box through
the edge's nine views with the shipped OCR, then times `edge.candidates.candidates` per read, one thread (numpy
is single-threaded here): from the slots alone, from one frame's columns (a single-frame read, as `scanauto eval`),
and from a track's columns (the edge's tracker keeps its `column_frames` heaviest frames; the same frame's
columns stand in for each, which costs the same). The arms take turns read by read. Prints ms per read
p50/p95 per arm; with --json the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable

import numpy as np
from tqdm import tqdm

from edge.candidates import CandidateSettings, candidates, one_frame
from edge.ocr import OcrResult, PlateReader
from edge.pipeline import PipelineSettings, read_boxes
from edge.tracker import TrackerSettings
from models.evaluate import DEFAULT_OCR, DEFAULT_OCR_CONFIG
from models.synth.scenes import render_scene

SEED_NAMESPACE = 505


def log(msg: str) -> None:
    print(f"[bench candidates] {msg}", file=sys.stderr, flush=True)


def reads(scenes: int) -> tuple[list[OcrResult], str, str]:
    """The fused nine-view readings of every plate of `scenes` held-out scenes (at their labelled boxes)."""
    reader = PlateReader(DEFAULT_OCR, DEFAULT_OCR_CONFIG, threads=1)
    if reader.read([np.zeros((40, 160, 3), np.uint8)])[0].columns is None:
        raise SystemExit(f"{DEFAULT_OCR} has no columns output: run python -m models.ocr.expose {DEFAULT_OCR}")
    margins = PipelineSettings(vehicle_id="bench", camera_id="bench").ocr_margins
    out: list[OcrResult] = []
    for i in tqdm(range(scenes), desc="scenes", file=sys.stderr, mininterval=5):
        scene = render_scene(np.random.default_rng([SEED_NAMESPACE, i]))
        boxes = [(p.x1, p.y1, p.x2, p.y2) for p in scene.plates]
        out += read_boxes(reader, scene.image, boxes, margins)
    return out, reader.alphabet, reader.pad_char


def timed(fn: Callable[[OcrResult], object], read: OcrResult) -> float:
    t0 = time.perf_counter()
    fn(read)
    return (time.perf_counter() - t0) * 1000


def run(args: argparse.Namespace) -> dict[str, object]:
    results, alphabet, pad = reads(args.scenes)
    s = CandidateSettings()
    frames = TrackerSettings().column_frames
    arms: dict[str, Callable[[OcrResult], object]] = {
        "slots": lambda r: candidates(r.probs, alphabet, pad, s),
        "columns_one_frame": lambda r: candidates(r.probs, alphabet, pad, s, one_frame(r.columns)),
        f"columns_{frames}_frames": lambda r: candidates(
            r.probs, alphabet, pad, s, [(1.0 - 0.01 * k, r.columns) for k in range(frames)]
        ),
    }
    ms: dict[str, list[float]] = {a: [] for a in arms}
    for r in tqdm(results, desc="reads", file=sys.stderr, mininterval=5):
        for arm, fn in arms.items():
            ms[arm].append(timed(fn, r))
    out: dict[str, object] = {"reads": len(results), "scenes": args.scenes, "column_frames": frames}
    for arm, values in ms.items():
        out[f"{arm}_ms_p50"] = round(float(np.percentile(values, 50)), 3)
        out[f"{arm}_ms_p95"] = round(float(np.percentile(values, 95)), 3)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="scanauto bench candidates", description=__doc__.splitlines()[0])
    p.add_argument("--scenes", type=int, default=300, help="held-out street scenes to read (about 2 plates each)")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = p.parse_args(argv)
    result = run(args)
    for k, v in result.items():
        log(f"{k}: {v}")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
