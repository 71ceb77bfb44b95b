"""What the operator sees: live figures of the edge gathered into one status (no plate text, ever).

`EdgeMonitor` holds references to the parts' live counters; `status()` reads them into an
`EdgeStatus` (the JSON of the status page) and `metric_values()` into flat numbers for Prometheus.
"""

from __future__ import annotations

import collections
import statistics
import threading
import time
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from edge.capture import Capture
from edge.evidence import EvidenceWindow
from edge.gps import GpsReceiver
from edge.outbox import Outbox
from edge.publisher import LinkStats

STAGES = ("decode", "detect", "ocr", "track", "digest", "outbox", "publish")
BEHIND_WINDOW_S = 60.0  # the alarm looks at the frames of the last minute ...
BEHIND_MIN_FRAMES = 30  # ... once there are this many ...
BEHIND_SHARE = 0.05  # ... and raises when at least this share of them was dropped


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CameraStatus(_Model):
    state: str = Field(description="starting | ok | stalled | reconnecting | ended | failed | stopped")
    fps: float = Field(ge=0, description="frames captured per second, last seconds")
    frames: int = Field(ge=0)
    processed: int = Field(ge=0, description="frames through the pipeline")
    dropped: int = Field(ge=0, description="frames dropped by the newest-wins queue")
    corrupt: int = Field(ge=0, description="corrupt frames skipped")
    reconnects: int = Field(ge=0)
    stalls: int = Field(ge=0)


class GpsStatus(_Model):
    state: str = Field(description="off | starting | no-fix | fix | stale | disconnected")
    fix_quality: int = Field(ge=0, le=8)
    satellites: int | None = None
    fix_age_s: float | None = None


class LinkStatus(_Model):
    state: str = Field(description="connecting | up | down")
    acked: int = Field(ge=0, description="reads acknowledged by the broker")
    failures: int = Field(ge=0)
    down_for_s: float = Field(ge=0)


class OutboxStatus(_Model):
    backlog: int = Field(ge=0, description="reads waiting for the broker")
    oldest_s: float = Field(ge=0)
    max_reads: int = Field(ge=1)
    dropped: int = Field(ge=0, description="oldest reads dropped because the outbox was full")


class EvidenceStatus(_Model):
    held: int = Field(ge=0, description="reads whose crop is in RAM now")
    window_s: float = Field(gt=0)
    oldest_age_ever_s: float = Field(ge=0, description="longest any crop lived, measured")
    wiped: int = Field(ge=0)
    answered: int = Field(ge=0)
    expired: int = Field(ge=0)
    refused: int = Field(0, ge=0, description="requests without proof of a hit, refused")


class EdgeStatus(_Model):
    """The status page's JSON: counts, states and timings only."""

    vehicle_id: str
    camera_id: str
    uptime_s: float = Field(ge=0)
    camera: CameraStatus
    latency_ms: dict[str, float] = Field(description="mean ms per frame of each stage; publish: per batch")
    frame_latency_p50_ms: float = Field(ge=0)
    frame_latency_p99_ms: float = Field(ge=0)
    reads: int = Field(ge=0)
    reads_per_minute: int = Field(ge=0)
    gps: GpsStatus
    link: LinkStatus
    outbox: OutboxStatus
    evidence: EvidenceStatus
    alarms: list[str]


@dataclass
class FrameTimes:
    """Per-frame figures the inference loop adds up."""

    processed: int = 0
    stage_s: dict[str, float] = field(default_factory=lambda: {k: 0.0 for k in STAGES})
    latency_ms: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=20_000))
    reads: int = 0
    read_times: collections.deque[float] = field(default_factory=lambda: collections.deque(maxlen=10_000))

    def add_reads(self, n: int) -> None:
        self.reads += n
        now = time.monotonic()
        self.read_times.extend([now] * n)

    def reads_last_minute(self) -> int:
        cutoff = time.monotonic() - 60
        times = list(self.read_times)  # one C call: a snapshot, while the reading thread appends
        return sum(1 for t in times if t >= cutoff)

    def percentile(self, q: float) -> float:
        data = list(self.latency_ms)
        if len(data) < 2:
            return data[0] if data else 0.0
        return statistics.quantiles(data, n=100, method="inclusive")[round(q) - 1]


