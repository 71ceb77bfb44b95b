"""Events are strict: unknown fields, naive datetimes and non-digest values are refused."""

from datetime import datetime

import pytest
from pydantic import ValidationError

from contract.events import Candidate, ModelVersions, PlateRead, new_event_id, utcnow

DIGEST = "ab" * 32


def _read(**over: object) -> dict[str, object]:
    base: dict[str, object] = dict(
        event_id=new_event_id(),
        vehicle_id="scan-01",
        camera_id="cam-1",
        captured_at=utcnow(),
        key_id="k1",
        candidates=[Candidate(digest=DIGEST, probability=0.9)],
        models=ModelVersions(detector="d", ocr="o"),
        detection_confidence=0.9,
        ocr_confidence=0.8,
        frames=3,
    )
    base.update(over)
    return base


def test_plate_read_round_trips_through_json() -> None:
    read = PlateRead(**_read())  # type: ignore[arg-type]
    assert PlateRead.model_validate_json(read.model_dump_json()) == read


@pytest.mark.parametrize(
    "over",
    [
        {"plate": "AB1234"},  # no field can carry plaintext
        {"captured_at": datetime(2026, 1, 1)},  # naive datetime
        {"candidates": [{"digest": "AB1234", "probability": 0.5}]},  # not a digest
        {"candidates": []},
        {"schema_version": 2},
    ],
)
def test_plate_read_refuses_invalid_fields(over: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        PlateRead(**_read(**over))  # type: ignore[arg-type]
