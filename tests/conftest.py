"""Shared fixtures: a real embedded Kafka-compatible broker and a fleet key."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from contract.bus import KafkaSettings
from contract.digest import DigestKey, KeyRing
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
