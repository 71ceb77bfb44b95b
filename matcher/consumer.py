"""The reads topic's consumer: librdkafka (confluent-kafka) behind a small asyncio interface.

Every other client in the project is aiokafka. The reads topic is the one hot path: aiokafka
decodes each record in the event loop's thread (about 4.7 us of CPU per record, half of the
matcher's CPU per read, in one-off profiling), while librdkafka fetches and decodes batches in its own C
threads without the GIL, and hands over a whole batch in one call.

All calls on the librdkafka handle go through one worker thread: the event loop never blocks
on a poll, and the handle is never used from two threads at once. Rebalance callbacks run in
that thread during `consume()`, which the matcher calls only between batches: a batch is
always handled and committed before its partitions can move to another member.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from aiokafka import TopicPartition
from confluent_kafka import Consumer, KafkaError, KafkaException, Message
from confluent_kafka import TopicPartition as RdTopicPartition

from contract.bus import KafkaSettings
from contract.errors import BrokerUnavailable

log = logging.getLogger("scanauto.matcher.reads")
T = TypeVar("T")


class ReadsConsumer:
    """A consumer-group member on one topic, with manual commits. `start()`, then
    `consume()` / `commit()` in turns, `stop()` at the end (safe to call twice)."""

    def __init__(
        self,
        topic: str,
        kafka: KafkaSettings,
        *,
        group_id: str,
        session_timeout_ms: int,
        heartbeat_interval_ms: int,
        fetch_max_wait_ms: int,
    ) -> None:
        self.topic = topic
        self._kafka = kafka
        self._config: dict[str, Any] = {
            **kafka.librdkafka_config(),
            "group.id": group_id,
            "enable.auto.commit": False,  # offsets move only once a batch's hits are durable
            "auto.offset.reset": "earliest",
            "allow.auto.create.topics": False,
            "session.timeout.ms": session_timeout_ms,
            "heartbeat.interval.ms": heartbeat_interval_ms,
            "fetch.wait.max.ms": fetch_max_wait_ms,
            # With a backlog the prefetch queue fills, and librdkafka then pauses fetching for
            # 1 s by default: the matcher sat waiting for records half of the time (200k-read
            # one-off runs, load ~7: consume waits 0.89 -> 0.31 s, 74k -> 85k reads/s).
            "fetch.queue.backoff.ms": 10,
            "logger": logging.getLogger("scanauto.matcher.librdkafka"),
        }
        self._consumer: Consumer | None = None
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reads-consumer")
        self._assigned: frozenset[TopicPartition] = frozenset()

    async def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, lambda: fn(*args, **kwargs))

    async def start(self) -> None:
        """Connect, check that the topic exists, join the group (assignment follows with the
        first `consume()` calls)."""
        consumer = await self._call(Consumer, self._config)
        try:
            metadata = await self._call(consumer.list_topics, self.topic, timeout=self._kafka.connect_timeout_s)
        except KafkaException as exc:
            await self._call(consumer.close)
            raise BrokerUnavailable(
                f"cannot reach Kafka at {self._kafka.bootstrap_servers} ({exc.args[0]}); "
                "check --bootstrap-servers and that the broker is running"
            ) from exc
        topic = metadata.topics.get(self.topic)
        if topic is None or topic.error is not None:
            await self._call(consumer.close)
            raise BrokerUnavailable(f"topic {self.topic} is not available: {topic.error if topic else 'missing'}")
        await self._call(
            consumer.subscribe,
            [self.topic],
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_revoke,
        )
        self._consumer = consumer

    def _on_assign(self, _consumer: Consumer, partitions: list[RdTopicPartition]) -> None:
        self._assigned = self._assigned | {TopicPartition(p.topic, p.partition) for p in partitions}
        log.info("assigned %s partitions %s", self.topic, sorted(p.partition for p in partitions))

    def _on_revoke(self, _consumer: Consumer, partitions: list[RdTopicPartition]) -> None:
        self._assigned = self._assigned - {TopicPartition(p.topic, p.partition) for p in partitions}
        log.info("released %s partitions %s", self.topic, sorted(p.partition for p in partitions))

    def assignment(self) -> frozenset[TopicPartition]:
        return self._assigned

    async def consume(self, max_records: int, timeout_s: float) -> list[Message]:
        """Up to `max_records` records: waits at most `timeout_s` for the first one, then takes
        what is already fetched without waiting (librdkafka's own batch call would wait for
        `max_records` or the timeout, which at a few reads per second is pure latency)."""
        consumer = self._consumer
        assert consumer is not None, "start() first"

        def take() -> list[Message]:
            first = consumer.poll(timeout_s)
            if first is None:
                return []
            return [first, *consumer.consume(max_records - 1, 0)] if max_records > 1 else [first]

        messages = await self._call(take)
        errors = [m for m in messages if m.error() is not None]
        if not errors:
            return messages
        for m in errors:
            error: KafkaError = m.error()
            if error.fatal():
                raise KafkaException(error)
            log.warning("reads consumer: %s", error)
        return [m for m in messages if m.error() is None]

    async def commit(self) -> None:
        """Commit the positions after everything `consume()` returned so far, synchronously."""
        assert self._consumer is not None, "start() first"
        try:
            await self._call(self._consumer.commit, asynchronous=False)
        except KafkaException as exc:
            error: KafkaError = exc.args[0]
            if error.fatal() or not _lost_to_rebalance(error):
                raise
            # The batch's hits are durable; the next owner of these partitions reads the batch
            # again and the store's hit ids make that a no-op.
            log.warning("offset commit lost to a rebalance (%s); the batch will be seen again", error)

    async def lag(self) -> int | None:
        """Records not yet committed on the assigned partitions; None while not known."""
        if self._consumer is None or not self._assigned:
            return None
        consumer = self._consumer
        tps = [RdTopicPartition(tp.topic, tp.partition) for tp in self._assigned]

        def measure() -> int | None:
            committed = consumer.committed(tps, timeout=self._kafka.request_timeout_ms / 1000)
            total = 0
            for tp in committed:
                _low, high = consumer.get_watermark_offsets(tp, cached=True) or (-1, -1)
                if high < 0:
                    return None  # librdkafka's "unknown" (OFFSET_INVALID): no fetch answered yet
                total += max(0, high - max(tp.offset, 0))
            return total

        return await self._call(measure)

    async def stop(self) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await self._call(consumer.close)  # leaves the group at once
        self._assigned = frozenset()
        self._thread.shutdown(wait=True)


def _lost_to_rebalance(error: KafkaError) -> bool:
    return error.code() in (
        KafkaError.REBALANCE_IN_PROGRESS,
        KafkaError.ILLEGAL_GENERATION,
        KafkaError.UNKNOWN_MEMBER_ID,
        KafkaError._NO_OFFSET,  # nothing was consumed since the last commit (after a revoke)
    )
