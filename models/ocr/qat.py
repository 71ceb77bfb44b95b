"""Quantization-aware fine-tuning of the plate OCR, and its int8 export.

Static int8 of version 8's own weights (no training) read 1.5 times as many plates per second on the AVX2
machine but lost one to five real openalpr plates (OCR card, "Two int8 candidates"). Here the network trains a
few minutes with the int8 rounding in its forward pass, so that it learns weights that read well after
rounding, and the export then applies the same rounding in onnxruntime:

- the network is the exported model's own: batch norm folded into the convolutions (biases), weights loaded
  from the ONNX file in order (`QuantPlateNet`);
- weights: per output channel, symmetric, 7-bit (-64..64, onnxruntime's `reduce_range`, which keeps int8
  products from saturating int16 sums on CPUs without VNNI), scale = max |w| / 64, recomputed every step;
- activations: uint8 per tensor, [min(lo, 0), max(hi, 0)] in 255 steps, at every ReLU output and at the
  residual body's output before the addition, the tensors onnxruntime's QDQ graph quantizes (it fuses each
  ReLU into the convolution or addition before it and keeps the ReLU's range). The ranges are the float
  network's minima and maxima on a fixed set of calibration crops (MinMax, as onnxruntime calibrates),
  measured again every few hundred steps as the weights move (`calibrate`);
- biases: int32 in steps of input scale x weight scale, as onnxruntime stores them (without this, the torch
  rounding and onnxruntime's int8 kernels read the same text on 95.7 % of crops; with it, on 512 of 512);
- the first convolution and the classifier stay float, as does the slot decoding (`models.ocr.int8`).

`export_int8` writes the float graph of the fine-tuned weights, then quantizes it with onnxruntime
(`models.ocr.int8.quantize_int8`) calibrated on the same crops, so the deployed model applies the rounding the
network was trained with; `agreement` measures how often the two read the same text.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from models.ocr.int8 import CALIBRATION_BATCH, quantize_int8, rgb
from models.ocr.train import PlateNet, _Context, _to_tensor, ctc_to_slots, export

W_QMIN, W_QMAX = -64, 64  # onnxruntime's int8 range with reduce_range (ONNX_INT_TYPE_REDUCED_RANGE)
A_QMIN, A_QMAX = 0, 255  # uint8 activations, full range


class ActQuant(nn.Module):
    """Fake uint8 quantization of one activation tensor with a calibrated range (straight-through gradient).

    `observe` records the running min and max instead (calibration); with neither flag set it is the identity,
    which is what the float export traces."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("lo", torch.tensor(0.0))
        self.register_buffer("hi", torch.tensor(0.0))
        self.enabled = False
        self.observe = False

    def reset(self) -> None:
        self.lo.fill_(0.0)  # the range always holds 0 (onnxruntime's compute_scale_zp)
        self.hi.fill_(0.0)

    def scale_zero(self) -> tuple[float, int]:
        """onnxruntime's asymmetric uint8 parameters for the recorded range."""
        lo, hi = min(float(self.lo), 0.0), max(float(self.hi), 0.0)
        scale = np.float32((hi - lo) / (A_QMAX - A_QMIN))
        if scale < np.finfo(np.float32).tiny:
            return 1.0, 0
        return float(scale), int(np.round(A_QMIN - lo / np.float64(scale)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.observe:
            self.lo.copy_(torch.minimum(self.lo, x.detach().min()))
            self.hi.copy_(torch.maximum(self.hi, x.detach().max()))
            return x
        if not self.enabled:
            return x
        scale, zero = self.scale_zero()
        return torch.fake_quantize_per_tensor_affine(x, scale, zero, A_QMIN, A_QMAX)


def weight_scale(w: torch.Tensor) -> torch.Tensor:
    """onnxruntime's per output channel scale of a convolution kernel: max |w| / 64."""
    absmax = w.detach().abs().amax(dim=(1, 2, 3)).float()
    return torch.where(absmax > 0, absmax * 2 / (W_QMAX - W_QMIN), torch.ones_like(absmax))


def fake_quant_weight(w: torch.Tensor) -> torch.Tensor:
    """Per output channel symmetric 7-bit rounding of a convolution kernel, as onnxruntime quantizes it."""
    scale = weight_scale(w)
    zero = torch.zeros_like(scale, dtype=torch.int32)
    return torch.fake_quantize_per_channel_affine(w, scale, zero, 0, W_QMIN, W_QMAX)


def fake_quant_bias(b: torch.Tensor, input_scale: float, weight_scale: torch.Tensor) -> torch.Tensor:
    """The bias as onnxruntime stores it: int32 in steps of input scale x weight scale (per output channel).
    The steps are small, but on a depthwise convolution they shift outputs by up to a hundredth of an activation
    step, enough to flip 0.2 % of its roundings (measured against onnxruntime's kernel on v8)."""
    step = (input_scale * weight_scale).detach()
    return b + (torch.round(b / step) * step - b).detach()


class QuantConv2d(nn.Conv2d):
    """A convolution whose kernel and bias are rounded to int8 and int32 in the forward pass when `enabled`;
    `input_quant` is the activation rounding that feeds it (its scale sets the bias's)."""

    enabled = False

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._input_quant: list[ActQuant] = []  # a list: not a registered submodule of this convolution

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.enabled:
            return self._conv_forward(x, self.weight, self.bias)
        bias = self.bias
        if bias is not None and self._input_quant:
            bias = fake_quant_bias(bias, self._input_quant[0].scale_zero()[0], weight_scale(self.weight))
        return self._conv_forward(x, fake_quant_weight(self.weight), bias)


def _conv_like(conv: nn.Conv2d, quantized: bool) -> nn.Conv2d:
    cls = QuantConv2d if quantized else nn.Conv2d
    return cls(
        conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride, padding=conv.padding,
        groups=conv.groups, bias=True,
    )  # fmt: skip


def _fold_layout(seq: nn.Sequential, convs: list[nn.Conv2d], last: list[ActQuant]) -> nn.Sequential:
    """`seq` without batch norms (each convolution gains a bias), an ActQuant after every ReLU; residual blocks
    get one on their body's output too. Convolutions are appended to `convs` in forward order; `last` holds the
    most recent activation rounding, the one that feeds the next convolution (pools keep their input's scale)."""
    out: list[nn.Module] = []
    for m in seq:
        if isinstance(m, nn.Sequential):
            out.append(_fold_layout(m, convs, last))
        elif isinstance(m, _Context):
            body = _fold_layout(m.body, convs, last)
            m.body = nn.Sequential(*body, ActQuant())
            m.act = nn.Sequential(nn.ReLU(), ActQuant())
            last[:] = [m.act[1]]
            out.append(m)
        elif isinstance(m, nn.Conv2d):
            conv = _conv_like(m, quantized=True)
            assert isinstance(conv, QuantConv2d)
            conv._input_quant = list(last)
            convs.append(conv)
            out.append(conv)
        elif isinstance(m, nn.BatchNorm2d):
            continue
        elif isinstance(m, nn.ReLU):
            act = ActQuant()
            last[:] = [act]
            out += [nn.ReLU(), act]
        else:
            out.append(m)
    return nn.Sequential(*out)


class QuantPlateNet(nn.Module):
    """PlateNet as its ONNX export computes it (batch norm folded), with int8 rounding that can be switched on.

    The same forward contract as PlateNet: grey (N, 1, 48, 160) in [0, 1] -> per-column logits (N, 40, C)."""

    def __init__(self, width: float = 2.0) -> None:
        super().__init__()
        convs: list[nn.Conv2d] = []
        self.features = _fold_layout(PlateNet(wide=True, width=width).features, convs, [])
        # The first and the last convolution stay float (module docstring).
        for conv in (convs[0], convs[-1]):
            plain = _conv_like(conv, quantized=False)
            _replace(self.features, conv, plain)
        self.convs = [m for m in self.features.modules() if isinstance(m, nn.Conv2d)]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).squeeze(2).permute(0, 2, 1)

    @torch.no_grad()
    def load_onnx(self, onnx_path: Path) -> None:
        """Take every convolution's kernel and bias from an exported model of this layout (in graph order)."""
        import onnx
        from onnx import numpy_helper

        model = onnx.load(str(onnx_path))
        weights = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
        convs = [n for n in model.graph.node if n.op_type == "Conv"]
        pairs = [(n.input[1], n.input[2] if len(n.input) > 2 else None) for n in convs]
        if len(pairs) != len(self.convs) or any(
            tuple(c.weight.shape) != weights[w].shape for c, (w, _) in zip(self.convs, pairs, strict=True)
        ):
            raise ValueError(f"{onnx_path} does not have this network's layout (PlateNet width and wide)")
        for conv, (w, b) in zip(self.convs, pairs, strict=True):
            conv.weight.copy_(torch.from_numpy(np.array(weights[w])))
            conv.bias.copy_(torch.from_numpy(np.array(weights[b])) if b else torch.zeros_like(conv.bias))

    def set_quant(self, enabled: bool) -> None:
        """Int8 rounding of weights and activations on (training, reading as int8) or off (float, export)."""
        for m in self.modules():
            if isinstance(m, (ActQuant, QuantConv2d)):
                m.enabled = enabled


def _replace(root: nn.Module, old: nn.Module, new: nn.Module) -> None:
    for name, child in root.named_children():
        if child is old:
            setattr(root, name, new)
            return
        _replace(child, old, new)


@torch.no_grad()
def calibrate(net: QuantPlateNet, crops: npt.NDArray[np.uint8]) -> None:
    """Activation ranges: minima and maxima of the float network (no rounding) over `crops` (N, 48, 160)."""
    was_training = net.training
    net.eval()
    net.set_quant(False)
    acts = [m for m in net.modules() if isinstance(m, ActQuant)]
    for a in acts:
        a.reset()
        a.observe = True
    for i in range(0, len(crops), CALIBRATION_BATCH):
        net(_to_tensor(crops[i : i + CALIBRATION_BATCH]))
    for a in acts:
        a.observe = False
    net.set_quant(True)
    net.train(was_training)


def export_int8(net: QuantPlateNet, onnx_path: Path, config_path: Path, crops: npt.NDArray[np.uint8]) -> None:
    """The fine-tuned network as the deployed int8 model: float export, then onnxruntime's quantization with the
    activation ranges calibrated on the same crops as in training."""
    net.set_quant(False)
    with tempfile.TemporaryDirectory() as tmp:
        float_path = Path(tmp) / "float.onnx"
        export(net, float_path, config_path)  # type: ignore[arg-type]  # the PlateNet forward contract
        quantize_int8(float_path, onnx_path, crops)
    net.set_quant(True)


@torch.no_grad()
def agreement(net: QuantPlateNet, onnx_path: Path, crops: npt.NDArray[np.uint8]) -> float:
    """Share of `crops` where the network with int8 rounding and the exported int8 model read the same slots."""
    import onnxruntime as ort

    net.eval()
    net.set_quant(True)
    starts = range(0, len(crops), 256)
    mine = torch.cat([ctc_to_slots(net(_to_tensor(crops[i : i + 256])).softmax(-1)) for i in starts])
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    theirs = np.concatenate([session.run(None, {"input": rgb(crops[i : i + 256])})[0] for i in starts])
    return float((mine.argmax(-1).numpy() == theirs.argmax(-1)).all(axis=1).mean())
