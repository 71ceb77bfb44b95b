"""Train the plate OCR (CNN + CTC) on synthetic crops on CPU; export fast-plate-ocr ONNX (slots) + config.

One command makes the deployed model within the hour (`--budget`, 57 min): the float network trained from
scratch (bf16 where the CPU has it), written to `plate_ocr_float.onnx`, then `--qat-minutes` (10) of
quantization-aware fine-tuning of it, exported int8 to `plate_ocr.onnx` (OCR card, versions 8, 8.1 and 9).
Both phases see every hard crop moved and re-exposed on the fly (`models/ocr/augment.py`, version 9).
`--qat` runs the second phase alone on a given float model.

On the clock, how many steps a run makes depends on how fast the machine is that hour (5,925 to 8,046
float steps over two days here, OCR card, session 31), and so does the model. `--steps` and `--qat-steps`
fix the steps instead: the schedule follows the step count, the hard crops come in at fixed steps
(waiting for the generator if it is behind), validations fall on fixed steps, and the same command gives
the same weights whatever the pace, with the hard sets generated or cached alike.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch
import yaml
from torch import nn

from edge.ctc import COLUMNS_OUTPUT
from models.cpu import PRECISIONS, training_precision
from models.ocr.augment import augment
from models.ocr.curriculum import Curriculum
from models.ocr.dataset import (
    ALPHABET,
    CALIB_SEED,
    CLEAN_SEED,
    IMG_H,
    IMG_W,
    MAX_SLOTS,
    SCENE_VALID_NAMESPACE,
    TRAIN_SEED,
    VALID_SEED,
    WORLD_SEED,
    CropStream,
    data_tag,
    generate_arrays,
)

HERE = Path(__file__).resolve().parent
ONNX_PATH = HERE / "plate_ocr.onnx"
"""The deployed model (int8 since version 8.1): what the int8 phase writes (`--onnx`)."""
FLOAT_PATH = HERE / "plate_ocr_float.onnx"
"""Its float parent (version 8): what the float phase writes (`--float-onnx`), and what `--qat` starts from."""
CONFIG_PATH = HERE / "plate_config.yaml"
# ITU-R BT.601 luma, the weights cv2.COLOR_RGB2GRAY uses: training data is made with cv2.
GRAY_WEIGHTS = (0.299, 0.587, 0.114)


def _separable(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False),
        nn.BatchNorm2d(cin),
        nn.ReLU(inplace=True),
        nn.Conv2d(cin, cout, 1, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


BLANK = ALPHABET.index("_")  # the CTC blank doubles as the pad character of the slot output
COLUMNS = 40  # CTC time steps: one column per 4 input pixels


class _Context(nn.Module):
    """A residual block along the plate (1 x k depthwise + pointwise): a column learns its neighbours."""

    def __init__(self, ch: int, k: int = 7) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(ch, ch, (1, k), padding=(0, k // 2), groups=ch, bias=False),
            nn.BatchNorm2d(ch),
            nn.ReLU(inplace=True),
            nn.Conv2d(ch, ch, 1, bias=False),
            nn.BatchNorm2d(ch),
        )
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(x + self.body(x))


class PlateNet(nn.Module):
    """Grey (N, 1, 48, 160) in [0, 1] -> per-column logits (N, COLUMNS, len(ALPHABET)), trained with CTC.

    `wide` (the default since version 5) spends more width where the map is small (3 x 40 and 1 x 40) and
    adds two residual context blocks (227k parameters instead of the small layout's 104k, versions 1-4).
    Started on the hard street-view crops it stayed on the CTC all-blank plateau for 850 steps (loss 3.5,
    0 exact); with the clean-crop curriculum it learns, and in the same one command it read the development
    set 0.934 -> 0.955 exactly (model card, version 5). Version 8 doubles those channels (`width=2`: 844k
    parameters; `scanauto train ocr`'s default): development sets 0.9719 -> 0.9778 and 0.9857 -> 0.9898 on the
    mean of two seeds, at half the plates per second (model card, version 8).
    """

    def __init__(self, wide: bool = True, width: float = 1.0) -> None:
        super().__init__()
        c3, c4, c5, head = (96, 128, 160, 192) if wide else (64, 96, 128, 128)
        # `width` scales the last stages and the head to multiples of 16 (1.0 keeps the channels above).
        c3, c4, c5, head = (max(16, round(c * width / 16) * 16) for c in (c3, c4, c5, head))
        context: list[nn.Module] = (
            [_Context(head), _Context(head)]
            if wide
            else [
                nn.Conv2d(head, head, (1, 7), padding=(0, 3), groups=head, bias=False),
                nn.BatchNorm2d(head),
                nn.ReLU(inplace=True),
                nn.Conv2d(head, head, 1, bias=False),
                nn.BatchNorm2d(head),
                nn.ReLU(inplace=True),
            ]
        )
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, stride=2, padding=1, bias=False),  # 24 x 80
            nn.BatchNorm2d(32),
            nn.ReLU(inplace=True),
            _separable(32, 48),
            nn.MaxPool2d(2),  # 12 x 40
            _separable(48, 64),
            _separable(64, c3),
            nn.MaxPool2d((2, 1)),  # 6 x 40: keep horizontal resolution for the CTC columns
            _separable(c3, c4),
            nn.MaxPool2d((2, 1)),  # 3 x 40
            _separable(c4, c5),
            nn.Conv2d(c5, head, (3, 1), bias=False),  # 1 x 40: collapse the height
            nn.BatchNorm2d(head),
            nn.ReLU(inplace=True),
            *context,  # context along the plate, so a column knows its neighbours (dashes, repeats)
            nn.Dropout(0.1),
            nn.Conv2d(head, len(ALPHABET), 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x).squeeze(2).permute(0, 2, 1)


def ctc_to_slots(probs: torch.Tensor) -> torch.Tensor:
    """Greedy CTC decoding as tensor ops: column probabilities (N, T, C) -> slot probabilities (N, S, C).

    Each kept column (best class not blank, not a repeat of the column before) becomes the next slot
    and keeps its whole distribution, so look-alikes (O/0, B/8) stay ranked; empty slots are pad.
    """
    best = probs.argmax(-1)
    prev = torch.cat([torch.full_like(best[:, :1], BLANK), best[:, :-1]], dim=1)
    keep = (best != BLANK) & (best != prev)
    pos = torch.cumsum(keep.long(), dim=1) - 1
    slots = torch.arange(MAX_SLOTS, device=probs.device)
    assign = (keep.unsqueeze(-1) & (pos.unsqueeze(-1) == slots)).float()  # (N, T, S)
    out = torch.bmm(assign.transpose(1, 2), probs)
    empty = 1.0 - assign.sum(dim=1)  # (N, S)
    pad = torch.zeros(probs.shape[-1], device=probs.device)
    pad[BLANK] = 1.0
    return out + empty.unsqueeze(-1) * pad


class ExportWrapper(nn.Module):
    """The fast-plate-ocr interface: uint8 RGB (N, H, W, 3) -> slot probabilities (N, slots, vocab), and as a
    second output the CTC column probabilities (N, COLUMNS, vocab) they are collapsed from (`edge.ctc`)."""

    def __init__(self, net: PlateNet) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("gray", torch.tensor(GRAY_WEIGHTS).view(1, 3, 1, 1) / 255.0)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        rgb = x.permute(0, 3, 1, 2).float()
        grey = (rgb * self.gray).sum(dim=1, keepdim=True)
        columns = torch.softmax(self.net(grey), dim=-1)
        return ctc_to_slots(columns), columns


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="scanauto train ocr", description=__doc__)
    p.add_argument("--train-size", type=int, default=80_000, help="synthetic training crops (Dutch/EU)")
    p.add_argument("--world-size", type=int, default=10_000, help="synthetic US-style/Brazilian training crops")
    p.add_argument("--clean-size", type=int, default=20_000, help="clean crops for the curriculum (0: no curriculum)")
    p.add_argument("--clean-loss", type=float, default=1.0, help="curriculum: loss on clean crops that starts the ramp")
    p.add_argument("--max-clean-steps", type=int, default=1500, help="curriculum: steps on clean crops at most")
    p.add_argument("--ramp-steps", type=int, default=300, help="curriculum: steps over which hard crops come in")
    p.add_argument("--clean-floor", type=float, default=0.05, help="curriculum: clean share kept after the ramp")
    p.add_argument("--clip", type=float, default=5.0, help="gradient norm clipping (0: none)")
    p.add_argument("--valid-size", type=int, default=2_000, help="synthetic validation crops")
    p.add_argument("--scene-valid", type=int, default=300, help="street scenes: 2nd valid set")
    p.add_argument("--budget", type=float, default=57.0, help="minutes for the whole run (data + training)")
    p.add_argument(
        "--minutes", type=float, help="minutes of the float training (overrides --budget); with --qat: of the int8 one"
    )
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (warm-up, then cosine by the clock)")
    p.add_argument("--real-share", type=float, default=0.1, help="share of each batch taken from real crops")
    p.add_argument("--real-variants", type=int, default=24, help="augmented crops per pseudo-labelled real plate")
    p.add_argument(
        "--no-augment",
        dest="augment",
        action="store_false",
        help="train on the crops as generated; by default every hard crop of a batch is moved and re-exposed on the "
        "fly (models/ocr/augment.py), so that the passes over the fixed crop set differ (OCR card, version 9)",
    )
    p.add_argument("--no-real", action="store_true", help="synthetic crops only (no pseudo-labelled real crops)")
    p.add_argument("--min-prob", type=float, default=0.9, help="teacher's least slot probability to keep a real plate")
    p.add_argument(
        "--init",
        type=Path,
        help=f"start from this exported model (same layout) instead of scratch (--qat: {FLOAT_PATH.name})",
    )
    p.add_argument(
        "--small", dest="wide", action="store_false", help="the small layout of versions 1-4 (see PlateNet; --width 1)"
    )
    p.add_argument(
        "--width",
        type=float,
        default=2.0,
        help="channel multiplier of the last stages and the head (2.0: version 8, 843,605 parameters, about 1,230 "
        "plates/s batched on 2 threads; 1.0: version 7's layout, 226,549 parameters; see the OCR card)",
    )
    p.add_argument(
        "--qat",
        action="store_true",
        help="only the int8 phase: quantization-aware fine-tuning of the --init model (default the float parent) "
        "for --minutes (default --qat-minutes), fp32, int8 export (models/ocr/qat.py)",
    )
    p.add_argument(
        "--qat-minutes",
        type=float,
        default=10.0,
        help="minutes of the int8 phase after the float training, within --budget (0: float model only)",
    )
    p.add_argument("--qat-lr", type=float, default=2e-4, help="peak learning rate of the int8 phase")
    p.add_argument("--calib-size", type=int, default=512, help="--qat: synthetic crops that set activation ranges")
    p.add_argument("--recalibrate", type=int, default=250, help="--qat: steps between activation range updates")
    p.add_argument("--seed", type=int, default=0, help="torch seed (weights init, shuffling)")
    p.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help="bf16 (version 8): the forward pass under bfloat16 autocast (weights, loss and export stay fp32); on a "
        "CPU with AVX512-BF16 a step of the wide layout takes about what an fp32 step of version 7's took. auto: bf16 "
        "where the CPU has native bfloat16 (avx512_bf16 or amx_bf16 in /proc/cpuinfo), else fp32, where no bf16 "
        "speed was measured; in fp32 the time budget trains fewer steps than version 8 had",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=2,
        help="torch threads (2: both cores, no other training running, as for version 4; 1 when the CPU is shared)",
    )
    p.add_argument("--workers", type=int, default=2, help="processes generating crops")
    p.add_argument("--cache", type=Path, default=Path(".cache/ocr"), help="folder to keep generated arrays in")
    p.add_argument("--checkpoint", type=Path, default=Path("var/ocr.pt"), help="torch weights saved here")
    p.add_argument(
        "--valid-every", type=float, default=10.0, help="minutes between validations (with --steps: --valid-steps)"
    )
    p.add_argument(
        "--steps",
        type=int,
        help="float training steps (overrides --budget and --minutes): the schedule, the hard crops' arrival and "
        "the validations follow the steps, not the clock, so the weights do not depend on the machine's pace",
    )
    p.add_argument("--qat-steps", type=int, help="int8 phase steps (overrides --qat-minutes), as --steps")
    p.add_argument("--valid-steps", type=int, default=2000, help="with --steps: steps between validations")
    p.add_argument("--partial", type=Path, help="export an ONNX snapshot here at every validation")
    p.add_argument("--onnx", type=Path, default=ONNX_PATH, help="the int8 model (the deployed one)")
    p.add_argument("--float-onnx", type=Path, default=FLOAT_PATH, help="the float model (the int8 phase's parent)")
    p.add_argument("--config", type=Path, default=CONFIG_PATH)
    args = p.parse_args(argv)
    if args.qat and args.init is None:
        args.init = FLOAT_PATH
    for name in ("steps", "qat_steps", "valid_steps"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


def _cache_path(
    args: argparse.Namespace, seed: int, count: int, world: bool = False, clean: bool = False
) -> Path | None:
    kind = "world-" if world else "clean-" if clean else ""
    return args.cache / f"ocr-v{data_tag()}-{kind}{seed}-{count}.npz" if args.cache else None


def _arrays(
    seed: int, count: int, args: argparse.Namespace, desc: str, world: bool = False, clean: bool = False
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Generated crops, from the cache folder when they were made there before (same seed and count)."""
    path = _cache_path(args, seed, count, world, clean)
    if path is not None and path.exists():
        with np.load(path) as data:
            return data["x"], data["y"]
    x, y = generate_arrays(seed, count, args.workers, desc=desc, world=world, clean=clean)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, x=x, y=y)
    return x, y


def _cached(name: str, args: argparse.Namespace, make: Callable[[], tuple[np.ndarray, np.ndarray]]) -> tuple:
    path = args.cache / name if args.cache else None
    if path is not None and path.exists():
        with np.load(path) as data:
            return data["x"], data["y"]
    x, y = make()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, x=x, y=y)
    return x, y


