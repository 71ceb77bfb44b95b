"""The plate contract shared by edge, ingest and matcher: normalisation, formats, digests, events."""

from contract.digest import DigestKey, FleetKeyError, KeyRing, digest, load_key
from contract.normalise import MAX_PLATE_LEN, PlateTextError, normalise
from contract.sidecodes import SIDECODES, PlateFormat, classify, format_display, is_valid_dutch

__all__ = [
    "MAX_PLATE_LEN",
    "SIDECODES",
    "DigestKey",
    "FleetKeyError",
    "KeyRing",
    "PlateFormat",
    "PlateTextError",
    "classify",
    "digest",
    "format_display",
    "is_valid_dutch",
    "load_key",
    "normalise",
]
