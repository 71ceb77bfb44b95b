"""Static int8 quantization (onnxruntime, QDQ) shared by the detector and the OCR exports.

Both quantize the same way: per output channel int8 weights in 7 of their 8 bits (`reduce_range`: no int16
saturation on CPUs without VNNI, detector export docstring), uint8 activations calibrated on training inputs,
after onnxruntime's own shape inference. What differs (the nodes kept float, the calibration method) is passed in.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Feed = dict[str, npt.NDArray[np.generic]]


def quantize_qdq(float_path: Path, out: Path, count: int, feed: Callable[[int], Feed], **options: Any) -> None:
    """Quantize `float_path` into `out`, activations calibrated on the `count` inputs `feed(0)` ... `feed(count-1)`
    (made one at a time, so a large calibration set is never held at once). `options` go to `quantize_static`
    (e.g. `nodes_to_exclude`, `nodes_to_quantize`, `calibrate_method`, `extra_options`)."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        """The inputs in order; onnxruntime may ask for one chunk at a time (`set_range`)."""

        def __init__(self) -> None:
            self._it: Iterator[int] = iter(range(count))

        def __len__(self) -> int:
            return count

        def set_range(self, start_index: int, end_index: int) -> None:
            self._it = iter(range(start_index, end_index))

        def get_next(self) -> Feed | None:
            i = next(self._it, None)
            return None if i is None else feed(i)

    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(float_path), str(prepared))
        out.parent.mkdir(parents=True, exist_ok=True)
        quantize_static(
            str(prepared), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, reduce_range=True, **options,
        )  # fmt: skip
