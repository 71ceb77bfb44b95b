"""The demo path end to end on the real broker and models, and the privacy scan of everything it produced.

The demo runs once per module; the tests below read what it left behind.
"""

from __future__ import annotations

import asyncio
import io
import logging
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from contract.bus import KafkaSettings
from contract.sidecodes import format_display
from contract.topics import TOPICS
from edge.pipeline import FinishedRead
from scanauto.demo import DemoResult, DemoSettings, run_demo_pipeline, summary


@dataclass
class DemoRun:
    result: DemoResult
    workdir: Path
    output: str  # everything printed and logged
    messages: list[bytes] = field(default_factory=list)  # every key, value and header on every topic
    reads: list[FinishedRead] = field(default_factory=list)  # in-process reads with plaintext (RAM only)


async def _dump_topics(kafka: KafkaSettings) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=kafka.bootstrap_servers, enable_auto_commit=False, fetch_max_wait_ms=50
    )
    await consumer.start()
    out: list[bytes] = []
    try:
        tps = [TopicPartition(t.name, p) for t in TOPICS for p in sorted(consumer.partitions_for_topic(t.name) or {0})]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        for _ in range(200):
            for records in (await consumer.getmany(timeout_ms=100)).values():
                for r in records:
                    out += [r.key or b"", r.value or b""] + [v for _, v in r.headers]
            positions = [await consumer.position(tp) for tp in tps]
            highs = [consumer.highwater(tp) for tp in tps]
            if all(h is not None and p >= h for p, h in zip(positions, highs, strict=True)):
                break
    finally:
        await consumer.stop()
    return out


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    workdir = tmp_path_factory.mktemp("demo")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)  # the most talkative setting: every log line is scanned
    reads: list[FinishedRead] = []
    messages: list[bytes] = []

    async def grab(kafka: KafkaSettings) -> None:
        messages.extend(await _dump_topics(kafka))

    try:
        with redirect_stdout(stream), redirect_stderr(stream):
            result = asyncio.run(
                run_demo_pipeline(DemoSettings(), asyncio.Event(), workdir, on_read=reads.append, before_stop=grab)
            )
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    return DemoRun(result, workdir, stream.getvalue(), messages, reads)


def test_demo_finds_every_expected_hit_and_nothing_else(demo_run: DemoRun) -> None:
    s = summary(demo_run.result)
    assert s["expected_hits"] == 5
    assert s["expected_hits_found"] == 5, demo_run.result.missed
    assert s["unexpected_hits"] == 0
    assert s["hits"] == 5  # one hit per listed car: no duplicates
    assert s["dead_letters"] == 0
    assert s["reads"] == s["hits"] + s["non_hits_discarded"]
    for hit in demo_run.result.hits:
        assert (hit.list, hit.reference) == demo_run.result.expected[hit.plate]
        assert f"plate={format_display(hit.plate)}" in demo_run.output  # printed as it happened


def test_demo_reads_each_passing_car_about_once(demo_run: DemoRun) -> None:
    cars = len(demo_run.result.truth.cars)
    assert cars >= 40
    reads = demo_run.result.edge.reads if demo_run.result.edge else 0
    assert 0.9 * cars <= reads <= 1.1 * cars
    dutch = {c.text for c in demo_run.result.truth.cars if c.country == "NL"}
    best = {r.candidates[0].text for r in demo_run.reads}
    assert len(dutch & best) >= 0.9 * len(dutch)  # Dutch plates: the best reading is right
    # Every car, foreign ones too: the true text is among the digested candidates.
    anywhere = {c.text for r in demo_run.reads for c in r.candidates}
    assert sum(c.text in anywhere for c in demo_run.result.truth.cars) >= 0.9 * cars


def _non_hit_plates(run: DemoRun) -> set[str]:
    return {c.text for c in run.result.truth.cars} - set(run.result.expected)


def _needles(plates: set[str]) -> list[bytes]:
    forms = set()
    for p in plates:
        forms |= {p, format_display(p), " ".join(format_display(p).split("-"))}
    return sorted(f.encode() for f in forms)


def test_privacy_no_non_hit_plate_in_any_file_log_or_kafka_message(demo_run: DemoRun) -> None:
    non_hits = _non_hit_plates(demo_run)
    # The scan is only meaningful if the edge really read those plates (in RAM).
    read_texts = {c.text for r in demo_run.reads for c in r.candidates}
    assert len(non_hits & read_texts) >= 0.85 * len(non_hits)
    needles = _needles(non_hits)

    files = [p for p in demo_run.workdir.rglob("*") if p.is_file() and p.name != "driveby.mp4"]
    assert any(p.name.startswith("hits.sqlite") for p in files)  # the store was written and is scanned
    assert any(p.name.startswith("edge-outbox.sqlite") for p in files)  # so was the edge's outbox
    for path in files:  # the video is the camera's input, not something the system wrote
        data = path.read_bytes()
        leaked = [n for n in needles if n in data]
        assert not leaked, f"{path.name} contains non-hit plates {leaked[:3]}"

    output = demo_run.output.encode()
    assert b"[HIT]" in output  # hits were printed, so the output is being scanned for real
    assert not [n for n in needles if n in output], "a non-hit plate was printed or logged"

    edge = demo_run.result.edge
    assert edge is not None and "scanauto_edge_reads_total" in edge.metrics_text  # the operator's view
    shown = (edge.status_json + edge.metrics_text).encode()
    assert not [n for n in needles if n in shown], "a non-hit plate reached the status page or metrics"

    assert len(demo_run.messages) > 50  # reads, hotlist, hits, evidence requests
    blob = b"\n".join(demo_run.messages)
    assert not [n for n in needles if n in blob], "a non-hit plate reached Kafka"


def test_privacy_reads_on_kafka_carry_only_digests(demo_run: DemoRun) -> None:
    reads = [m for m in demo_run.messages if b'"kind":"plate-read"' in m]
    assert len(reads) == (demo_run.result.edge.reads if demo_run.result.edge else -1)
    for raw in reads:
        assert b'"plate"' not in raw and b"text" not in raw


def test_privacy_report_figures_are_measured_from_the_run(demo_run: DemoRun) -> None:
    from datetime import timedelta

    from contract.events import utcnow
    from matcher.report import build_report

    r = build_report(demo_run.workdir / "hits.sqlite", utcnow(), timedelta(days=28), demo_run.result.reads_retention_s)
    reads = demo_run.result.edge.reads if demo_run.result.edge else -1
    assert r["reads_processed"] == reads
    assert r["hits"] == r["hits_stored"] == 5 and r["evidence_requested"] == 5
    assert r["non_hits_discarded"] == reads - 5
    # Each read's digests as the matcher looked them up: the best reading always, alternatives up to 8 in all.
    assert reads <= r["candidates_looked_up"] <= 8 * reads
    assert r["candidates_per_read"] == r["candidates_looked_up"] / (reads - r["dead_letters"])
    assert r["reads_topic_retention_s"] == 3600.0  # read back from the broker, not from our settings
    assert 0 < r["non_hit_seconds_mean"] < 5.0 and r["oldest_hit_within_limit"]
