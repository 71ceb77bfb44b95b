"""The detector's int8 export: activations calibrated chunk by chunk, so memory stays bounded; uint8 pixels of any
size in."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import calibrate

from models.detector.export import CALIBRATION_CHUNK, any_size, calibration_chunk, pixel_input, quantize_int8
from models.detector.requantize import float_graph
from models.detector.requantize import main as requantize_main

SIZE = 32


def tiny_detector(path: Path) -> None:
    """A two-layer stand-in with the detector's contract: `image` in, `heatmap` (sigmoid) and `regression` out."""
    rng = np.random.default_rng(0)

    def weight(name: str, shape: tuple[int, ...]) -> onnx.TensorProto:
        return numpy_helper.from_array((rng.standard_normal(shape) * 0.3).astype(np.float32), name)

    nodes = [
        helper.make_node("Conv", ["image", "w1", "b1"], ["c1"], name="/c1/Conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="/c1/Relu"),
        helper.make_node("Conv", ["r1", "wh", "bh"], ["h"], name="/heat/Conv"),
        helper.make_node("Sigmoid", ["h"], ["heatmap"], name="/Sigmoid"),
        helper.make_node("Conv", ["r1", "wr", "br"], ["regression"], name="/reg/Conv"),
    ]
    inits = [
        weight("w1", (8, 3, 3, 3)), weight("b1", (8,)), weight("wh", (1, 8, 1, 1)), weight("bh", (1,)),
        weight("wr", (4, 8, 1, 1)), weight("br", (4,)),
    ]  # fmt: skip
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("heatmap", TensorProto.FLOAT, [1, 1, SIZE, SIZE]),
         helper.make_tensor_value_info("regression", TensorProto.FLOAT, [1, 4, SIZE, SIZE])],
        inits,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)


@pytest.mark.parametrize(("n_images", "chunk"), [(150, 10), (100, 10), (25, 5), (7, 7), (149, 1), (1, 1)])
def test_calibration_chunks_are_equal_and_at_most_the_limit(n_images: int, chunk: int) -> None:
    assert calibration_chunk(n_images) == chunk
    assert chunk <= CALIBRATION_CHUNK and n_images % chunk == 0


