"""Static int8 of the OCR (no torch): the outer convolutions and the slot decoding stay float, and it reads as the
float model does on synthetic crops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from models.ocr.dataset import generate_arrays
from models.ocr.int8 import quantize_int8, quantized_nodes, rgb

ROOT = Path(__file__).resolve().parents[2]
ONNX_PATH = ROOT / "models" / "ocr" / "plate_ocr_float.onnx"  # the float parent (version 8)
DEPLOYED = ROOT / "models" / "ocr" / "plate_ocr.onnx"


def _read(path: Path, crops: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": rgb(crops)})[0]


@pytest.fixture(scope="module")
def int8_model(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    x, _ = generate_arrays(525252, 320, workers=1, desc="int8 test crops")
    out = tmp_path_factory.mktemp("int8") / "plate_ocr_int8.onnx"
    quantize_int8(ONNX_PATH, out, x[:128])
    return out, x[128:]


def test_the_slot_decoding_and_the_outer_convolutions_stay_float() -> None:
    names = quantized_nodes(ONNX_PATH)
    convs = [n.name for n in onnx.load(str(ONNX_PATH)).graph.node if n.op_type == "Conv"]
    assert convs[0] not in names and convs[-1] not in names
    assert set(convs[1:-1]) <= set(names)
    assert "/Add" not in names  # after the softmax: quantizing it would round probabilities to 1/255
    assert any(n.endswith("/Add") for n in names)  # the residual additions are quantized


def test_int8_model_is_quantized_and_keeps_probabilities_unrounded(int8_model: tuple[Path, np.ndarray]) -> None:
    path, crops = int8_model
    graph = onnx.load(str(path)).graph
    assert sum(n.op_type == "QuantizeLinear" for n in graph.node) >= 10
    probs = _read(path, crops[:32])
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, atol=1e-4)
    steps = probs * 255
    assert np.abs(steps - np.round(steps)).max() > 0.01  # not on a grid of 1/255


def test_int8_model_reads_as_the_float_model_on_synthetic_crops(int8_model: tuple[Path, np.ndarray]) -> None:
    path, crops = int8_model
    same = (_read(path, crops).argmax(-1) == _read(ONNX_PATH, crops).argmax(-1)).all(axis=1)
    assert same.mean() >= 0.9, f"{same.sum()} of {len(same)} crops read the same text"


def test_the_deployed_model_is_the_int8_export_with_float_decoding() -> None:
    graph = onnx.load(str(DEPLOYED)).graph
    quantized = {n.input[0] for n in graph.node if n.op_type == "QuantizeLinear"}
    assert len(quantized) >= 10
    assert not any(name.startswith("/Softmax") or name.startswith("/Add") for name in quantized)
