"""Keyed plate digests (HMAC-SHA256) and the fleet keys they are made with.

A plain hash of a plate can be reversed by trying every plate (the space is small), so every
digest is keyed with a secret fleet key of at least 256 bits. Nothing here logs.
"""

from __future__ import annotations

import hmac
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from pathlib import Path

from contract.errors import ConfigError

MIN_KEY_BYTES = 32
KEY_ENV_VAR = "SCANAUTO_FLEET_KEY"
# Domain separation: a digest of a plate can never collide with another use of the same key.
_DOMAIN = b"scanauto/plate/v1\x00"
_KEY_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_CANONICAL_RE = re.compile(r"^[A-Z0-9]{1,10}$")

PUBLISH_GRACE = timedelta(hours=24)
DIGEST_PATTERN = r"^[0-9a-f]{64}$"
KEY_ID_PATTERN = _KEY_ID_RE.pattern


class FleetKeyError(ConfigError):
    """A fleet key that is missing, malformed or too weak to protect plates."""


@dataclass(frozen=True, slots=True)
class DigestKey:
    """One fleet key: an id that travels with every digest, the secret that never does, and the
    window in which it is used. No window bound means open-ended."""

    key_id: str
    secret: bytes = field(repr=False)
    not_before: datetime | None = None
    not_after: datetime | None = None

    def __post_init__(self) -> None:
        if not _KEY_ID_RE.match(self.key_id):
            raise FleetKeyError(f"key id {self.key_id!r} must be 1-64 characters of A-Z a-z 0-9 . _ -")
        _check_strength(self.key_id, self.secret)
        for bound in (self.not_before, self.not_after):
            if bound is not None and bound.tzinfo is None:
                raise FleetKeyError(f"key {self.key_id!r}: validity bounds need a timezone")
        if self.not_before and self.not_after and self.not_after <= self.not_before:
            raise FleetKeyError(f"key {self.key_id!r}: not_after must be later than not_before")

    def active_at(self, now: datetime) -> bool:
        return (self.not_before is None or self.not_before <= now) and (self.not_after is None or now < self.not_after)


def _check_strength(key_id: str, secret: bytes) -> None:
    if len(secret) < MIN_KEY_BYTES:
        raise FleetKeyError(
            f"key {key_id!r} has {len(secret)} bytes; at least {MIN_KEY_BYTES} random bytes are "
            "required (generate one with: scanauto keygen)"
        )
    # A secret with few distinct bytes is a typed password or a pattern, not random bytes.
    if len(set(secret)) < len(secret) // 4:
        raise FleetKeyError(
            f"key {key_id!r} is not random enough (repeating bytes); generate one with: scanauto keygen"
        )


