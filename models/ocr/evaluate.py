"""Measure an OCR model through fast-plate-ocr: held-out synthetic crops (or a labelled manifest), speed."""

from __future__ import annotations

import argparse
import csv
import json
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import onnxruntime as ort
from fast_plate_ocr import LicensePlateRecognizer

from models.apart import Apart, turns
from models.evaluate import edit_distance
from models.ocr.dataset import TEST_SEED, generate_crops
from models.synth.crops import make_crops
from models.synth.plates import render_plate

HERE = Path(__file__).resolve().parent
RgbImage = npt.NDArray[np.uint8]  # (H, W, 3)
TURN_BATCHES = 8  # batches a model reads in a row before the other one's turn (--against)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m models.ocr.evaluate", description=__doc__)
    p.add_argument("--onnx", type=Path, default=HERE / "plate_ocr.onnx")
    p.add_argument("--config", type=Path, default=HERE / "plate_config.yaml")
    p.add_argument("--size", type=int, default=2000, help="held-out synthetic crops")
    p.add_argument("--seed", type=int, default=TEST_SEED, help="crop set seed (training uses 1 and 2)")
    p.add_argument("--manifest", type=Path, help="a labelled CSV (DATA.md format) instead of synthetic crops")
    p.add_argument("--batch", type=int, default=128, help="batch size for the batched speed figure")
    p.add_argument("--single", type=int, default=300, help="crops timed one at a time")
    p.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads")
    p.add_argument(
        "--against",
        type=Path,
        help="another OCR model read and timed on the same crops; each model runs in a process of its own and they "
        f"take turns every {TURN_BATCHES} batches",
    )
    return p.parse_args(argv)


def score(preds: Sequence[str], truths: Sequence[str]) -> dict[str, float]:
    """Exact read rate, and character accuracy = 1 - (edit distance / characters in the truth)."""
    if not truths:
        return {"n": 0, "exact": 0.0, "char_accuracy": 0.0}
    exact = sum(p == t for p, t in zip(preds, truths, strict=True)) / len(truths)
    errors = sum(edit_distance(p, t) for p, t in zip(preds, truths, strict=True))
    chars = sum(len(t) for t in truths)
    return {"n": len(truths), "exact": round(exact, 4), "char_accuracy": round(1 - errors / chars, 4)}


def _manifest_crops(path: Path) -> tuple[list[RgbImage], list[str], list[str]]:
    """Ground-truth box crops (RGB) with their plate text and country from a DATA.md manifest."""
    images, texts, countries = [], [], []
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if not row.get("plate_text") or not row.get("x1"):
                continue
            img = cv2.imread(str(path.parent / row["image"]), cv2.IMREAD_COLOR)
            if img is None:
                raise FileNotFoundError(f"cannot read image {row['image']!r} listed in {path}")
            x1, y1, x2, y2 = (round(float(row[k])) for k in ("x1", "y1", "x2", "y2"))
            images.append(cv2.cvtColor(img[max(0, y1) : y2, max(0, x1) : x2], cv2.COLOR_BGR2RGB))
            texts.append(row["plate_text"])
            countries.append(row.get("country", ""))
    return images, texts, countries


def _recognizer(model: Path, config: Path, threads: int) -> LicensePlateRecognizer:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    return LicensePlateRecognizer(onnx_model_path=model, plate_config_path=config, device="cpu", sess_options=opts)


def _run(rec: LicensePlateRecognizer, images: Sequence[RgbImage]) -> list[str]:
    return [p.plate for p in rec.run(list(images))]


def _read(rec: LicensePlateRecognizer, images: Sequence[RgbImage], batch: int) -> tuple[list[str], float]:
    """Plates read in batches, and plates per second including fast-plate-ocr's preprocessing."""
    preds: list[str] = []
    t0 = time.perf_counter()
    for i in range(0, len(images), batch):
        preds.extend(_run(rec, images[i : i + batch]))
    seconds = time.perf_counter() - t0
    return preds, len(images) / seconds if seconds else 0.0