def test_int8_export_calibrates_chunk_by_chunk_and_keeps_the_float_outputs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chunks: list[int] = []
    collect = calibrate.HistogramCollector.collect

    def counting_collect(self: calibrate.HistogramCollector, name_to_arr: dict[str, list[np.ndarray]]) -> None:
        chunks.append(len(next(iter(name_to_arr.values()))))
        collect(self, name_to_arr)

    monkeypatch.setattr(calibrate.HistogramCollector, "collect", counting_collect)
    rng = np.random.default_rng(1)
    images = [rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8) for _ in range(30)]
    float_path, int8_path = tmp_path / "float.onnx", tmp_path / "int8.onnx"
    tiny_detector(float_path)

    quantize_int8(float_path, int8_path, images)

    assert chunks == [CALIBRATION_CHUNK] * 3  # never all 30 images' activations at once
    ops = {node.op_type for node in onnx.load(int8_path).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    x = {"image": (images[0].astype(np.float32) / 255.0).transpose(2, 0, 1)[None]}
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    want = ort.InferenceSession(str(float_path), opts, providers=["CPUExecutionProvider"]).run(None, x)
    got = ort.InferenceSession(str(int8_path), opts, providers=["CPUExecutionProvider"]).run(None, x)
    assert np.abs(got[0] - want[0]).max() < 0.05  # heatmap scores, 0..1
    assert np.abs(got[1] - want[1]).max() < 0.05 * np.abs(want[1]).max()


def _int8_tiny(tmp_path: Path, images: list[np.ndarray]) -> Path:
    """The tiny detector quantized to int8, calibrated on `images`."""
    float_path, int8_path = tmp_path / "float.onnx", tmp_path / "int8.onnx"
    tiny_detector(float_path)
    quantize_int8(float_path, int8_path, images)
    return int8_path


def _float_input(image: np.ndarray) -> dict[str, np.ndarray]:
    return {"image": (image.astype(np.float32) / 255.0).transpose(2, 0, 1)[None]}


def test_float_graph_of_an_int8_detector_computes_what_its_quantized_graph_means(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    images = [rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8) for _ in range(20)]
    int8_path, back_path = _int8_tiny(tmp_path, images), tmp_path / "back.onnx"

    onnx.save(float_graph(onnx.load(int8_path)), back_path)

    ops = {node.op_type for node in onnx.load(back_path).graph.node}
    assert not ops & {"QuantizeLinear", "DequantizeLinear"} and "Clip" in ops
    exact = ort.SessionOptions()
    exact.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # dequantize, then float kernels
    x = _float_input(images[0])
    want = ort.InferenceSession(str(int8_path), exact, providers=["CPUExecutionProvider"]).run(None, x)
    got = ort.InferenceSession(str(back_path), providers=["CPUExecutionProvider"]).run(None, x)
    # Only the rounding of activations to their uint8 steps is gone; weights and ranges are the same.
    assert np.abs(got[0] - want[0]).max() < 0.02
    assert np.abs(got[1] - want[1]).max() < 0.02 * np.abs(want[1]).max()


def test_pixel_input_model_computes_from_uint8_pixels_what_the_float_input_model_computes(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    images = [rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8) for _ in range(10)]
    int8_path, pixel_path = _int8_tiny(tmp_path, images), tmp_path / "pixel.onnx"

    onnx.save(pixel_input(onnx.load(int8_path)), pixel_path)

    inp = onnx.load(pixel_path).graph.input[0]
    assert inp.type.tensor_type.elem_type == TensorProto.UINT8
    assert [d.dim_value for d in inp.type.tensor_type.shape.dim] == [1, SIZE, SIZE, 3]
    int8 = ort.InferenceSession(str(int8_path), providers=["CPUExecutionProvider"])
    pixel = ort.InferenceSession(str(pixel_path), providers=["CPUExecutionProvider"])
    for image in images[:3]:
        want = int8.run(None, _float_input(image))
        got = pixel.run(None, {"image": image[None]})
        for w, g in zip(want, got, strict=True):
            np.testing.assert_allclose(g, w, rtol=0, atol=1e-6)
    # The float graph of the pixel model is again a float-input model, for requantizing.
    back = float_graph(onnx.load(pixel_path))
    assert back.graph.input[0].type.tensor_type.elem_type == TensorProto.FLOAT
    again = ort.InferenceSession(back.SerializeToString(), providers=["CPUExecutionProvider"])
    heat = again.run(None, _float_input(images[0]))[0]
    assert np.abs(heat - int8.run(None, _float_input(images[0]))[0]).max() < 0.02


def test_pixel_input_refuses_an_input_quantization_that_changes_pixel_values(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    dark = [rng.integers(0, 100, (SIZE, SIZE, 3), dtype=np.uint8) for _ in range(10)]  # calibrated to 0..100
    int8_path = _int8_tiny(tmp_path, dark)

    with pytest.raises(ValueError, match="does not give back pixel values"):
        pixel_input(onnx.load(int8_path))


def test_pixel_input_refuses_a_model_that_takes_pixels_already(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    pixel = pixel_input(onnx.load(_int8_tiny(tmp_path, [rng.integers(0, 256, (SIZE, SIZE, 3), np.uint8)])))

    with pytest.raises(ValueError, match="takes uint8 pixels already"):
        pixel_input(pixel)


def test_any_size_model_computes_the_same_at_its_own_size_and_takes_other_sizes(tmp_path: Path) -> None:
    rng = np.random.default_rng(6)
    images = [rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8) for _ in range(10)]
    pixel = pixel_input(onnx.load(_int8_tiny(tmp_path, images)))

    model = any_size(pixel)

    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in dims] == [1, "height", "width", 3]
    assert {m.key: m.value for m in model.metadata_props} == {"input_height": str(SIZE), "input_width": str(SIZE)}
    fixed = ort.InferenceSession(pixel.SerializeToString(), providers=["CPUExecutionProvider"])
    anysize = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    for image in images[:3]:
        for w, g in zip(
            fixed.run(None, {"image": image[None]}), anysize.run(None, {"image": image[None]}), strict=True
        ):
            assert np.array_equal(w, g)
    heat, reg = anysize.run(None, {"image": rng.integers(0, 256, (1, 64, 96, 3), dtype=np.uint8)})
    assert heat.shape == (1, 1, 64, 96) and reg.shape == (1, 4, 64, 96)
    # Requantizing starts again from the size the model was calibrated at.
    back = float_graph(model)
    assert [d.dim_value for d in back.graph.input[0].type.tensor_type.shape.dim] == [1, 3, SIZE, SIZE]


def test_any_size_refuses_a_model_without_fixed_uint8_pixel_input(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    int8 = onnx.load(_int8_tiny(tmp_path, [rng.integers(0, 256, (SIZE, SIZE, 3), np.uint8)]))
    with pytest.raises(ValueError, match="not uint8"):
        any_size(int8)  # float input
    with pytest.raises(ValueError, match="not uint8"):
        any_size(any_size(pixel_input(int8)))  # any size already


def test_requantize_any_size_rewrites_a_fixed_size_model_and_refuses_one_of_any_size(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rng = np.random.default_rng(8)
    fixed, out = tmp_path / "fixed.onnx", tmp_path / "out" / "any.onnx"
    onnx.save(pixel_input(onnx.load(_int8_tiny(tmp_path, [rng.integers(0, 256, (SIZE, SIZE, 3), np.uint8)]))), fixed)

    assert requantize_main(["--model", str(fixed), "--out", str(out), "--any-size"]) == 0

    assert onnx.load(out).graph.input[0].type.tensor_type.shape.dim[1].dim_param == "height"
    with pytest.raises(SystemExit):
        requantize_main(["--model", str(out), "--out", str(tmp_path / "again.onnx"), "--any-size"])
    assert "fixed H and W" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        requantize_main(["--model", str(fixed), "--out", str(out), "--any-size", "--float"])
    assert "alternatives" in capsys.readouterr().err
