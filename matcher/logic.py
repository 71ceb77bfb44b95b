"""The matcher's decision for one read, as a plain function: HIT, DISCARDED or DEAD_LETTER."""

from __future__ import annotations

import enum
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from contract.events import Candidate, Hit, PlateRead, hit_id_for
from contract.wire import MAX_EVENT_BYTES, decode_read_digests
from matcher.index import HotlistIndex, Listing

__all__ = ["MAX_EVENT_BYTES", "Decided", "Decision", "Outcome", "decide", "decide_batch"]


class Outcome(enum.Enum):
    HIT = "hit"
    DISCARDED = "discarded"
    DEAD_LETTER = "dead-letter"


@dataclass(frozen=True, slots=True)
class Decision:
    outcome: Outcome
    hits: tuple[Hit, ...] = ()
    reason: str = ""  # only for DEAD_LETTER; never contains a digest
    event_id: str | None = None


DISCARDED = Decision(Outcome.DISCARDED)  # every non-hit's decision: nothing of the read in it


@dataclass(frozen=True, slots=True)
class Decided:
    """A batch's decisions, one per read, and how many candidate digests were looked up for them: each digest a
    possible hit (a read's best reading and its alternatives), a figure the privacy report shows."""

    decisions: list[Decision]
    lookups: int


def decide(raw: bytes | None, index: HotlistIndex, now: datetime) -> Decision:
    """Match one raw read against the index."""
    return decide_batch([raw], index, now).decisions[0]


def decide_batch(raws: Sequence[bytes | None], index: HotlistIndex, now: datetime) -> Decided:
    """Match a batch of raw reads with one vectorised index lookup.

    A parsed read is dropped as soon as its digests are queued: non-hits leave nothing behind
    but their outcome (and keeping thousands of parsed models alive makes the garbage
    collector the bottleneck). The rare read with a match is parsed again to build its hits.
    """
    decisions: list[Decision | None] = [None] * len(raws)
    hexes: list[str] = []
    firsts: list[int] = []  # first query of each read whose digests are queued
    readers: list[int] = []  # ... and that read's position in the batch
    keys: list[str] = []  # ... and its key id
    windows: dict[str, tuple[datetime, datetime] | None] = {}
    queries = 0
    for i, raw in enumerate(raws):
        decoded = decode_read_digests(raw)
        if isinstance(decoded, str):
            decisions[i] = Decision(Outcome.DEAD_LETTER, reason=decoded)
            continue
        read, digests_hex = decoded
        key_id = read.key_id
        window = windows[key_id] if key_id in windows else windows.setdefault(key_id, index.key_window(key_id))
        if window is None or not window[0] <= read.captured_at < window[1]:
            problem = index.key_problem(key_id, read.captured_at)  # the authority, and the reason
            if problem is not None:
                decisions[i] = Decision(Outcome.DEAD_LETTER, reason=problem, event_id=read.event_id)
                continue
        hexes.append(digests_hex)
        firsts.append(queries)
        readers.append(i)
        keys.append(key_id)
        queries += len(read.candidates)

    def queued(qi: int) -> int:
        return bisect_right(firsts, qi) - 1

    matched: dict[int, list[tuple[int, tuple[Listing, ...]]]] = {}
    for qi, listings in index.lookup_many(bytes.fromhex("".join(hexes)), lambda qi: keys[queued(qi)]).items():
        matched.setdefault(queued(qi), []).append((qi, listings))
    for r, found in matched.items():
        i = readers[r]
        read = PlateRead.model_validate_json(raws[i])  # type: ignore[arg-type]  # parsed fine above
        pairs = [(read.candidates[qi - firsts[r]], listings) for qi, listings in found]
        decisions[i] = _hits_of(read, pairs, now)
    return Decided([d or DISCARDED for d in decisions], queries)


def _hits_of(read: PlateRead, matches: list[tuple[Candidate, tuple[Listing, ...]]], now: datetime) -> Decision:
    hits: dict[str, Hit] = {}
    for cand, listings in sorted(matches, key=lambda m: -m[0].probability):
        for entry in listings:
            if entry.valid_until is not None and entry.valid_until <= now:
                continue
            hit_id = hit_id_for(read.event_id, entry.list, entry.reference)
            if hit_id in hits:
                continue
            hits[hit_id] = Hit(
                hit_id=hit_id,
                read_event_id=read.event_id,
                list=entry.list,  # type: ignore[arg-type]  # one of LISTS
                reference=entry.reference,
                plate=entry.plate,
                captured_at=read.captured_at,
                matched_at=now,
                vehicle_id=read.vehicle_id,
                camera_id=read.camera_id,
                gps=read.gps,
                probability=cand.probability,
                detection_confidence=read.detection_confidence,
                key_id=read.key_id,
            )
    if not hits:
        return DISCARDED
    return Decision(Outcome.HIT, hits=tuple(hits.values()), event_id=read.event_id)
