"""Synthetic OCR crops as model-ready arrays (grey 48x160 and slot labels), generated in parallel."""

from __future__ import annotations

import multiprocessing as mp
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt
from tqdm import tqdm

from models.synth import source_fingerprint
from models.synth.crops import Crop, make_crops

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_"
MAX_SLOTS = 10
IMG_H, IMG_W = 48, 160
TRAIN_SEED = 1
VALID_SEED = 2
WORLD_SEED = 3  # US-style and Brazilian training crops
CLEAN_SEED = 4  # clean crops: the first steps of the training curriculum
CALIB_SEED = 5  # activation ranges of quantization-aware fine-tuning (models/ocr/qat.py)
TEST_SEED = 1001
DATA_VERSION = 4  # 4: some plates in outline typefaces (models.synth.typefaces); 3: glyphs keep a visible gap
SCENE_VALID_NAMESPACE = 606
"""Street scenes whose plates validate the OCR during training (detector 101/202, unit tests 303, test set 404)."""
EDGE_MARGIN = 0.08  # edge.pipeline.PipelineSettings.crop_margin
"""Bumped whenever the crop generator changes, so cached arrays of an older generator are not reused."""
"""Crop sets by seed: training and validation seeds are never used by evaluate.py, and vice versa."""

_CHUNK = 250


def data_tag() -> str:
    """What the training caches are keyed by: DATA_VERSION and a fingerprint of the code that draws the crops
    (`models/synth`, this module, the pseudo-labels), so arrays drawn by other code are never reused even
    when nobody bumped DATA_VERSION."""
    here = Path(__file__).parent
    return f"{DATA_VERSION}-{source_fingerprint(here / 'dataset.py', here / 'pseudo.py')}"


def encode(text: str) -> npt.NDArray[np.int64]:
    """Slot labels: one alphabet index per character, padded with '_' to MAX_SLOTS."""
    if len(text) > MAX_SLOTS:
        raise ValueError(f"plate {text!r} has more than {MAX_SLOTS} characters")
    return np.array([ALPHABET.index(ch) for ch in text.ljust(MAX_SLOTS, "_")], np.int64)


def to_model_input(crop_bgr: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    """What the exported model sees: resized like fast-plate-ocr does (linear), then grey."""
    resized = cv2.resize(crop_bgr, (IMG_W, IMG_H), interpolation=cv2.INTER_LINEAR)
    return cv2.cvtColor(resized, cv2.COLOR_BGR2GRAY)


def _chunk(args: tuple[int, int, int, bool, bool]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    seed, start, count, world, clean = args
    crops = make_crops(seed, start, count, clean=clean, world=world)
    x = np.stack([to_model_input(c.image) for c in crops])
    y = np.stack([encode(c.text) for c in crops])
    return x, y


def _tasks(
    seed: int, count: int, world: bool = False, clean: bool = False
) -> Iterator[tuple[int, int, int, bool, bool]]:
    for start in range(0, count, _CHUNK):
        yield seed, start, min(_CHUNK, count - start), world, clean


def generate_arrays(
    seed: int, count: int, workers: int = 2, desc: str = "crops", world: bool = False, clean: bool = False
) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """`count` crops of the set `seed` as (grey images (N, H, W), labels (N, MAX_SLOTS)); deterministic.
    `world`: US-style and Brazilian plates (`make_world_crop`) instead of Dutch and EU ones;
    `clean`: rendered plates with plain margins, no perspective or degradation (`make_crop(clean=True)`)."""
    xs: list[npt.NDArray[np.uint8]] = []
    ys: list[npt.NDArray[np.int64]] = []
    with (
        tqdm(total=count, desc=desc, unit="crop", smoothing=0.1) as bar,
        mp.get_context("fork").Pool(workers) as pool,
    ):
        for x, y in pool.imap(_chunk, _tasks(seed, count, world, clean)):  # imap keeps the order: deterministic
            xs.append(x)
            ys.append(y)
            bar.update(len(x))
    return np.concatenate(xs), np.concatenate(ys)


def _scene_chunk(args: tuple[int, int, int]) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    from models.synth.scenes import render_scene

    namespace, start, count = args
    xs, ys = [], []
    for i in range(start, start + count):
        scene = render_scene(np.random.default_rng([namespace, i]))
        h, w = scene.image.shape[:2]
        for p in scene.plates:
            mx, my = int((p.x2 - p.x1) * EDGE_MARGIN), int((p.y2 - p.y1) * EDGE_MARGIN)
            crop = scene.image[max(0, p.y1 - my) : min(h, p.y2 + my), max(0, p.x1 - mx) : min(w, p.x2 + mx)]
            xs.append(to_model_input(crop))
            ys.append(encode(p.text))
    if not xs:
        return np.zeros((0, IMG_H, IMG_W), np.uint8), np.zeros((0, MAX_SLOTS), np.int64)
    return np.stack(xs), np.stack(ys)


def scene_arrays(namespace: int, scenes: int, workers: int = 2) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.int64]]:
    """Every plate of street scenes 0 .. scenes-1 of `namespace`, cut at its true box with the edge's margin."""
    tasks = [(namespace, s, min(20, scenes - s)) for s in range(0, scenes, 20)]
    xs, ys = [], []
    with (
        tqdm(total=scenes, desc="scene plates", unit="scene") as bar,
        mp.get_context("fork").Pool(workers) as pool,
    ):
        for (x, y), (_, _, n) in zip(pool.imap(_scene_chunk, tasks), tasks, strict=True):
            xs.append(x)
            ys.append(y)
            bar.update(n)
    return np.concatenate(xs), np.concatenate(ys)


