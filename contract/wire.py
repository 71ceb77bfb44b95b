"""Fast validated decoding of the events that arrive by the million: plate reads, hotlist entries.

`contract.events.PlateRead` and `HotlistEntry` (pydantic) are the schema. Validating a read costs
~13 us of CPU, more than everything else the matcher does with it, and a 10-million-entry hotlist
would take minutes to load, so the matcher decodes both with the msgspec mirrors below (~2 us).

A mirror is stricter, never looser: an event it accepts is one the pydantic model accepts with the
same values (`tests/contract/test_wire.py` checks this field by field and on hundreds of malformed
variants). An event it rejects goes to the pydantic model, which has the last word: it either
accepts it (lax forms such as `"frames": 12.0`) or names what is wrong. The one difference in
values: a time with more than six fractional digits of a second is rounded to the microsecond here
and truncated by pydantic. The read's capture time is only used for the key-window check; hits are
built from the schema's own parse of the read.

Regular expressions are the expensive part of validation (~0.4 us each, 12 per read), so the
mirrors check the hex fields (event id, digests) and the plate text by length in the decoder and
by alphabet with one byte-translate, and remember the vehicle, camera and key ids they have
already checked (a fleet has a few hundred). Python's `re` lets `$` match before a trailing
newline; pydantic's regex engine does not, so the mirrors' patterns end in `\\Z`.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta
from pydantic import ValidationError

from contract.digest import DIGEST_PATTERN, KEY_ID_PATTERN
from contract.events import (
    EVENT_ID_PATTERN,
    IDENTIFIER_PATTERN,
    MAX_CANDIDATES,
    MAX_FRAMES,
    MODEL_VERSION_MAX,
    SCHEMA_VERSION,
    HotlistEntry,
    ListName,
    PlateRead,
)

MAX_EVENT_BYTES = 64 * 1024


def _anchored(pattern: str) -> str:
    """The same pattern with an end anchor that does not accept a trailing newline."""
    assert pattern.startswith("^") and pattern.endswith("$"), pattern
    return pattern[:-1] + r"\Z"


_HEX_DIGITS = b"0123456789abcdef"
assert DIGEST_PATTERN == "^[0-9a-f]{64}$" and EVENT_ID_PATTERN == "^[0-9a-f]{32}$"  # what _is_hex checks
_Digest = Annotated[str, Meta(min_length=64, max_length=64)]  # + lowercase hex: _is_hex
_EventId = Annotated[str, Meta(min_length=32, max_length=32)]  # + lowercase hex: _is_hex
_KEY_ID = re.compile(_anchored(KEY_ID_PATTERN))
_IDENTIFIER = re.compile(_anchored(IDENTIFIER_PATTERN))
_MEMO_MAX = 65_536
_Probability = Annotated[float, Meta(ge=0.0, le=1.0)]
_Aware = Annotated[datetime, Meta(tz=True)]


class _Wire(msgspec.Struct, forbid_unknown_fields=True, frozen=True, gc=False):
    """Untracked by the cyclic garbage collector: these hold values and lists, never cycles."""


class WireGps(_Wire):
    lat: Annotated[float, Meta(ge=-90, le=90)]
    lon: Annotated[float, Meta(ge=-180, le=180)]
    fix_quality: Annotated[int, Meta(ge=0, le=8)]
    age_s: Annotated[float, Meta(ge=0)]


class WireCandidate(_Wire):
    digest: _Digest
    probability: _Probability


class WireModels(_Wire):
    detector: Annotated[str, Meta(max_length=MODEL_VERSION_MAX)]
    ocr: Annotated[str, Meta(max_length=MODEL_VERSION_MAX)]


class WireRead(_Wire):
    """Mirror of `PlateRead`; same field names, so code that only reads fields takes either."""

    event_id: _EventId
    vehicle_id: str  # IDENTIFIER_PATTERN: _ids_ok
    camera_id: str  # IDENTIFIER_PATTERN: _ids_ok
    captured_at: _Aware
    key_id: str  # KEY_ID_PATTERN: _ids_ok
    candidates: Annotated[list[WireCandidate], Meta(min_length=1, max_length=MAX_CANDIDATES)]
    models: WireModels
    detection_confidence: _Probability
    ocr_confidence: _Probability
    frames: Annotated[int, Meta(ge=1, le=MAX_FRAMES)]
    gps: WireGps | None = None
    schema_version: Literal[1] = SCHEMA_VERSION
    kind: Literal["plate-read"] = "plate-read"


class WireHotlistEntry(_Wire):
    """Mirror of `HotlistEntry` (what the index needs of it, all of it validated)."""

    key_id: str  # KEY_ID_PATTERN: _entry_ok
    digest: _Digest
    list: ListName
    reference: Annotated[str, Meta(min_length=1, max_length=64)]
    plate: Annotated[str, Meta(min_length=1, max_length=10)]  # + A-Z0-9: _entry_ok
    published_at: _Aware
    valid_until: _Aware | None = None
    note: Annotated[str, Meta(max_length=200)] | None = None
    schema_version: Literal[1] = SCHEMA_VERSION
    kind: Literal["hotlist-entry"] = "hotlist-entry"


_DECODER = msgspec.json.Decoder(WireRead)
_ENTRY_DECODER = msgspec.json.Decoder(WireHotlistEntry)
_PLATE_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
assert HotlistEntry.model_fields["plate"].metadata[0].pattern == "^[A-Z0-9]{1,10}$"  # what _entry_ok checks

Read = WireRead | PlateRead
Entry = WireHotlistEntry | HotlistEntry


def decode_read(raw: bytes | None) -> Read | str:
    """The validated read, or why it is not one (a reason fit for the dead-letter topic)."""
    decoded = decode_read_digests(raw)
    return decoded if isinstance(decoded, str) else decoded[0]


def decode_read_digests(raw: bytes | None) -> tuple[Read, str] | str:
    """The validated read with its candidates' digests joined in order (64 hex characters each,
    what a batched lookup wants), or why it is not a read."""
    if raw is None:
        return "empty message"
    if len(raw) > MAX_EVENT_BYTES:
        return f"event of {len(raw)} bytes exceeds {MAX_EVENT_BYTES}"
    try:
        read = _DECODER.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return _decode_strict_digests(raw)
    digests = "".join([c.digest for c in read.candidates])
    if _is_hex(digests + read.event_id) and _ids_ok(read):
        return read, digests
    return _decode_strict_digests(raw)


def _is_hex(text: str) -> bool:
    """Lowercase hex digits only (lengths are the decoder's business)."""
    return not text.encode().translate(None, _HEX_DIGITS)


def _decode_strict_digests(raw: bytes) -> tuple[PlateRead, str] | str:
    read = _decode_strict(raw)
    return read if isinstance(read, str) else (read, "".join([c.digest for c in read.candidates]))


_checked_ids: set[tuple[str, str, str]] = set()


def _ids_ok(read: WireRead) -> bool:
    ids = (read.vehicle_id, read.camera_id, read.key_id)
    if ids in _checked_ids:
        return True
    if not (_IDENTIFIER.match(ids[0]) and _IDENTIFIER.match(ids[1]) and _KEY_ID.match(ids[2])):
        return False
    if len(_checked_ids) >= _MEMO_MAX:
        _checked_ids.clear()
    _checked_ids.add(ids)
    return True


def _decode_strict(raw: bytes) -> PlateRead | str:
    try:
        return PlateRead.model_validate_json(raw)
    except ValidationError as exc:
        return _reason("plate-read", exc)


def decode_hotlist_entry(raw: bytes) -> Entry | str:
    """The validated hotlist entry, or why it is not one."""
    try:
        entry = _ENTRY_DECODER.decode(raw)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return _decode_entry_strict(raw)
    if _entry_ok(entry):
        return entry
    return _decode_entry_strict(raw)


def _entry_ok(entry: WireHotlistEntry) -> bool:
    if entry.digest.encode().translate(None, _HEX_DIGITS) or entry.plate.encode().translate(None, _PLATE_CHARS):
        return False
    if entry.key_id in _checked_keys:
        return True
    if not _KEY_ID.match(entry.key_id):
        return False
    if len(_checked_keys) >= _MEMO_MAX:
        _checked_keys.clear()
    _checked_keys.add(entry.key_id)
    return True


_checked_keys: set[str] = set()


def _decode_entry_strict(raw: bytes) -> HotlistEntry | str:
    try:
        return HotlistEntry.model_validate_json(raw)
    except ValidationError as exc:
        return _reason("hotlist-entry", exc)


def _reason(kind: str, exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    return f"invalid {kind}: {where}: {first.get('msg', 'invalid')}"
