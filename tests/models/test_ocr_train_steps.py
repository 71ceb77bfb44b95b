"""A step-scheduled OCR training (`--steps`, `--qat-steps`; train extra) does not depend on the clock: the same
command gives the same exported models whether the hard crops are generated during training or come from a cache,
and however far the generator is behind."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="training needs the train extra (torch)")

from models.ocr import dataset, train  # noqa: E402


@pytest.fixture(autouse=True)
def small_run(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(dataset, "_CHUNK", 20)  # 10 chunks of hard crops
    monkeypatch.setattr(train, "HARD_RELEASE_STEPS", 4)  # all of them drawn from after 4 steps
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def _train(out: Path, cache: Path) -> dict[str, str]:
    out.mkdir()
    train.main(
        ["--train-size", "160", "--world-size", "40", "--clean-size", "0", "--valid-size", "20", "--scene-valid", "1",
         "--no-real", "--calib-size", "32", "--batch-size", "16", "--width", "1", "--precision", "fp32",
         "--threads", "2", "--steps", "8", "--qat-steps", "2", "--valid-steps", "4", "--cache", str(cache),
         "--checkpoint", str(out / "ocr.pt"), "--float-onnx", str(out / "float.onnx"), "--onnx", str(out / "int8.onnx"),
         "--config", str(out / "plate_config.yaml")]
    )  # fmt: skip
    return {name: hashlib.sha256((out / name).read_bytes()).hexdigest() for name in ("float.onnx", "int8.onnx")}


def test_the_same_step_count_gives_the_same_models_with_or_without_cached_crops(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    generated = _train(tmp_path / "generated", cache)  # hard crops made by the workers while training runs
    assert any(cache.glob("ocr-v*-1-160.npz"))  # ... and cached at the end
    cached = _train(tmp_path / "cached", cache)  # the same crops, all there from the first step

    assert generated == cached


def test_a_generator_far_behind_the_training_changes_the_wall_time_not_the_model(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    on_time = _train(tmp_path / "on_time", tmp_path / "cache1")
    make_crops = dataset.make_crops

    def slow_make_crops(*args: object, **kwargs: object) -> list[dataset.Crop]:
        import time

        time.sleep(0.5)  # in the worker processes (forked after the patch)
        return make_crops(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(dataset, "make_crops", slow_make_crops)
    late = _train(tmp_path / "late", tmp_path / "cache2")

    assert late == on_time
