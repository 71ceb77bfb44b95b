"""Exposing an exported OCR model's CTC columns changes nothing else it outputs."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnxruntime as ort

from models.ocr.expose import expose_columns

FLOAT_PARENT = Path(__file__).resolve().parents[2] / "models" / "ocr" / "plate_ocr_float.onnx"


def test_the_columns_output_is_added_once_and_the_plate_output_stays_the_same(tmp_path: Path) -> None:
    path = tmp_path / "ocr.onnx"
    shutil.copyfile(FLOAT_PARENT, path)
    x = np.random.default_rng(3).integers(0, 256, (8, 48, 160, 3), dtype=np.uint8)
    before = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(["plate"], {"input": x})[0]
    assert expose_columns(path)
    assert not expose_columns(path)  # already there
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [o.name for o in session.get_outputs()] == ["plate", "columns"]
    plate, columns = session.run(["plate", "columns"], {"input": x})
    assert np.array_equal(plate, before)
    assert columns.shape == (8, 40, 37) and np.allclose(columns.sum(axis=2), 1.0, atol=1e-5)