def digest(plate: str, key: DigestKey) -> str:
    """HMAC-SHA256 of a normalised plate under a fleet key, as 64 hex characters."""
    if not _CANONICAL_RE.match(plate):
        raise ValueError("digest() takes a normalised plate; call normalise() first")
    return hmac.new(key.secret, _DOMAIN + plate.encode("ascii"), sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class KeyRing:
    """The fleet keys a service holds, with their validity windows.

    Rotation: a new key is added with a `not_before` in the future while the old key is still
    current. Ingest publishes the hotlist under both (the overlap), so the matcher can match
    reads made under either; once the new key is current, the old one gets a `not_after`, and
    after that it is removed from every key file (destroyed): its digests can no longer be
    linked to plates by anyone.
    """

    keys: tuple[DigestKey, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise FleetKeyError("the key ring is empty")
        ids = [k.key_id for k in self.keys]
        if len(set(ids)) != len(ids):
            raise FleetKeyError(f"duplicate key ids in key ring: {ids}")

    def current_at(self, now: datetime) -> DigestKey:
        """The key new digests are made with: the active key that became valid last."""
        active = [k for k in self.keys if k.active_at(now)]
        if not active:
            raise FleetKeyError(f"no fleet key is valid at {now.isoformat()}: add a key or fix the windows")
        floor = datetime.min.replace(tzinfo=UTC)
        return max(active, key=lambda k: k.not_before or floor)

    @property
    def current(self) -> DigestKey:
        return self.current_at(datetime.now(UTC))

    def publishing_at(self, now: datetime, grace: timedelta = PUBLISH_GRACE) -> tuple[DigestKey, ...]:
        """Keys lists are published under: active now, becoming active later (the next key), or
        expired less than `grace` ago (reads made under it may still wait in a vehicle's outbox)."""
        return tuple(k for k in self.keys if k.not_after is None or now < k.not_after + grace)

    def get(self, key_id: str) -> DigestKey | None:
        return next((k for k in self.keys if k.key_id == key_id), None)


def _parse_secret(key_id: str, text: str) -> bytes:
    text = text.strip()
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise FleetKeyError(f"key {key_id!r}: secret must be hex (64+ hex characters)") from None


def parse_key_spec(spec: str) -> DigestKey:
    """Parse 'KEY_ID:HEXSECRET' (the form used in the environment variable)."""
    key_id, sep, secret = spec.strip().partition(":")
    if not sep:
        raise FleetKeyError(f"{KEY_ENV_VAR} must look like KEY_ID:HEXSECRET")
    return DigestKey(key_id, _parse_secret(key_id, secret))


def load_key_file(path: Path) -> KeyRing:
    """Read a key file: JSON {"keys": [{"id": ..., "secret_hex": ...}, ...]}, current key first."""
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise FleetKeyError(f"key file {path} does not exist (generate one with: scanauto keygen {path})") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise FleetKeyError(f"key file {path} cannot be read: {exc}") from None
    entries = raw.get("keys") if isinstance(raw, dict) else None
    if not isinstance(entries, list) or not entries:
        raise FleetKeyError(f"key file {path} must hold a non-empty 'keys' list")
    keys = []
    for entry in entries:
        if not isinstance(entry, dict) or "id" not in entry or "secret_hex" not in entry:
            raise FleetKeyError(f"key file {path}: every key needs 'id' and 'secret_hex'")
        key_id = str(entry["id"])
        keys.append(
            DigestKey(
                key_id,
                _parse_secret(key_id, str(entry["secret_hex"])),
                _parse_bound(key_id, entry.get("not_before")),
                _parse_bound(key_id, entry.get("not_after")),
            )
        )
    return KeyRing(tuple(keys))


def _parse_bound(key_id: str, value: object) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise FleetKeyError(f"key {key_id!r}: {value!r} is not an ISO datetime") from None


def key_file_body(keys: KeyRing) -> str:
    """The JSON text of a key file holding these keys."""
    entries = []
    for k in keys.keys:
        entry: dict[str, str] = {"id": k.key_id, "secret_hex": k.secret.hex()}
        if k.not_before:
            entry["not_before"] = k.not_before.isoformat()
        if k.not_after:
            entry["not_after"] = k.not_after.isoformat()
        entries.append(entry)
    return json.dumps({"keys": entries}, indent=2) + "\n"


def load_key(path: Path | None = None, environ: Mapping[str, str] | None = None) -> KeyRing:
    """Load the fleet keys from a key file if given, else from SCANAUTO_FLEET_KEY."""
    if path is not None:
        return load_key_file(path)
    env = os.environ if environ is None else environ
    spec = env.get(KEY_ENV_VAR)
    if not spec:
        raise FleetKeyError(f"no fleet key: pass --key-file FILE or set {KEY_ENV_VAR}=KEY_ID:HEXSECRET")
    return KeyRing((parse_key_spec(spec),))


def new_key_file(path: Path, key_id: str) -> DigestKey:
    """Write a fresh random key to a new key file readable by its owner only."""
    key = DigestKey(key_id, os.urandom(MIN_KEY_BYTES))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key_file_body(KeyRing((key,))))
    return key


def write_key_file(path: Path, keys: KeyRing) -> None:
    """Replace a key file atomically (mode 600); keys left out of `keys` are destroyed on disk."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(key_file_body(keys))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
