"""Detection recall against the plate's width at the detector's input: how large a plate the detector still finds.

A scan car's camera sees plates 60-300 px wide in a 1280x720 frame (37-187 px at the detector's 800-px input),
and the training scenes stay near that range. A close-up photograph, or a car parked right beside a narrow-angle
camera, shows larger plates. For every labelled plate this cuts a 16:9 window around it, sized so that the
letterbox scales the plate to W pixels of the detector's input width, runs the detector on the window and counts
the plate found when a box matches it at IoU >= 0.5. W = 0 is the whole image as it is. A plate whose window
would be wider than its image (it cannot be shown that small by cropping) is left out of that width's count.

    python -m models.detector.zoom --manifest ../shared/data/romanian-dashcam/manifest.csv --split valid --json

Development data only (labelled public sets), like `models.detector.unmatched`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from contract.errors import ConfigError, InputError
from edge.detector import DetectorSettings, PlateDetector, add_large_plate_passes
from models.detector.data import DEFAULT_MODEL
from models.evaluate import iou
from models.manifest import LabelledImage, read_manifest

WIDTHS = (0, 100, 200, 300, 400, 500, 600)
Box = tuple[int, int, int, int]


def zoomed(
    frame: npt.NDArray[np.uint8], box: Box, width: int, input_width: int
) -> tuple[npt.NDArray[np.uint8], Box] | None:
    """A 16:9 window of `frame` around `box` that the letterbox scales so that the plate spans `width` pixels of
    an `input_width`-pixel input, and the box in the window's pixels; None where the window would not fit. The
    input must be no wider than 16:9 (the detector's is 800x480), so that the window's width sets the scale."""
    fh, fw = frame.shape[:2]
    x1, y1, x2, y2 = box
    ww = (x2 - x1) * input_width / width
    wh = ww * 9 / 16
    if ww > fw or wh > fh or wh < 8:
        return None
    ox = int(np.clip((x1 + x2) / 2 - ww / 2, 0, fw - ww))
    oy = int(np.clip((y1 + y2) / 2 - wh / 2, 0, fh - wh))
    window = np.ascontiguousarray(frame[oy : oy + round(wh), ox : ox + round(ww)])
    return window, (x1 - ox, y1 - oy, x2 - ox, y2 - oy)


def recall_by_width(
    detector: PlateDetector, images: Sequence[LabelledImage], widths: Sequence[int] = WIDTHS, progress: bool = True
) -> dict[int, dict[str, float | int]]:
    """Per width: plates counted, found, recall (plates without a box are not counted)."""
    found = dict.fromkeys(widths, 0)
    counted = dict.fromkeys(widths, 0)
    for image in tqdm(images, desc="zoom", unit="img", disable=not progress):
        frame = cv2.imread(str(image.path))
        if frame is None:
            raise InputError(f"cannot read image {image.path}: check the manifest's image column")
        boxes = [p.box for p in image.plates if p.box is not None]
        for width in widths:
            if width == 0:
                dets = detector.detect(frame)
                views = [(b, dets) for b in boxes]
            else:
                views = []
                for b in boxes:
                    cut = zoomed(frame, b, width, detector.input_width)
                    if cut is not None:
                        views.append((cut[1], detector.detect(cut[0])))
            for b, dets in views:
                counted[width] += 1
                found[width] += any(iou((d.x1, d.y1, d.x2, d.y2), b) >= 0.5 for d in dets)
    return {
        w: {"plates": counted[w], "found": found[w], "recall": found[w] / counted[w] if counted[w] else 0.0}
        for w in widths
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.detector.zoom", description=__doc__.split("\n")[0])
    p.add_argument("--manifest", type=Path, required=True, help="a labelled set (../shared/DATA.md format)")
    p.add_argument("--split", help="only the rows of this split (e.g. valid)")
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="the detector ONNX model")
    p.add_argument("--widths", default=",".join(map(str, WIDTHS)), help="plate widths at the input (0: as is)")
    p.add_argument("--threads", type=int, default=2)
    add_large_plate_passes(p)
    p.add_argument("--json", action="store_true", help="the last line printed is one JSON object")
    args = p.parse_args(argv)
    try:
        widths = [int(w) for w in args.widths.split(",")]
    except ValueError:
        raise SystemExit(f"--widths takes whole pixel widths separated by commas, got {args.widths!r}") from None
    if any(w < 0 for w in widths):
        raise SystemExit(f"--widths must be >= 0 (0: the image as it is), got {args.widths!r}")
    try:
        settings = DetectorSettings(large_plate_passes=args.large_plate_passes)
        detector = PlateDetector(args.model, threads=args.threads, settings=settings)
        result = recall_by_width(detector, read_manifest(args.manifest, args.split), widths)
    except (ConfigError, InputError) as e:
        raise SystemExit(str(e)) from None
    for w, r in result.items():
        print(f"plate width {w or 'as is':>5} px: {r['found']}/{r['plates']} found, recall {r['recall']:.3f}")
    if args.json:
        print(
            json.dumps({
                "model": detector.model_version, "input_width": detector.input_width,
                "large_plate_passes": detector.large_plate_passes, "widths": result,
            })
        )  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
