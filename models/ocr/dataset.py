"""Synthetic OCR crops as model-ready arrays (grey 48x160 and slot labels), generated in parallel."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Iterator

import cv2
import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from models.synth.crops import Crop, make_crops

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_"
MAX_SLOTS = 10
IMG_H, IMG_W = 48, 160
TRAIN_SEED = 1
VALID_SEED = 2
TEST_SEED = 1001
"""Crop sets by seed: training and validation seeds are never used by evaluate.py, and vice versa."""

_CHUNK = 250


def encode(text: str) -> npt.NDArray[np.int64]:
    """Slot labels: one alphabet index per character, padded with '_' to MAX_SLOTS."""
    if len(text) > MAX_SLOTS:
        raise ValueError(f"plate {text!r} has more than {MAX_SLOTS} characters")
    return np.array([ALPHABET.index(ch) for ch in text.ljust(MAX_SLOTS, "_")], np.int64)


def to_model_input(crop_bgr: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """What the exported model sees: resized like fast-plate-ocr does (linear), then grey."""
    resized = cv2.resize(crop_bgr, (IMG_W, IMG_H), interpolation=cv2.INTER_LINEAR)
    return cv2.cvtColor(resized, cv2.COLOR_BGR2GRAY)


def _chunk(args: tuple[int, int, int]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    seed, start, count = args
    crops = make_crops(seed, start, count)
    x = np.stack([to_model_input(c.image) for c in crops])
    y = np.stack([encode(c.text) for c in crops])
    return x, y


def _tasks(seed: int, count: int) -> Iterator[tuple[int, int, int]]:
    for start in range(0, count, _CHUNK):
        yield seed, start, min(_CHUNK, count - start)


def generate_arrays(
    seed: int, count: int, workers: int = 2, desc: str = "crops"
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """`count` crops of the set `seed` as (grey images (N, H, W), labels (N, MAX_SLOTS)); deterministic."""
    xs: list[npt.NDArray[np.uint8]] = []
    ys: list[npt.NDArray[np.int64]] = []
    with (
        tqdm(total=count, desc=desc, unit="crop", smoothing=0.1) as bar,
        mp.get_context("fork").Pool(workers) as pool,
    ):
        for x, y in pool.imap(_chunk, _tasks(seed, count)):  # imap keeps the order: deterministic
            xs.append(x)
            ys.append(y)
            bar.update(len(x))
    return np.concatenate(xs), np.concatenate(ys)


def generate_crops(seed: int, count: int, workers: int = 2) -> list[Crop]:
    """`count` crops of the set `seed` as images (any size, BGR) with their labels."""
    with mp.get_context("fork").Pool(workers) as pool:
        chunks = pool.starmap(make_crops, _tasks(seed, count))
    return [c for chunk in chunks for c in chunk]
