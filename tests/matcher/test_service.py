"""The matcher against a real broker: hits stored and published once, offsets after durability."""

import asyncio
import urllib.request
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from contract.bus import KafkaSettings, ensure_topics
from contract.digest import KeyRing, digest
from contract.events import Candidate, Hit, ModelVersions, PlateRead, new_event_id, utcnow
from contract.topics import DEAD_LETTER, HITS, READS
from ingest.lists import ListRow
from ingest.publisher import execute, plan_upsert
from matcher.service import Matcher, MatcherSettings
from matcher.store import HitStore
from scanauto.broker import free_port


def _read(keys: KeyRing, plate: str, event_id: str | None = None) -> PlateRead:
    return PlateRead(
        event_id=event_id or new_event_id(),
        vehicle_id="scan-01",
        camera_id="cam",
        captured_at=utcnow(),
        key_id=keys.current.key_id,
        candidates=[Candidate(digest=digest(plate, keys.current), probability=0.9)],
        models=ModelVersions(detector="d", ocr="o"),
        detection_confidence=0.9,
        ocr_confidence=0.9,
        frames=4,
    )


def _scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


async def _drain(kafka: KafkaSettings, topic: str, expect: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka.bootstrap_servers, auto_offset_reset="earliest", fetch_max_wait_ms=50
    )
    await consumer.start()
    out: list[bytes] = []
    try:
        for _ in range(40):
            for records in (await consumer.getmany(timeout_ms=100)).values():
                out.extend(r.value for r in records if r.value is not None)
            if len(out) >= expect:
                await asyncio.sleep(0.3)  # and nothing more arrives
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    out.extend(r.value for r in records if r.value is not None)
                break
    finally:
        await consumer.stop()
    return out


async def test_matcher_stores_hits_once_and_commits_after_durability(
    kafka: KafkaSettings, keys: KeyRing, tmp_path: Path
) -> None:
    await ensure_topics(kafka)
    rows = [ListRow(2, "AB1234", "stolen", "SV-1", None)]
    await execute(plan_upsert(rows, keys, utcnow()), kafka)
    port = free_port()
    settings = MatcherSettings(
        kafka=kafka,
        store_path=tmp_path / "hits.sqlite",
        session_timeout_ms=6000,
        heartbeat_interval_ms=500,
        metrics_port=port,
    )
    seen: list[Hit] = []
    matcher = Matcher(settings, on_hit=seen.append)
    await matcher.start()
    assert len(matcher.index) == 1
    hit_read = _read(keys, "AB1234")
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all")
    await producer.start()
    for value in [
        hit_read.model_dump_json().encode(),
        _read(keys, "BD12FG").model_dump_json().encode(),
        hit_read.model_dump_json().encode(),  # redelivered: same event id
        b'{"kind": "plate-read", "schema_version": 99}',
    ]:
        await producer.send_and_wait(READS, value, key=b"k")
    await producer.stop()

    stop = asyncio.Event()
    task = asyncio.create_task(matcher.run(stop))
    for _ in range(200):
        if matcher.stats.reads >= 4:
            break
        await asyncio.sleep(0.05)
    stop.set()
    await task
    assert await matcher.lag() == 0  # everything handled was committed
    assert matcher.snapshot.reads_topic_retention_s == 3600.0  # read back from the broker
    counters = matcher.store.counters()
    assert (counters["reads"], counters["non_hits_discarded"], counters["dead_letters"], counters["hits"]) == (
        4,
        1,
        1,
        1,
    )
    assert counters["non_hit_seconds_count"] == 1 and counters["non_hit_seconds_sum"] > 0
    assert counters["candidates_looked_up"] == 3  # one digest in each of the three well-formed reads
    await matcher.refresh_snapshot()
    metrics = await asyncio.to_thread(_scrape, port)
    for line in [
        "scanauto_matcher_reads_total 4.0",
        "scanauto_matcher_non_hits_discarded_total 1.0",
        "scanauto_matcher_dead_letters_total 1.0",
        "scanauto_matcher_hits_stored 1.0",
        "scanauto_matcher_reads_topic_retention_seconds 3600.0",
        'scanauto_matcher_non_hit_seconds_bucket{le="+Inf"} 1.0',
        "scanauto_matcher_evidence_requested_total 1.0",
        "scanauto_matcher_candidates_looked_up_total 3.0",
    ]:
        assert line in metrics, line
    assert "AB1234" not in metrics
    assert (matcher.stats.reads, matcher.stats.hits, matcher.stats.discarded, matcher.stats.dead_letters) == (
        4,
        1,
        1,
        1,
    )
    assert matcher.stats.duplicate_hits == 1
    assert [h.plate for h in seen] == ["AB1234"]  # notified once
    await matcher.stop()
    await matcher.stop()  # safe twice

    store = HitStore(tmp_path / "hits.sqlite")
    assert [(h.plate, h.reference, h.read_event_id) for h in store.all()] == [("AB1234", "SV-1", hit_read.event_id)]
    store.close()
    hits = {Hit.model_validate_json(v).hit_id for v in await _drain(kafka, HITS, 1)}
    assert hits == {seen[0].hit_id}
    dead = await _drain(kafka, DEAD_LETTER, 1)
    assert len(dead) == 1 and b"schema_version" in dead[0]
