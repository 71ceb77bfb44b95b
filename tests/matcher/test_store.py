"""Hits store: retention purges are enforced and recorded; every view of a hit is audited."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from contract.events import Evidence, Hit, hit_id_for, new_event_id
from matcher.store import HitStore

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def _hit(ref: str, matched_at: datetime) -> Hit:
    read_id = new_event_id()
    return Hit(
        hit_id=hit_id_for(read_id, "stolen", ref),
        read_event_id=read_id,
        list="stolen",
        reference=ref,
        plate="BD12FG",
        captured_at=matched_at,
        matched_at=matched_at,
        vehicle_id="scan-01",
        camera_id="cam",
        probability=0.9,
        detection_confidence=0.9,
        key_id="k1",
    )


def test_purge_removes_hits_older_than_retention_with_their_evidence(tmp_path: Path) -> None:
    store = HitStore(tmp_path / "hits.sqlite")
    old, fresh = _hit("SV-OLD", NOW - timedelta(days=29)), _hit("SV-NEW", NOW - timedelta(days=1))
    store.add([old, fresh], ["police"])
    ev = Evidence(
        request_id=new_event_id(),
        hit_id=old.hit_id,
        read_event_id=old.read_event_id,
        vehicle_id="scan-01",
        status="expired",
        responded_at=NOW,
    )
    assert store.add_evidence(ev, NOW)
    assert store.purge(NOW, timedelta(days=28)) == 1
    assert [h.reference for h in store.all()] == ["SV-NEW"]
    assert store.evidence_counts() == {}
    assert store.delivery_backlog() == 1  # only the fresh hit's notification is left
    assert store.purges() == [(NOW, 1)]
    assert store.oldest_matched_at() == fresh.matched_at
    assert store.audit_log()[-1].actor == "system:retention"
    store.close()


def test_every_view_of_a_hit_is_audited(tmp_path: Path) -> None:
    store = HitStore(tmp_path / "hits.sqlite")
    hit = _hit("SV-1", NOW)
    store.add([hit])
    assert store.get(hit.hit_id, "officer:1234", NOW) == hit
    assert len(store.list_hits("officer:5678", NOW)) == 1
    assert store.evidence_for(hit.hit_id, "officer:1234", NOW) is None
    log = [(a.actor, a.action, a.hit_id) for a in store.audit_log()]
    assert log == [
        ("officer:1234", "view-hit", hit.hit_id),
        ("officer:5678", "list-hits:1", None),
        ("officer:1234", "view-evidence", hit.hit_id),
    ]
    store.close()


def test_evidence_for_an_unknown_hit_is_refused(tmp_path: Path) -> None:
    store = HitStore(tmp_path / "hits.sqlite")
    ev = Evidence(
        request_id=new_event_id(),
        hit_id="f" * 32,
        read_event_id=new_event_id(),
        vehicle_id="scan-01",
        status="ok",
        crop_jpeg_b64="AAAA",
        responded_at=NOW,
    )
    assert not store.add_evidence(ev, NOW)
    store.close()
