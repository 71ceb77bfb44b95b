"""The matcher service: a consumer group on the reads topic with an in-memory hotlist index."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contract.bus import KafkaSettings, catch_up, ensure_topics, start_client
from contract.events import EvidenceRequest, Hit, HotlistEntry, HotlistKey, new_event_id, utcnow
from contract.topics import DEAD_LETTER, EVIDENCE_REQUESTS, HITS, HOTLIST, READS
from matcher.index import HotlistIndex
from matcher.logic import Outcome, decide
from matcher.store import HitStore

log = logging.getLogger("scanauto.matcher")


class MatcherSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    group_id: str = Field("scanauto-matcher", description="consumer group shared by all instances")
    store_path: Path = Field(Path("var/hits.sqlite"), description="SQLite hits store")
    batch_max: int = Field(1000, ge=1, le=100_000, description="reads handled per batch")
    session_timeout_ms: int = Field(10_000, ge=1_000, le=300_000)
    heartbeat_interval_ms: int = Field(3_000, ge=100, le=60_000)
    fetch_max_wait_ms: int = Field(50, ge=1, le=5_000, description="broker wait for a fetch to fill")
    hotlist_load_timeout_s: float = Field(120.0, gt=0, description="give up loading the hotlist after this")


@dataclass
class MatcherStats:
    reads: int = 0
    hits: int = 0
    discarded: int = 0
    dead_letters: int = 0
    duplicate_hits: int = 0
    invalid_hotlist_records: int = 0


class Matcher:
    """Start, run until stopped, stop. Offsets are committed only after hits are durable."""

    def __init__(self, settings: MatcherSettings, on_hit: Callable[[Hit], None] | None = None) -> None:
        self.settings = settings
        self.index = HotlistIndex()
        self.stats = MatcherStats()
        self._on_hit = on_hit
        self._store: HitStore | None = None
        self._reads: AIOKafkaConsumer | None = None
        self._hotlist: AIOKafkaConsumer | None = None
        self._producer: AIOKafkaProducer | None = None
        self._follow_task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        s, k = self.settings, self.settings.kafka
        await ensure_topics(k)
        self._store = HitStore(s.store_path)
        self._producer = AIOKafkaProducer(**k.client_kwargs(), acks="all", linger_ms=2)
        await start_client(self._producer, k)
        self._hotlist = AIOKafkaConsumer(**k.client_kwargs(), enable_auto_commit=False, fetch_max_wait_ms=100)
        await start_client(self._hotlist, k)
        # Match nothing before the whole hotlist is in memory.
        await catch_up(self._hotlist, HOTLIST, self._apply_hotlist, s.hotlist_load_timeout_s)
        self._follow_task = asyncio.create_task(self._follow_hotlist(), name="hotlist-follower")
        self._reads = AIOKafkaConsumer(
            READS,
            **k.client_kwargs(),
            group_id=s.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=s.session_timeout_ms,
            heartbeat_interval_ms=s.heartbeat_interval_ms,
            fetch_max_wait_ms=s.fetch_max_wait_ms,
            max_poll_records=s.batch_max,
        )
        await start_client(self._reads, k)
        log.info("matcher started: %d hotlist entries, keys %s", len(self.index), sorted(self.index.key_ids))

    def _apply_hotlist(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        for rec in records:
            key = rec.key.decode() if rec.key else ""
            is_key = key.startswith("key:")
            try:
                if is_key:
                    self.index.apply_key(key, None if rec.value is None else HotlistKey.model_validate_json(rec.value))
                else:
                    self.index.apply(key, None if rec.value is None else HotlistEntry.model_validate_json(rec.value))
            except ValidationError as exc:
                self.stats.invalid_hotlist_records += 1
                log.error("hotlist record at offset %d is invalid and was skipped: %s", rec.offset,
                          exc.errors()[0].get("msg"))  # fmt: skip

    async def _follow_hotlist(self) -> None:
        assert self._hotlist is not None
        while True:
            batch = await self._hotlist.getmany(timeout_ms=1000)
            for records in batch.values():
                self._apply_hotlist(records)

    async def run(self, stop: asyncio.Event) -> None:
        """Process reads in batches until `stop` is set."""
        assert self._reads is not None
        while not stop.is_set():
            batch = await self._reads.getmany(timeout_ms=200, max_records=self.settings.batch_max)
            if batch:
                await self._handle(batch)

    async def _handle(self, batch: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]) -> None:
        assert self._reads and self._producer and self._store
        now = utcnow()
        hits: list[Hit] = []
        dead: list[tuple[ConsumerRecord[bytes, bytes], str]] = []
        for records in batch.values():
            for rec in records:
                decision = decide(rec.value, self.index, now)
                self.stats.reads += 1
                if decision.outcome is Outcome.HIT:
                    hits.extend(decision.hits)
                elif decision.outcome is Outcome.DISCARDED:
                    self.stats.discarded += 1  # nothing of a non-hit is kept: only this count
                else:
                    dead.append((rec, decision.reason))
        new = self._store.add(hits) if hits else []
        self.stats.hits += len(new)
        self.stats.duplicate_hits += len(hits) - len(new)
        sends = [
            await self._producer.send(HITS, value=h.model_dump_json().encode(), key=h.hit_id.encode()) for h in hits
        ]
        for h in new:
            req = EvidenceRequest(
                request_id=new_event_id(),
                hit_id=h.hit_id,
                read_event_id=h.read_event_id,
                vehicle_id=h.vehicle_id,
                requested_at=now,
            )
            sends.append(
                await self._producer.send(
                    EVIDENCE_REQUESTS, value=req.model_dump_json().encode(), key=h.vehicle_id.encode()
                )
            )
        for rec, reason in dead:
            self.stats.dead_letters += 1
            body = {
                "reason": reason,
                "topic": rec.topic,
                "partition": rec.partition,
                "offset": rec.offset,
                "bytes": len(rec.value or b""),
                "at": now.isoformat(),
            }
            sends.append(await self._producer.send(DEAD_LETTER, value=json.dumps(body).encode()))
            log.warning("read at %s[%d]@%d sent to dead-letter: %s", rec.topic, rec.partition, rec.offset, reason)
        await asyncio.gather(*sends)
        # Only now, with hits stored and every message acknowledged, move the group's offsets.
        await self._reads.commit({tp: records[-1].offset + 1 for tp, records in batch.items()})
        for h in new:
            log.info("hit %s on list %s (read %s)", h.hit_id, h.list, h.read_event_id)
            if self._on_hit is not None:
                self._on_hit(h)

    async def lag(self) -> int:
        """Reads not yet committed by this group on the partitions this instance holds."""
        assert self._reads is not None
        total = 0
        for tp in self._reads.assignment():
            high = self._reads.highwater(tp)
            committed = await self._reads.committed(tp)
            if high is not None:
                total += max(0, high - (committed or 0))
        return total

    async def stop(self) -> None:
        """Safe to call twice."""
        task, self._follow_task = self._follow_task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        for client in (self._reads, self._hotlist, self._producer):
            if client is not None:
                await client.stop()
        self._reads = self._hotlist = self._producer = None
        if self._store is not None:
            self._store.close()
            self._store = None
