"""Static int8 of an exported OCR model (onnxruntime, QDQ): what the quantization-aware export deploys.

The network's convolutions, pools, ReLUs and residual additions are quantized, except the first convolution
(1 input channel: int8 costs more there than it saves, OCR card "Two int8 candidates") and the last (the
classifier). The slot decoding after the softmax stays float: quantizing its addition, as those two candidates
did, rounds the output probabilities to steps of 1/255 (ties for the best character, and the edge's candidates
are built from those probabilities). Activation ranges: minima and maxima on calibration crops (MinMax), the
ranges `models.ocr.qat` trains with. Needs no torch.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt

from models.quantize import quantize_qdq

QUANTIZED_OPS = ("Conv", "MaxPool", "Relu", "Add")
CALIBRATION_BATCH = 128


def rgb(crops: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """Grey training crops (N, H, W) as the RGB batch (N, H, W, 3) the exported model takes."""
    return np.ascontiguousarray(np.repeat(crops[..., None], 3, axis=-1))


def quantized_nodes(model_path: Path) -> list[str]:
    """Names of the nodes to quantize (module docstring): the network's (`/net/`) but its outer convolutions."""
    import onnx

    nodes = [n for n in onnx.load(str(model_path)).graph.node if n.op_type in QUANTIZED_OPS]
    convs = [n.name for n in nodes if n.op_type == "Conv"]
    kept_float = {convs[0], convs[-1]}
    return [n.name for n in nodes if n.name.startswith("/net/") and n.name not in kept_float]


def quantize_int8(float_path: Path, out: Path, crops: npt.NDArray[np.uint8]) -> None:
    """Static int8 (QDQ) of an exported float OCR model, activations calibrated (MinMax) on grey `crops`."""
    from onnxruntime.quantization import CalibrationMethod

    starts = list(range(0, len(crops), CALIBRATION_BATCH))
    quantize_qdq(
        float_path, out, len(starts), lambda i: {"input": rgb(crops[starts[i] : starts[i] + CALIBRATION_BATCH])},
        op_types_to_quantize=list(QUANTIZED_OPS), nodes_to_quantize=quantized_nodes(float_path),
        calibrate_method=CalibrationMethod.MinMax,
    )  # fmt: skip