def read_apart(
    models: Sequence[Path], config: Path, threads: int, images: Sequence[RgbImage], batch: int, turn: int = TURN_BATCHES
) -> list[tuple[list[str], float]]:
    """Each model's plates and plates per second, each model in a process of its own (`models.apart`), taking turns
    every `turn` batches, who goes first alternating, so that a change of this machine's speed hits them alike
    (models/README.md, "The machine changed") and no idle session's spinning threads slow the one being timed."""
    batches = [list(images[i : i + batch]) for i in range(0, len(images), batch)]
    preds: list[list[str]] = [[] for _ in models]
    seconds = [0.0 for _ in models]
    builds = [partial(_recognizer, model, config, threads) for model in models]
    with Apart(builds, _run, [str(model) for model in models]) as readers:
        for k in range(len(models)):
            readers.run(k, batches[:1])  # warm up
        for b, first in enumerate(range(0, len(batches), turn)):
            for k in turns(len(models), b):
                for ms, read in readers.run(k, batches[first : first + turn]):
                    preds[k].extend(read)
                    seconds[k] += ms / 1000
    return [(p, len(images) / s if s else 0.0) for p, s in zip(preds, seconds, strict=True)]


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    rec = _recognizer(args.onnx, args.config, args.threads)
    if args.manifest:
        images, texts, countries = _manifest_crops(args.manifest)
        source = str(args.manifest)
    else:
        crops = generate_crops(args.seed, args.size)
        images = [cv2.cvtColor(c.image, cv2.COLOR_BGR2RGB) for c in crops]
        texts, countries = [c.text for c in crops], [c.country for c in crops]
        source = f"synthetic seed {args.seed}"
    if args.against:
        try:
            (preds, batched_rate), *others = read_apart(
                [args.onnx, args.against], args.config, args.threads, images, args.batch
            )
        except RuntimeError as e:
            raise SystemExit(str(e)) from None
    else:
        rec.run(images[: min(len(images), args.batch)])  # warm up
        (preds, batched_rate), others = _read(rec, images, args.batch), []
    _, single_rate = _read(rec, images[: args.single], 1)
    result: dict[str, object] = {
        "model": args.onnx.name,
        "source": source,
        **score(preds, texts),
        "plates_per_s_batched": round(batched_rate, 1),
        "plates_per_s_single": round(single_rate, 1),
        "batch": args.batch,
        "threads": args.threads,
    }
    by_country: dict[str, dict[str, float]] = {}
    for country in sorted(set(countries)):
        idx = [i for i, c in enumerate(countries) if c == country]
        by_country[country or "?"] = score([preds[i] for i in idx], [texts[i] for i in idx])
    result["by_country"] = by_country
    for other_preds, other_rate in others:
        result["timing"] = f"one process per model, taking turns every {TURN_BATCHES} batches"
        result["against"] = {
            "model": str(args.against),
            **score(other_preds, texts),
            "plates_per_s_batched": round(other_rate, 1),
        }
    if not args.manifest:  # the same plates rendered cleanly, with and without detector margins
        clean = make_crops(args.seed, 0, min(500, args.size), clean=True)
        clean_preds, _ = _read(rec, [cv2.cvtColor(c.image, cv2.COLOR_BGR2RGB) for c in clean], args.batch)
        result["clean"] = score(clean_preds, [c.text for c in clean])
        tight = [render_plate(c.text, np.random.default_rng(i), country=c.country) for i, c in enumerate(clean)]
        tight_preds, _ = _read(rec, [cv2.cvtColor(t, cv2.COLOR_BGR2RGB) for t in tight], args.batch)
        result["clean_tight"] = score(tight_preds, [c.text for c in clean])
    errors = [f"{t}->{p}" for p, t in zip(preds, texts, strict=True) if p != t]
    print("sample errors (truth->read):", " ".join(errors[:25]))
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
