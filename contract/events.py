"""Versioned, strict event schemas carried over Kafka. No field can hold a non-hit's plaintext."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from contract.digest import DIGEST_PATTERN, KEY_ID_PATTERN

SCHEMA_VERSION: Literal[1] = 1

Digest = Annotated[str, Field(pattern=DIGEST_PATTERN, description="HMAC-SHA256 of a plate, 64 hex")]
KeyId = Annotated[str, Field(pattern=KEY_ID_PATTERN, description="id of the fleet key of the digests")]
IDENTIFIER_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
EVENT_ID_PATTERN = r"^[0-9a-f]{32}$"
MAX_CANDIDATES = 32
MODEL_VERSION_MAX = 80
MAX_FRAMES = 10_000
Identifier = Annotated[str, Field(pattern=IDENTIFIER_PATTERN)]
EventId = Annotated[str, Field(pattern=EVENT_ID_PATTERN, description="uuid4 hex")]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
ListName = Literal["stolen", "false-plate"]


def new_event_id() -> str:
    return uuid.uuid4().hex


def utcnow() -> datetime:
    return datetime.now(UTC)


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, str_strip_whitespace=False)


class GpsFix(_Event):
    """Where the vehicle was when the frame was captured."""

    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    fix_quality: int = Field(ge=0, le=8, description="NMEA GGA fix quality (0 = none, 1 = GPS, 2 = DGPS...)")
    age_s: float = Field(ge=0, description="seconds between the fix and the frame")


class Candidate(_Event):
    """One possible reading of a plate, as a keyed digest with the OCR's probability for it."""

    digest: Digest
    probability: Probability


class ModelVersions(_Event):
    detector: str = Field(max_length=MODEL_VERSION_MAX)
    ocr: str = Field(max_length=MODEL_VERSION_MAX)


class PlateRead(_Event):
    """One vehicle pass seen by one camera: digests only, never the text."""

    schema_version: Literal[1] = SCHEMA_VERSION
    kind: Literal["plate-read"] = "plate-read"
    event_id: EventId
    vehicle_id: Identifier
    camera_id: Identifier
    captured_at: AwareDatetime
    gps: GpsFix | None = None
    key_id: KeyId
    candidates: list[Candidate] = Field(min_length=1, max_length=MAX_CANDIDATES)
    models: ModelVersions
    detection_confidence: Probability
    ocr_confidence: Probability
    frames: int = Field(ge=1, le=MAX_FRAMES, description="frames fused into this read")


class HotlistEntry(_Event):
    """A listed plate as published by ingest. The text is police data, not a citizen's read."""

    schema_version: Literal[1] = SCHEMA_VERSION
    kind: Literal["hotlist-entry"] = "hotlist-entry"
    key_id: KeyId
    digest: Digest
    list: ListName
    reference: str = Field(min_length=1, max_length=64)
    plate: str = Field(pattern=r"^[A-Z0-9]{1,10}$")
    valid_until: AwareDatetime | None = None
    note: str | None = Field(None, max_length=200, description="free text from the list owner")
    published_at: AwareDatetime

    @property
    def kafka_key(self) -> str:
        return hotlist_key(self.list, self.key_id, self.digest)

    def same_content(self, other: HotlistEntry) -> bool:
        """Equal apart from when it was published: republishing it would change nothing."""
        return self.model_dump(exclude={"published_at"}) == other.model_dump(exclude={"published_at"})


def hotlist_key(list_name: str, key_id: str, digest_hex: str) -> str:
    """Kafka key of a hotlist entry: the latest value per key is the entry's state."""
    return f"{list_name}:{key_id}:{digest_hex}"


class HotlistKey(_Event):
    """Announces a fleet key's id and validity window on the hotlist topic (never its secret).

    The matcher accepts reads only under keys announced and valid at capture time; a tombstone
    for the key retires it.
    """

    schema_version: Literal[1] = SCHEMA_VERSION
    kind: Literal["hotlist-key"] = "hotlist-key"
    key_id: KeyId
    not_before: AwareDatetime | None = None
    not_after: AwareDatetime | None = None
    published_at: AwareDatetime

    @property
    def kafka_key(self) -> str:
        return key_announcement_key(self.key_id)

    def active_at(self, when: datetime) -> bool:
        return (self.not_before is None or self.not_before <= when) and (
            self.not_after is None or when < self.not_after
        )


def key_announcement_key(key_id: str) -> str:
    return f"key:{key_id}"


class Hit(_Event):
    """A read whose digest matched a hotlist entry."""

    schema_version: Literal[1] = SCHEMA_VERSION
    kind: Literal["hit"] = "hit"
    hit_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
    read_event_id: EventId
    list: ListName
    reference: str = Field(min_length=1, max_length=64)
    plate: str = Field(pattern=r"^[A-Z0-9]{1,10}$", description="plate text from the list entry")
    captured_at: AwareDatetime
    matched_at: AwareDatetime
    vehicle_id: Identifier
    camera_id: Identifier
    gps: GpsFix | None = None
    probability: Probability = Field(description="OCR probability of the matching candidate")
    detection_confidence: Probability
    key_id: KeyId


def hit_id_for(read_event_id: str, list_name: str, reference: str) -> str:
    """Deterministic hit id: the same read matched twice yields the same hit (idempotency)."""
    return hashlib.sha256(f"{read_event_id}|{list_name}|{reference}".encode()).hexdigest()[:32]


class EvidenceRequest(_Event):
    """The matcher asks the vehicle for the crop and context frame of a hit's read.

    It names the listed plate of the hit. The vehicle hands out pixels only if that plate, under
    the fleet key of the read, digests to one of the read's candidates: whoever can write this
    topic still cannot fetch the crop of a non-hit without already knowing its plate.
    """

    schema_version: Literal[1] = SCHEMA_VERSION
    kind: Literal["evidence-request"] = "evidence-request"
    request_id: EventId
    hit_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
    read_event_id: EventId
    vehicle_id: Identifier
    plate: str = Field(pattern=r"^[A-Z0-9]{1,10}$", description="plate text of the hit's list entry (proof of hit)")
    requested_at: AwareDatetime


class Evidence(_Event):
    """The vehicle's answer: JPEG crop and context frame while held, else 'expired'; 'refused'
    when the request's plate is not one the read could have been (no proof of a hit)."""

    schema_version: Literal[1] = SCHEMA_VERSION
    kind: Literal["evidence"] = "evidence"
    request_id: EventId
    hit_id: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
    read_event_id: EventId
    vehicle_id: Identifier
    status: Literal["ok", "expired", "refused"]
    crop_jpeg_b64: str | None = Field(default=None, max_length=2_000_000)
    context_jpeg_b64: str | None = Field(default=None, max_length=8_000_000)
    responded_at: AwareDatetime


EVENT_MODELS: dict[str, type[BaseModel]] = {
    "plate-read": PlateRead,
    "hotlist-entry": HotlistEntry,
    "hotlist-key": HotlistKey,
    "hit": Hit,
    "evidence-request": EvidenceRequest,
    "evidence": Evidence,
}
