"""Digests are keyed HMAC-SHA256 with fixed test vectors; weak or missing keys are refused."""

import hmac
import json
from hashlib import sha256
from pathlib import Path

import pytest

from contract.digest import DigestKey, FleetKeyError, digest, load_key, new_key_file

KEY = DigestKey("vec1", bytes(range(32)))

VECTORS = [
    ("AB1234", "3d9daada7b6808156f54ca54afbecf68b6b420ec723e188f7c0ff5424a2e55be"),
    ("GBB01B", "4a87dcb67915fb111be60eb3cde4c710b395e07eaa1d040bfe60bb76338168b9"),
    ("K123BB", "807b8fe4c2c1393fc92a6f05d522634dc4f32947b8bf7a2423fae5bc61136f2f"),
]


@pytest.mark.parametrize(("plate", "expected"), VECTORS)
def test_digest_matches_test_vectors(plate: str, expected: str) -> None:
    assert digest(plate, KEY) == expected
    # The vector is HMAC-SHA256 with a domain prefix, computed independently here.
    assert hmac.new(bytes(range(32)), b"scanauto/plate/v1\x00" + plate.encode(), sha256).hexdigest() == expected


def test_digest_depends_on_the_key_not_only_the_plate() -> None:
    other = DigestKey("vec2", bytes(range(100, 164)))
    assert digest("AB1234", other) == "7f810b6767d8360718c3ba2a78d90fd72a5c4050754c192eb2f78ea109da3ce2"
    assert digest("AB1234", other) != digest("AB1234", KEY)
    assert digest("AB1234", KEY) != sha256(b"AB1234").hexdigest()


def test_digest_refuses_unnormalised_text() -> None:
    with pytest.raises(ValueError, match="normalise"):
        digest("ab-12-34", KEY)


@pytest.mark.parametrize(
    ("secret", "reason"), [(b"short", "at least 32"), (b"a" * 40, "not random"), (b"password" * 4, "not random")]
)
def test_weak_keys_are_refused(secret: bytes, reason: str) -> None:
    with pytest.raises(FleetKeyError, match=reason):
        DigestKey("weak", secret)


def test_missing_key_is_refused_with_a_hint() -> None:
    with pytest.raises(FleetKeyError, match="SCANAUTO_FLEET_KEY"):
        load_key(None, environ={})
    with pytest.raises(FleetKeyError, match="does not exist"):
        load_key(Path("/nonexistent/key.json"))


def test_key_loads_from_environment_and_file(tmp_path: Path) -> None:
    ring = load_key(None, environ={"SCANAUTO_FLEET_KEY": "env-1:" + bytes(range(32)).hex()})
    assert ring.current.key_id == "env-1"
    assert digest("AB1234", ring.current) == VECTORS[0][1]
    path = tmp_path / "fleet.json"
    key = new_key_file(path, "file-1")
    assert path.stat().st_mode & 0o777 == 0o600
    assert load_key(path).current == key
    assert json.loads(path.read_text())["keys"][0]["id"] == "file-1"


def test_key_secret_never_appears_in_repr() -> None:
    assert bytes(range(32)).hex() not in repr(KEY)
    assert "secret" not in repr(KEY)
