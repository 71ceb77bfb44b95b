"""The compact index: latest value per Kafka key, exact matches only, live updates and compaction."""

import random
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


def test_prefixes_differing_only_in_their_low_bits_are_sorted_and_deduplicated_exactly() -> None:
    # the sort packs a row number into a prefix's low bits; prefixes that differ only there
    # (and rows of one prefix) must still come out in exact (digest, key, list) order
    rng = random.Random(5)
    base = 0x5A5A_5A5A_5A5A_5A00
    digests = [f"{base + low:016x}{rest:048x}" for low in range(64) for rest in (1, 2)]
    rng.shuffle(digests)
    idx = HotlistIndex()
    for i, d in enumerate(digests):
        idx.load(_key(_entry(d, f"OLD{i}")), _entry(d, f"OLD{i}"))
    for i, d in enumerate(digests):
        idx.load(_key(_entry(d, f"R{i}")), _entry(d, f"R{i}"))  # the latest record per key wins
    idx.seal()
    assert len(idx) == len(digests)
    for i, d in enumerate(digests):
        assert [x.reference for x in idx.lookup("k1", d)] == [f"R{i}"]
    assert list(idx._p) == sorted(idx._p)


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


@pytest.mark.parametrize("seed", range(5))
def test_bulk_load_and_updates_agree_with_a_plain_dict(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Interleaved records that share prefixes, digests, lists and keys: latest per Kafka key wins."""
    monkeypatch.setattr(index_module, "CHUNK", 37)  # the load spans many column chunks
    rng = random.Random(seed)
    prefixes = [f"{rng.getrandbits(64):016x}" for _ in range(6)]  # few prefixes: many collisions
    digests = [rng.choice(prefixes) + f"{rng.getrandbits(192):048x}" for _ in range(12)] + [D1, D1_TWIN]
    truth: dict[str, HotlistEntry | None] = {}
    idx = HotlistIndex()

    def record(i: int) -> tuple[str, HotlistEntry | None]:
        e = _entry(rng.choice(digests), f"R{i}", rng.choice(["stolen", "false-plate"]), rng.choice(["k1", "k2"]))
        return _key(e), (None if rng.random() < 0.2 else e)

    for i in range(400):
        key, entry = record(i)
        idx.load(key, entry)
        truth[key] = entry
    idx.seal()
    for i in range(400, 600):
        key, entry = record(i)
        idx.apply(key, entry)
        truth[key] = entry
        if i == 500:
            idx.compact()
    for key_id in ("k1", "k2"):
        for d in digests:
            expected = sorted(
                e.reference for k, e in truth.items() if e is not None and e.digest == d and e.key_id == key_id
            )
            assert sorted(x.reference for x in idx.lookup(key_id, d)) == expected
    assert len(idx) == sum(e is not None for e in truth.values())
