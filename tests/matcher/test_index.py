"""The compact index: latest value per Kafka key, exact matches only, live updates and compaction."""

from datetime import UTC, datetime

import pytest

from contract.events import HotlistEntry, hotlist_key
from matcher import index as index_module
from matcher.index import HotlistIndex

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def _entry(digest_hex: str, ref: str, list_name: str = "stolen", key_id: str = "k1") -> HotlistEntry:
    return HotlistEntry(key_id=key_id, digest=digest_hex, list=list_name, reference=ref, plate="BD12FG",  # type: ignore[arg-type]
                        published_at=NOW)  # fmt: skip


D1, D2 = "11" * 32, "22" * 32
D1_TWIN = "11" * 8 + "33" * 24  # same first 8 bytes as D1: must not match D1


def _key(e: HotlistEntry) -> str:
    return hotlist_key(e.list, e.key_id, e.digest)


def test_bulk_load_keeps_the_latest_record_per_key() -> None:
    idx = HotlistIndex()
    for e in [_entry(D1, "OLD"), _entry(D2, "GONE"), _entry(D1, "NEW"), _entry(D1, "FP", "false-plate")]:
        idx.load(_key(e), e)
    idx.load(_key(_entry(D2, "x")), None)  # tombstone
    idx.seal()
    assert len(idx) == 2
    assert sorted((x.list, x.reference) for x in idx.lookup("k1", D1)) == [("false-plate", "FP"), ("stolen", "NEW")]
    assert idx.lookup("k1", D2) == ()


def test_exact_match_only_no_false_positive_on_a_shared_prefix() -> None:
    idx = HotlistIndex()
    idx.load(_key(_entry(D1, "A")), _entry(D1, "A"))
    idx.seal()
    assert idx.lookup("k1", D1_TWIN) == ()
    assert idx.lookup("k2", D1) == ()  # same digest under another key id is another plate
    assert [x.reference for x in idx.lookup("k1", D1)] == ["A"]


@pytest.mark.parametrize("compact", [False, True])
def test_live_updates_shadow_the_base_and_survive_compaction(compact: bool) -> None:
    idx = HotlistIndex()
    idx.load(_key(_entry(D1, "A")), _entry(D1, "A"))
    idx.seal()
    idx.apply(_key(_entry(D1, "B")), _entry(D1, "B"))  # change
    idx.apply(_key(_entry(D2, "C")), _entry(D2, "C"))  # addition
    idx.apply(_key(_entry(D1_TWIN, "T")), _entry(D1_TWIN, "T"))
    idx.apply(_key(_entry(D1_TWIN, "T")), None)  # removal of an overlay entry
    if compact:
        idx.compact()
    assert [x.reference for x in idx.lookup("k1", D1)] == ["B"]
    assert [x.reference for x in idx.lookup("k1", D2)] == ["C"]
    assert idx.lookup("k1", D1_TWIN) == ()
    idx.apply(_key(_entry(D1, "B")), None)
    assert idx.lookup("k1", D1) == () and len(idx) == 1


def test_overlay_compacts_itself_when_large(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_module, "COMPACT_AT", 10)
    idx = HotlistIndex()
    idx.seal()
    digests = [f"{i:064x}" for i in range(1, 26)]
    for i, d in enumerate(digests):
        idx.apply(_key(_entry(d, f"R{i}")), _entry(d, f"R{i}"))
    assert len(idx) == 25
    assert all(idx.lookup("k1", d)[0].reference == f"R{i}" for i, d in enumerate(digests))
