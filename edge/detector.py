"""The detection stage: a small CenterNet-style ONNX model finds plate boxes in a BGR frame.

Model contract (written by models/detector/export.py):
- input ``image``: the frame letterboxed (resized keeping its aspect, padded with black at the right/bottom)
  to the model's H x W: uint8 (1, H, W, 3) BGR pixels (the shipped int8 model, 480 x 800, since version 8.3),
  or float32 (1, 3, H, W) BGR scaled to [0, 1] (float exports, versions to 8.2). H and W are the input's fixed
  dims, or, when they are symbolic (any size divisible by 32; version 8.4 on), the metadata ``input_height`` and
  ``input_width``.
- output ``heatmap``: float32 (1, 1, H/s, W/s), probability that a plate centre lies in the cell.
- output ``regression``: float32 (1, 4, H/s, W/s): centre offset (dx, dy) from the cell's top-left
  corner, in cells, then log(width / s) and log(height / s); s (the stride, 4) is H / heatmap height.
"""

from __future__ import annotations

import argparse
import hashlib
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from contract.errors import ConfigError, InputError

BgrImage = npt.NDArray[np.uint8]  # (H, W, 3)


@dataclass(frozen=True, slots=True)
class Detection:
    """One plate box in frame pixels (x2, y2 exclusive) and the detector's confidence in [0, 1]."""

    x1: int
    y1: int
    x2: int
    y2: int
    score: float


@dataclass(frozen=True, slots=True)
class DetectorSettings:
    """Post-processing thresholds of the plate detector."""

    score_threshold: float = 0.3  # minimum heatmap peak to report a plate
    nms_iou: float = 0.4  # boxes overlapping a better one by more than this are dropped
    max_detections: int = 32  # at most this many boxes per frame, best first
    # Large plates: run the model again on the frame at 1/2 (and with 2, also at 1/4) of the scale, for plates too
    # wide for its receptive field at full scale (detector card, "Version 8.4"); needs a model of any input size
    # (8.4 on). The second pass finds most plates up to 600 px of the 800-px input, for about 1.1 ms more per frame,
    # which took the detector's p50 past the 15 ms target on this machine type in 2 of 3 runs: off by default.
    large_plate_passes: int = 1

    def __post_init__(self) -> None:
        if not 0.0 < self.score_threshold < 1.0 or not 0.0 < self.nms_iou <= 1.0 or self.max_detections < 1:
            raise ConfigError(f"invalid detector settings: {self}")
        if not 0 <= self.large_plate_passes <= MAX_LARGE_PLATE_PASSES:
            raise ConfigError(f"large_plate_passes must be 0-{MAX_LARGE_PLATE_PASSES}, got {self.large_plate_passes}")


MAX_LARGE_PLATE_PASSES = 2
"""Passes at 1/2 and 1/4 of the scale were measured; an eighth (a 64x128 input) was not."""
LARGE_PLATE_MIN_WIDTH = 160
"""Boxes of the pass at 1/2 of the scale count only from this width at the full-scale input (px), those at 1/4 from
twice that, and so on: smaller plates the pass before finds with twice the pixels."""
LARGE_PLATE_CONTAINS = 0.7
"""A box lying this much (of its area) inside a box of a coarser pass is a piece of that large plate (a finer
pass finds parts of plates it cannot see whole) and is dropped, unless it scores higher than the large box times
LARGE_PLATE_PIECE_SCORE (then the two meet in the non-maximum suppression)."""
LARGE_PLATE_PIECE_SCORE = 1.0
"""At 1.0 a well-scored full-scale box of a plate of 100-150 px keeps its place against the looser box the
half-scale pass draws around it (at 0.5, openalpr's plates at 100 px of the input: 194 -> 190 found)."""
STRIDE = 32
"""The network's total downsampling: an input of any size must divide by it."""


def add_large_plate_passes(parser: argparse.ArgumentParser, more_help: str = "") -> None:
    """The `--large-plate-passes N` option of the tools that run the detector (default: the edge's)."""
    parser.add_argument(
        "--large-plate-passes",
        type=int,
        choices=range(MAX_LARGE_PLATE_PASSES + 1),
        default=DetectorSettings().large_plate_passes,
        help="the detector's coarser passes for large plates (1/2, 1/4 of the scale; default: the edge's)" + more_help,
    )


def letterbox(frame: BgrImage, width: int, height: int) -> tuple[BgrImage, float]:
    """Resize `frame` to fit `width` x `height` keeping its aspect, pad right/bottom with black.

    Returns the padded image and the scale (model pixels per frame pixel).
    """
    fh, fw = frame.shape[:2]
    scale = min(width / fw, height / fh)
    rw, rh = max(1, round(fw * scale)), max(1, round(fh * scale))
    out = np.zeros((height, width, 3), np.uint8)
    # Bilinear down to half size: at exactly 0.5 it is the 2x2 mean, i.e. INTER_AREA (the training letterbox of
    # a 1280-px frame), and 1280x720 -> 800x450 costs 0.4 ms instead of INTER_AREA's 3.3-6.8 ms (measured).
    # Shrinking further, bilinear would skip pixels (aliasing): area averaging there.
    interpolation = cv2.INTER_LINEAR if scale >= 0.5 else cv2.INTER_AREA
    out[:rh, :rw] = cv2.resize(frame, (rw, rh), interpolation=interpolation)
    return out, scale


