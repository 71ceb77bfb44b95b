"""Synthetic training data: Dutch and foreign plate texts, plate images and OCR crops."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

PACKAGE_DIR = Path(__file__).parent
"""Where the generator's modules are; `source_fingerprint` hashes every one of them."""


def fingerprint(files: Iterable[Path]) -> str:
    """8 hex digits of a sha256 over the names and contents of `files`, in the order given."""
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:8]


def source_fingerprint(*extra: Path) -> str:
    """Fingerprint of the generator's source (every module of this package, then `extra`): caches of generated
    data carry it in their names, so data drawn by other generator code is never reused."""
    return fingerprint([*sorted(PACKAGE_DIR.glob("*.py")), *extra])
