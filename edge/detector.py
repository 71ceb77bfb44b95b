"""The detection stage: a small CenterNet-style ONNX model finds plate boxes in a BGR frame.

Model contract (written by models/detector/export.py):
- input ``image``: the frame letterboxed (resized keeping its aspect, padded with black at the right/bottom)
  to the model's fixed H x W, read from the model: uint8 (1, H, W, 3) BGR pixels (the shipped int8 model,
  480 x 800, since version 8.3), or float32 (1, 3, H, W) BGR scaled to [0, 1] (float exports, versions to 8.2).
- output ``heatmap``: float32 (1, 1, H/s, W/s), probability that a plate centre lies in the cell.
- output ``regression``: float32 (1, 4, H/s, W/s): centre offset (dx, dy) from the cell's top-left
  corner, in cells, then log(width / s) and log(height / s); s (the stride, 4) is H / heatmap height.
"""

from __future__ import annotations

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

    def __post_init__(self) -> None:
        if not 0.0 < self.score_threshold < 1.0 or not 0.0 < self.nms_iou <= 1.0 or self.max_detections < 1:
            raise ConfigError(f"invalid detector settings: {self}")


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
        if len(inp.shape) != 4 or not all(isinstance(d, int) for d in hw):
            raise ConfigError(
                f"detector model {model_path} has input {inp.type} {inp.shape}; expected uint8 (1, H, W, 3) "
                "or float (1, 3, H, W)"
            )
        self.input_height, self.input_width = int(hw[0]), int(hw[1])
        self._input_name = inp.name
        digest = hashlib.sha256(model_path.read_bytes()).hexdigest()
        self._version = f"{model_path.stem}-{digest[:8]}"

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
        heat, reg = self._session.run(None, {self._input_name: blob})
        return self._decode(heat[0, 0], reg[0], scale, frame_bgr.shape[1], frame_bgr.shape[0])

    def _decode(
        self, heat: npt.NDArray[np.float32], reg: npt.NDArray[np.float32], scale: float, fw: int, fh: int
    ) -> list[Detection]:
        s = self.settings
        stride = self.input_height / heat.shape[0]
        # A peak is a cell that is the maximum of its 3x3 neighbourhood and above the threshold.
        peaks = (heat >= cv2.dilate(heat, np.ones((3, 3), np.uint8))) & (heat > s.score_threshold)
        ys, xs = np.nonzero(peaks)
        if ys.size == 0:
            return []
        scores = heat[ys, xs]
        cx = (xs + reg[0, ys, xs]) * stride
        cy = (ys + reg[1, ys, xs]) * stride
        w = np.exp(np.clip(reg[2, ys, xs], -4, 6)) * stride
        h = np.exp(np.clip(reg[3, ys, xs], -4, 6)) * stride
        boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1) / scale
        boxes = np.clip(boxes, 0, [fw, fh, fw, fh]).astype(np.float32)
        out: list[Detection] = []
        for i in nms(boxes, scores.astype(np.float32), s.nms_iou)[: s.max_detections]:
            x1, y1, x2, y2 = (round(float(v)) for v in boxes[i])
            if x2 > x1 and y2 > y1:
                out.append(Detection(x1, y1, x2, y2, float(scores[i])))
        return out
