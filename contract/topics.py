"""Kafka topic names and settings shared by all stages."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TopicSpec:
    name: str
    partitions: int
    config: tuple[tuple[str, str], ...] = ()


READS = "scanauto.reads"
HOTLIST = "scanauto.hotlist"
HITS = "scanauto.hits"
EVIDENCE_REQUESTS = "scanauto.evidence-requests"
EVIDENCE = "scanauto.evidence"
DEAD_LETTER = "scanauto.dead-letter"

# Reads hold digests only, but even those are kept briefly: one hour is enough to ride out a
# matcher restart. The hotlist is compacted: the latest value per key is the entry.
TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(READS, 6, (("retention.ms", "3600000"), ("cleanup.policy", "delete"))),
    TopicSpec(HOTLIST, 1, (("cleanup.policy", "compact"),)),
    TopicSpec(HITS, 3, (("retention.ms", str(28 * 24 * 3600 * 1000)),)),
    TopicSpec(EVIDENCE_REQUESTS, 3, (("retention.ms", "3600000"),)),
    TopicSpec(EVIDENCE, 3, (("retention.ms", str(28 * 24 * 3600 * 1000)),)),
    TopicSpec(DEAD_LETTER, 1, (("retention.ms", str(7 * 24 * 3600 * 1000)),)),
)