def generate_crops(seed: int, count: int, workers: int = 2) -> list[Crop]:
    """`count` crops of the set `seed` as images (any size, BGR) with their labels."""
    with mp.get_context("fork").Pool(workers) as pool:
        chunks = pool.starmap(make_crops, [t[:3] for t in _tasks(seed, count)])
    return [c for chunk in chunks for c in chunk]


def _offsets(sets: list[tuple[int, int, bool]]) -> list[int]:
    """First row of each set when the sets are stacked one after the other."""
    return [int(o) for o in np.cumsum([0] + [count for _, count, _ in sets])[:-1]]


def _ordered_tasks(sets: list[tuple[int, int, bool]]) -> list[tuple[int, tuple[int, int, int, bool, bool]]]:
    """(first row, chunk task) of every chunk of the stacked sets, the sets' chunks interleaved by progress."""
    tasks = [
        (task[1] / count, offset + task[1], task)
        for (seed, count, world), offset in zip(sets, _offsets(sets), strict=True)
        for task in _tasks(seed, count, world)
    ]
    tasks.sort(key=lambda t: t[0])  # stable: among equal progress, set order
    return [(row, task) for _, row, task in tasks]


class CropStream:
    """Training crop sets generated in the background by a process pool while the net trains on what is ready.

    `sets` are (seed, count, world) like `generate_arrays`; their chunks are interleaved, so every set
    arrives at the same pace. Each set's rows land where `generate_arrays` puts them (set after set), so
    once `done` the arrays equal the concatenated sets; only the step at which a crop is first seen
    depends on the clock. `poll()` takes in the chunks finished so far without waiting; a training that
    must not depend on the clock draws from `rows(k)`, the first k chunks, k set by its step.
    """

    def __init__(self, sets: list[tuple[int, int, bool]], workers: int = 2) -> None:
        total = sum(count for _, count, _ in sets)
        self.x = np.zeros((total, IMG_H, IMG_W), np.uint8)
        self.y = np.zeros((total, MAX_SLOTS), np.int64)
        self.offsets = _offsets(sets)
        tasks = _ordered_tasks(sets)
        self.chunks = [(row, row + task[2]) for row, task in tasks]
        """Row ranges of the chunks in the order they arrive (and are taken in): the same order whether
        generated here or loaded from a cache, so `rows(k)` names the same crops either way."""
        self._pool = mp.get_context("fork").Pool(workers) if tasks else None
        self._pending = [(row, self._pool.apply_async(_chunk, (task,))) for row, task in tasks if self._pool]
        self._ranges: list[tuple[int, int]] = []
        self._rows: tuple[int, npt.NDArray[np.int64]] = (0, np.zeros(0, np.int64))
        self.available = np.zeros(0, np.int64)
        """Row indices of the crops ready so far."""

    @classmethod
    def ready_made(
        cls, x: npt.NDArray[np.uint8], y: npt.NDArray[np.int64], sets: list[tuple[int, int, bool]] | None = None
    ) -> CropStream:
        """A stream that is done from the start (the sets, `sets` as given to the constructor, were loaded from
        a cache); without `sets`, its rows are one chunk."""
        stream = cls([], workers=1)
        stream.x, stream.y, stream.available = x, y, np.arange(len(x))
        if sets is not None:
            total = sum(count for _, count, _ in sets)
            if total != len(x):
                raise ValueError(f"the sets hold {total} crops, the arrays {len(x)}")
            stream.chunks = [(row, row + task[2]) for row, task in _ordered_tasks(sets)]
        else:
            stream.chunks = [(0, len(x))] if len(x) else []
        stream._ranges = list(stream.chunks)
        return stream

    @property
    def taken(self) -> int:
        """Chunks taken in so far: always the first ones of `chunks`."""
        return len(self._ranges)

    def rows(self, k: int) -> npt.NDArray[np.int64]:
        """Row indices of the first `k` chunks, waiting for them to be generated if they are not yet:
        what a training that must not depend on the clock draws from."""
        k = min(k, len(self.chunks))
        while self.taken < k:
            if not self._pending:
                raise RuntimeError(f"the stream was closed with {self.taken} of {k} chunks taken in")
            self.poll(wait=True)
        if self._rows[0] != k:
            rows = [np.arange(a, b) for a, b in self._ranges[:k]]
            self._rows = (k, np.concatenate(rows) if rows else np.zeros(0, np.int64))
        return self._rows[1]

    @property
    def done(self) -> bool:
        return not self._pending

    def poll(self, wait: bool = False) -> int:
        """Take in the chunks finished so far (with `wait`, at least one more if any is left); returns the
        number of crops ready."""
        took = False
        while self._pending and (self._pending[0][1].ready() or (wait and not took)):
            row, result = self._pending.pop(0)
            x, y = result.get()
            self.x[row : row + len(x)], self.y[row : row + len(y)] = x, y
            self._ranges.append((row, row + len(x)))
            took = True
        if took:
            self.available = np.concatenate([np.arange(a, b) for a, b in self._ranges])
        if not self._pending:
            self.close()
        return len(self.available)

    def close(self) -> None:
        """Stop the workers (safe twice); chunks not taken in are dropped."""
        self._pending = []
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None
