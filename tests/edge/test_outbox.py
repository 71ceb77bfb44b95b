"""The outbox: durable, in order, bounded with an alarm, and it holds digests only."""

from __future__ import annotations

from pathlib import Path

import pytest

from contract.digest import KeyRing, digest
from contract.events import Candidate, ModelVersions, PlateRead, new_event_id, utcnow
from edge.outbox import Outbox, OutboxSettings


def plate_read(keys: KeyRing, plate: str) -> PlateRead:
    return PlateRead(
        event_id=new_event_id(),
        vehicle_id="scan-01",
        camera_id="cam-front",
        captured_at=utcnow(),
        key_id=keys.current.key_id,
        candidates=[Candidate(digest=digest(plate, keys.current), probability=0.9)],
        models=ModelVersions(detector="d", ocr="o"),
        detection_confidence=0.9,
        ocr_confidence=0.9,
        frames=5,
    )


@pytest.fixture
def settings(tmp_path: Path) -> OutboxSettings:
    return OutboxSettings(path=tmp_path / "outbox.sqlite", max_reads=10, alarm_fraction=0.5)


def test_reads_survive_a_restart_and_leave_in_order(keys: KeyRing, settings: OutboxSettings) -> None:
    reads = [plate_read(keys, f"AB{i:02d}CD") for i in range(4)]
    box = Outbox(settings)
    box.append(reads[:2])
    box.append(reads[2:])
    box.close()
    box.close()  # safe twice
    box = Outbox(settings)  # the process restarted: nothing was lost
    assert len(box) == 4
    pending = box.peek(3)
    assert [p.event_id for p in pending] == [r.event_id for r in reads[:3]]
    assert PlateRead.model_validate_json(pending[0].body) == reads[0]
    assert box.remove_through(pending[1].seq) == 2
    assert [p.event_id for p in box.peek(10)] == [r.event_id for r in reads[2:]]
    box.close()


def test_full_outbox_raises_an_alarm_and_drops_the_oldest(keys: KeyRing, settings: OutboxSettings) -> None:
    box = Outbox(settings)
    box.append([plate_read(keys, f"AB{i:02d}CD") for i in range(4)])
    assert box.alarm is None
    box.append([plate_read(keys, "XX99XX")])
    assert box.alarm is not None and "50% full" in box.alarm
    newest = [plate_read(keys, f"GH{i:02d}JK") for i in range(8)]
    box.append(newest)
    assert len(box) == 10 and box.dropped == 3
    assert box.alarm is not None and "3 oldest read(s) dropped" in box.alarm
    assert [p.event_id for p in box.peek(10)][-8:] == [r.event_id for r in newest]
    box.close()


def test_outbox_file_holds_no_plate_text(keys: KeyRing, settings: OutboxSettings) -> None:
    plates = ["AB12CD", "ZX98YW", "MUC1234"]
    box = Outbox(settings)
    box.append([plate_read(keys, p) for p in plates])
    box.close()
    data = b"".join(p.read_bytes() for p in settings.path.parent.iterdir() if p.is_file())
    assert b"scan-01" in data  # the file was written and is being scanned
    assert not [p for p in plates if p.encode() in data]
