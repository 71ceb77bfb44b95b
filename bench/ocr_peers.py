"""`scanauto bench ocr-peers`: our OCR side by side with what a user would pick instead, on the same crops.

Readers: the project's OCR (`models/ocr/plate_ocr.onnx`, through the edge's `PlateReader`), fast-plate-ocr's
pretrained global model (read from `../shared/peers/`, never copied into the project; same `PlateReader`
code path, so the same fast-plate-ocr preprocessing) and RapidOCR (PP-OCRv4 recognition on the crop; the
`bench` extra). Crops: the ground-truth boxes of `openalpr-us-br`, of the synthetic Dutch test set and of the
`romanian-dashcam` valid split with the texts read by eye (`models/ocr/review/`; illegible plates left out;
apart, every reviewed plate of either split whose text the OCR never trained on), widened by the edge's crop
margin; the row `scanauto_edge_views` reads each plate as the edge does, at its OCR margins fused
(`edge.pipeline.read_boxes`). Prints exact read rate, character accuracy and plates/s per reader and set; with
--json the last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from contract.errors import ConfigError, InputError
from edge.candidates import candidates, one_frame
from edge.ocr import PlateReader, fuse_views
from edge.pipeline import PipelineSettings, crop_box
from models.evaluate import DEFAULT_OCR, DEFAULT_OCR_CONFIG, edit_distance
from models.manifest import read_manifest, read_texts, with_texts
from models.ocr.pseudo import label
from models.shared import PEER_OCR, SHARED

BgrImage = npt.NDArray[np.uint8]
Views = tuple[BgrImage, ...]  # one plate cut at several margins
ReadFn = Callable[[list[Views]], list[str]]
ROOT = Path(__file__).resolve().parent.parent
PEER = PEER_OCR
OPENALPR = SHARED / "data" / "openalpr-us-br" / "manifest.csv"
SYNTHETIC = ROOT / "var" / "testset" / "manifest.csv"
ROMANIAN = SHARED / "data" / "romanian-dashcam" / "manifest.csv"
ROMANIAN_TEXTS = ROOT / "models" / "ocr" / "review" / "romanian-valid-texts.csv"
ROMANIAN_TRAIN_TEXTS = ROOT / "models" / "ocr" / "review" / "romanian-train-unkept-texts.csv"
_ALNUM = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


def log(msg: str) -> None:
    print(f"[bench ocr-peers] {msg}", file=sys.stderr, flush=True)


def plate_text(raw: str) -> str:
    """A generic OCR's output as plate text: uppercase A-Z0-9 only (dots, dashes, spaces, CJK dropped)."""
    return "".join(ch for ch in unicodedata.normalize("NFKC", raw).upper() if ch in _ALNUM)


def gt_crops(
    manifest: Path, margins: Sequence[float], limit: int | None, split: str | None = None, review: Path | None = None
) -> tuple[list[Views], list[str]]:
    """Every plate with text and box (texts from `review`, if given: `models.manifest.read_texts`), cut by the
    edge's `crop_box` at each of `margins`, and their texts."""
    views: list[Views] = []
    texts: list[str] = []
    images = read_manifest(manifest, split)
    if review is not None:
        images = with_texts(images, manifest, read_texts(review))
    for image in images:
        labelled = [p for p in image.plates if p.text and p.box is not None]
        if not labelled:
            continue
        frame = cv2.imread(str(image.path), cv2.IMREAD_COLOR)
        if frame is None:
            raise InputError(f"cannot read image {image.path}")
        for p in labelled:
            x1, y1, x2, y2 = (round(v) for v in p.box)  # type: ignore[union-attr]
            views.append(tuple(np.ascontiguousarray(crop_box(frame, (x1, y1, x2, y2), m)) for m in margins))
            texts.append(p.text)
        if limit is not None and len(views) >= limit:
            break
    return views[:limit], texts[:limit]


def score(preds: Sequence[str], truths: Sequence[str]) -> dict[str, float | int]:
    """Exact read rate and character accuracy (1 - edit distance / truth length, per plate at most 1)."""
    exact = sum(p == t for p, t in zip(preds, truths, strict=True))
    errors = sum(min(edit_distance(p, t), len(t)) for p, t in zip(preds, truths, strict=True))
    chars = sum(len(t) for t in truths)
    return {
        "crops": len(truths),
        "exact_read_rate": round(exact / max(1, len(truths)), 4),
        "char_accuracy": round(1 - errors / max(1, chars), 4),
    }


def fpo_reader(
    onnx: Path, config: Path, threads: int, batch: int, edge_candidates: bool = False, views: Sequence[int] = (0,)
) -> ReadFn:
    """A fast-plate-ocr compatible model through the edge's PlateReader: each plate's crops number `views`
    (indices into its margins), fused as the edge fuses them when there are several; argmax text, or the
    edge's best candidate (ranked on the OCR's CTC columns when the model gives them, as the edge ranks it)."""
    reader = PlateReader(onnx, config, threads=threads)
    settings = PipelineSettings(vehicle_id="bench", camera_id="bench").candidates
    n = len(views)
    per_call = max(1, batch // n)

    def read(plates: list[Views]) -> list[str]:
        out: list[str] = []
        for i in range(0, len(plates), per_call):
            results = reader.read([v[k] for v in plates[i : i + per_call] for k in views])
            for j in range(0, len(results), n):
                r = fuse_views(results[j : j + n], reader.alphabet, reader.pad_char)
                if edge_candidates:
                    cands = candidates(r.probs, reader.alphabet, reader.pad_char, settings, one_frame(r.columns))
                    out.append(cands[0].text if cands else "")
                else:
                    out.append(reader.decode(r.probs))
        return out

    return read


def rapidocr_reader(threads: int) -> ReadFn:
    """RapidOCR's text recogniser on each crop (a plate crop is one text line: no detection stage)."""
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ModuleNotFoundError:
        raise ConfigError("RapidOCR is missing: pip install -e '.[bench]'") from None
    engine = RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1)

    def read(plates: list[Views]) -> list[str]:
        results, _ = engine.text_rec([v[0] for v in plates])
        return [plate_text(text) for text, _score in results]

    return read


