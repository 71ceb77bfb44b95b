"""Quantize a shipped int8 detector again, from its own weights: for a change of the int8 export without retraining.

A QDQ model holds its float weights as int8 values with scales, and its activation ranges as quantize/dequantize
pairs. `float_graph` turns it back into a float model that computes what the QDQ model means, less the rounding of
activations to their uint8 steps: every weight dequantized, every activation pair replaced by a clip to the range
it could hold (the quantizer folds ReLUs into those ranges, so the clip is also the ReLU).
`models.detector.export.quantize_calibrated` then quantizes that float model as the current export does,
calibrated on the same training images. The weights pass through 8-bit
rounding once more than a fresh export's (a retrained model has them at full precision).

    python -m models.detector.requantize --model models/detector/plate_detector.onnx --out var/plate_detector.onnx
    python -m models.detector.requantize --model OLD.onnx --out NEW.onnx --pixel-input   # float input -> uint8 pixels
    python -m models.detector.requantize --model OLD.onnx --out NEW.onnx --any-size   # fixed input size -> any size
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from models.detector.data import DEFAULT_MODEL, ROMANIAN
from models.detector.export import any_size, pixel_input, quantize_calibrated

UINT8_MAX = 255


def _dequantized(node: onnx.NodeProto, inits: dict[str, np.ndarray]) -> np.ndarray:
    """The float value of a DequantizeLinear of an initializer (per-tensor or per-channel along its axis)."""
    q = inits[node.input[0]].astype(np.float32)
    scale = inits[node.input[1]].astype(np.float32)
    zero = inits[node.input[2]].astype(np.float32) if len(node.input) > 2 else np.zeros_like(scale)
    if scale.size > 1:
        axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
        shape = [1] * q.ndim
        shape[axis] = -1
        scale, zero = scale.reshape(shape), zero.reshape(shape)
    return (q - zero) * scale


def float_graph(model: onnx.ModelProto) -> onnx.ModelProto:
    """The float model a QDQ model stands for: weights dequantized, activation pairs turned into range clips (the
    activations' rounding to uint8 steps is the one thing left out). A model fed uint8 pixels gets the float input
    x / 255 back."""
    graph = model.graph
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    quantizers = {n.output[0]: n for n in graph.node if n.op_type == "QuantizeLinear"}
    inputs = list(graph.input)
    if inputs[0].type.tensor_type.elem_type == onnx.TensorProto.UINT8:  # uint8 pixels (`export.pixel_input`)
        (to_nchw,) = (n for n in graph.node if n.op_type == "Transpose" and n.input[0] == inputs[0].name)
        (first,) = (n for n in graph.node if n.op_type == "DequantizeLinear" and n.input[0] == to_nchw.output[0])
        # As if a quantizer of the float input x / 255 made the pixels, with the first dequantizer's scale.
        quantizers[to_nchw.output[0]] = helper.make_node("QuantizeLinear", [inputs[0].name, *first.input[1:]], ["-"])
        _, height, width, channels = (d.dim_value for d in inputs[0].type.tensor_type.shape.dim)
        if not height or not width:  # any input size (`export.any_size`): back to the size it was calibrated at
            meta = {m.key: m.value for m in model.metadata_props}
            height, width = int(meta["input_height"]), int(meta["input_width"])
        inputs[0] = helper.make_tensor_value_info(inputs[0].name, onnx.TensorProto.FLOAT, [1, channels, height, width])
    nodes: list[onnx.NodeProto] = []
    new_inits: list[onnx.TensorProto] = []
    for node in graph.node:
        if node.op_type == "QuantizeLinear" or node.output[0] in quantizers:
            continue
        if node.op_type != "DequantizeLinear":
            nodes.append(node)
        elif node.input[0] in inits:
            new_inits.append(numpy_helper.from_array(_dequantized(node, inits), node.output[0]))
        else:
            q = quantizers.get(node.input[0])
            if q is None:
                raise ValueError(
                    f"{node.name or node.output[0]}: dequantizes {node.input[0]}, which no quantizer makes"
                )
            if inits[q.input[2]].dtype != np.uint8:
                raise ValueError(f"{q.name or q.output[0]}: activations are {inits[q.input[2]].dtype}, expected uint8")
            scale, zero = float(inits[q.input[1]]), float(inits[q.input[2]])
            lo, hi = f"{node.output[0]}_min", f"{node.output[0]}_max"
            new_inits.append(numpy_helper.from_array(np.array(-zero * scale, np.float32), lo))
            new_inits.append(numpy_helper.from_array(np.array((UINT8_MAX - zero) * scale, np.float32), hi))
            nodes.append(
                helper.make_node("Clip", [q.input[0], lo, hi], [node.output[0]], name=f"{node.output[0]}_clip")
            )
    used = {name for n in nodes for name in n.input}
    kept = [i for i in graph.initializer if i.name in used]  # the int8 weights fed only the dequantizers
    out = helper.make_graph(
        nodes, graph.name, inputs, list(graph.output), kept + [i for i in new_inits if i.name in used]
    )
    result = helper.make_model(out, opset_imports=list(model.opset_import))
    result.ir_version = model.ir_version
    onnx.checker.check_model(result)
    return result


def requantize(model_path: Path, out: Path, manifest: Path | None = ROMANIAN) -> None:
    """Float graph of `model_path`, quantized again by the current export into `out`."""
    back = float_graph(onnx.load(model_path))
    quantize_calibrated(lambda path: onnx.save(back, path), out, manifest)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.detector.requantize", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="int8 (QDQ) detector to start from")
    p.add_argument("--out", type=Path, required=True, help="where to write the requantized model")
    p.add_argument("--float", action="store_true", help="write the float graph only (no quantization)")
    p.add_argument(
        "--pixel-input",
        action="store_true",
        help="no requantizing: only give the model uint8 pixel input (export.pixel_input; same numbers out)",
    )
    p.add_argument(
        "--any-size",
        action="store_true",
        help="no requantizing: only let a uint8-input model take any input size (export.any_size; same numbers out)",
    )
    p.add_argument(
        "--manifest", type=Path, default=ROMANIAN, help="real training frames for calibration ('none': scenes only)"
    )
    args = p.parse_args(argv)
    if not args.model.is_file():
        p.error(f"no detector at {args.model}")
    if sum((args.float, args.pixel_input, args.any_size)) > 1:
        p.error("--float, --pixel-input and --any-size are alternatives: give one")
    if args.float or args.pixel_input or args.any_size:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        convert = float_graph if args.float else pixel_input if args.pixel_input else any_size
        try:
            converted = convert(onnx.load(args.model))
        except ValueError as exc:
            p.error(f"{args.model}: {exc}")
        onnx.save(converted, args.out)
    else:
        requantize(args.model, args.out, None if str(args.manifest) == "none" else args.manifest)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
