"""`scanauto bench synth-realism`: do our synthetic plates look like real ones to a reader trained on real plates?

fast-plate-ocr's pretrained global model (`../shared/peers/`, trained by its authors on 220k+ real plates of 65+
countries; read from there, never copied) reads clean frontal renders of the generator, per plate style, and the
project's own OCR reads the same images. A real-trained reader that fails on clean synthetic plates is a sign the
generator draws something real plates do not look like (crowded glyphs, wrong proportions): a model trained on
such plates need not transfer to real photographs. The peer's rate here is a realism score for the generator,
not a target for our OCR. The last two rows draw Dutch (yellow, EU band) and foreign plates in the outline
typefaces some OCR training plates use (`models.synth.typefaces`): how both readers do on characters in other
shapes than our stroke font. Prints the exact read rate of both per style; with --json the last line is one
JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from bench.ocr_peers import PEER, fpo_reader, score
from models.evaluate import DEFAULT_OCR, DEFAULT_OCR_CONFIG
from models.synth.plates import DUTCH_STYLES, random_dutch_plate, random_foreign_plate, render_plate
from models.synth.typefaces import random_typeface
from models.synth.world_plates import random_world_plate

STYLES = (*DUTCH_STYLES, "foreign_eu", "us_br", "dutch_outline", "foreign_outline")
SEED = 20261124


def renders(style: str, n: int, seed: int = SEED) -> tuple[list[tuple[np.ndarray]], list[str]]:
    """`n` clean frontal plates of `style` (one of STYLES) and their texts."""
    rng = np.random.default_rng([seed, STYLES.index(style)])
    faces = np.random.default_rng([seed, STYLES.index(style), 11])
    crops: list[tuple[np.ndarray]] = []
    texts: list[str] = []
    for _ in range(n):
        if style in DUTCH_STYLES:
            text = random_dutch_plate(rng)
            img = render_plate(text, rng, style)
        elif style == "dutch_outline":
            text = random_dutch_plate(rng)
            img = render_plate(text, rng, "nl_yellow_eu", typeface=random_typeface(faces))
        elif style in ("foreign_eu", "foreign_outline"):
            text, country = random_foreign_plate(rng)
            face = random_typeface(faces) if style == "foreign_outline" else None
            img = render_plate(text, rng, country=country, typeface=face)
        else:
            text, _country, img = random_world_plate(rng)
        crops.append((img,))
        texts.append(text)
    return crops, texts


def log(msg: str) -> None:
    print(f"[bench synth-realism] {msg}", file=sys.stderr, flush=True)


def exact(preds: list[str], truths: list[str]) -> float:
    """Exact read rate, scored as `bench ocr-peers` scores it."""
    return float(score(preds, truths)["exact_read_rate"])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="scanauto bench synth-realism", description=__doc__)
    p.add_argument("--plates", type=int, default=500, help="renders per style")
    p.add_argument("--peer", type=Path, default=PEER, help="folder of fast-plate-ocr's global model")
    p.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads per reader")
    p.add_argument("--ocr-model", type=Path, default=DEFAULT_OCR, help="our OCR model (ONNX)")
    p.add_argument("--ocr-config", type=Path, default=DEFAULT_OCR_CONFIG, help="its plate_config.yaml")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = p.parse_args(argv)
    peer = fpo_reader(args.peer / "cct_xs_v1_global.onnx", args.peer / "plate_config.yaml", args.threads, 64)
    ours = fpo_reader(args.ocr_model, args.ocr_config, args.threads, 64)
    result: dict[str, object] = {"plates_per_style": args.plates, "seed": SEED}
    t0 = time.perf_counter()
    for k, style in enumerate(STYLES):
        crops, texts = renders(style, args.plates)
        row = {"peer_exact": exact(peer(crops), texts), "scanauto_exact": exact(ours(crops), texts)}
        result[style] = row
        print(f"{style:18s} {row}", flush=True)
        log(f"{k + 1}/{len(STYLES)} styles, {time.perf_counter() - t0:.0f} s")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
