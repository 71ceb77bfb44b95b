"""`scanauto demo`: the whole system on a generated drive-by video, with an embedded broker."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from contract.bus import KafkaSettings, ensure_topics
from contract.digest import DigestKey, KeyRing
from contract.events import Hit, utcnow
from contract.sidecodes import format_display, is_valid_dutch
from edge.frames import VideoFileSource
from edge.outbox import OutboxSettings
from edge.pipeline import FinishedRead
from edge.service import EdgeSettings, EdgeStats, run_edge
from ingest.lists import parse_list
from ingest.publisher import execute, plan_snapshot, published_state
from matcher.report import build_report, render_text
from matcher.service import Matcher, MatcherSettings, reads_topic_retention_s
from models.synth.plates import random_dutch_plate
from models.synth.video import DriveBySpec, DriveByTruth, render_driveby
from scanauto.broker import EmbeddedBroker


class DemoSettings(BaseModel):
    """The embedded defaults of `make demo`."""

    model_config = ConfigDict(extra="forbid")

    seed: int = Field(2026, description="seed of the drive-by video and the lists")
    cars: int = Field(45, ge=5, le=500, description="parked cars along the street")
    stolen: int = Field(3, ge=0, le=20, description="cars of the video on the stolen list")
    false_plates: int = Field(2, ge=0, le=20, description="cars of the video on the false-plate list")
    decoys: int = Field(25, ge=0, le=10_000, description="listed plates that are not in the video")
    workdir: Path | None = Field(None, description="keep the demo's files here (default: a temporary folder)")
    quiet: bool = False


@dataclass
class DemoResult:
    truth: DriveByTruth  # in RAM only: the test harness compares it with what the system did
    expected: dict[str, tuple[str, str]]  # plate -> (list, reference)
    hits: list[Hit] = field(default_factory=list)
    edge: EdgeStats | None = None
    discarded: int = 0
    dead_letters: int = 0
    workdir: Path | None = None
    bootstrap: str = ""
    reads_retention_s: float = -1.0

    @property
    def found(self) -> set[str]:
        return {h.plate for h in self.hits} & set(self.expected)

    @property
    def missed(self) -> set[str]:
        return set(self.expected) - self.found

    @property
    def unexpected(self) -> set[str]:
        return {h.plate for h in self.hits} - set(self.expected)


def _write_lists(settings: DemoSettings, truth: DriveByTruth, folder: Path) -> dict[str, tuple[str, str]]:
    """Put some of the video's Dutch cars on the lists, plus decoys that never drive by."""
    rng = np.random.default_rng([settings.seed, 7])
    dutch = [c.text for c in truth.cars if c.country == "NL" and is_valid_dutch(c.text)]
    chosen = [dutch[i] for i in rng.choice(len(dutch), settings.stolen + settings.false_plates, replace=False)]
    in_video = {c.text for c in truth.cars}
    decoys: list[str] = []
    while len(decoys) < settings.decoys:
        plate = random_dutch_plate(rng)
        if plate not in in_video and plate not in decoys:
            decoys.append(plate)
    expected: dict[str, tuple[str, str]] = {}
    for list_name, plates in (
        ("stolen", chosen[: settings.stolen] + decoys[::2]),
        ("false-plate", chosen[settings.stolen :] + decoys[1::2]),
    ):
        lines = ["plate,reference,valid_until"]
        for i, plate in enumerate(plates):
            ref = f"{'SV' if list_name == 'stolen' else 'FP'}-{settings.seed}-{i:04d}"
            lines.append(f"{format_display(plate)},{ref},2099-12-31")
            if plate in chosen:
                expected[plate] = (list_name, ref)
        (folder / f"{list_name}.csv").write_text("\n".join(lines) + "\n")
    return expected


