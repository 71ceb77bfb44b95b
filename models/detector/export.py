"""Export the trained detector as the edge runs it: ONNX at the deployed input size, weights and activations int8.

The network is trained on 640x384 letterboxed images (with zoom augmentation) and exported at `DEPLOY_H` x
`DEPLOY_W` (480x800): far plates get 1.25x the pixels, which is where the missed plates were. Static int8
quantization (QDQ, per-channel weights, percentile-calibrated activations on training images) pays for the
larger input on CPUs with int8 dot-product instructions (VNNI): onnxruntime ran the int8 convolutions about
twice as fast on the AVX512-VNNI machine (AMD EPYC) the models up to 2026-11 were measured on. Weights use 7 of
their 8 bits (`reduce_range`): on x86 CPUs without VNNI (AVX2 only, e.g. the AMD EPYC Milan of 2026-12)
onnxruntime multiplies uint8 activations by int8 weights with an instruction that adds pairs of products into
int16 and saturates; full-range weights overflow it (the shipped 8-bit model's heatmap there was off by up to
0.69 against the same model computed exactly), 7-bit weights cannot. The heads and the sigmoid stay float so
scores and boxes keep their resolution. The file's sha256 goes into the model card.

The exported model takes frames of any size divisible by 32 (symbolic height and width; its own size, 480x800,
in the metadata `input_height`, `input_width`): the edge runs it again on the frame at 1/2 and 1/4 of the scale to
find the plates too large for the receptive field at full scale (edge/detector.py). Version 8.4 is version 8.3
rewritten so:

    python -m models.detector.export --checkpoint var/detector.pt --out models/detector/plate_detector.onnx
    python -m models.detector.requantize --model OLD.onnx --any-size --out models/detector/plate_detector.onnx
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import onnx

from models.detector.data import (
    DEFAULT_MODEL,
    DEPLOY_H,
    DEPLOY_W,
    ROMANIAN,
    TRAIN_SCENES,
    manifest_samples,
    scene_sample,
)
from models.quantize import quantize_qdq

if TYPE_CHECKING:
    from torch import nn

CALIBRATION_SCENES = 100
"""Training scenes (seed namespace 101, indices 0-99) that calibrate the int8 activation ranges."""
CALIBRATION_REAL = 50
"""Real training frames (the first of romanian-dashcam's train split) added to the calibration images."""
CALIBRATION_CHUNK = 10
"""Images whose activations onnxruntime holds at once while calibrating: it keeps every activation of every image
it was given until it builds the histograms (about 0.1 GB per image at the deployed size), so 150 images in one
call peaked near 15 GB; in chunks of 10 the histograms grow chunk by chunk."""
FLOAT_NODES = ("/heat/Conv", "/reg/Conv", "/Sigmoid")
"""Nodes kept in float: the heatmap and box heads and the sigmoid."""


def export_float(model: nn.Module, path: Path, height: int = DEPLOY_H, width: int = DEPLOY_W) -> None:
    """Float32 ONNX (opset 17) with a fixed 1x3xHxW input `image` and outputs `heatmap`, `regression`."""
    import torch

    model.eval()
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated but needs no onnxscript (as the OCR's)
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            model, (torch.zeros(1, 3, height, width),), str(path), input_names=["image"],
            output_names=["heatmap", "regression"], opset_version=17, dynamo=False,
        )  # fmt: skip


def calibration_images(manifest: Path | None = ROMANIAN) -> list[npt.NDArray[np.uint8]]:
    """Letterboxed training images (deployed size) for the activation ranges: scenes, then real frames."""
    size = (DEPLOY_W, DEPLOY_H)
    images = [scene_sample(TRAIN_SCENES, i, size).image for i in range(CALIBRATION_SCENES)]
    if manifest is not None:
        images += [s.image for s in manifest_samples(manifest, "train", size, limit=CALIBRATION_REAL)]
    return images


def calibration_chunk(n_images: int) -> int:
    """Images per calibration chunk: the largest divisor of `n_images` up to CALIBRATION_CHUNK (onnxruntime
    needs equal chunks)."""
    return max(d for d in range(1, min(CALIBRATION_CHUNK, n_images) + 1) if n_images % d == 0)


def quantize_int8(float_path: Path, out: Path, images: Sequence[npt.NDArray[np.uint8]]) -> None:
    """Static int8 quantization of `float_path` into `out`, activations calibrated on `images` (BGR, H x W x 3)."""
    from onnxruntime.quantization import CalibrationMethod

    def feed(i: int) -> dict[str, npt.NDArray[np.float32]]:
        return {"image": np.ascontiguousarray((images[i].astype(np.float32) / 255.0).transpose(2, 0, 1)[None])}

    quantize_qdq(
        float_path, out, len(images), feed, nodes_to_exclude=list(FLOAT_NODES),
        calibrate_method=CalibrationMethod.Percentile,
        extra_options={"CalibStridedMinMax": calibration_chunk(len(images))},
    )  # fmt: skip


def pixel_input(model: onnx.ModelProto) -> onnx.ModelProto:
    """The same int8 detector fed the letterboxed frame as it is: input `image` uint8 (1, H, W, 3), BGR.

    The quantized graph's first step turns the float input x / 255 into uint8 steps (a clip to the calibrated range,
    then QuantizeLinear); with the calibrated scale (about 1 / 255) that step gives back the pixel value itself for
    every one of the 256 values, so a uint8 input can go straight to the first convolution's dequantizer. The edge
    then skips converting 1.15 million pixels to float and transposing them (2.0-3.1 ms of a 19-21 ms frame on the
    AVX2 machine, detector card, version 8.3), and the model computes the same numbers. Raises
    ValueError if the step is not the identity on pixel values (then the float input is needed)."""
    from onnx import helper, numpy_helper

    graph = model.graph
    (inp,) = graph.input
    if inp.type.tensor_type.elem_type == onnx.TensorProto.UINT8:
        raise ValueError(f"input {inp.name} takes uint8 pixels already; nothing to convert")
    _, channels, height, width = (d.dim_value for d in inp.type.tensor_type.shape.dim)
    inits = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    chain = [n for n in graph.node if inp.name in n.input]
    lo, hi = -np.inf, np.inf
    if len(chain) == 1 and chain[0].op_type == "Clip":
        clip = chain[0]
        lo, hi = (float(inits[name]) if name else bound for name, bound in zip(clip.input[1:], (lo, hi), strict=False))
        chain += [n for n in graph.node if clip.output[0] in n.input]
    quant = chain[-1]
    if quant.op_type != "QuantizeLinear" or len(chain) > 2 or sum(inp.name in n.input for n in graph.node) != 1:
        raise ValueError(f"input {inp.name} does not go (through a clip) to one QuantizeLinear")
    scale, zero = inits[quant.input[1]], inits[quant.input[2]]
    pixels = np.arange(256, dtype=np.float32)
    steps = np.clip(np.rint(np.clip(pixels / np.float32(255), lo, hi) / scale) + zero, 0, 255)
    if zero.dtype != np.uint8 or not np.array_equal(steps, pixels):
        raise ValueError(f"the input's quantization (scale {scale}, zero {zero}) does not give back pixel values")
    nodes = [helper.make_node("Transpose", ["image"], [quant.output[0]], perm=[0, 3, 1, 2], name="image_to_nchw")]
    nodes += [n for n in graph.node if n not in chain]
    new_input = helper.make_tensor_value_info("image", onnx.TensorProto.UINT8, [1, height, width, channels])
    used = {name for n in nodes for name in n.input}
    out = helper.make_graph(
        nodes, graph.name, [new_input], list(graph.output), [i for i in graph.initializer if i.name in used]
    )
    result = helper.make_model(out, opset_imports=list(model.opset_import))
    result.ir_version = model.ir_version
    onnx.checker.check_model(result)
    return result


def any_size(model: onnx.ModelProto) -> onnx.ModelProto:
    """The same detector taking input of any height and width (a multiple of its stride, 32): input dims 1 and 2
    and the outputs' spatial dims become symbolic, and the size it was exported and calibrated at is kept in the
    metadata (`input_height`, `input_width`), the size the edge letterboxes frames to. Every convolution, pooling and
    upsampling of the network is size-agnostic; the computed values at the native size do not change (test). Raises
    ValueError unless the input is uint8 (1, H, W, 3) with fixed H and W (`pixel_input`'s model)."""
    result = onnx.ModelProto()
    result.CopyFrom(model)
    graph = result.graph
    (inp,) = graph.input
    dims = inp.type.tensor_type.shape.dim
    if (
        inp.type.tensor_type.elem_type != onnx.TensorProto.UINT8
        or len(dims) != 4
        or not all(d.HasField("dim_value") for d in dims[1:3])
    ):
        raise ValueError(f"input {inp.name} is not uint8 (1, H, W, 3) with fixed H and W; nothing to make symbolic")
    height, width = dims[1].dim_value, dims[2].dim_value
    for d, name in ((dims[1], "height"), (dims[2], "width")):
        d.ClearField("dim_value")
        d.dim_param = name
    for out in graph.output:
        for d, name in zip(out.type.tensor_type.shape.dim[2:], ("cells_y", "cells_x"), strict=False):
            d.ClearField("dim_value")
            d.dim_param = name
    del graph.value_info[:]  # inferred shapes of the fixed size; onnxruntime infers them again per input
    meta = {p.key: p for p in result.metadata_props}
    for key, value in (("input_height", height), ("input_width", width)):
        entry = meta.get(key) or result.metadata_props.add()
        entry.key, entry.value = key, str(value)
    onnx.checker.check_model(result)
    return result


def quantize_calibrated(write_float: Callable[[Path], None], out: Path, manifest: Path | None = ROMANIAN) -> None:
    """The float model `write_float` writes (to a temporary file), int8-quantized into `out`, calibrated on the
    training images."""
    t0 = time.monotonic()
    images = calibration_images(manifest)
    print(f"export: {len(images)} calibration images in {time.monotonic() - t0:.0f} s", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        float_path = Path(tmp) / "float.onnx"
        write_float(float_path)
        quantize_int8(float_path, out, images)
    onnx.save(any_size(pixel_input(onnx.load(out))), out)
    print(f"export: int8 {DEPLOY_W}x{DEPLOY_H} model written to {out} in {time.monotonic() - t0:.0f} s", flush=True)


def export_deployed(model: nn.Module, out: Path, manifest: Path | None = ROMANIAN) -> None:
    """The edge's model: float export at the deployed size, then int8 quantization calibrated on training images."""
    quantize_calibrated(lambda path: export_float(model, path), out, manifest)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m models.detector.export", description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", type=Path, required=True, help="torch weights written by scanauto train detector")
    p.add_argument("--out", type=Path, default=DEFAULT_MODEL)
    p.add_argument("--float", action="store_true", help="write the float32 model only (no quantization)")
    p.add_argument(
        "--manifest", type=Path, default=ROMANIAN, help="real training frames for calibration ('none': scenes only)"
    )
    args = p.parse_args(argv)
    if not args.checkpoint.is_file():
        p.error(f"no checkpoint at {args.checkpoint}; train one with `scanauto train detector --checkpoint PATH`")
    import torch

    from models.detector.train import PlateNet

    model = PlateNet()
    model.load_state_dict(torch.load(args.checkpoint, weights_only=True))
    if args.float:
        export_float(model, args.out)
    else:
        export_deployed(model, args.out, None if str(args.manifest) == "none" else args.manifest)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
