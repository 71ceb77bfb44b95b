"""Kafka connection settings and topic set-up shared by every service (thin aiokafka layer)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from typing import Any, Literal

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError
from aiokafka.structs import ConsumerRecord
from pydantic import BaseModel, ConfigDict, Field

from contract.errors import BrokerUnavailable, ConfigError
from contract.topics import TOPICS, TopicSpec

_TOPIC_ALREADY_EXISTS = 36


class KafkaSettings(BaseModel):
    """How a service reaches the Kafka cluster."""

    model_config = ConfigDict(extra="forbid")

    bootstrap_servers: str = Field("127.0.0.1:9092", description="host:port[,host:port...]")
    client_id: str = Field("scanauto", max_length=64)
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: str | None = Field(None, repr=False)
    request_timeout_ms: int = Field(15_000, ge=1_000, le=300_000)
    connect_timeout_s: float = Field(10.0, gt=0, le=300, description="give up reaching the broker after this")

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments common to aiokafka producers, consumers and admin clients."""
        kwargs: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "client_id": self.client_id,
            "security_protocol": self.security_protocol,
            "request_timeout_ms": self.request_timeout_ms,
        }
        if self.sasl_mechanism:
            kwargs.update(
                sasl_mechanism=self.sasl_mechanism,
                sasl_plain_username=self.sasl_username,
                sasl_plain_password=self.sasl_password,
            )
        return kwargs

    def librdkafka_config(self) -> dict[str, Any]:
        """The same settings for a librdkafka (confluent-kafka) client."""
        config: dict[str, Any] = {
            "bootstrap.servers": self.bootstrap_servers,
            "client.id": self.client_id,
            "security.protocol": self.security_protocol.lower(),
            "socket.timeout.ms": self.request_timeout_ms,
        }
        if self.sasl_mechanism:
            config.update({"sasl.mechanism": self.sasl_mechanism, "sasl.username": self.sasl_username,
                           "sasl.password": self.sasl_password})  # fmt: skip
        return config


async def start_client(client: Any, settings: KafkaSettings) -> None:
    """Start an aiokafka client, turning 'no broker' into BrokerUnavailable with a hint."""
    try:
        await asyncio.wait_for(client.start(), timeout=settings.connect_timeout_s)
    except (TimeoutError, KafkaConnectionError, OSError) as exc:
        await _stop_quietly(client)
        raise BrokerUnavailable(
            f"cannot reach Kafka at {settings.bootstrap_servers} ({type(exc).__name__}); "
            "check --bootstrap-servers and that the broker is running"
        ) from exc


async def _stop_quietly(client: Any) -> None:
    # The client never started: there is nothing to release, and nothing to report twice.
    with contextlib.suppress(KafkaError, OSError, RuntimeError):
        await client.close() if hasattr(client, "close") else await client.stop()


async def catch_up(
    consumer: AIOKafkaConsumer,
    topic: str,
    apply: Callable[[list[ConsumerRecord[bytes, bytes]]], None],
    timeout_s: float,
) -> None:
    """Assign every partition of `topic`, read from the beginning up to the current end.

    The end is the high watermark the broker reports with each fetch (`end_offsets()` is not
    reliable on every broker). The consumer stays assigned, so callers can keep following.
    """
    parts = consumer.partitions_for_topic(topic) or {0}
    tps = [TopicPartition(topic, p) for p in sorted(parts)]
    consumer.assign(tps)
    await consumer.seek_to_beginning(*tps)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        for records in (await consumer.getmany(timeout_ms=200)).values():
            apply(records)
        done = True
        for tp in tps:
            high = consumer.highwater(tp)
            if high is None or await consumer.position(tp) < high:
                done = False
        if done:
            return
        if loop.time() > deadline:
            raise BrokerUnavailable(f"topic {topic} not read to its end within {timeout_s} s")


async def read_topic_state(kafka: KafkaSettings, topic: str, timeout_s: float = 120.0) -> dict[bytes, bytes]:
    """Latest value per key of a compacted topic (tombstones remove), read to its current end."""
    state: dict[bytes, bytes] = {}

    def apply(records: list[ConsumerRecord[bytes, bytes]]) -> None:
        for rec in records:
            if rec.key is None:
                continue
            if rec.value is None:
                state.pop(rec.key, None)
            else:
                state[rec.key] = rec.value

    consumer = AIOKafkaConsumer(**kafka.client_kwargs(), enable_auto_commit=False, fetch_max_wait_ms=100)
    await start_client(consumer, kafka)
    try:
        await catch_up(consumer, topic, apply, timeout_s)
    finally:
        await consumer.stop()
    return state


async def ensure_topics(settings: KafkaSettings, specs: Iterable[TopicSpec] = TOPICS) -> None:
    """Create the topics we use if missing, then verify they exist.

    Brokers that auto-create topics on first use would otherwise hide a typo in a topic name.
    """
    specs = list(specs)
    admin = AIOKafkaAdminClient(**settings.client_kwargs())
    await start_client(admin, settings)
    try:
        response = await admin.create_topics(
            [NewTopic(s.name, s.partitions, 1, topic_configs=dict(s.config)) for s in specs]
        )
        for error in getattr(response, "topic_errors", []):
            name, code = error[0], error[1]
            if code not in (0, _TOPIC_ALREADY_EXISTS):
                raise ConfigError(f"creating topic {name!r} failed with Kafka error code {code}")
        existing = set(await admin.list_topics())
        missing = [s.name for s in specs if s.name not in existing]
        if missing:
            raise ConfigError(f"topics missing after creation: {missing}")
    finally:
        await admin.close()
