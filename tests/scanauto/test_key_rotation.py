"""Rotating fleet keys while reads flow loses no hit; a retired key matches nothing any more."""

from __future__ import annotations

import argparse
import asyncio
import os
from datetime import timedelta
from pathlib import Path

from aiokafka import AIOKafkaProducer

from contract.bus import KafkaSettings, ensure_topics
from contract.digest import DigestKey, KeyRing, digest, load_key_file, write_key_file
from contract.events import Candidate, Hit, ModelVersions, PlateRead, new_event_id, utcnow
from contract.topics import READS
from ingest.lists import ListRow
from ingest.publisher import execute, plan_snapshot, published_state
from matcher.service import Matcher, MatcherSettings
from scanauto.keys import keys_retire

LISTED = "GBB01B"


def _read(ring: KeyRing, plate: str) -> PlateRead:
    key = ring.current_at(utcnow())  # exactly what the edge does for every read
    return PlateRead(
        event_id=new_event_id(), vehicle_id="scan-01", camera_id="cam", captured_at=utcnow(), key_id=key.key_id,
        candidates=[Candidate(digest=digest(plate, key), probability=0.95)],
        models=ModelVersions(detector="d", ocr="o"), detection_confidence=0.9, ocr_confidence=0.9, frames=5,
    )  # fmt: skip


async def _publish_list(ring: KeyRing, kafka: KafkaSettings) -> None:
    rows = [ListRow(2, LISTED, "stolen", "SV-ROT", None)]
    now = utcnow()
    await execute(plan_snapshot(rows, "stolen", ring, now, await published_state(kafka)), kafka)


async def test_rotation_while_reads_flow_loses_no_hit(kafka: KafkaSettings, tmp_path: Path) -> None:
    await ensure_topics(kafka)
    key_file = tmp_path / "fleet.json"
    k1 = DigestKey("k1", os.urandom(32))
    ring = KeyRing((k1,))
    write_key_file(key_file, ring)
    await _publish_list(ring, kafka)

    hits: list[Hit] = []
    matcher = Matcher(
        MatcherSettings(kafka=kafka, store_path=tmp_path / "hits.sqlite", session_timeout_ms=6000,
                        heartbeat_interval_ms=500),
        on_hit=hits.append,
    )  # fmt: skip
    await matcher.start()
    stop = asyncio.Event()
    run = asyncio.create_task(matcher.run(stop))

    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
    await producer.start()
    sent_hits: dict[str, str] = {}  # event id -> key id
    current = {"ring": ring}

    async def flow() -> None:
        for i in range(120):
            plate = LISTED if i % 3 == 0 else f"BD{10 + i % 89}FG"
            read = _read(current["ring"], plate)
            if plate == LISTED:
                sent_hits[read.event_id] = read.key_id
            await producer.send_and_wait(READS, read.model_dump_json().encode(), key=read.event_id.encode())
            await asyncio.sleep(0.02)

    flowing = asyncio.create_task(flow())
    # Rotation step 1: the next key, valid from one second on, published while k1 is current.
    await asyncio.sleep(0.4)
    k2 = DigestKey("k2", os.urandom(32), not_before=utcnow() + timedelta(seconds=1))
    ring = KeyRing((k1, k2))
    write_key_file(key_file, ring)
    await _publish_list(ring, kafka)
    current["ring"] = ring  # the edges get the new key file; they switch by its window
    # Rotation step 2: once k2 is current, k1 ends.
    await asyncio.sleep(1.2)
    ring = KeyRing((DigestKey("k1", k1.secret, None, utcnow()), k2))
    write_key_file(key_file, ring)
    await _publish_list(ring, kafka)
    current["ring"] = ring
    await flowing
    await producer.stop()

    for _ in range(200):
        if matcher.stats.reads >= 120:
            break
        await asyncio.sleep(0.05)
    assert {kid for kid in sent_hits.values()} == {"k1", "k2"}  # reads were made under both keys
    assert sorted(h.read_event_id for h in hits) == sorted(sent_hits)  # every listed read hit, once
    assert matcher.stats.dead_letters == 0

    # Rotation step 3: retire k1. Its records are tombstoned and its secret is destroyed.
    args = argparse.Namespace(key_file=key_file, key_id="k1", bootstrap_servers=kafka.bootstrap_servers)
    assert await keys_retire(args) == 0
    assert [k.key_id for k in load_key_file(key_file).keys] == ["k2"]
    assert "k1" not in key_file.read_text()
    for _ in range(100):
        if "k1" not in matcher.index.key_ids:
            break
        await asyncio.sleep(0.05)
    assert matcher.index.key_ids == {"k2"}
    state = await published_state(kafka)
    assert not [k for k in state if b":k1:" in k or k == b"key:k1"]
    stop.set()
    await run
    await matcher.stop()
