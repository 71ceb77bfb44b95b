"""Online augmentation of OCR training batches: each pass over the fixed crop set sees other pixels.

The one command trains on a fixed set of generated crops (90,000 hard ones, about 11 passes in its hour). Without
this, the network read its own training crops far better than held-out crops of the same generator (version 8.1:
0.978 against 0.882 exact; OCR card, version 9): it had learnt those crops rather than the plates. Here every crop
of a batch is moved a little (shift, scale, aspect, rotation, shear: the jitter of a detector's box) and
re-exposed (contrast, brightness, gamma, blur, sensor noise) before the network sees it. The moves are small
enough that a crop cut with the edge's margin (`dataset.EDGE_MARGIN`) keeps every character inside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True, slots=True)
class AugmentSettings:
    """Ranges of the random changes (each drawn uniformly per crop, +- the value unless stated)."""

    p_geometric: float = 0.8
    shift_x: float = 0.03  # of the crop's width
    shift_y: float = 0.05  # of the crop's height
    scale: float = 0.06  # both axes together
    aspect: float = 0.04  # one axis against the other
    rotate_deg: float = 2.0
    shear: float = 0.05
    p_photometric: float = 0.8
    contrast: float = 0.3  # factor 1 +- this, around the crop's mean
    brightness: float = 0.1  # of full scale
    gamma: float = 0.3  # exponent exp(+- this)
    p_blur: float = 0.15
    blur_sigma: tuple[float, float] = (0.4, 1.0)
    p_noise: float = 0.4
    noise_sigma: float = 0.03  # of full scale, at most


def _uniform(n: int, half: float, gen: torch.Generator) -> torch.Tensor:
    return (torch.rand(n, generator=gen) * 2 - 1) * half


def _chosen(n: int, p: float, gen: torch.Generator) -> torch.Tensor:
    return torch.rand(n, generator=gen) < p


def _geometric(x: torch.Tensor, s: AugmentSettings, gen: torch.Generator) -> torch.Tensor:
    n = x.shape[0]
    on = _chosen(n, s.p_geometric, gen).float()
    scale = 1 + _uniform(n, s.scale, gen) * on
    aspect = 1 + _uniform(n, s.aspect, gen) * on
    angle = _uniform(n, math.radians(s.rotate_deg), gen) * on
    shear = _uniform(n, s.shear, gen) * on
    tx, ty = _uniform(n, 2 * s.shift_x, gen) * on, _uniform(n, 2 * s.shift_y, gen) * on  # grid units span 2
    h, w = x.shape[-2:]
    ratio = w / h  # rotate in pixels, not in the stretched grid's units
    cos, sin = torch.cos(angle), torch.sin(angle)
    # The grid maps output to input coordinates: the inverse of the move, built directly.
    sx, sy = 1 / (scale * aspect), aspect / scale
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = sx * cos
    theta[:, 0, 1] = sx * (-sin / ratio + shear)
    theta[:, 1, 0] = sy * sin * ratio
    theta[:, 1, 1] = sy * cos
    theta[:, 0, 2] = tx
    theta[:, 1, 2] = ty
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def _photometric(x: torch.Tensor, s: AugmentSettings, gen: torch.Generator) -> torch.Tensor:
    n = x.shape[0]
    on = _chosen(n, s.p_photometric, gen).float().view(n, 1, 1, 1)
    contrast = 1 + _uniform(n, s.contrast, gen).view(n, 1, 1, 1) * on
    brightness = _uniform(n, s.brightness, gen).view(n, 1, 1, 1) * on
    gamma = torch.exp(_uniform(n, s.gamma, gen)).view(n, 1, 1, 1) ** on
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = ((x - mean) * contrast + mean + brightness).clamp(0, 1)
    return x.clamp_min(1e-4) ** gamma


def _blur(x: torch.Tensor, s: AugmentSettings, gen: torch.Generator) -> torch.Tensor:
    n = x.shape[0]
    pick = _chosen(n, s.p_blur, gen)
    sigma = s.blur_sigma[0] + torch.rand(n, generator=gen) * (s.blur_sigma[1] - s.blur_sigma[0])
    if not bool(pick.any()):
        return x
    r = 2
    offsets = torch.arange(-r, r + 1, dtype=torch.float32)
    out = x.clone()
    for i in torch.nonzero(pick).flatten().tolist():
        k = torch.exp(-(offsets**2) / (2 * float(sigma[i]) ** 2))
        k = k / k.sum()
        img = F.pad(x[i : i + 1], (r, r, r, r), mode="replicate")
        img = F.conv2d(img, k.view(1, 1, 1, -1))
        out[i : i + 1] = F.conv2d(img, k.view(1, 1, -1, 1))
    return out


def _noise(x: torch.Tensor, s: AugmentSettings, gen: torch.Generator) -> torch.Tensor:
    n = x.shape[0]
    sigma = (torch.rand(n, generator=gen) * s.noise_sigma * _chosen(n, s.p_noise, gen).float()).view(n, 1, 1, 1)
    return (x + torch.randn(x.shape, generator=gen) * sigma).clamp(0, 1)


def augment(x: torch.Tensor, gen: torch.Generator, settings: AugmentSettings | None = None) -> torch.Tensor:
    """A randomly moved and re-exposed copy of a batch of grey crops (N, 1, H, W), values in [0, 1].

    Deterministic for a given generator state; the input is left as it was."""
    if x.ndim != 4 or x.shape[1] != 1:
        raise ValueError(f"augment takes grey crops (N, 1, H, W), got {tuple(x.shape)}")
    s = settings or AugmentSettings()
    out = _geometric(x.contiguous(), s, gen)
    out = _photometric(out, s, gen)
    out = _blur(out, s, gen)
    return _noise(out, s, gen).contiguous(memory_format=torch.channels_last)
