"""Real plate crops for OCR training: the romanian-dashcam TRAIN split, pseudo-labelled by a pretrained reader.

`romanian-dashcam` (MIT) has plate boxes but no plate text. fast-plate-ocr's pretrained global model
(`../shared/peers/fast-plate-ocr-cct-xs-v1-global/`, MIT; its README allows it as a teacher that
pseudo-labels real unlabelled crops; it is never copied into the project) reads each box of the train
split; a read is kept only where the teacher is sure of every character slot (`--min-prob`), the text
is a Romanian plate format, and, when RapidOCR is installed (the `bench` extra), RapidOCR reads the same
text. The valid split is never read here (it stays a clean detector test), nor is `openalpr-us-br`
(AGPL, evaluation only).

Each kept plate becomes `variants` training crops: the box jittered like a detector's, cut with the
edge's margin from the full frame, optionally mirrored in brightness/contrast, blurred, downscaled
(far plates) and JPEG-compressed, so the few hundred real plates are not memorised pixel for pixel.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from models.manifest import read_manifest
from models.ocr.dataset import encode, to_model_input
from models.shared import PEER_OCR, SHARED
from models.synth import photometric

ROMANIAN = SHARED / "data" / "romanian-dashcam" / "manifest.csv"
TEACHER = PEER_OCR
EDGE_MARGIN = 0.08
# Romanian car plates: B + 2-3 digits + 3 letters (Bucharest), county code + 2 digits + 3 letters,
# and temporary/red plates (county code + up to 6 digits).
RO_PLATE = re.compile(r"^(B\d{2,3}[A-Z]{3}|[A-Z]{2}\d{2}[A-Z]{3}|[A-Z]{1,2}\d{3,6})$")

BgrImage = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class RealPlate:
    image: Path
    box: tuple[int, int, int, int]
    text: str
    min_prob: float
    rapid: str | None


def _crop(frame: BgrImage, box: tuple[float, float, float, float], margin: float = EDGE_MARGIN) -> BgrImage:
    h, w = frame.shape[:2]
    x1, y1, x2, y2 = (round(v) for v in box)
    mx, my = int((x2 - x1) * margin), int((y2 - y1) * margin)
    return frame[max(0, y1 - my) : min(h, y2 + my), max(0, x1 - mx) : min(w, x2 + mx)]


def label(manifest: Path = ROMANIAN, min_prob: float = 0.9, use_rapid: bool = True) -> tuple[list[RealPlate], int]:
    """Teacher reads of every train-split box; returns the kept plates and how many boxes were read."""
    from edge.ocr import PlateReader  # the edge's fast-plate-ocr code path, loading the teacher model

    teacher = PlateReader(TEACHER / "cct_xs_v1_global.onnx", TEACHER / "plate_config.yaml", threads=1)
    rapid = None
    if use_rapid:
        try:
            from rapidocr_onnxruntime import RapidOCR

            rapid = RapidOCR(intra_op_num_threads=1, inter_op_num_threads=1)
        except ModuleNotFoundError:
            print("RapidOCR not installed: teacher confidence and format only", file=sys.stderr)
    kept: list[RealPlate] = []
    seen = 0
    images = [im for im in read_manifest(manifest, "train")]
    for im in tqdm(images, desc="pseudo-label", unit="img", file=sys.stderr):
        frame = cv2.imread(str(im.path), cv2.IMREAD_COLOR)
        if frame is None:
            continue
        for plate in im.plates:
            if plate.box is None:
                continue
            seen += 1
            crop = _crop(frame, plate.box)
            (res,) = teacher.read([crop])
            text = teacher.decode(res.probs)
            p = float(res.probs.max(axis=1).min())
            if p < min_prob or not RO_PLATE.match(text):
                continue
            other = None
            if rapid is not None:
                out, _ = rapid.text_rec([crop])
                other = "".join(ch for ch in str(out[0][0]).upper() if ch.isalnum() and ch.isascii())
                if other != text:
                    continue
            box = tuple(round(v) for v in plate.box)
            kept.append(RealPlate(im.path, box, text, p, other))  # type: ignore[arg-type]
    return kept, seen


def _augment(frame: BgrImage, box: tuple[int, int, int, int], rng: np.random.Generator) -> BgrImage:
    """One detector-like, camera-degraded crop of a real plate."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    sx, sy = (0.03, 0.08) if rng.random() < 0.85 else (0.07, 0.16)
    ex1, ex2 = rng.normal(0, sx * w, 2)
    ey1, ey2 = rng.normal(0, sy * h, 2)
    jit = (x1 + ex1, y1 + ey1, x2 + ex2, y2 + ey2)
    crop = _crop(frame, jit)
    if crop.shape[0] < 4 or crop.shape[1] < 8:
        crop = _crop(frame, box)
    img = crop.astype(np.float32)
    if rng.random() < 0.4:  # a farther car: fewer pixels
        f = rng.uniform(0.35, 0.9)
        small = cv2.resize(crop, (max(8, round(crop.shape[1] * f)), max(4, round(crop.shape[0] * f))), cv2.INTER_AREA)
        img = small.astype(np.float32)
    if rng.random() < 0.25:
        img = cv2.GaussianBlur(img, (0, 0), float(rng.uniform(0.3, 1.2)))
    img = (img - 128) * rng.uniform(0.6, 1.3) + 128 + rng.uniform(-50, 40)
    img *= rng.uniform(0.85, 1.15, 3)[None, None, :].astype(np.float32)
    img += rng.normal(0, rng.uniform(0, 8), img.shape).astype(np.float32)
    out = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        out = photometric.jpeg(out, int(rng.integers(25, 96)))
    return out


def real_arrays(
    plates: list[RealPlate], variants: int, seed: int = 7
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """`variants` augmented crops of every kept plate as model-ready arrays (grey 48x160, slot labels)."""
    xs, ys = [], []
    for i, plate in enumerate(plates):
        frame = cv2.imread(str(plate.image), cv2.IMREAD_COLOR)
        rng = np.random.default_rng([seed, i])
        label_ = encode(plate.text)
        for _ in range(variants):
            xs.append(to_model_input(_augment(frame, plate.box, rng)))
            ys.append(label_)
    if not xs:
        return np.zeros((0, 48, 160), np.uint8), np.zeros((0, 10), np.int64)
    return np.stack(xs), np.stack(ys)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.ocr.pseudo", description=__doc__)
    p.add_argument("--min-prob", type=float, default=0.9)
    p.add_argument("--no-rapid", action="store_true")
    args = p.parse_args(argv)
    kept, seen = label(min_prob=args.min_prob, use_rapid=not args.no_rapid)
    print(f"kept {len(kept)} of {seen} train-split plates")
    for k in kept[:20]:
        print(k.image.name, k.text, round(k.min_prob, 3), k.rapid)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
