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
from hashlib import sha256
from pathlib import Path

from contract.errors import ConfigError

MIN_KEY_BYTES = 32
KEY_ENV_VAR = "SCANAUTO_FLEET_KEY"
# Domain separation: a digest of a plate can never collide with another use of the same key.
_DOMAIN = b"scanauto/plate/v1\x00"
_KEY_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_CANONICAL_RE = re.compile(r"^[A-Z0-9]{1,10}$")

DIGEST_PATTERN = r"^[0-9a-f]{64}$"
KEY_ID_PATTERN = _KEY_ID_RE.pattern


class FleetKeyError(ConfigError):
    """A fleet key that is missing, malformed or too weak to protect plates."""


@dataclass(frozen=True, slots=True)
class DigestKey:
    """One fleet key: an id that travels with every digest, and the secret that never does."""

    key_id: str
    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not _KEY_ID_RE.match(self.key_id):
            raise FleetKeyError(f"key id {self.key_id!r} must be 1-64 characters of A-Z a-z 0-9 . _ -")
        _check_strength(self.key_id, self.secret)


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
    """The keys a service holds; the first is the current key used for new digests."""

    keys: tuple[DigestKey, ...]

    def __post_init__(self) -> None:
        if not self.keys:
            raise FleetKeyError("the key ring is empty")
        ids = [k.key_id for k in self.keys]
        if len(set(ids)) != len(ids):
            raise FleetKeyError(f"duplicate key ids in key ring: {ids}")

    @property
    def current(self) -> DigestKey:
        return self.keys[0]

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
        keys.append(DigestKey(str(entry["id"]), _parse_secret(str(entry["id"]), str(entry["secret_hex"]))))
    return KeyRing(tuple(keys))


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
    body = json.dumps({"keys": [{"id": key.key_id, "secret_hex": key.secret.hex()}]}, indent=2)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(body + "\n")
    return key
