"""`scanauto bench matcher`: hotlist load time and memory, matching throughput, hit latency.

Runs against the embedded broker on this machine; prints progress lines and, with --json, one
JSON object as the last line.
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import logging
import os
import resource
import statistics
import sys
import tempfile
import time
from hashlib import sha256
from pathlib import Path

from aiokafka import AIOKafkaProducer

from contract.bus import KafkaSettings, ensure_topics
from contract.digest import DigestKey, digest
from contract.events import Candidate, Hit, HotlistKey, ModelVersions, PlateRead, new_event_id, utcnow
from contract.topics import HOTLIST, READS
from matcher.service import Matcher, MatcherSettings
from scanauto.broker import EmbeddedBroker

KEY = DigestKey("bench-key", bytes(range(7, 39)))
_B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def log(msg: str) -> None:
    print(f"[bench matcher] {msg}", file=sys.stderr, flush=True)


def rss_mb() -> float:
    """Current resident set size of this process in MiB (from /proc)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def plate_of(i: int) -> str:
    out = ""
    for _ in range(7):
        i, r = divmod(i, 36)
        out = _B36[r] + out
    return "H" + out


def hotlist_record(i: int, now_iso: str) -> tuple[bytes, bytes]:
    plate = plate_of(i)
    d = hmac.new(KEY.secret, b"scanauto/plate/v1\x00" + plate.encode(), sha256).hexdigest()
    assert i > 1 or d == digest(plate, KEY)  # the fast path computes exactly the contract's digest
    value = (
        '{"schema_version":1,"kind":"hotlist-entry","key_id":"bench-key","digest":"' + d + '","list":"stolen",'
        f'"reference":"SV-{i:09d}","plate":"{plate}","valid_until":null,"note":null,"published_at":"{now_iso}"}}'
    )
    return f"stolen:bench-key:{d}".encode(), value.encode()


async def produce(kafka: KafkaSettings, topic: str, records: list[tuple[bytes, bytes]] | None, n: int,
                  make: object = None) -> float:  # fmt: skip
    """Produce n records (acks=all) as fast as the client allows; returns seconds."""
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all", linger_ms=20,
                                max_batch_size=1_000_000, max_request_size=8_000_000)  # fmt: skip
    await producer.start()
    t0 = time.perf_counter()
    now_iso = utcnow().isoformat()
    pending = []
    last = t0
    try:
        for i in range(n):
            key, value = records[i] if records is not None else make(i, now_iso)  # type: ignore[operator]
            pending.append(await producer.send(topic, value, key=key))
            if len(pending) >= 20_000:
                await asyncio.gather(*pending)
                pending.clear()
                if time.perf_counter() - last > 10:
                    last = time.perf_counter()
                    rate = (i + 1) / (last - t0)
                    log(f"  produced {i + 1:,}/{n:,} to {topic} at {rate:,.0f}/s, ETA {(n - i - 1) / rate:.0f} s")
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return time.perf_counter() - t0


async def load_run(kafka: KafkaSettings, n_entries: int, workdir: Path) -> dict[str, float]:
    """Publish n hotlist entries, then time a matcher's start (hotlist read to its end, sealed)."""
    log(f"publishing {n_entries:,} hotlist entries ...")
    ann = HotlistKey(key_id=KEY.key_id, published_at=utcnow())
    await produce(kafka, HOTLIST, [(ann.kafka_key.encode(), ann.model_dump_json().encode())], 1)
    produce_s = await produce(kafka, HOTLIST, None, n_entries, hotlist_record)
    log(f"  published in {produce_s:.1f} s; starting a matcher ...")
    rss0 = rss_mb()
    matcher = Matcher(MatcherSettings(kafka=kafka, store_path=workdir / f"hits-{n_entries}.sqlite",
                                      session_timeout_ms=6000, heartbeat_interval_ms=500))  # fmt: skip
    await matcher.start()
    load_s = matcher.hotlist_load_s  # reading the topic to its end and building the index
    entries = len(matcher.index)
    rss = rss_mb()
    index_mb = matcher.index.nbytes / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # high-water mark so far, publishing included
    await matcher.stop()
    log(f"  loaded {entries:,} entries in {load_s:.1f} s; RSS {rss:.0f} MiB (index arrays {index_mb:.0f} MiB)")
    return {"load_s": load_s, "entries": entries, "rss_mb": rss, "rss_before_mb": rss0, "index_mb": index_mb,
            "peak_rss_mb": peak}  # fmt: skip


