"""The matcher's decision for one read, as a plain function: HIT, DISCARDED or DEAD_LETTER."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from contract.events import Candidate, Hit, PlateRead, hit_id_for
from matcher.index import HotlistIndex, Listing

MAX_EVENT_BYTES = 64 * 1024


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


def parse_read(raw: bytes | None) -> PlateRead | str:
    """The read, or the reason it is malformed."""
    if raw is None:
        return "empty message"
    if len(raw) > MAX_EVENT_BYTES:
        return f"event of {len(raw)} bytes exceeds {MAX_EVENT_BYTES}"
    try:
        return PlateRead.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return f"invalid plate-read: {where}: {first.get('msg', 'invalid')}"


def decide(raw: bytes | None, index: HotlistIndex, now: datetime) -> Decision:
    """Match one raw read against the index."""
    return decide_batch([raw], index, now)[0]


def decide_batch(raws: Sequence[bytes | None], index: HotlistIndex, now: datetime) -> list[Decision]:
    """Match a batch of raw reads with one vectorised index lookup.

    A parsed read is dropped as soon as its digests are queued: non-hits leave nothing behind
    but their outcome (and keeping thousands of parsed models alive makes the garbage
    collector the bottleneck). The rare read with a match is parsed again to build its hits.
    """
    decisions: list[Decision | None] = [None] * len(raws)
    key_ids: list[str] = []
    hexes: list[str] = []
    owner: list[int] = []
    event_ids: list[str] = [""] * len(raws)
    for i, raw in enumerate(raws):
        read = parse_read(raw)
        if isinstance(read, str):
            decisions[i] = Decision(Outcome.DEAD_LETTER, reason=read)
            continue
        event_ids[i] = read.event_id
        problem = index.key_problem(read.key_id, read.captured_at)
        if problem is not None:
            decisions[i] = Decision(Outcome.DEAD_LETTER, reason=problem, event_id=read.event_id)
            continue
        n = len(read.candidates)
        hexes.append("".join([c.digest for c in read.candidates]))
        key_ids += [read.key_id] * n
        owner += [i] * n
    digests = bytes.fromhex("".join(hexes))
    matched: dict[int, list[tuple[int, tuple[Listing, ...]]]] = {}
    for qi, listings in index.lookup_many(key_ids, digests).items():
        matched.setdefault(owner[qi], []).append((qi, listings))
    first_query = {}
    for qi, i in enumerate(owner):
        first_query.setdefault(i, qi)
    for i, found in matched.items():
        read = PlateRead.model_validate_json(raws[i])  # type: ignore[arg-type]  # parsed fine above
        pairs = [(read.candidates[qi - first_query[i]], listings) for qi, listings in found]
        decisions[i] = _hits_of(read, pairs, now)
    return [d or Decision(Outcome.DISCARDED, event_id=event_ids[i]) for i, d in enumerate(decisions)]


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
        return Decision(Outcome.DISCARDED, event_id=read.event_id)
    return Decision(Outcome.HIT, hits=tuple(hits.values()), event_id=read.event_id)
