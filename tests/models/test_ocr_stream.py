"""Training crops generated in the background arrive as the same arrays as generating them up front."""

from __future__ import annotations

import numpy as np
import pytest

from models.ocr import dataset
from models.ocr.dataset import CropStream, generate_arrays


@pytest.fixture(autouse=True)
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dataset, "_CHUNK", 20)


def test_stream_gives_the_sets_generate_arrays_gives_in_the_same_rows() -> None:
    sets = [(11, 70, False), (12, 50, True)]
    stream = CropStream(sets, workers=2)
    ready = stream.poll()
    assert 0 <= ready <= 120
    while not stream.done:
        stream.poll(wait=True)
    assert stream.poll() == 120 and sorted(stream.available.tolist()) == list(range(120))
    x0, y0 = generate_arrays(11, 70, workers=1)
    x1, y1 = generate_arrays(12, 50, workers=1, world=True)
    assert np.array_equal(stream.x, np.concatenate([x0, x1]))
    assert np.array_equal(stream.y, np.concatenate([y0, y1]))


def test_the_sets_arrive_interleaved_so_each_is_represented_early() -> None:
    stream = CropStream([(11, 200, False), (12, 100, True)], workers=1)
    stream.poll(wait=True)
    stream.poll(wait=True)
    first = stream.available
    stream.close()
    assert (first < 200).any() and (first >= 200).any()


def test_a_ready_made_stream_is_done_and_offers_every_row() -> None:
    x, y = np.zeros((5, 48, 160), np.uint8), np.zeros((5, 10), np.int64)
    stream = CropStream.ready_made(x, y)
    assert stream.done and stream.poll() == 5 and stream.available.tolist() == [0, 1, 2, 3, 4]


def test_the_first_chunks_are_the_same_rows_generated_or_loaded_from_a_cache() -> None:
    sets = [(11, 70, False), (12, 50, True)]
    live = CropStream(sets, workers=2)
    first_three = live.rows(3)  # waits for them
    x0, y0 = generate_arrays(11, 70, workers=1)
    x1, y1 = generate_arrays(12, 50, workers=1, world=True)
    cached = CropStream.ready_made(np.concatenate([x0, x1]), np.concatenate([y0, y1]), sets)
    live.close()

    assert first_three.tolist() == cached.rows(3).tolist()
    assert (first_three < 70).any() and (first_three >= 70).any()  # interleaved, as they arrive
    assert np.array_equal(live.x[first_three], cached.x[first_three])
    assert sorted(cached.rows(len(cached.chunks)).tolist()) == list(range(120))