@dataclass
class EdgeMonitor:
    vehicle_id: str
    camera_id: str
    capture: Capture
    gps: GpsReceiver
    outbox: Outbox
    link: LinkStats
    evidence: EvidenceWindow
    times: FrameTimes = field(default_factory=FrameTimes)
    started: float = field(default_factory=time.monotonic)
    # (time, frames captured, frames dropped): the start, then one per look; the newest one older than the window
    # stays first, so a look compares with about a minute ago (or with the start)
    _drops: collections.deque[tuple[float, int, int]] = field(default_factory=collections.deque)
    _drops_lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self._drops.append((self.started, self.capture.stats.frames, self.capture.dropped))

    def dropped_recently(self) -> tuple[int, int]:
        """Frames captured and frames dropped in about the last BEHIND_WINDOW_S (since the start if sooner)."""
        now, frames, dropped = time.monotonic(), self.capture.stats.frames, self.capture.dropped
        with self._drops_lock:  # the status server may look from two threads at once
            if now - self._drops[-1][0] >= 1.0:  # at most one sample a second
                self._drops.append((now, frames, dropped))
            while len(self._drops) > 1 and self._drops[1][0] <= now - BEHIND_WINDOW_S:
                self._drops.popleft()
            _, frames0, dropped0 = self._drops[0]
        return frames - frames0, dropped - dropped0

    def stage_ms(self) -> dict[str, float]:
        n = max(1, self.times.processed)
        out = {k: 1000 * v / n for k, v in self.times.stage_s.items()}
        out["decode"] = 1000 * self.capture.stats.decode_s / max(1, self.capture.stats.frames)
        out["publish"] = self.link.publish_s * 1000 / max(1, len(self.link.ack_ms)) if self.link.ack_ms else 0.0
        return {k: round(out[k], 3) for k in STAGES}

    def alarms(self) -> list[str]:
        out = []
        cam = self.capture.stats
        if cam.alarm:
            out.append(cam.alarm)
        self.gps.refresh()
        if self.gps.stats.state in ("no-fix", "stale", "disconnected"):
            out.append(f"GPS: {self.gps.stats.state.replace('-', ' ')}; reads carry no position")
        for alarm in (self.link.alarm, self.outbox.alarm):
            if alarm:
                out.append(alarm)
        frames, dropped = self.dropped_recently()
        if frames >= BEHIND_MIN_FRAMES and dropped >= BEHIND_SHARE * frames:
            out.append(
                f"inference falls behind the camera: {dropped} of the last {frames} frames dropped; plates may "
                "be missed (check the computer's CPU load and model threads)"
            )
        return out

    def status(self) -> EdgeStatus:
        cam, g, t = self.capture.stats, self.gps.stats, self.times
        self.gps.refresh()
        return EdgeStatus(
            vehicle_id=self.vehicle_id,
            camera_id=self.camera_id,
            uptime_s=round(time.monotonic() - self.started, 1),
            camera=CameraStatus(
                state=cam.state,
                fps=round(cam.fps, 1),
                frames=cam.frames,
                processed=t.processed,
                dropped=self.capture.dropped,
                corrupt=cam.corrupt,
                reconnects=cam.reconnects,
                stalls=cam.stalls,
            ),
            latency_ms=self.stage_ms(),
            frame_latency_p50_ms=round(t.percentile(50), 2),
            frame_latency_p99_ms=round(t.percentile(99), 2),
            reads=t.reads,
            reads_per_minute=t.reads_last_minute(),
            gps=GpsStatus(state=g.state, fix_quality=g.quality, satellites=g.satellites, fix_age_s=g.fix_age_s),
            link=LinkStatus(
                state=self.link.state,
                acked=self.link.acked,
                failures=self.link.failures,
                down_for_s=round(time.monotonic() - self.link.down_since, 1) if self.link.down_since else 0.0,
            ),
            outbox=OutboxStatus(
                backlog=len(self.outbox),
                oldest_s=round(self.outbox.oldest_age_s(), 1),
                max_reads=self.outbox.settings.max_reads,
                dropped=self.outbox.dropped,
            ),
            evidence=EvidenceStatus(
                held=len(self.evidence),
                window_s=self.evidence.window_s,
                oldest_age_ever_s=round(self.evidence.oldest_age_ever_s, 3),
                wiped=self.evidence.wiped,
                answered=self.link.evidence_answered,
                expired=self.link.evidence_expired,
                refused=self.link.evidence_refused,
            ),
            alarms=self.alarms(),
        )