def read_record(i: int, now_iso: str, listed_every: int = 0) -> tuple[bytes, bytes]:
    cands = []
    for c in range(8):
        plate = (
            plate_of(i * 8 + c + 50_000_000) if not (listed_every and i % listed_every == 0 and c == 0) else plate_of(i)
        )
        cands.append(Candidate(digest=digest(plate, KEY), probability=0.5 / (c + 1)))
    read = PlateRead(event_id=new_event_id(), vehicle_id="scan-01", camera_id="cam-front", captured_at=utcnow(),
                     key_id=KEY.key_id, candidates=cands,
                     models=ModelVersions(detector="plate_detector-00000000", ocr="plate_ocr-00000000"),
                     detection_confidence=0.9, ocr_confidence=0.9, frames=12)  # fmt: skip
    return read.event_id.encode(), read.model_dump_json().encode()


async def throughput_run(kafka: KafkaSettings, n_reads: int, workdir: Path) -> dict[str, float]:
    """Pre-load n reads on the broker, then time one matcher instance processing all of them."""
    log(f"preparing {n_reads:,} reads (8 candidate digests each) ...")
    records = [read_record(i, "", listed_every=10_000) for i in range(n_reads)]
    await produce(kafka, READS, records, n_reads)
    del records
    matcher = Matcher(MatcherSettings(kafka=kafka, store_path=workdir / "hits-tp.sqlite", batch_max=10_000,
                                      group_id="bench-throughput", session_timeout_ms=6000,
                                      heartbeat_interval_ms=500))  # fmt: skip
    await matcher.start()
    stop = asyncio.Event()
    task = asyncio.create_task(matcher.run(stop))
    t0 = None
    last = time.perf_counter()
    while matcher.stats.reads < n_reads:
        await asyncio.sleep(0.01)
        if t0 is None and matcher.stats.reads:
            t0 = time.perf_counter()  # from the first batch: group join time is not matching time
            cpu0 = time.process_time()
            first = matcher.stats.reads
        if time.perf_counter() - last > 5:
            last = time.perf_counter()
            log(f"  matched {matcher.stats.reads:,}/{n_reads:,}")
    elapsed = time.perf_counter() - (t0 or time.perf_counter())
    cpu = time.process_time() - cpu0
    stop.set()
    await task
    hits = matcher.stats.hits
    await matcher.stop()
    rate = (n_reads - first) / elapsed if elapsed else 0.0
    per_cpu = (n_reads - first) / cpu if cpu else 0.0
    log(f"  {n_reads:,} reads matched at {rate:,.0f} reads/s ({per_cpu:,.0f} per CPU second); {hits} hits")
    return {"reads_per_s": rate, "reads_per_cpu_s": per_cpu, "reads": n_reads, "hits": hits}


