"""The privacy officer's report: figures measured from the hits store and the broker."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from matcher.metrics import DWELL_BUCKETS
from matcher.store import HitStore


def _percentile_bound(counters: dict[str, float], q: float) -> float | None:
    """Upper bucket bound below which a fraction q of non-hits were discarded."""
    total = counters.get("non_hit_seconds_count", 0.0)
    if not total:
        return None
    running = 0.0
    for bound in DWELL_BUCKETS:
        running += counters.get(f"non_hit_seconds_le_{bound}", 0.0)
        if running >= q * total:
            return bound
    return float("inf")


def build_report(store_path: Path, now: datetime, retention: timedelta, reads_retention_s: float) -> dict[str, Any]:
    if not store_path.exists():
        raise FileNotFoundError(f"hits store {store_path} does not exist (is --store right?)")
    store = HitStore(store_path)
    try:
        c = store.counters()
        oldest = store.oldest_matched_at()
        purges = store.purges()
        evidence = store.evidence_counts()
        return {
            "generated_at": now.isoformat(),
            "reads_processed": int(c.get("reads", 0)),
            "hits": int(c.get("hits", 0)),
            "non_hits_discarded": int(c.get("non_hits_discarded", 0)),
            "dead_letters": int(c.get("dead_letters", 0)),
            # Every candidate digest of a read is looked up and could hit: the fewer per read, the fewer chances
            # that an alternative reading matches some innocent listed car. Dead letters look nothing up.
            "candidates_looked_up": int(c.get("candidates_looked_up", 0)),
            "candidates_per_read": c["candidates_looked_up"] / looked_up_reads
            if (looked_up_reads := c.get("reads", 0) - c.get("dead_letters", 0)) > 0 and "candidates_looked_up" in c
            else None,
            "non_hit_seconds_mean": (c["non_hit_seconds_sum"] / c["non_hit_seconds_count"])
            if c.get("non_hit_seconds_count")
            else None,
            "non_hit_seconds_p99_bound": _percentile_bound(c, 0.99),
            "reads_topic_retention_s": reads_retention_s if reads_retention_s >= 0 else None,
            "hits_stored": store.count(),
            "oldest_hit_age_s": (now - oldest).total_seconds() if oldest else None,
            "hit_retention_limit_s": retention.total_seconds(),
            "oldest_hit_within_limit": oldest is None or (now - oldest) <= retention,
            "purges_run": len(purges),
            "hits_purged": sum(n for _, n in purges),
            "last_purge_at": purges[-1][0].isoformat() if purges else None,
            "evidence_requested": int(c.get("evidence_requested", 0)),
            "evidence_answered": evidence.get("ok", 0),
            "evidence_expired": evidence.get("expired", 0),
            "evidence_refused": evidence.get("refused", 0),
            "audit_entries": len(store.audit_log()),
            "notifications_waiting": store.delivery_backlog(),
        }
    finally:
        store.close()


def render_text(report: dict[str, Any]) -> str:
    def fmt(v: Any) -> str:
        if v is None:
            return "n/a"
        if isinstance(v, float):
            return f"{v:,.3f}"
        return str(v)

    lines = ["scanauto privacy report", "=" * 23]
    lines += [f"{k.replace('_', ' '):28s} {fmt(v)}" for k, v in report.items()]
    return "\n".join(lines)
