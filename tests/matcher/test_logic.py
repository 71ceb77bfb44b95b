"""The matcher's decision: listed digest -> hit; anything else -> discarded or dead-letter."""

from datetime import UTC, datetime, timedelta

from contract.digest import KeyRing, digest
from contract.events import Candidate, HotlistEntry, HotlistKey, ModelVersions, PlateRead, new_event_id
from matcher.index import HotlistIndex
from matcher.logic import Outcome, decide, decide_batch

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def _entry(
    keys: KeyRing, plate: str, list_name: str = "stolen", ref: str = "SV-1", valid_until: datetime | None = None
) -> HotlistEntry:
    return HotlistEntry(
        key_id=keys.current.key_id,
        digest=digest(plate, keys.current),
        list=list_name,  # type: ignore[arg-type]
        reference=ref,
        plate=plate,
        valid_until=valid_until,
        published_at=NOW,
    )


def _read(keys: KeyRing, *plates: str, key_id: str | None = None) -> bytes:
    return (
        PlateRead(
            event_id=new_event_id(),
            vehicle_id="scan-01",
            camera_id="cam",
            captured_at=NOW,
            key_id=key_id or keys.current.key_id,
            candidates=[
                Candidate(digest=digest(p, keys.current), probability=0.9 - i * 0.1) for i, p in enumerate(plates)
            ],
            models=ModelVersions(detector="d", ocr="o"),
            detection_confidence=0.9,
            ocr_confidence=0.9,
            frames=4,
        )
        .model_dump_json()
        .encode()
    )


def _index(*entries: HotlistEntry) -> HotlistIndex:
    index = HotlistIndex()
    for e in entries:
        index.apply_key(f"key:{e.key_id}", HotlistKey(key_id=e.key_id, published_at=NOW))
    for e in entries:
        index.load(e.kafka_key, e)
    index.seal()
    return index


def test_a_batch_counts_every_candidate_digest_it_looks_up(keys: KeyRing) -> None:
    index = _index(_entry(keys, "AB1234"))
    raws = [_read(keys, "XY9999", "AB1234", "XY9998"), _read(keys, "GB123X"), b"not json", None]
    decided = decide_batch(raws, index, NOW)
    assert [d.outcome for d in decided.decisions] == [Outcome.HIT, Outcome.DISCARDED] + [Outcome.DEAD_LETTER] * 2
    assert decided.lookups == 4  # three candidates and one; malformed and empty reads look nothing up


def test_listed_plate_is_a_hit_with_the_list_entry(keys: KeyRing) -> None:
    index = _index(_entry(keys, "AB1234"))
    d = decide(_read(keys, "XY9999", "AB1234"), index, NOW)  # second candidate matches
    assert d.outcome is Outcome.HIT
    (hit,) = d.hits
    assert (hit.plate, hit.list, hit.reference) == ("AB1234", "stolen", "SV-1")
    assert abs(hit.probability - 0.8) < 1e-9


def test_plate_on_both_lists_gives_two_hits(keys: KeyRing) -> None:
    index = _index(_entry(keys, "AB1234"), _entry(keys, "AB1234", "false-plate", "FP-1"))
    assert {h.list for h in decide(_read(keys, "AB1234"), index, NOW).hits} == {"stolen", "false-plate"}


def test_non_hit_is_discarded(keys: KeyRing) -> None:
    d = decide(_read(keys, "XY9999"), _index(_entry(keys, "AB1234")), NOW)
    assert d.outcome is Outcome.DISCARDED and d.hits == ()


def test_expired_entry_does_not_hit(keys: KeyRing) -> None:
    index = _index(_entry(keys, "AB1234", valid_until=NOW - timedelta(seconds=1)))
    assert decide(_read(keys, "AB1234"), index, NOW).outcome is Outcome.DISCARDED


def test_removed_entry_does_not_hit(keys: KeyRing) -> None:
    entry = _entry(keys, "AB1234")
    index = _index(entry)
    index.apply(entry.kafka_key, None)  # tombstone
    assert len(index) == 0
    assert decide(_read(keys, "AB1234"), index, NOW).outcome is Outcome.DISCARDED


def test_same_read_gives_the_same_hit_id(keys: KeyRing) -> None:
    index = _index(_entry(keys, "AB1234"))
    raw = _read(keys, "AB1234")
    assert decide(raw, index, NOW).hits[0].hit_id == decide(raw, index, NOW + timedelta(1)).hits[0].hit_id


def test_malformed_oversized_and_unknown_key_reads_go_to_dead_letter(keys: KeyRing) -> None:
    index = _index(_entry(keys, "AB1234"))
    for raw, reason in [
        (b"{not json", "invalid"),
        (b"x" * 70_000, "exceeds"),
        (None, "empty"),
        (_read(keys, "AB1234", key_id="other-key"), "not an announced fleet key"),
    ]:
        d = decide(raw, index, NOW)
        assert d.outcome is Outcome.DEAD_LETTER and reason in d.reason


def test_reads_under_a_key_outside_its_window_go_to_dead_letter(keys: KeyRing) -> None:
    index = _index(_entry(keys, "AB1234"))
    kid = keys.current.key_id
    index.apply_key(f"key:{kid}", HotlistKey(key_id=kid, not_after=NOW - timedelta(hours=1), published_at=NOW))
    d = decide(_read(keys, "AB1234"), index, NOW)
    assert d.outcome is Outcome.DEAD_LETTER and "not valid at the capture time" in d.reason
    index.apply_key(f"key:{kid}", None)  # retired
    assert "not an announced" in decide(_read(keys, "AB1234"), index, NOW).reason
