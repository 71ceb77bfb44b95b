"""The committed OCR model: fast-plate-ocr contract, and it reads clean synthetic plates."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import pytest
import yaml
from fast_plate_ocr import LicensePlateRecognizer

from models.synth.crops import make_crops

ROOT = Path(__file__).resolve().parents[2]
OCR = ROOT / "models" / "ocr"
ONNX_PATH = OCR / "plate_ocr.onnx"
CONFIG_PATH = OCR / "plate_config.yaml"
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_"


@pytest.fixture(scope="module")
def recognizer() -> LicensePlateRecognizer:
    return LicensePlateRecognizer(onnx_model_path=ONNX_PATH, plate_config_path=CONFIG_PATH, device="cpu")


def test_config_is_the_fast_plate_ocr_contract() -> None:
    cfg = yaml.safe_load(CONFIG_PATH.read_text(encoding="utf-8"))
    assert cfg["alphabet"] == ALPHABET
    assert cfg["pad_char"] == "_"
    assert cfg["max_plate_slots"] == 10
    assert cfg["image_color_mode"] == "rgb"


def test_onnx_io_is_uint8_nhwc_in_and_softmax_slots_and_ctc_columns_out() -> None:
    cfg = yaml.safe_load(CONFIG_PATH.read_text(encoding="utf-8"))
    session = ort.InferenceSession(str(ONNX_PATH), providers=["CPUExecutionProvider"])
    (inp,) = session.get_inputs()
    out, cols = session.get_outputs()
    assert (inp.name, inp.type) == ("input", "tensor(uint8)")
    assert inp.shape[1:] == [cfg["img_height"], cfg["img_width"], 3]
    assert (out.name, out.type) == ("plate", "tensor(float)")  # first, as fast-plate-ocr takes it
    assert (cols.name, cols.type) == ("columns", "tensor(float)")
    x = np.random.default_rng(0).integers(0, 256, (3, cfg["img_height"], cfg["img_width"], 3), dtype=np.uint8)
    probs, columns = session.run(["plate", "columns"], {"input": x})
    assert probs.shape == (3, 10, len(ALPHABET))
    np.testing.assert_allclose(probs.sum(axis=-1), 1.0, atol=1e-4)
    assert columns.shape == (3, 40, len(ALPHABET))
    np.testing.assert_allclose(columns.sum(axis=-1), 1.0, atol=1e-4)
    assert ONNX_PATH.stat().st_size < 5 * 1024 * 1024


def test_reads_clean_synthetic_plates(recognizer: LicensePlateRecognizer) -> None:
    crops = make_crops(seed=424242, start=0, count=50, clean=True)
    preds = recognizer.run([cv2.cvtColor(c.image, cv2.COLOR_BGR2RGB) for c in crops])
    right = sum(p.plate == c.text for p, c in zip(preds, crops, strict=True))
    assert right / len(crops) >= 0.95, [(c.text, p.plate) for p, c in zip(preds, crops, strict=True)]


def test_ocr_and_synth_code_do_not_import_torch() -> None:
    """Torch is a training-only extra: only the training modules (models/*/train.py, the OCR's
    quantization-aware training qat.py and its batch augmentation augment.py) may import it."""
    offenders = [
        str(path.relative_to(ROOT))
        for folder in (OCR, ROOT / "models" / "synth")
        for path in folder.glob("*.py")
        if path.name not in ("train.py", "qat.py", "augment.py") and "import torch" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