def measure(read: ReadFn, crops: list[Views], truths: list[str]) -> dict[str, float | int]:
    """Score one reader on one set; plates/s over the whole set (preprocessing included), after a warm-up."""
    read(crops[:8])
    t0 = time.perf_counter()
    preds = read(crops)
    seconds = time.perf_counter() - t0
    return {**score(preds, truths), "plates_per_s": round(len(crops) / seconds, 1)}


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="scanauto bench ocr-peers", description=__doc__)
    p.add_argument("--real", type=Path, default=OPENALPR, help="real labelled set (default openalpr-us-br)")
    p.add_argument("--synthetic", type=Path, default=SYNTHETIC, help="synthetic Dutch test set (scanauto testset)")
    p.add_argument("--romanian", type=Path, default=ROMANIAN, help="romanian-dashcam manifest (its valid split)")
    p.add_argument("--romanian-texts", type=Path, default=ROMANIAN_TEXTS, help="the texts of its plates, read by eye")
    p.add_argument(
        "--romanian-train-texts",
        type=Path,
        default=ROMANIAN_TRAIN_TEXTS,
        help="the texts of the train-split plates the OCR's teacher did not keep, read by eye",
    )
    p.add_argument("--ocr-model", type=Path, default=DEFAULT_OCR)
    p.add_argument("--ocr-config", type=Path, default=DEFAULT_OCR_CONFIG)
    p.add_argument("--peer", type=Path, default=PEER, help="folder of fast-plate-ocr's global model")
    p.add_argument("--margin", type=float, default=PipelineSettings("b", "b").crop_margin, help="crop widening")
    p.add_argument("--limit", type=int, default=None, help="at most this many crops per set")
    p.add_argument("--batch", type=int, default=64, help="crops per OCR call (fast-plate-ocr models)")
    p.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads per reader")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if not args.synthetic.is_file():
        raise InputError(f"{args.synthetic} not found: write it first with scanauto testset {args.synthetic.parent}")
    edge = PipelineSettings("bench", "bench")
    # Crop 0 at --margin is what every reader gets; the others are the edge's OCR views.
    margins = (args.margin, *edge.ocr_margins)
    views = tuple(range(1, len(margins)))
    readers: dict[str, ReadFn] = {
        "scanauto": fpo_reader(args.ocr_model, args.ocr_config, args.threads, args.batch),
        "scanauto_edge_candidates": fpo_reader(args.ocr_model, args.ocr_config, args.threads, args.batch, True),
        "scanauto_edge_views": fpo_reader(args.ocr_model, args.ocr_config, args.threads, args.batch, True, views),
        "fast_plate_ocr_global": fpo_reader(
            args.peer / "cct_xs_v1_global.onnx", args.peer / "plate_config.yaml", args.threads, args.batch
        ),
        "rapidocr": rapidocr_reader(args.threads),
    }
    result: dict[str, object] = {
        "margin": args.margin,
        "edge_views_margins": list(edge.ocr_margins),
        "threads": args.threads,
        "batch": args.batch,
    }
    sets = [
        ("openalpr_us_br", *gt_crops(args.real, margins, args.limit)),
        ("synthetic_nl", *gt_crops(args.synthetic, margins, args.limit)),
    ]
    crops, truths = gt_crops(args.romanian, margins, args.limit, "valid", args.romanian_texts)
    sets.append(("romanian_valid_reviewed", crops, truths))
    # The valid frames come from the drives of the train split, whose plates the OCR trained on as fast-plate-ocr
    # read them (models.ocr.pseudo): those texts are not new to our OCR. The plates that are: the valid split's
    # others and the train boxes the teacher did not keep (read by eye too), minus plates it kept in other frames.
    log("romanian: the train split's plates as `scanauto train ocr` pseudo-labels them ...")
    trained = {plate.text for plate in label()[0]}
    more, more_truths = gt_crops(args.romanian, margins, args.limit, "train", args.romanian_train_texts)
    unseen = [(c, t) for c, t in zip([*crops, *more], [*truths, *more_truths], strict=True) if t not in trained]
    sets.append(("romanian_unseen", [c for c, _ in unseen], [t for _, t in unseen]))
    for name, crops, truths in sets:
        if not crops:
            raise InputError(f"{name}: no plate with both text and box")
        per_reader: dict[str, object] = {}
        for reader_name, read in readers.items():
            log(f"{name}: {reader_name} reading {len(crops)} crops ...")
            per_reader[reader_name] = measure(read, crops, truths)
            print(f"{name:15s} {reader_name:26s} {per_reader[reader_name]}", flush=True)
        result[name] = per_reader
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