async def latency_run(kafka: KafkaSettings, rate: float, seconds: float, workdir: Path) -> dict[str, float]:
    """Reads at `rate`/s (every 10th listed); latency from publish to the hit stored."""
    sent: dict[str, float] = {}
    lat: list[float] = []

    def on_hit(h: Hit) -> None:
        t = sent.pop(h.read_event_id, None)
        if t is not None:
            lat.append((time.perf_counter() - t) * 1000)

    matcher = Matcher(MatcherSettings(kafka=kafka, store_path=workdir / "hits-lat.sqlite", group_id="bench-latency",
                                      session_timeout_ms=6000, heartbeat_interval_ms=500, fetch_max_wait_ms=20),
                      on_hit=on_hit)  # fmt: skip
    await matcher.start()
    stop = asyncio.Event()
    task = asyncio.create_task(matcher.run(stop))
    await asyncio.sleep(4)  # let the group settle before measuring
    while await matcher.lag() != 0:  # reads already on the topic (the throughput run's) are not this run's
        await asyncio.sleep(0.5)
    producer = AIOKafkaProducer(bootstrap_servers=kafka.bootstrap_servers, acks="all", linger_ms=0)
    await producer.start()
    n = int(rate * seconds)
    t0 = time.perf_counter()
    for i in range(n):
        key, value = read_record(i, "", listed_every=10)
        if i % 10 == 0:
            sent[key.decode()] = time.perf_counter()
        await producer.send(READS, value, key=key)
        delay = t0 + (i + 1) / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
    await producer.flush()
    deadline = time.perf_counter() + 10
    while sent and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    stop.set()
    await task
    await matcher.stop()
    await producer.stop()
    if len(lat) < 2:
        raise RuntimeError(f"latency run measured {len(lat)} hits; expected about {n // 10}")
    q = statistics.quantiles(lat, n=100)
    log(f"  {len(lat)} hits at {rate:.0f} reads/s: p50 {q[49]:.1f} ms, p99 {q[98]:.1f} ms, lost {len(sent)}")
    return {"p50_hit_ms": q[49], "p99_hit_ms": q[98], "hits_measured": len(lat), "hits_lost": len(sent)}


async def run(args: argparse.Namespace) -> dict[str, object]:
    result: dict[str, object] = {"machine_cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="bench-matcher-") as tmp:
        workdir = Path(tmp)
        for n in args.sizes:
            with EmbeddedBroker() as broker:
                kafka = KafkaSettings(bootstrap_servers=broker.bootstrap)
                await ensure_topics(kafka)
                r = await load_run(kafka, n, workdir)
            tag = f"{n // 1_000_000}m" if n >= 1_000_000 else str(n)
            result[f"load_s_{tag}"] = round(r["load_s"], 2)
            result[f"rss_mb_{tag}"] = round(r["rss_mb"], 1)
            result[f"index_mb_{tag}"] = round(r["index_mb"], 1)
            result[f"peak_rss_mb_{tag}"] = round(r["peak_rss_mb"], 1)
        with EmbeddedBroker() as broker:
            kafka = KafkaSettings(bootstrap_servers=broker.bootstrap)
            await ensure_topics(kafka)
            ann = HotlistKey(key_id=KEY.key_id, published_at=utcnow())
            await produce(kafka, HOTLIST, [(ann.kafka_key.encode(), ann.model_dump_json().encode())], 1)
            await produce(kafka, HOTLIST, None, 100_000, hotlist_record)
            tp = await throughput_run(kafka, args.reads, workdir)
            result["reads_per_s"] = round(tp["reads_per_s"])
            result["reads_per_cpu_s"] = round(tp["reads_per_cpu_s"])
            result["throughput_reads"] = args.reads
            lat = await latency_run(kafka, args.rate, args.seconds, workdir)
            result.update({k: round(v, 2) for k, v in lat.items()})
    result["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="scanauto bench matcher", description=__doc__)
    p.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000], help="hotlist sizes to load")
    p.add_argument("--reads", type=int, default=1_000_000, help="reads for the throughput run")
    p.add_argument("--rate", type=float, default=1000.0, help="reads/s for the latency run")
    p.add_argument("--seconds", type=float, default=20.0, help="duration of the latency run")
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = p.parse_args(argv)
    logging.getLogger("scanauto").setLevel(logging.WARNING)  # one line per hit would drown the figures
    result = asyncio.run(run(args))
    for k, v in result.items():
        print(f"{k:22s} {v}")
    if args.json:
        print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
