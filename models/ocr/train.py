"""Train the plate OCR (CNN + CTC) on synthetic crops on CPU; export fast-plate-ocr ONNX (slots) + config."""

from __future__ import annotations

import argparse
import math
import time
import warnings
from pathlib import Path

import numpy as np
import numpy.typing as npt
import torch
import yaml
from torch import nn

from models.ocr.dataset import (
    ALPHABET,
    IMG_H,
    IMG_W,
    MAX_SLOTS,
    TRAIN_SEED,
    VALID_SEED,
    generate_arrays,
)

HERE = Path(__file__).resolve().parent
ONNX_PATH = HERE / "plate_ocr.onnx"
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


class PlateNet(nn.Module):
    """Grey (N, 1, 48, 160) in [0, 1] -> per-column logits (N, COLUMNS, len(ALPHABET)), trained with CTC."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, stride=2, padding=1, bias=False),  # 24 x 80
            nn.BatchNorm2d(32),
            nn.ReLU(inplace=True),
            _separable(32, 48),
            nn.MaxPool2d(2),  # 12 x 40
            _separable(48, 64),
            _separable(64, 64),
            nn.MaxPool2d((2, 1)),  # 6 x 40: keep horizontal resolution for the CTC columns
            _separable(64, 96),
            nn.MaxPool2d((2, 1)),  # 3 x 40
            _separable(96, 128),
            nn.Conv2d(128, 128, (3, 1), bias=False),  # 1 x 40: collapse the height
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
            # Context along the plate, so a column knows its neighbours (dashes, repeated characters).
            nn.Conv2d(128, 128, (1, 7), padding=(0, 3), groups=128, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
            nn.Conv2d(128, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
            nn.Dropout(0.1),
            nn.Conv2d(128, len(ALPHABET), 1),
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
    """The fast-plate-ocr interface: uint8 RGB (N, H, W, 3) -> slot probabilities (N, slots, vocab)."""

    def __init__(self, net: PlateNet) -> None:
        super().__init__()
        self.net = net
        self.register_buffer("gray", torch.tensor(GRAY_WEIGHTS).view(1, 3, 1, 1) / 255.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rgb = x.permute(0, 3, 1, 2).float()
        grey = (rgb * self.gray).sum(dim=1, keepdim=True)
        return ctc_to_slots(torch.softmax(self.net(grey), dim=-1))


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m models.ocr.train", description=__doc__)
    p.add_argument("--train-size", type=int, default=80_000, help="synthetic training crops")
    p.add_argument("--valid-size", type=int, default=2_000, help="synthetic validation crops")
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3, help="peak learning rate (one-cycle)")
    p.add_argument("--seed", type=int, default=0, help="torch seed (weights init, shuffling)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (1 is several times faster on a shared CPU)")
    p.add_argument("--workers", type=int, default=2, help="processes generating crops")
    p.add_argument("--cache", type=Path, help="folder to keep generated arrays in and reuse them from")
    p.add_argument("--onnx", type=Path, default=ONNX_PATH)
    p.add_argument("--config", type=Path, default=CONFIG_PATH)
    return p.parse_args(argv)


def _arrays(
    seed: int, count: int, args: argparse.Namespace, desc: str
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Generated crops, from the cache folder when they were made there before (same seed and count)."""
    path = args.cache / f"ocr-{seed}-{count}.npz" if args.cache else None
    if path is not None and path.exists():
        with np.load(path) as data:
            return data["x"], data["y"]
    x, y = generate_arrays(seed, count, args.workers, desc=desc)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, x=x, y=y)
    return x, y


def _batches(n: int, size: int, gen: torch.Generator) -> list[torch.Tensor]:
    return list(torch.randperm(n, generator=gen).split(size))


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
    """Write the ONNX model (uint8 RGB NHWC in, softmax slots out) and its fast-plate-ocr config."""
    wrapper = ExportWrapper(net).eval()
    dummy = torch.zeros(1, IMG_H, IMG_W, 3, dtype=torch.uint8)
    with warnings.catch_warnings():  # the TorchScript exporter is deprecated but needs no onnxscript
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(
            wrapper,
            (dummy,),
            str(onnx_path),
            input_names=["input"],
            output_names=["plate"],
            dynamic_axes={"input": {0: "batch"}, "plate": {0: "batch"}},
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


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    t_start = time.perf_counter()
    x_train, y_train = _arrays(TRAIN_SEED, args.train_size, args, "train crops")
    x_valid, y_valid = _arrays(VALID_SEED, args.valid_size, args, "valid crops")
    t_data = time.perf_counter() - t_start
    print(f"data: {len(x_train)} train + {len(x_valid)} valid crops in {t_data:.0f} s", flush=True)

    net = PlateNet().to(memory_format=torch.channels_last)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    steps_per_epoch = math.ceil(len(x_train) / args.batch_size)
    total_steps = steps_per_epoch * args.epochs
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=total_steps, pct_start=0.15)
    loss_fn = nn.CTCLoss(blank=BLANK, zero_infinity=True)
    gen = torch.Generator().manual_seed(args.seed)
    y_all = torch.from_numpy(y_train)
    step, t_train = 0, time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        seen, loss_sum, t_epoch = 0, 0.0, time.perf_counter()
        for idx in _batches(len(x_train), args.batch_size, gen):
            xb = _to_tensor(x_train[idx.numpy()])
            log_probs = net(xb).log_softmax(-1).permute(1, 0, 2)  # (T, N, C) for CTC
            yb = y_all[idx]
            lengths = (yb != BLANK).sum(dim=1)
            loss = loss_fn(log_probs, yb[yb != BLANK], torch.full_like(lengths, COLUMNS), lengths)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            seen += len(idx)
            loss_sum += float(loss.detach()) * len(idx)
            if step % 100 == 0:
                rate = step * args.batch_size / (time.perf_counter() - t_train)
                eta = (total_steps - step) * args.batch_size / rate
                print(
                    f"epoch {epoch}/{args.epochs} step {step}/{total_steps} loss {loss_sum / seen:.4f} "
                    f"{rate:.0f} crops/s ETA {eta / 60:.1f} min",
                    flush=True,
                )
        exact, chars = _accuracy(net, x_valid, y_valid)
        print(
            f"epoch {epoch} done in {time.perf_counter() - t_epoch:.0f} s: loss {loss_sum / seen:.4f} "
            f"valid exact {exact:.4f} chars {chars:.4f}",
            flush=True,
        )
    export(net, args.onnx, args.config)
    total = time.perf_counter() - t_start
    size_kb = args.onnx.stat().st_size / 1024
    print(f"wrote {args.onnx} ({size_kb:.0f} KiB) and {args.config}; total {total / 60:.1f} min", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
