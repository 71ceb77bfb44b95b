"""Online augmentation of OCR training batches: random, repeatable, and never cuts a character off."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="training-batch augmentation needs the train extra (torch)")

from models.ocr.augment import AugmentSettings, augment  # noqa: E402
from models.ocr.dataset import EDGE_MARGIN, IMG_H, IMG_W  # noqa: E402


def _plates(n: int) -> torch.Tensor:
    """Light crops with a dark block where a plate's characters are: inside the plate that the edge's crop
    margin leaves (its border and the space above and below the characters off)."""
    x = torch.full((n, 1, IMG_H, IMG_W), 0.9)
    share = EDGE_MARGIN / (1 + 2 * EDGE_MARGIN)  # the margin's share of the crop on each side
    plate_h, plate_w = IMG_H * (1 - 2 * share), IMG_W * (1 - 2 * share)
    my, mx = round(IMG_H * share + 0.1 * plate_h), round(IMG_W * share + 0.03 * plate_w)
    x[:, :, my : IMG_H - my, mx : IMG_W - mx] = 0.1
    return x


def test_same_generator_seed_gives_the_same_batch_and_the_input_is_left_alone() -> None:
    x = torch.rand(16, 1, IMG_H, IMG_W)
    before = x.clone()
    a = augment(x, torch.Generator().manual_seed(3))
    b = augment(x, torch.Generator().manual_seed(3))
    c = augment(x, torch.Generator().manual_seed(4))
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.equal(x, before)
    assert a.shape == x.shape and float(a.min()) >= 0.0 and float(a.max()) <= 1.0


def test_every_crop_of_a_batch_is_changed() -> None:
    x = _plates(64)
    out = augment(x, torch.Generator().manual_seed(0), AugmentSettings(p_geometric=1.0, p_photometric=1.0))
    changed = (out - x).abs().flatten(1).mean(dim=1) > 1e-3
    assert bool(changed.all())


def test_the_largest_moves_keep_the_characters_inside_a_crop_cut_with_the_edge_margin() -> None:
    """Every one of 512 crops moved (shift, scale, aspect, rotation and shear each drawn across its whole range):
    no dark pixel reaches the crop's outermost rows and columns, so no character is cut off."""
    geometric_only = AugmentSettings(p_geometric=1.0, p_photometric=0.0, p_blur=0.0, p_noise=0.0)
    out = augment(_plates(512), torch.Generator().manual_seed(1), geometric_only)[:, 0]
    dark = out < 0.5
    edges = torch.cat([dark[:, 0, :], dark[:, -1, :], dark[:, :, 0], dark[:, :, -1]], dim=1)
    assert not bool(edges.any())
    assert float(dark.flatten(1).float().mean(1).min()) > 0.5  # the characters are still there


def test_only_grey_batches_are_taken() -> None:
    with pytest.raises(ValueError, match="grey crops"):
        augment(torch.rand(2, 3, IMG_H, IMG_W), torch.Generator())


def test_the_one_training_command_augments_unless_told_not_to() -> None:
    from models.ocr import train

    assert train._parse([]).augment is True
    assert train._parse(["--no-augment"]).augment is False