def halved(image: BgrImage, rw: int, rh: int) -> tuple[BgrImage, int, int]:
    """The letterboxed `image` (its picture `rw` x `rh` at the top left) at half the scale, padded to a multiple of
    STRIDE again: each 2x2 block's mean (bilinear at exactly 0.5), cheaper than letterboxing the frame again.
    Returns the image and its picture's width and height."""
    hw, hh = max(1, rw // 2), max(1, rh // 2)
    height = -(-(image.shape[0] // 2) // STRIDE) * STRIDE
    width = -(-(image.shape[1] // 2) // STRIDE) * STRIDE
    out = np.zeros((height, width, 3), np.uint8)
    out[:hh, :hw] = cv2.resize(image[: 2 * hh, : 2 * hw], (hw, hh), interpolation=cv2.INTER_LINEAR)
    return out, hw, hh


def nms(boxes: npt.NDArray[np.float32], scores: npt.NDArray[np.float32], iou: float) -> list[int]:
    """Greedy non-maximum suppression; returns the indices kept, best score first."""
    order = np.argsort(-scores)
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        ix1 = np.maximum(boxes[i, 0], boxes[rest, 0])
        iy1 = np.maximum(boxes[i, 1], boxes[rest, 1])
        ix2 = np.minimum(boxes[i, 2], boxes[rest, 2])
        iy2 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.clip(ix2 - ix1, 0, None) * np.clip(iy2 - iy1, 0, None)
        union = areas[i] + areas[rest] - inter
        order = rest[inter <= iou * np.maximum(union, 1e-6)]
    return keep


class PlateDetector:
    """Loads the plate detector ONNX model and finds plates in frames (CPU, onnxruntime)."""

    def __init__(self, model_path: Path, threads: int = 2, settings: DetectorSettings | None = None) -> None:
        model_path = Path(model_path)
        if not model_path.is_file():
            raise ConfigError(
                f"detector model {model_path} not found (run: scanauto train detector, or check --detector-model)"
            )
        self.settings = settings or DetectorSettings()
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        self._session = ort.InferenceSession(str(model_path), opts, providers=["CPUExecutionProvider"])
        inp = self._session.get_inputs()[0]
        self._pixels = inp.type == "tensor(uint8)"  # uint8 (1, H, W, 3); else float (1, 3, H, W)
        hw = inp.shape[1:3] if self._pixels else inp.shape[2:]
        meta = self._session.get_modelmeta().custom_metadata_map
        any_size = self._pixels and len(hw) == 2 and not any(isinstance(d, int) for d in hw)
        if any_size and {"input_height", "input_width"} <= meta.keys():
            hw = [int(meta["input_height"]), int(meta["input_width"])]
        if len(inp.shape) != 4 or not all(isinstance(d, int) for d in hw):
            raise ConfigError(
                f"detector model {model_path} has input {inp.type} {inp.shape}; expected uint8 (1, H, W, 3) "
                "or float (1, 3, H, W), H and W fixed or in its metadata (input_height, input_width)"
            )
        self.input_height, self.input_width = int(hw[0]), int(hw[1])
        self._input_name = inp.name
        self._coarse: ort.InferenceSession | None = None
        if self.settings.large_plate_passes:
            if not any_size:
                raise ConfigError(
                    f"detector model {model_path} has a fixed input size, so it cannot run the passes for large "
                    "plates: rewrite it (`python -m models.detector.requantize --model MODEL --any-size --out "
                    "NEW`) or turn them off (edge setting detector_large_plate_passes: 0)"
                )
            # The coarse passes' own session, which does not spin-wait for work: it runs right after the
            # full-scale one, whose spinning threads would otherwise compete with its own (detector card,
            # "Version 8.4": two spinning sessions cost twice the time per frame).
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
            self._coarse = ort.InferenceSession(str(model_path), opts, providers=["CPUExecutionProvider"])
        digest = hashlib.sha256(model_path.read_bytes()).hexdigest()
        self._version = f"{model_path.stem}-{digest[:8]}"

    @staticmethod
    def takes_any_size(model_path: Path) -> bool:
        """Whether the model at `model_path` takes uint8 pixels of any size, so it can run the passes for large
        plates (version 8.4 on; older exports have a fixed input). False when there is no file (opening it says
        what to do)."""
        if not Path(model_path).is_file():
            return False
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        inp = ort.InferenceSession(str(model_path), opts, providers=["CPUExecutionProvider"]).get_inputs()[0]
        return (
            inp.type == "tensor(uint8)" and len(inp.shape) == 4 and not any(isinstance(d, int) for d in inp.shape[1:3])
        )

    @property
    def large_plate_passes(self) -> int:
        """How many coarser passes (1/2, 1/4 of the scale) `detect` runs for large plates."""
        return self.settings.large_plate_passes if self._coarse is not None else 0

    @property
    def model_version(self) -> str:
        """File stem and the first 8 hex digits of the model's SHA-256, e.g. plate_detector-1a2b3c4d."""
        return self._version

    def detect(self, frame_bgr: BgrImage) -> list[Detection]:
        """Plate boxes in `frame_bgr` (H, W, 3 uint8), best score first."""
        if frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3 or frame_bgr.dtype != np.uint8 or frame_bgr.size == 0:
            raise InputError(f"expected a BGR uint8 frame (H, W, 3), got {frame_bgr.dtype} {frame_bgr.shape}")
        image, scale = letterbox(frame_bgr, self.input_width, self.input_height)
        if self._pixels:
            blob = image[None]
        else:
            blob = np.ascontiguousarray((image.astype(np.float32) * np.float32(1 / 255)).transpose(2, 0, 1)[None])
        fh, fw = frame_bgr.shape[:2]
        heat, reg = self._session.run(None, {self._input_name: blob})
        boxes, scores = self._decode(heat[0, 0], reg[0], self.input_height, scale, fw, fh)
        rw, rh = max(1, round(fw * scale)), max(1, round(fh * scale))
        for k in range(1, self.large_plate_passes + 1):
            image, rw, rh = halved(image, rw, rh)
            boxes, scores = self._with_coarse(image, k, scale / 2**k, fw, fh, boxes, scores)
        out: list[Detection] = []
        for i in nms(boxes, scores, self.settings.nms_iou)[: self.settings.max_detections]:
            x1, y1, x2, y2 = (round(float(v)) for v in boxes[i])
            if x2 > x1 and y2 > y1:
                out.append(Detection(x1, y1, x2, y2, float(scores[i])))
        return out

    def _with_coarse(
        self,
        image: BgrImage,
        k: int,
        scale: float,
        fw: int,
        fh: int,
        boxes: npt.NDArray[np.float32],
        scores: npt.NDArray[np.float32],
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """`boxes` and `scores` with those of the pass on `image`, the letterboxed frame at 1 / 2**k of the full
        scale (`scale`: its pixels per frame pixel), that are at least LARGE_PLATE_MIN_WIDTH * 2**(k-1) wide at
        full scale; boxes that are pieces of such a large plate are dropped."""
        assert self._coarse is not None
        heat, reg = self._coarse.run(None, {self._input_name: image[None]})
        big, big_scores = self._decode(heat[0, 0], reg[0], image.shape[0], scale, fw, fh)
        wide = (big[:, 2] - big[:, 0]) * scale * 2**k >= LARGE_PLATE_MIN_WIDTH * 2 ** (k - 1)
        big, big_scores = big[wide], big_scores[wide]
        if not big.size:
            return boxes, scores
        ix = np.clip(
            np.minimum(boxes[:, None, 2], big[None, :, 2]) - np.maximum(boxes[:, None, 0], big[None, :, 0]), 0, None
        )
        iy = np.clip(
            np.minimum(boxes[:, None, 3], big[None, :, 3]) - np.maximum(boxes[:, None, 1], big[None, :, 1]), 0, None
        )
        area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        piece = (ix * iy >= LARGE_PLATE_CONTAINS * area[:, None]) & (
            big_scores[None, :] >= LARGE_PLATE_PIECE_SCORE * scores[:, None]
        )
        keep = ~piece.any(axis=1)
        return np.concatenate([boxes[keep], big]), np.concatenate([scores[keep], big_scores])

    def _decode(
        self, heat: npt.NDArray[np.float32], reg: npt.NDArray[np.float32], height: int, scale: float, fw: int, fh: int
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """Boxes (n, 4; frame pixels) and scores (n) of the heatmap's peaks; `height` of the input, `scale` model
        pixels per frame pixel."""
        s = self.settings
        stride = height / heat.shape[0]
        # A peak is a cell that is the maximum of its 3x3 neighbourhood and above the threshold.
        peaks = (heat >= cv2.dilate(heat, np.ones((3, 3), np.uint8))) & (heat > s.score_threshold)
        ys, xs = np.nonzero(peaks)
        scores = heat[ys, xs].astype(np.float32)
        cx = (xs + reg[0, ys, xs]) * stride
        cy = (ys + reg[1, ys, xs]) * stride
        w = np.exp(np.clip(reg[2, ys, xs], -4, 6)) * stride
        h = np.exp(np.clip(reg[3, ys, xs], -4, 6)) * stride
        boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1) / scale
        return np.clip(boxes, 0, [fw, fh, fw, fh]).astype(np.float32).reshape(-1, 4), scores