def _hard_stream(args: argparse.Namespace) -> tuple[CropStream, list[tuple[int, int, bool]]]:
    """The hard training sets (street-view and warped crops, US/BR crops): from the cache when every set is
    there, otherwise generated in the background while training starts on the clean crops."""
    sets = [(TRAIN_SEED, args.train_size, False)] + ([(WORLD_SEED, args.world_size, True)] if args.world_size else [])
    paths = [_cache_path(args, seed, count, world) for seed, count, world in sets]
    if all(p is not None and p.exists() for p in paths):
        xs, ys = [], []
        for p in paths:
            with np.load(p) as data:
                xs.append(data["x"])
                ys.append(data["y"])
        return CropStream.ready_made(np.concatenate(xs), np.concatenate(ys), sets), sets
    return CropStream(sets, args.workers), sets


def _save_sets(stream: CropStream, sets: list[tuple[int, int, bool]], args: argparse.Namespace) -> None:
    """Cache each generated set under the name `_arrays` would give it."""
    for (seed, count, world), offset in zip(sets, stream.offsets, strict=True):
        path = _cache_path(args, seed, count, world)
        if path is not None and not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(path, x=stream.x[offset : offset + count], y=stream.y[offset : offset + count])


def _real(args: argparse.Namespace) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Pseudo-labelled romanian-dashcam train-split crops, augmented (see models/ocr/pseudo.py)."""
    from models.ocr import pseudo

    def make() -> tuple[np.ndarray, np.ndarray]:
        kept, seen = pseudo.label(min_prob=args.min_prob)
        texts = {k.text for k in kept}
        print(f"real crops: kept {len(kept)} of {seen} train-split plates ({len(texts)} distinct texts)", flush=True)
        return pseudo.real_arrays(kept, args.real_variants)

    return _cached(f"ocr-real-v{data_tag()}-p{args.min_prob}-x{args.real_variants}.npz", args, make)


def _scene_valid(args: argparse.Namespace) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Plates of whole street scenes (seed namespace 606, used nowhere else), cut at their true boxes with
    the edge's margin: the crops `scanauto eval` gives the OCR, minus the detector's error."""
    from models.ocr.dataset import scene_arrays

    return _cached(
        f"ocr-scenes-v{data_tag()}-{args.scene_valid}.npz",
        args,
        lambda: scene_arrays(SCENE_VALID_NAMESPACE, args.scene_valid, args.workers),
    )