async def run_demo_pipeline(
    settings: DemoSettings,
    stop: asyncio.Event,
    workdir: Path,
    on_read: Callable[[FinishedRead], None] | None = None,
    before_stop: Callable[[KafkaSettings], Awaitable[None]] | None = None,
) -> DemoResult:
    """Run the demo; `on_read` and `before_stop` (called while the broker still runs) are for tests."""
    say = (lambda *a: None) if settings.quiet else (lambda *a: print(*a, flush=True))
    video = workdir / "driveby.mp4"
    say(f"[demo] rendering a {settings.cars}-car drive-by video (seed {settings.seed}) ...")
    truth = render_driveby(DriveBySpec(seed=settings.seed, n_cars=settings.cars), video, progress=not settings.quiet)
    say(f"[demo] video: {truth.n_frames} frames, {truth.n_frames / truth.fps:.1f} s, {truth.width}x{truth.height}")
    expected = _write_lists(settings, truth, workdir)
    # The demo's fleet key lives in RAM only; a real deployment loads it from a key file.
    keys = KeyRing((DigestKey("demo-key-1", os.urandom(32)),))

    with EmbeddedBroker(log_path=workdir / "broker.log") as broker:
        result = DemoResult(truth=truth, expected=expected, workdir=workdir, bootstrap=broker.bootstrap)
        kafka = KafkaSettings(bootstrap_servers=broker.bootstrap)
        say(f"[demo] embedded Kafka-compatible broker on {broker.bootstrap} (pid {broker.pid})")
        await ensure_topics(kafka)
        now = utcnow()
        for list_name in ("stolen", "false-plate"):
            parsed = parse_list(workdir / f"{list_name}.csv", list_name, now)
            plan = plan_snapshot(parsed.rows, list_name, keys, now, await published_state(kafka))
            acked = await execute(plan, kafka)
            say(
                f"[demo] ingest {list_name}: {len(parsed.rows)} accepted, {len(parsed.rejected)} rejected, "
                f"{acked} entries published"
            )

        def on_hit(hit: Hit) -> None:
            result.hits.append(hit)
            say(
                f"[HIT] list={hit.list} reference={hit.reference} plate={format_display(hit.plate)} "
                f"captured={hit.captured_at.isoformat(timespec='milliseconds')} p={hit.probability:.2f}"
            )

        matcher = Matcher(
            MatcherSettings(
                kafka=kafka, store_path=workdir / "hits.sqlite", session_timeout_ms=6000, heartbeat_interval_ms=500
            ),
            on_hit=on_hit,
        )
        await matcher.start()
        matcher_stop = asyncio.Event()
        matcher_task = asyncio.create_task(matcher.run(matcher_stop), name="matcher")
        try:
            edge_settings = EdgeSettings(
                source=VideoFileSource(path=video),
                kafka=kafka,
                outbox=OutboxSettings(path=workdir / "edge-outbox.sqlite"),
                status_port=0,  # any free port: the operator page runs while the demo does
            )
            say("[demo] edge: detecting and reading plates ...")
            result.edge = await run_edge(edge_settings, keys, stop, on_read=on_read)
            deadline = time.monotonic() + 60
            while matcher.stats.reads < result.edge.reads and time.monotonic() < deadline:
                if matcher_task.done():
                    await matcher_task  # surfaces the matcher's error
                await asyncio.sleep(0.05)
        finally:
            matcher_stop.set()
            await asyncio.gather(matcher_task, return_exceptions=True)
            await matcher.stop()
        result.discarded, result.dead_letters = matcher.stats.discarded, matcher.stats.dead_letters
        result.reads_retention_s = await reads_topic_retention_s(kafka)
        if before_stop is not None:
            await before_stop(kafka)
    return result


def summary(result: DemoResult) -> dict[str, object]:
    edge = result.edge or EdgeStats()
    return {
        "cars": len(result.truth.cars),
        "frames": edge.frames,
        "fps": round(edge.fps, 1),
        "ms_per_frame": {k: round(v, 2) for k, v in edge.stage_ms.items()},
        "reads": edge.reads,
        "hits": len(result.hits),
        "non_hits_discarded": result.discarded,
        "dead_letters": result.dead_letters,
        "expected_hits": len(result.expected),
        "expected_hits_found": len(result.found),
        "expected_hits_missed": len(result.missed),
        "unexpected_hits": len(result.unexpected),
    }


async def run_demo(settings: DemoSettings, stop: asyncio.Event) -> int:
    with tempfile.TemporaryDirectory(prefix="scanauto-demo-") as tmp:
        workdir = settings.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        result = await run_demo_pipeline(settings, stop, workdir)
        report = build_report(workdir / "hits.sqlite", utcnow(), timedelta(days=28), result.reads_retention_s)
    s = summary(result)
    print("\n[demo] summary")
    for key, value in s.items():
        print(f"  {key.replace('_', ' '):22s} {value}")
    for plate in sorted(result.missed):
        list_name, ref = result.expected[plate]
        print(f"  missed: {list_name} {ref} {format_display(plate)}")
    print()
    print(render_text(report))
    print(json.dumps(s))
    return 0
