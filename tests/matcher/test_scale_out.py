"""Two matcher instances in one consumer group share six partitions; every hit is recorded once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from aiokafka import AIOKafkaProducer

from contract.bus import KafkaSettings, ensure_topics
from contract.digest import KeyRing, digest
from contract.events import Candidate, Hit, ModelVersions, PlateRead, new_event_id, utcnow
from contract.topics import READS, TOPICS
from ingest.lists import ListRow
from ingest.publisher import execute, plan_upsert
from matcher.service import Matcher, MatcherSettings
from matcher.store import HitStore

LISTED = [f"BD{n:02d}FG" for n in range(10, 30)]


async def test_two_instances_share_partitions_and_record_each_hit_once(
    kafka: KafkaSettings, keys: KeyRing, tmp_path: Path
) -> None:
    assert next(t.partitions for t in TOPICS if t.name == READS) == 6
    await ensure_topics(kafka)
    rows = [ListRow(i, p, "stolen", f"SV-{i}", None) for i, p in enumerate(LISTED)]
    await execute(plan_upsert(rows, keys, utcnow()), kafka)

    seen: list[Hit] = []
    store = tmp_path / "hits.sqlite"  # one shared store, as with a shared database in production
    matchers = [
        Matcher(
            MatcherSettings(kafka=kafka, store_path=store, session_timeout_ms=6000, heartbeat_interval_ms=500),
            on_hit=seen.append,
        )
        for _ in range(2)
    ]
    stop = asyncio.Event()
    for m in matchers:
        await m.start()
    runs = [asyncio.create_task(m.run(stop)) for m in matchers]
    for _ in range(200):  # both members joined and split the partitions
        assigned = [len(m.assignment()) for m in matchers]
        if sorted(assigned) == [3, 3]:
            break
        await asyncio.sleep(0.05)
    assert sorted(assigned) == [3, 3]

    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all", linger_ms=5)
    await producer.start()
    key = keys.current
    expected: set[str] = set()
    sends = []
    for i in range(600):
        plate = LISTED[i % len(LISTED)] if i % 10 == 0 else f"GB{i % 90 + 10}{'XZ'[i % 2]}"
        read = PlateRead(
            event_id=new_event_id(), vehicle_id=f"scan-{i % 4}", camera_id="cam", captured_at=utcnow(),
            key_id=key.key_id, candidates=[Candidate(digest=digest(plate, key), probability=0.9)],
            models=ModelVersions(detector="d", ocr="o"), detection_confidence=0.9, ocr_confidence=0.9, frames=3,
        )  # fmt: skip
        if plate in LISTED:
            expected.add(read.event_id)
        raw = read.model_dump_json().encode()
        sends.append(await producer.send(READS, raw, key=read.event_id.encode()))
        if i % 5 == 0:  # a redelivered read must not produce a second hit
            sends.append(await producer.send(READS, raw, key=read.event_id.encode()))
    await asyncio.gather(*sends)
    await producer.stop()

    for _ in range(400):
        if sum(m.stats.reads for m in matchers) >= len(sends):
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.gather(*runs)
    assert all(m.stats.reads > 0 for m in matchers)  # both instances did work
    assert sum(m.stats.reads for m in matchers) == len(sends)
    assert sorted(h.read_event_id for h in seen) == sorted(expected)  # each hit exactly once
    for m in matchers:
        await m.stop()
    hit_store = HitStore(store)
    assert sorted(h.read_event_id for h in hit_store.all()) == sorted(expected)
    hit_store.close()