def _to_tensor(x: npt.NDArray[np.uint8]) -> torch.Tensor:
    t = torch.from_numpy(x).unsqueeze(1).float().div_(255.0)
    return t.contiguous(memory_format=torch.channels_last)


@torch.no_grad()
def _accuracy(net: nn.Module, x: npt.NDArray[np.uint8], y: npt.NDArray[np.int64]) -> tuple[float, float]:
    """(exact plate reads, slots right) on a labelled set, counting pad slots as characters."""
    net.eval()
    preds = torch.cat(
        [ctc_to_slots(net(_to_tensor(x[i : i + 512])).softmax(-1)).argmax(-1) for i in range(0, len(x), 512)]
    )
    net.train()
    right = preds.numpy() == y
    return float(right.all(axis=1).mean()), float(right.mean())


def export(net: PlateNet, onnx_path: Path, config_path: Path) -> None:
    """Write the ONNX model (uint8 RGB NHWC in; softmax slots out as `plate`, the CTC columns as `columns`) and its
    fast-plate-ocr config."""
    wrapper = ExportWrapper(net).eval()
    dummy = torch.zeros(1, IMG_H, IMG_W, 3, dtype=torch.uint8)
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated but needs no onnxscript
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            wrapper,
            (dummy,),
            str(onnx_path),
            input_names=["input"],
            output_names=["plate", COLUMNS_OUTPUT],
            dynamic_axes={"input": {0: "batch"}, "plate": {0: "batch"}, COLUMNS_OUTPUT: {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    config = {
        "max_plate_slots": MAX_SLOTS,
        "alphabet": ALPHABET,
        "pad_char": "_",
        "img_height": IMG_H,
        "img_width": IMG_W,
        "keep_aspect_ratio": False,
        "interpolation": "linear",
        "image_color_mode": "rgb",
    }
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


@torch.no_grad()
def init_from_onnx(net: PlateNet, onnx_path: Path, sample: npt.NDArray[np.uint8]) -> None:
    """Warm start from an exported model of the same layout (batch norm folded into its convolutions).

    Each convolution takes the exported kernel; its batch norm is set, from the statistics of `sample`,
    so that in training mode (batch statistics) and in eval mode it reproduces the exported bias:
    gamma = batch std, beta = batch mean + folded bias.
    """
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(onnx_path))
    weights = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    convs = [(n.input[1], n.input[2] if len(n.input) > 2 else None) for n in model.graph.node if n.op_type == "Conv"]
    layers = [m for m in net.features.modules() if not isinstance(m, nn.Sequential)]
    mine = [m for m in layers if isinstance(m, nn.Conv2d)]
    if len(mine) != len(convs) or any(
        tuple(c.weight.shape) != weights[w].shape for c, (w, _) in zip(mine, convs, strict=False)
    ):
        raise ValueError(f"{onnx_path} does not have this network's layout")
    folded = {id(c): (weights[w], weights[b] if b else None) for c, (w, b) in zip(mine, convs, strict=True)}
    net.eval()
    x = _to_tensor(sample)
    pending: torch.Tensor | None = None  # a conv's folded bias, waiting for its batch norm
    for m in layers:
        if isinstance(m, nn.Conv2d):
            w, b = folded[id(m)]
            m.weight.copy_(torch.from_numpy(np.array(w)))
            if m.bias is not None:
                m.bias.copy_(torch.from_numpy(np.array(b)))
                pending = None
            else:
                pending = torch.from_numpy(np.array(b))
            x = m(x)
        elif isinstance(m, nn.BatchNorm2d):
            mean, var = x.mean(dim=(0, 2, 3)), x.var(dim=(0, 2, 3), unbiased=False)
            m.running_mean.copy_(mean)
            m.running_var.copy_(var)
            m.weight.copy_(torch.sqrt(var + m.eps))
            m.bias.copy_(mean + (pending if pending is not None else 0.0))
            pending = None
            x = m(x)
        else:
            x = m(x)
    net.train()


def _export(net: nn.Module, onnx_path: Path, config_path: Path, x_calib: npt.NDArray[np.uint8]) -> None:
    """The float export, or for a quantization-aware network its int8 export calibrated on `x_calib`."""
    if isinstance(net, PlateNet):
        export(net, onnx_path, config_path)
        return
    from models.ocr import qat

    qat.calibrate(net, x_calib)  # type: ignore[arg-type]
    qat.export_int8(net, onnx_path, config_path, x_calib)  # type: ignore[arg-type]


def _lr(peak: float, step: int, frac: float) -> float:
    """Linear warm-up over 300 steps, then cosine to zero as the clock (or the step count) runs out."""
    return peak * min(1.0, (step + 1) / 300) * 0.5 * (1 + math.cos(math.pi * min(1.0, frac)))


HARD_RELEASE_STEPS = 300
"""With a fixed step count, the hard crops come in over the first 300 float steps, chunk by chunk (on the
clock, 90,000 of them were all ready after 250 to 290 steps, OCR card, session 31); a step that needs
chunks the generator has not finished waits for them."""


def _chunks_due(stream: CropStream, step: int, release_steps: int) -> int:
    """How many of the stream's chunks a step-scheduled batch draws from at `step` (0-based)."""
    n = len(stream.chunks)
    return n if release_steps <= 0 else math.ceil(n * min(1.0, (step + 1) / release_steps))


@dataclass
class _Data:
    """Everything a training phase draws from: the hard synthetic stream (filling in the background), clean and
    real crops, the validation sets, and the calibration crops of the int8 phase."""

    stream: CropStream
    sets: list[tuple[int, int, bool]]
    x_clean: npt.NDArray[np.uint8]
    y_clean: npt.NDArray[np.int64]
    x_real: npt.NDArray[np.uint8]
    y_real: npt.NDArray[np.int64]
    x_valid: npt.NDArray[np.uint8]
    y_valid: npt.NDArray[np.int64]
    x_scene: npt.NDArray[np.uint8]
    y_scene: npt.NDArray[np.int64]
    x_calib: npt.NDArray[np.uint8]
    t_start: float
    saved: bool = False
    """The hard sets are in the cache (loaded from it, or written once the stream was done)."""


def _load_data(args: argparse.Namespace, qat_phase: bool) -> _Data:
    t_start = time.perf_counter()
    empty = (np.zeros((0, IMG_H, IMG_W), np.uint8), np.zeros((0, MAX_SLOTS), np.int64))
    x_clean, y_clean = empty
    if args.clean_size and not args.qat:
        x_clean, y_clean = _arrays(CLEAN_SEED, args.clean_size, args, "clean crops", clean=True)
    x_valid, y_valid = _arrays(VALID_SEED, args.valid_size, args, "valid crops")
    x_scene, y_scene = _scene_valid(args)
    x_real, y_real = empty
    if not args.no_real and args.real_share > 0:
        x_real, y_real = _real(args)
    x_calib = empty[0]
    if qat_phase:
        x_calib = _arrays(CALIB_SEED, args.calib_size, args, "calibration crops")[0]
        if len(x_real):  # real looks set ranges too: a fixed sample of the real training crops
            pick = np.random.default_rng(CALIB_SEED).choice(len(x_real), min(128, len(x_real)), replace=False)
            x_calib = np.concatenate([x_calib, x_real[np.sort(pick)]])
    # The slow part last, in the background: pools are forked before any thread-holding pool exists.
    stream, sets = _hard_stream(args)
    data = _Data(stream, sets, x_clean, y_clean, x_real, y_real, x_valid, y_valid, x_scene, y_scene, x_calib, t_start)
    data.saved = stream.done
    print(
        f"data: {len(x_clean)} clean + {len(x_real)} real train crops, {len(x_valid)} + {len(x_scene)} valid "
        f"crops in {(time.perf_counter() - t_start) / 60:.1f} min; {stream.poll()} of {len(stream.x)} hard "
        f"synthetic crops ready, the rest {'follows during training' if not stream.done else 'cached'}",
        flush=True,
    )
    return data


def _validate(net: nn.Module, data: _Data, what: str) -> None:
    exact, chars = _accuracy(net, data.x_valid, data.y_valid)
    s_exact, s_chars = _accuracy(net, data.x_scene, data.y_scene) if len(data.x_scene) else (0.0, 0.0)
    print(
        f"{what}: synthetic crops exact {exact:.4f} chars {chars:.4f}; scene plates exact {s_exact:.4f} "
        f"chars {s_chars:.4f}",
        flush=True,
    )


def _fit(
    net: nn.Module, data: _Data, args: argparse.Namespace, budget_s: float, peak_lr: float, curriculum: Curriculum,
    precision: str, phase: str, steps: int | None = None, release_steps: int = 0,
) -> None:  # fmt: skip
    """One training phase on the clock, `budget_s` seconds, or of `steps` steps: warm-up then cosine from
    `peak_lr`. With `steps`, the hard crops come in over `release_steps` (0: all from the first step) and the
    run does not depend on the clock. A phase with a quantization-aware network (models/ocr/qat.py) trains in
    fp32 and measures its activation ranges again every `args.recalibrate` steps."""
    quantized = not isinstance(net, PlateNet)
    if quantized:
        from models.ocr import qat
    stream = data.stream
    n_train = len(stream.x)
    opt = torch.optim.AdamW(net.parameters(), lr=peak_lr, weight_decay=1e-4)
    loss_fn = nn.CTCLoss(blank=BLANK, zero_infinity=True)
    gen = torch.Generator().manual_seed(args.seed)
    gen_aug = torch.Generator().manual_seed(10_000 + args.seed)  # its own stream: the batches stay the same
    y_real_t, y_clean_t = torch.from_numpy(data.y_real), torch.from_numpy(data.y_clean)
    step, seen, frac, t_train, t_report = 0, 0, 0.0, time.perf_counter(), time.perf_counter()
    step_report = 0
    t_valid = t_train
    losses: list[float] = []
    plan = f"{steps} steps" if steps else f"{budget_s / 60:.1f} min"
    follows = "the step count" if steps else "the clock"
    print(f"{phase}: training for {plan} in {precision} (the schedule follows {follows})", flush=True)
    while frac < 1.0:
        recent = float(np.mean(losses[-50:])) if len(losses) >= 50 else math.inf
        n_clean, n_hard = curriculum.split(step, recent, args.batch_size)
        share = n_hard / args.batch_size
        n_real = round(n_hard * args.real_share) if len(data.x_real) and not args.no_real else 0
        n_syn = n_hard - n_real
        if not stream.done:
            stream.poll(wait=n_syn > 0 and not len(stream.available) and not steps)
        if steps:  # the chunks due at this step, waiting for them only when the batch takes hard crops
            ready = stream.rows(_chunks_due(stream, step, release_steps)) if n_syn else stream.available[:0]
        else:
            ready = stream.available
        if stream.done and not data.saved:
            data.saved = True
            _save_sets(stream, data.sets, args)
            elapsed_all = (time.perf_counter() - data.t_start) / 60
            print(f"all {n_train} hard crops ready after {elapsed_all:.1f} min", flush=True)
        idx = ready[torch.randint(len(ready), (n_syn,), generator=gen).numpy()] if n_syn else ready[:0]
        xb_np, yb = stream.x[idx], torch.from_numpy(stream.y[idx])
        if n_real:
            ridx = torch.randint(len(data.x_real), (n_real,), generator=gen)
            xb_np = np.concatenate([xb_np, data.x_real[ridx.numpy()]])
            yb = torch.cat([yb, y_real_t[ridx]])
        if n_clean:
            cidx = torch.randint(len(data.x_clean), (n_clean,), generator=gen)
            xb_np = np.concatenate([xb_np, data.x_clean[cidx.numpy()]])
            yb = torch.cat([yb, y_clean_t[cidx]])
        xb = _to_tensor(xb_np)
        if args.augment and n_hard:  # the hard crops (synthetic and real) only: the clean ones start the curriculum
            xb = torch.cat([augment(xb[:n_hard], gen_aug), xb[n_hard:]]).contiguous(memory_format=torch.channels_last)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            logits = net(xb)
        log_probs = logits.float().log_softmax(-1).permute(1, 0, 2)  # (T, N, C) for CTC, in fp32
        lengths = (yb != BLANK).sum(dim=1)
        loss = loss_fn(log_probs, yb[yb != BLANK], torch.full_like(lengths, COLUMNS), lengths)
        lr = _lr(peak_lr, step, frac)
        for group in opt.param_groups:
            group["lr"] = lr
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if args.clip > 0:
            nn.utils.clip_grad_norm_(net.parameters(), args.clip)
        opt.step()
        step += 1
        if quantized and step % args.recalibrate == 0:  # the weights moved: so did the activations' ranges
            qat.calibrate(net, data.x_calib)  # type: ignore[arg-type]
        seen += len(yb)
        losses.append(float(loss.detach()))
        elapsed = time.perf_counter() - t_train
        frac = step / steps if steps else elapsed / budget_s
        if time.perf_counter() - t_report >= 30 or frac >= 1.0:
            # With a step count, the ETA takes the pace since the last line: the first minutes, while the workers
            # still generate hard crops on the same cores, run at a fraction of the later pace.
            pace = (step - step_report) / max(1e-9, time.perf_counter() - t_report)
            eta_s = (steps - step) / max(pace, 1e-9) if steps else budget_s - elapsed
            t_report, step_report = time.perf_counter(), step
            minutes = f"{elapsed / 60:.1f}" if steps else f"{elapsed / 60:.1f}/{budget_s / 60:.1f}"
            where = f"{step}/{steps} steps, {minutes} min" if steps else f"{minutes} min"
            print(
                f"{phase} step {step} ({seen / n_train:.2f} passes) loss {np.mean(losses[-100:]):.4f} lr {lr:.1e} "
                f"hard {share:.2f} ({len(stream.available)} ready) {seen / elapsed:.0f} crops/s, {where}, "
                f"ETA {eta_s / 60:.1f} min",
                flush=True,
            )
        due = step % args.valid_steps == 0 if steps else time.perf_counter() - t_valid >= args.valid_every * 60
        if due or frac >= 1.0:
            t_valid = time.perf_counter()
            _validate(net, data, f"{phase} valid after {step} steps")
            if frac < 1.0 and args.partial is not None:  # a snapshot to look at (or fall back to) mid-run
                _export(net, args.partial, args.partial.with_suffix(".yaml"), data.x_calib)
                net.train()


def _quant_net(args: argparse.Namespace, onnx_path: Path, data: _Data) -> nn.Module:
    """The quantization-aware network of an exported float model, its activation ranges measured."""
    from models.ocr import qat

    net = qat.QuantPlateNet(args.width).to(memory_format=torch.channels_last)
    net.load_onnx(onnx_path)
    qat.calibrate(net, data.x_calib)
    print(f"qat: int8 rounding on, activation ranges from {len(data.x_calib)} crops", flush=True)
    _validate(net, data, f"start from {onnx_path} with int8 rounding")
    return net


def _no_curriculum() -> Curriculum:
    return Curriculum(max_clean_steps=0, ramp_steps=1, clean_floor=0.0)  # hard crops from the first step


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    qat_phase = args.qat or args.qat_minutes > 0 or args.qat_steps is not None
    if qat_phase and not args.wide:
        raise SystemExit("int8 fine-tuning needs the wide layout (version 8's): --small takes --qat-minutes 0")
    if args.qat and not ((args.minutes or args.qat_minutes) > 0 or args.qat_steps):
        raise SystemExit(
            "--qat trains the int8 phase only: give it minutes (--minutes or --qat-minutes above 0) or --qat-steps"
        )
    if args.init is not None and not args.init.is_file():
        raise SystemExit(f"--init {args.init}: no such model; train the float one first (`scanauto train ocr`)")
    if args.precision == "auto" and not args.qat:
        args.precision = training_precision("auto")
        found = "found" if args.precision == "bf16" else "not found"
        print(f"precision: {args.precision} (auto: native bfloat16 {found} on this CPU)")
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    data = _load_data(args, qat_phase)
    t_data = time.perf_counter() - data.t_start
    args.checkpoint.parent.mkdir(parents=True, exist_ok=True)
    if args.qat:  # fine-tuning only: the float model is given
        net = _quant_net(args, args.init, data)
        budget_s = (args.minutes * 60) if args.minutes else args.qat_minutes * 60
        _fit(net, data, args, budget_s, args.qat_lr, _no_curriculum(), "fp32", "qat", args.qat_steps)
    else:
        # The clock: data, float training, its export, the int8 phase (with its export) within --budget.
        qat_s = args.qat_minutes * 60
        budget_s = (args.minutes * 60) if args.minutes else max(60.0, args.budget * 60 - t_data - 60 - qat_s)
        net = PlateNet(wide=args.wide, width=args.width).to(memory_format=torch.channels_last)
        if args.init is not None:
            first = data.stream.rows(3)[:512]  # the same crops however fast the generator is
            sample = data.stream.x[first] if len(first) else data.x_clean[:512]
            init_from_onnx(net, args.init, sample)
            _validate(net, data, f"start from {args.init}")
        curriculum = (
            Curriculum(args.clean_loss, args.max_clean_steps, args.ramp_steps, args.clean_floor)
            if len(data.x_clean)
            else _no_curriculum()
        )
        _fit(net, data, args, budget_s, args.lr, curriculum, args.precision, "float", args.steps, HARD_RELEASE_STEPS)
        torch.save(net.state_dict(), args.checkpoint.with_suffix(".float.pt") if qat_phase else args.checkpoint)
        export(net, args.float_onnx, args.config)
        print(f"wrote {args.float_onnx} (float)", flush=True)
        if qat_phase:
            net = _quant_net(args, args.float_onnx, data)
            _fit(net, data, args, qat_s, args.qat_lr, _no_curriculum(), "fp32", "qat", args.qat_steps)
    if not data.stream.done:
        print(f"{len(data.stream.available)} of {len(data.stream.x)} hard crops were ready when training ended")
        data.stream.close()
    if qat_phase:
        torch.save(net.state_dict(), args.checkpoint)
        _export(net, args.onnx, args.config, data.x_calib)
        size_kb = args.onnx.stat().st_size / 1024
        print(f"wrote {args.onnx} (int8, {size_kb:.0f} KiB) and {args.config}", flush=True)
    print(f"total {(time.perf_counter() - data.t_start) / 60:.1f} min", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
