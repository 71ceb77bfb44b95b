"""Matcher metrics for Prometheus, measured from the running system (never from configuration)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from wsgiref.simple_server import WSGIServer

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

# Upper bounds (seconds) for the time a non-hit spends in the matcher.
DWELL_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass
class Dwell:
    """A histogram that takes many equal observations at once (a whole batch of non-hits)."""

    counts: list[int] = field(default_factory=lambda: [0] * len(DWELL_BUCKETS))
    total: int = 0
    sum_s: float = 0.0
    max_s: float = 0.0

    def observe(self, seconds: float, n: int = 1) -> None:
        if n <= 0:
            return
        for i, bound in enumerate(DWELL_BUCKETS):
            if seconds <= bound:
                self.counts[i] += n
                break
        self.total += n
        self.sum_s += seconds * n
        self.max_s = max(self.max_s, seconds)

    def as_counters(self, prefix: str) -> dict[str, float]:
        out = {f"{prefix}_le_{b}": float(c) for b, c in zip(DWELL_BUCKETS, self.counts, strict=True)}
        out.update({f"{prefix}_count": float(self.total), f"{prefix}_sum": self.sum_s})
        return out


@dataclass
class Snapshot:
    """Figures read from the store and the broker, refreshed by the service loop."""

    hits_stored: int = 0
    oldest_hit_age_s: float = 0.0
    retention_s: float = 0.0
    purges: int = 0
    purged_hits: int = 0
    audit_entries: int = 0
    reads_topic_retention_s: float = -1.0  # -1: not read back yet
    delivery_backlog: int = 0
    delivery_oldest_s: float = 0.0
    delivery_alarm: bool = False
    hotlist_entries: int = 0
    hotlist_keys: int = 0


class MatcherCollector(Collector):
    """Turns the matcher's live counters and the latest snapshot into metric families."""

    def __init__(self, counters: dict[str, float], dwell: Dwell, snapshot: Snapshot) -> None:
        self.counters, self.dwell, self.snapshot = counters, dwell, snapshot
        self._lock = threading.Lock()

    def collect(self) -> Iterator[Metric]:
        c, s = dict(self.counters), self.snapshot
        for name, help_text in [
            ("reads", "reads processed"),
            ("hits", "new hits stored"),
            ("non_hits_discarded", "reads that matched nothing and were dropped"),
            (
                "candidates_looked_up",
                "candidate digests looked up in the hotlist (each read's best reading and its alternatives; each "
                "one a possible hit)",
            ),
            ("dead_letters", "malformed, oversized or wrongly keyed reads sent to the dead-letter topic"),
            ("duplicate_hits", "hits seen again (redelivered reads), not stored twice"),
            ("evidence_requested", "evidence requests sent to vehicles"),
            ("evidence_answered", "evidence received from vehicles"),
            ("evidence_expired", "vehicles answered that the evidence had already been wiped"),
            ("evidence_refused", "vehicles refused a request whose plate was not one of the read's (alarm)"),
            ("notifications_delivered", "hit notifications acknowledged by a police endpoint"),
            ("notification_failures", "failed notification attempts (retried)"),
        ]:
            yield CounterMetricFamily(f"scanauto_matcher_{name}", help_text, value=c.get(name, 0.0))
        buckets = []
        running = 0
        for bound, count in zip(DWELL_BUCKETS, self.dwell.counts, strict=True):
            running += count
            buckets.append((str(bound), float(running)))
        buckets.append(("+Inf", float(self.dwell.total)))
        yield HistogramMetricFamily(
            "scanauto_matcher_non_hit_seconds",
            "time a non-hit read spent in the matcher, from fetch to discard",
            buckets=buckets,
            sum_value=self.dwell.sum_s,
        )
        gauges = [
            ("non_hit_seconds_max", "longest time any non-hit spent in the matcher", self.dwell.max_s),
            ("hits_stored", "hits in the hits store", s.hits_stored),
            ("oldest_hit_age_seconds", "age of the oldest stored hit", s.oldest_hit_age_s),
            ("hit_retention_seconds", "retention limit of the hits store", s.retention_s),
            ("purges", "retention purges run", s.purges),
            ("purged_hits", "hits deleted by retention purges", s.purged_hits),
            ("audit_entries", "entries in the audit log of hit views", s.audit_entries),
            (
                "reads_topic_retention_seconds",
                "retention.ms of the reads topic as read back from the broker",
                s.reads_topic_retention_s,
            ),
            ("notification_backlog", "hit notifications not yet delivered", s.delivery_backlog),
            ("notification_oldest_seconds", "how long the oldest undelivered hit has waited", s.delivery_oldest_s),
            ("notification_alarm", "1 when a hit has waited too long for delivery", float(s.delivery_alarm)),
            ("hotlist_entries", "hotlist entries in memory", s.hotlist_entries),
            ("hotlist_keys", "fleet keys announced on the hotlist", s.hotlist_keys),
        ]
        for name, help_text, value in gauges:
            yield GaugeMetricFamily(f"scanauto_matcher_{name}", help_text, value=float(value))


def serve(collector: MatcherCollector, host: str, port: int) -> tuple[WSGIServer, threading.Thread]:
    """Serve /metrics on host:port from a thread; returns the server to shut down."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(collector)
    server, thread = start_http_server(port, addr=host, registry=registry)
    return server, thread
