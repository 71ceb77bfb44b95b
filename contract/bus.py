"""Kafka connection settings and topic set-up shared by every service (thin aiokafka layer)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from typing import Any, Literal

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError
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
