"""The matcher's fast decoders accept exactly what the event schemas accept, with the same values."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from contract.events import MAX_CANDIDATES, HotlistEntry, PlateRead
from contract.wire import (
    MAX_EVENT_BYTES,
    WireHotlistEntry,
    WireRead,
    _decode_entry_strict,
    _decode_strict,
    decode_hotlist_entry,
    decode_read,
    decode_read_digests,
)

RNG_SEED = 7
# The one documented difference: msgspec rounds a seventh fractional digit, pydantic truncates it.
SUB_MICROSECOND = "2026-11-23T10:00:00.1234567Z"


def _valid(rng: random.Random) -> dict[str, Any]:
    read: dict[str, Any] = {
        "schema_version": 1,
        "kind": "plate-read",
        "event_id": f"{rng.getrandbits(128):032x}",
        "vehicle_id": rng.choice(["scan-01", "v.7", "A", "car:12_b"]),
        "camera_id": rng.choice(["cam-front", "c1", "rear.cam"]),
        "captured_at": rng.choice(
            ["2026-11-23T10:00:00Z", "2026-11-23T10:00:00.123456+00:00", "2026-11-23T11:00:00+01:00"]
        ),
        "key_id": rng.choice(["k1", "fleet-2026.11", "K_9"]),
        "candidates": [
            {"digest": f"{rng.getrandbits(256):064x}", "probability": rng.choice([0, 1, 0.5, rng.random()])}
            for _ in range(rng.randint(1, MAX_CANDIDATES))
        ],
        "models": {"detector": "plate_detector-b7d3b06a", "ocr": "plate_ocr-49a42c3d"},
        "detection_confidence": rng.random(),
        "ocr_confidence": rng.random(),
        "frames": rng.randint(1, 10_000),
    }
    if rng.random() < 0.5:
        read["gps"] = {"lat": 52.37, "lon": 4.89, "fix_quality": rng.randint(0, 8), "age_s": rng.random()}
    return read


# (path, value) replacements; None as a path end deletes the field
MUTATIONS: list[tuple[tuple[Any, ...], Any]] = [
    (("event_id",), f"{0xABC:032X}"),  # uppercase hex
    (("event_id",), "a" * 31),
    (("event_id",), "a" * 32 + "\n"),  # `$` would let a trailing newline through
    (("event_id",), "g" * 32),
    (("event_id",), 5),
    (("vehicle_id",), ""),
    (("vehicle_id",), "-scan"),
    (("vehicle_id",), "scan 01"),
    (("vehicle_id",), "scan-01\n"),
    (("vehicle_id",), "v" * 65),
    (("vehicle_id",), "v" * 64),
    (("vehicle_id",), "scän"),
    (("camera_id",), "cam/1"),
    (("key_id",), "k:1"),  # ':' is allowed in identifiers, not in key ids
    (("key_id",), "k1\n"),
    (("key_id",), None),
    (("captured_at",), "2026-11-23T10:00:00"),  # naive
    (("captured_at",), "2026-11-23"),
    (("captured_at",), "yesterday"),
    (("captured_at",), 1_700_000_000),
    (("captured_at",), "2026-11-23 10:00:00Z"),
    (("captured_at",), "2026-11-23T10:00:00z"),
    (("captured_at",), SUB_MICROSECOND),
    (("captured_at",), "2026-02-30T10:00:00Z"),
    (("captured_at",), "2026-11-23T24:00:00Z"),
    (("captured_at",), "2026-11-23T10:00:00+25:00"),
    (("candidates",), []),
    (("candidates",), [{"digest": "ab" * 32, "probability": 0.5}] * (MAX_CANDIDATES + 1)),
    (("candidates", 0, "digest"), "AB" * 32),
    (("candidates", 0, "digest"), "ab" * 31),
    (("candidates", 0, "digest"), "ab" * 33),
    (("candidates", 0, "digest"), "ab" * 31 + "a\n"),
    (("candidates", 0, "digest"), "ab" * 31 + " a"),
    (("candidates", 0, "digest"), "zz" * 32),
    (("candidates", 0, "digest"), "é" * 64),
    (("candidates", 0, "probability"), 1.0000001),
    (("candidates", 0, "probability"), -0.0),
    (("candidates", 0, "probability"), -1e-9),
    (("candidates", 0, "probability"), "0.5"),
    (("candidates", 0, "probability"), True),
    (("candidates", 0, "probability"), None),
    (("candidates", 0, "plate"), "AB1234"),  # no field can carry plaintext
    (("candidates", 0, "probability", None), None),
    (("models", "ocr"), "o" * 81),
    (("models", "ocr"), "o" * 80),
    (("models", "extra"), "x"),
    (("detection_confidence",), 2),
    (("detection_confidence",), 1),
    (("ocr_confidence",), "high"),
    (("frames",), 0),
    (("frames",), 10_001),
    (("frames",), 12.0),  # lax: pydantic accepts a whole float
    (("frames",), 12.5),
    (("frames",), "12"),
    (("frames",), True),
    (("frames",), 2**70),
    (("gps",), None),
    (("gps",), {"lat": 91, "lon": 0, "fix_quality": 1, "age_s": 0}),
    (("gps",), {"lat": 0, "lon": -181, "fix_quality": 1, "age_s": 0}),
    (("gps",), {"lat": 0, "lon": 0, "fix_quality": 9, "age_s": 0}),
    (("gps",), {"lat": 0, "lon": 0, "fix_quality": 1, "age_s": -1}),
    (("gps",), {"lat": 0, "lon": 0, "fix_quality": 1}),
    (("gps",), "52.3,4.9"),
    (("schema_version",), 2),
    (("schema_version",), "1"),
    (("schema_version", None), None),
    (("kind",), "hit"),
    (("kind", None), None),
    (("plate",), "AB1234"),
    (("event_id", None), None),
]


def _mutate(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    doc = json.loads(json.dumps(doc))
    delete = path[-1] is None
    path = path[:-1] if delete else path
    target = doc
    for step in path[:-1]:
        target = target[step]
    if delete:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    return doc


def _same_verdict(fast: object, strict: object, values: Callable[[Any], Any], context: object) -> None:
    """The fast decoder's verdict is the schema's: the same dead-letter reason, or the same values."""
    assert isinstance(fast, str) == isinstance(strict, str), (context, fast, strict)
    if isinstance(strict, str):
        assert fast == strict
    else:
        assert values(fast) == values(strict), context


def test_valid_reads_decode_fast_to_the_schemas_values() -> None:
    rng = random.Random(RNG_SEED)
    for _ in range(300):
        raw = json.dumps(_valid(rng)).encode()
        read = decode_read(raw)
        assert isinstance(read, WireRead)  # the fast path, not the fallback
        strict = PlateRead.model_validate_json(raw)
        assert _field_values(read) == _field_values(strict)
        decoded = decode_read_digests(raw)
        assert not isinstance(decoded, str) and decoded[1] == "".join(c.digest for c in strict.candidates)


def _field_values(read: object) -> dict[str, Any]:
    """Field values of either representation as plain builtins (datetimes as instants)."""
    names = PlateRead.model_fields
    out: dict[str, Any] = {}
    for name in names:
        value = getattr(read, name)
        if name == "candidates":
            value = [(c.digest, c.probability) for c in value]
        elif name == "models":
            value = (value.detector, value.ocr)
        elif name == "gps" and value is not None:
            value = (value.lat, value.lon, value.fix_quality, value.age_s)
        out[name] = value
    return out


@pytest.mark.parametrize(("path", "value"), MUTATIONS, ids=[f"{'.'.join(map(str, p))}={v!r:.20}" for p, v in MUTATIONS])
def test_malformed_variants_get_the_schemas_verdict(path: tuple[Any, ...], value: Any) -> None:
    doc = _mutate(_valid(random.Random(RNG_SEED)), path, value)
    fast, strict = decode_read(json.dumps(doc).encode()), _decode_strict(json.dumps(doc).encode())
    if value == SUB_MICROSECOND:
        assert not isinstance(fast, str) and not isinstance(strict, str)
        assert abs(fast.captured_at - strict.captured_at) <= timedelta(microseconds=1)
    else:
        _same_verdict(fast, strict, _field_values, (path, value))


def test_byte_level_corruptions_get_the_schemas_verdict() -> None:
    rng = random.Random(RNG_SEED)
    for _ in range(400):
        raw = bytearray(json.dumps(_valid(rng)).encode())
        for _ in range(rng.randint(1, 3)):
            pos = rng.randrange(len(raw))
            op = rng.random()
            if op < 0.4:
                raw[pos] = rng.choice(b'0123456789abcdefABCDEF"{}[],:. \\\nxz-')
            elif op < 0.7:
                del raw[pos]
            else:
                raw.insert(pos, rng.choice(b'0a"F ,\n'))
        _same_verdict(decode_read(bytes(raw)), _decode_strict(bytes(raw)), _field_values, bytes(raw))


def test_empty_and_oversized_messages_are_refused_before_parsing() -> None:
    assert decode_read(None) == "empty message"
    huge = b" " * (MAX_EVENT_BYTES + 1)
    assert decode_read(huge) == f"event of {len(huge)} bytes exceeds {MAX_EVENT_BYTES}"


def _entry(rng: random.Random) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "schema_version": 1,
        "kind": "hotlist-entry",
        "key_id": rng.choice(["k1", "fleet-2026.11"]),
        "digest": f"{rng.getrandbits(256):064x}",
        "list": rng.choice(["stolen", "false-plate"]),
        "reference": rng.choice(["SV-1", "x" * 64, "pv 2026/17 ü"]),
        "plate": rng.choice(["AB123C", "1ABC23", "X", "ABCDEFGHIJ"]),
        "published_at": "2026-11-23T10:00:00Z",
    }
    if rng.random() < 0.5:
        entry["valid_until"] = rng.choice([None, "2027-01-01T00:00:00+01:00"])
    if rng.random() < 0.5:
        entry["note"] = rng.choice([None, "", "n" * 200, "armed; do not stop"])
    return entry


ENTRY_MUTATIONS: list[tuple[tuple[Any, ...], Any]] = [
    (("plate",), "ab123c"),
    (("plate",), "AB-123"),
    (("plate",), ""),
    (("plate",), "ABCDEFGHIJK"),
    (("plate",), "AB123\n"),
    (("plate",), "ÄB123C"),
    (("digest",), "AB" * 32),
    (("digest",), "ab" * 31 + "a\n"),
    (("key_id",), "k:1"),
    (("key_id",), "k1\n"),
    (("list",), "wanted"),
    (("reference",), ""),
    (("reference",), "x" * 65),
    (("note",), "n" * 201),
    (("note",), 5),
    (("valid_until",), "2027-01-01T00:00:00"),
    (("published_at",), "2026-11-23T10:00:00"),
    (("published_at", None), None),
    (("kind",), "plate-read"),
    (("schema_version",), 2),
    (("extra",), 1),
]


def test_valid_hotlist_entries_decode_fast_to_the_schemas_values() -> None:
    rng = random.Random(RNG_SEED)
    for _ in range(300):
        raw = json.dumps(_entry(rng)).encode()
        fast = decode_hotlist_entry(raw)
        assert isinstance(fast, WireHotlistEntry)  # the fast path, not the fallback
        assert _entry_values(fast) == _entry_values(HotlistEntry.model_validate_json(raw))


def _entry_values(entry: object) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in HotlistEntry.model_fields}


@pytest.mark.parametrize(("path", "value"), ENTRY_MUTATIONS, ids=[f"{p[0]}={v!r:.20}" for p, v in ENTRY_MUTATIONS])
def test_malformed_hotlist_entries_get_the_schemas_verdict(path: tuple[Any, ...], value: Any) -> None:
    raw = json.dumps(_mutate(_entry(random.Random(RNG_SEED)), path, value)).encode()
    _same_verdict(decode_hotlist_entry(raw), _decode_entry_strict(raw), _entry_values, (path, value))
