"""The reads consumer (librdkafka) against the real broker: batches, commits, lag, errors."""

from __future__ import annotations

import time

import pytest
from aiokafka import AIOKafkaProducer

from contract.bus import KafkaSettings, ensure_topics
from contract.errors import BrokerUnavailable
from contract.topics import READS
from matcher.consumer import ReadsConsumer
from scanauto.broker import free_port


def _consumer(kafka: KafkaSettings, group: str = "g") -> ReadsConsumer:
    return ReadsConsumer(
        READS, kafka, group_id=group, session_timeout_ms=6000, heartbeat_interval_ms=500, fetch_max_wait_ms=50
    )


async def _produce(kafka: KafkaSettings, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
    await producer.start()
    try:
        for v in values:
            await producer.send_and_wait(READS, v, key=v)
    finally:
        await producer.stop()


async def _take(consumer: ReadsConsumer, n: int) -> list[bytes]:
    got: list[bytes] = []
    deadline = time.monotonic() + 30
    while len(got) < n and time.monotonic() < deadline:
        got.extend(m.value() for m in await consumer.consume(1000, timeout_s=0.5))
    return got


async def test_a_batch_is_what_is_fetched_not_a_wait_for_a_full_batch(kafka: KafkaSettings) -> None:
    await ensure_topics(kafka)
    await _produce(kafka, [b"r1", b"r2", b"r3"])
    consumer = _consumer(kafka)
    await consumer.start()
    try:
        got: list[bytes] = []
        while len(got) < 3:
            # a long timeout and a large batch: the call returns with the three records,
            # it does not sit out the timeout waiting for 10,000
            t0 = time.monotonic()
            batch = await consumer.consume(10_000, timeout_s=20.0)
            assert batch, "no record within the timeout"
            got.extend(m.value() for m in batch)
        assert time.monotonic() - t0 < 15.0
        assert sorted(got) == [b"r1", b"r2", b"r3"]
        assert len(consumer.assignment()) == 6  # the only member holds every partition
    finally:
        await consumer.stop()
        await consumer.stop()  # safe twice


async def test_a_new_member_resumes_after_the_last_committed_batch(kafka: KafkaSettings) -> None:
    await ensure_topics(kafka)
    first = [f"a{i}".encode() for i in range(40)]
    await _produce(kafka, first)
    consumer = _consumer(kafka)
    await consumer.start()
    try:
        assert sorted(await _take(consumer, 40)) == sorted(first)
        await consumer.commit()
        assert await consumer.lag() == 0
        later = [f"b{i}".encode() for i in range(10)]
        await _produce(kafka, later)
        assert sorted(await _take(consumer, 10)) == sorted(later)  # consumed, never committed
    finally:
        await consumer.stop()
    second = _consumer(kafka)
    await second.start()
    try:
        assert sorted(await _take(second, 10)) == sorted(later)  # the uncommitted batch again, and only it
        assert await second.consume(1000, timeout_s=1.0) == []  # nothing after it
    finally:
        await second.stop()


async def test_an_unreachable_broker_is_reported_with_a_hint() -> None:
    kafka = KafkaSettings(bootstrap_servers=f"127.0.0.1:{free_port()}", connect_timeout_s=2)
    consumer = _consumer(kafka)
    with pytest.raises(BrokerUnavailable, match="check --bootstrap-servers"):
        await consumer.start()
    await consumer.stop()
