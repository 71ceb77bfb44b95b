"""Shared fixtures: a real embedded Kafka-compatible broker, a fleet key, a detector of fixed input size."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from contract.bus import KafkaSettings
from contract.digest import DigestKey, KeyRing
from models.detector.data import DEFAULT_MODEL, DEPLOY_H, DEPLOY_W
from scanauto.broker import EmbeddedBroker


@pytest.fixture
def broker() -> Iterator[EmbeddedBroker]:
    with EmbeddedBroker() as b:
        yield b


@pytest.fixture
def kafka(broker: EmbeddedBroker) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers=broker.bootstrap, connect_timeout_s=10)


@pytest.fixture
def keys() -> KeyRing:
    return KeyRing((DigestKey("test-key", os.urandom(32)),))


@pytest.fixture
def fixed_size_detector(tmp_path: Path) -> Path:
    """The shipped detector as exports before version 8.4 were: a fixed input size (no large-plate passes)."""
    import onnx

    model = onnx.load(DEFAULT_MODEL)
    for d, size in zip(model.graph.input[0].type.tensor_type.shape.dim[1:3], (DEPLOY_H, DEPLOY_W), strict=True):
        d.dim_value = size
    path = tmp_path / "fixed.onnx"
    onnx.save(model, path)
    return path
