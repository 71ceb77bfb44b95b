"""The plate contract shared by edge, ingest and matcher: normalisation, formats, digests, events."""

from contract.digest import DigestKey, KeyError_, KeyRing, digest, load_key
from contract.normalise import MAX_PLATE_LEN, PlateTextError, normalise
from contract.sidecodes import SIDECODES, PlateFormat, classify, format_display, is_valid_dutch

__all__ = [
    "MAX_PLATE_LEN",
    "SIDECODES",
    "DigestKey",
    "KeyError_",
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
