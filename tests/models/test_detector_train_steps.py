"""A step-scheduled detector training (`scanauto train detector --steps`; train extra) does not depend on the
clock: the same command gives the same weights and the same int8 model however fast the machine runs."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

torch = pytest.importorskip("torch", reason="training needs the train extra (torch)")

from models.detector import export, train  # noqa: E402


@pytest.fixture(autouse=True)
def small_run(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(train, "TRAIN_DRIVEBY_SEEDS", ())  # synthetic street scenes only
    monkeypatch.setattr(export, "CALIBRATION_SCENES", 10)  # the real int8 export, on fewer images
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def _train(out: Path) -> tuple[dict, str]:
    out.mkdir()
    train.main(
        ["--scenes", "6", "--manifest", "none", "--batch", "2", "--steps", "4", "--workers", "1", "--threads", "2",
         "--out", str(out / "detector.onnx"), "--checkpoint", str(out / "detector.pt")]
    )  # fmt: skip
    weights = torch.load(out / "detector.pt", weights_only=True)
    return weights, hashlib.sha256((out / "detector.onnx").read_bytes()).hexdigest()


def test_the_same_step_count_gives_the_same_detector_at_any_pace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights, onnx_sha = _train(tmp_path / "on_time")
    batch = train._batch

    def slow_batch(*args: object, **kwargs: object) -> tuple[torch.Tensor, ...]:
        import time

        time.sleep(0.3)  # a busy machine: every step takes longer
        return batch(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(train, "_batch", slow_batch)
    slow_weights, slow_sha = _train(tmp_path / "slow")

    assert weights.keys() == slow_weights.keys()
    assert all(torch.equal(weights[k], slow_weights[k]) for k in weights)
    assert slow_sha == onnx_sha
