"""Train the plate detector (CenterNet-style heatmap + box head, stride 4) on CPU and export ONNX."""

from __future__ import annotations

import argparse
import math
import time
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from models.cpu import PRECISIONS, training_precision
from models.detector.data import (
    CANDIDATE_CLASSIC_SHARE,
    DEFAULT_MODEL,
    ROMANIAN,
    TRAIN_DRIVEBY_SEEDS,
    TRAIN_SCENES,
    Sample,
    driveby_samples,
    manifest_samples,
    synthetic_samples,
)
from models.detector.export import export_deployed

STRIDE = 4
CROP_H, CROP_W = 256, 320  # training crops; the network is fully convolutional


def _cbr(cin: int, cout: int, k: int = 3, s: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class PlateNet(nn.Module):
    """Plain 3x3 conv backbone (strides 2..32), FPN-lite merge back to stride 4, heatmap + box heads.

    Plain convolutions train faster on CPU than depthwise-separable ones at the same accuracy here.
    """

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.c2 = _cbr(3, 16, 3, 2)
        self.c4 = nn.Sequential(_cbr(16, 24, 3, 2), _cbr(24, 24))
        self.c8 = nn.Sequential(_cbr(24, 48, 3, 2), _cbr(48, 48))
        self.c16 = nn.Sequential(_cbr(48, 64, 3, 2), _cbr(64, 64))
        self.c32 = nn.Sequential(_cbr(64, 96, 3, 2), _cbr(96, 96))
        self.l4, self.l8 = _cbr(24, width, 1), _cbr(48, width, 1)
        self.l16, self.l32 = _cbr(64, width, 1), _cbr(96, width, 1)
        self.s8 = _cbr(width, width)
        # At stride 4 (15360 cells) a full 3x3 conv was a quarter of the compute: depthwise + pointwise instead.
        self.s4 = nn.Sequential(
            nn.Conv2d(width, width, 3, 1, 1, groups=width, bias=False), nn.BatchNorm2d(width), _cbr(width, width, 1)
        )
        self.heat = nn.Conv2d(width, 1, 1)
        self.reg = nn.Conv2d(width, 4, 1)
        nn.init.constant_(self.heat.bias, -2.19)  # start at p = 0.1, as CenterNet does

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        c4 = self.c4(self.c2(x))
        c8 = self.c8(c4)
        c16 = self.c16(c8)
        c32 = self.c32(c16)
        p16 = self.l16(c16) + F.interpolate(self.l32(c32), scale_factor=2.0, mode="nearest")
        p8 = self.s8(self.l8(c8) + F.interpolate(p16, scale_factor=2.0, mode="nearest"))
        p4 = self.s4(self.l4(c4) + F.interpolate(p8, scale_factor=2.0, mode="nearest"))
        heat, reg = self.heat(p4), self.reg(p4)
        if heat.dtype != torch.float32:  # under bfloat16 autocast: the sigmoid and the loss in fp32 (not exported)
            heat, reg = heat.float(), reg.float()
        return torch.sigmoid(heat), reg


def targets(
    boxes: np.ndarray, ignore: np.ndarray, out_h: int, out_w: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Heatmap, regression (4, h, w), regression weight and heatmap loss mask for one crop.

    Each plate is an elongated Gaussian peaking at 1 in the cell holding its centre; the box is
    regressed in every cell where its Gaussian exceeds 0.3, weighted by the Gaussian (TTFNet-style).
    `ignore` boxes (plates cut by the crop edge) are masked out of the heatmap loss.
    """
    mask = np.ones((out_h, out_w), np.float32)
    for x1, y1, x2, y2 in ignore:
        c0, r0 = max(0, int(x1 / STRIDE) - 1), max(0, int(y1 / STRIDE) - 1)
        mask[r0 : int(y2 / STRIDE) + 2, c0 : int(x2 / STRIDE) + 2] = 0.0
    heat = np.zeros((out_h, out_w), np.float32)
    reg = np.zeros((4, out_h, out_w), np.float32)
    weight = np.zeros((out_h, out_w), np.float32)
    ys, xs = np.mgrid[0:out_h, 0:out_w].astype(np.float32)
    for x1, y1, x2, y2 in boxes:
        cx, cy = (x1 + x2) / 2 / STRIDE, (y1 + y2) / 2 / STRIDE
        wc, hc = max(1.0, (x2 - x1) / STRIDE), max(0.5, (y2 - y1) / STRIDE)
        ix, iy = min(out_w - 1, int(cx)), min(out_h - 1, int(cy))
        sx, sy = max(0.6, 0.16 * wc), max(0.5, 0.16 * hc)
        g = np.exp(-((xs - ix) ** 2 / (2 * sx * sx) + (ys - iy) ** 2 / (2 * sy * sy)))
        np.maximum(heat, g, out=heat)
        region = (g > 0.3) & (g > weight)
        reg[0][region] = cx - xs[region]
        reg[1][region] = cy - ys[region]
        reg[2][region] = math.log(wc)
        reg[3][region] = math.log(hc)
        weight[region] = g[region]
    return heat[None], reg, weight[None], mask[None]


def focal_loss(pred: torch.Tensor, gt: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """CenterNet's penalty-reduced focal loss, normalised by the number of plate centres."""
    pred = pred.clamp(1e-4, 1 - 1e-4)
    pos = gt.eq(1).float() * mask
    pos_loss = torch.log(pred) * (1 - pred) ** 2 * pos
    neg_loss = torch.log(1 - pred) * pred**2 * (1 - gt) ** 4 * (1 - pos) * mask
    return -(pos_loss.sum() + neg_loss.sum()) / pos.sum().clamp(min=1.0)


def _rescaled(sample: Sample, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The sample zoomed by a random factor (0.55-1.6, log-uniform) so plate sizes vary more than the data's.

    The zoom is capped so that the widest plate fits a training crop; the image is padded up to crop size.
    """
    img, boxes = sample.image, sample.boxes
    zoom = math.exp(rng.uniform(math.log(0.55), math.log(1.6))) if rng.random() < 0.7 else 1.0
    if len(boxes):
        zoom = min(zoom, 0.85 * CROP_W / max(1.0, float((boxes[:, 2] - boxes[:, 0]).max())))
    if abs(zoom - 1.0) > 0.03:
        interp = cv2.INTER_AREA if zoom < 1 else cv2.INTER_LINEAR
        img = cv2.resize(img, None, fx=zoom, fy=zoom, interpolation=interp)
        boxes = boxes * np.float32(zoom)
    h, w = img.shape[:2]
    if h < CROP_H or w < CROP_W:
        padded = np.zeros((max(h, CROP_H), max(w, CROP_W), 3), np.uint8)
        padded[:h, :w] = img
        img = padded
    return img, boxes


def _crop(sample: Sample, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A CROP_H x CROP_W window of the zoomed sample, usually around a random plate, sometimes mirrored.

    Returns the image, the boxes wholly inside (targets) and the boxes cut by the window or too small to
    learn from (masked out of the loss).
    """
    image, boxes = _rescaled(sample, rng)
    h, w = image.shape[:2]
    if len(boxes) and rng.random() < 0.85:
        x1, y1, x2, y2 = boxes[rng.integers(len(boxes))]
        lo_x, hi_x = max(0.0, x2 - CROP_W), min(float(w - CROP_W), x1)
        lo_y, hi_y = max(0.0, y2 - CROP_H), min(float(h - CROP_H), y1)
        cx = int(rng.uniform(lo_x, hi_x)) if hi_x > lo_x else int(np.clip(x1, 0, w - CROP_W))
        cy = int(rng.uniform(lo_y, hi_y)) if hi_y > lo_y else int(np.clip(y1, 0, h - CROP_H))
    else:
        cx, cy = int(rng.integers(0, w - CROP_W + 1)), int(rng.integers(0, h - CROP_H + 1))
    img = image[cy : cy + CROP_H, cx : cx + CROP_W]
    shifted = boxes - np.array([cx, cy, cx, cy], np.float32)
    if rng.random() < 0.5:  # a mirrored plate is still a plate to the detector
        img = img[:, ::-1]
        shifted = np.stack([CROP_W - shifted[:, 2], shifted[:, 1], CROP_W - shifted[:, 0], shifted[:, 3]], axis=1)
    inside = (shifted[:, 0] >= 0) & (shifted[:, 1] >= 0) & (shifted[:, 2] <= CROP_W) & (shifted[:, 3] <= CROP_H)
    touching = (shifted[:, 2] > 0) & (shifted[:, 3] > 0) & (shifted[:, 0] < CROP_W) & (shifted[:, 1] < CROP_H)
    tiny = (shifted[:, 2] - shifted[:, 0]) < 8
    return np.ascontiguousarray(img), shifted[inside & ~tiny], shifted[touching & (~inside | tiny)]


def _batch(samples: list[Sample], idx: np.ndarray, rng: np.random.Generator) -> tuple[torch.Tensor, ...]:
    crops = [_crop(samples[i], rng) for i in idx]
    imgs = np.stack([c[0] for c in crops]).astype(np.float32) / 255.0
    # Photometric jitter per image: gain and offset, so exposure differences between sets matter less.
    gain = rng.uniform(0.7, 1.3, (len(idx), 1, 1, 1)).astype(np.float32)
    bias = rng.uniform(-0.08, 0.08, (len(idx), 1, 1, 1)).astype(np.float32)
    imgs = np.clip(imgs * gain + bias, 0, 1)
    tg = [targets(c[1], c[2], CROP_H // STRIDE, CROP_W // STRIDE) for c in crops]
    stacked = (torch.from_numpy(np.stack([t[k] for t in tg])) for k in range(4))
    return (torch.from_numpy(imgs.transpose(0, 3, 1, 2).copy()), *stacked)


def _parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="scanauto train detector", description=__doc__)
    p.add_argument("--scenes", type=int, default=2800, help="synthetic scenes to render (seed namespace 101)")
    p.add_argument("--driveby-every", type=int, default=8, help="use every n-th frame of 6 training drive-bys")
    p.add_argument(
        "--manifest", type=Path, action="append", default=None,
        help=f"labelled real set(s) in DATA.md format (default: {ROMANIAN}; 'none' for synthetic only)",
    )  # fmt: skip
    p.add_argument("--split", default="train", help="manifest rows to use (column 'split')")
    p.add_argument("--manifest-repeat", type=int, default=4, help="real images count this many times per epoch")
    p.add_argument(
        "--minutes", type=float, default=50.0,
        help="training time budget (after data generation); --total-minutes usually cuts it first",
    )  # fmt: skip
    p.add_argument(
        "--total-minutes", type=float, default=58.0,
        help="budget of the whole run, data included: training is cut to fit it when rendering was slow",
    )  # fmt: skip
    p.add_argument(
        "--steps", type=int,
        help="training steps (overrides --minutes and --total-minutes): the schedule follows the step count, not the "
        "clock, so the weights do not depend on the machine's pace (the run takes as long as it takes)",
    )  # fmt: skip
    p.add_argument(
        "--classic-share", type=float, default=0.0,
        help="share of the Dutch scene plates drawn as old blue or black classic plates (default 0: the street's "
        f"mix, about 1 %%; candidate 13 of the detector card: {CANDIDATE_CLASSIC_SHARE})",
    )  # fmt: skip
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--workers", type=int, default=2, help="processes rendering scenes")
    p.add_argument(
        "--threads", type=int, default=2,
        help="torch CPU threads (2: this machine's two cores, with no other training running; 1 when they are shared)",
    )  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="seed of initialisation and batch order")
    p.add_argument(
        "--precision", choices=PRECISIONS, default="fp32",
        help="fp32 (default): the shipped version 8's recipe. bf16: the forward pass under bfloat16 autocast (weights, "
        "loss and export stay fp32), about 1.5x the steps per minute on a CPU with AVX512-BF16 (candidate 9 in the "
        "card: better boxes, fewer exact reads with today's OCR, not shipped); auto: bf16 where the CPU has it",
    )  # fmt: skip
    p.add_argument("--out", type=Path, default=DEFAULT_MODEL)
    p.add_argument("--checkpoint", type=Path, default=Path("var/detector.pt"), help="torch weights saved here")
    p.add_argument("--init", type=Path, help="start from these torch weights (fine-tuning) instead of scratch")
    args = p.parse_args(argv)
    if args.steps is not None and args.steps < 1:
        p.error("--steps must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    t0 = time.monotonic()
    samples = synthetic_samples(TRAIN_SCENES, args.scenes, args.workers, classic_share=args.classic_share)
    for seed in TRAIN_DRIVEBY_SEEDS:
        samples += driveby_samples(seed, args.driveby_every)
    for manifest in args.manifest if args.manifest is not None else [ROMANIAN]:
        if str(manifest) != "none":
            real = manifest_samples(manifest, args.split)
            print(f"{manifest}: {len(real)} real images (split {args.split}) x {args.manifest_repeat}", flush=True)
            samples += real * args.manifest_repeat
    n_plates = sum(len(s.boxes) for s in samples)
    print(f"data: {len(samples)} images, {n_plates} plates in {time.monotonic() - t0:.0f} s", flush=True)

    precision = training_precision(args.precision)
    model = PlateNet()
    if args.init is not None:
        model.load_state_dict(torch.load(args.init, weights_only=True))
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    # The whole command must fit its budget however busy the CPU is: training gets what data generation
    # left of it (less 2.5 minutes for saving, export and int8 calibration: 75 s measured), at most --minutes.
    left = args.total_minutes * 60.0 - (time.monotonic() - t0) - 150.0
    budget = max(60.0, min(args.minutes * 60.0, left))
    plan = f"{args.steps} steps" if args.steps else f"budget {budget / 60:.1f} min"
    print(f"training {plan} in {precision}", flush=True)
    steps_per_epoch = max(1, len(samples) // args.batch)
    step, epoch, frac = 0, 0, 0.0
    t_train = time.monotonic()
    losses: list[float] = []
    # By default the schedule follows the clock, not a step count planned up front: the run uses its whole
    # budget however busy the machine is (other jobs share the two cores). --steps plans the count instead.
    t_report, step_report = t_train, 0
    while frac < 1.0:
        epoch += 1
        order = rng.permutation(len(samples))
        for b in range(steps_per_epoch):
            frac = step / args.steps if args.steps else (time.monotonic() - t_train) / budget
            if frac >= 1.0:
                break
            img, heat, reg, weight, mask = _batch(samples, order[b * args.batch : (b + 1) * args.batch], rng)
            warmup = 1.0 if args.init is not None else min(1.0, (step + 1) / 50)
            lr = args.lr * warmup * 0.5 * (1 + math.cos(math.pi * frac))
            for group in opt.param_groups:
                group["lr"] = lr
            model.train()
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
                p_heat, p_reg = model(img)
            l_heat = focal_loss(p_heat, heat, mask)
            l_reg = (F.l1_loss(p_reg, reg, reduction="none") * weight).sum() / weight.sum().clamp(min=1.0)
            loss = l_heat + l_reg
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            step += 1
            if step % 50 == 0:
                now = time.monotonic()
                elapsed = now - t_train
                pace = (step - step_report) / max(1e-9, now - t_report)  # steps/s since the last line
                t_report, step_report = now, step
                where = f"{step}/{args.steps} steps" if args.steps else f"{elapsed / 60:.1f}/{budget / 60:.1f} min"
                eta = (args.steps - step) / max(pace, 1e-9) if args.steps else budget - elapsed
                print(
                    f"epoch {epoch} step {step} loss {np.mean(losses[-50:]):.3f} "
                    f"(heat {l_heat.item():.3f} box {l_reg.item():.3f}) lr {lr:.2e} "
                    f"{step * args.batch / elapsed:.1f} img/s, {where}, ETA {eta / 60:.1f} min",
                    flush=True,
                )
    print(f"trained {step} steps of {args.batch} crops in {(time.monotonic() - t_train) / 60:.1f} min", flush=True)
    args.checkpoint.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), args.checkpoint)
    manifests = [m for m in (args.manifest or [ROMANIAN]) if str(m) != "none"]
    export_deployed(model, args.out, manifests[0] if manifests else None)
    size_kb = args.out.stat().st_size / 1024
    print(f"wrote {args.out} ({size_kb:.0f} KB) after {(time.monotonic() - t0) / 60:.1f} min", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
