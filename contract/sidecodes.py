"""Dutch sidecodes 1-14 with the RDW letter rules, and display formatting."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Sidecode number -> pattern of groups: X = letter, 9 = digit.
SIDECODES: dict[int, tuple[str, str, str]] = {
    1: ("XX", "99", "99"),
    2: ("99", "99", "XX"),
    3: ("99", "XX", "99"),
    4: ("XX", "99", "XX"),
    5: ("XX", "XX", "99"),
    6: ("99", "XX", "XX"),
    7: ("99", "XXX", "9"),
    8: ("9", "XXX", "99"),
    9: ("XX", "999", "X"),
    10: ("X", "999", "XX"),
    11: ("XXX", "99", "X"),
    12: ("X", "99", "XXX"),
    13: ("9", "XX", "999"),
    14: ("999", "XX", "9"),
}

# Sidecodes 1-3 (1951-1978) used most letters; C, I, O, Q were never issued there.
OLD_SERIES_LETTERS = frozenset("ABDEFGHJKLMNPRSTUVWXYZ")
# From sidecode 4 on: no vowels, no C and Q (look like 0); Y only until sidecode 6.
# W (trailers) and M (motorcycles) are special series but do appear on the street.
NEW_SERIES_LETTERS = frozenset("BDFGHJKLMNPRSTVWXZ")
SIDECODE_4_TO_6_LETTERS = NEW_SERIES_LETTERS | {"Y"}

# Letter groups the RDW does not issue (offensive or political abbreviations).
BANNED_GROUPS = frozenset({"GVD", "KKK", "KVT", "LPF", "NSB", "PKK", "PSV", "TBS", "PVV", "SGP", "VVD", "FVD", "BBB"})
# Two-letter runs never issued in any series (they recall the Second World War); SS appeared
# only in sidecode 2.
BANNED_PAIRS = frozenset({"SA", "SD", "SS"})


@dataclass(frozen=True, slots=True)
class PlateFormat:
    """What we know about a normalised plate's format."""

    country: str  # "NL" or "" for generic/unknown
    sidecode: int | None  # 1-14 for a valid Dutch plate


GENERIC = PlateFormat(country="", sidecode=None)


def _regex(groups: tuple[str, str, str]) -> re.Pattern[str]:
    parts = [f"([A-Z]{{{len(g)}}})" if g[0] == "X" else f"([0-9]{{{len(g)}}})" for g in groups]
    return re.compile("^" + "".join(parts) + "$")


_PATTERNS = {code: _regex(groups) for code, groups in SIDECODES.items()}


def allowed_letters(sidecode: int) -> frozenset[str]:
    """Letters the RDW issues in a sidecode."""
    if sidecode <= 3:
        return OLD_SERIES_LETTERS
    if sidecode <= 6:
        return SIDECODE_4_TO_6_LETTERS
    return NEW_SERIES_LETTERS


def _letters_ok(sidecode: int, letter_groups: list[str]) -> bool:
    allowed = allowed_letters(sidecode)
    for group in letter_groups:
        if any(ch not in allowed for ch in group):
            return False
        if sidecode >= 4 and group in BANNED_GROUPS:
            return False
        pairs = {group[i : i + 2] for i in range(len(group) - 1)}
        banned = BANNED_PAIRS - {"SS"} if sidecode == 2 else BANNED_PAIRS
        if pairs & banned:
            return False
    return True


def match_sidecode(plate: str) -> int | None:
    """The sidecode a normalised plate is valid in, or None."""
    for code, pattern in _PATTERNS.items():
        m = pattern.match(plate)
        if m is None:
            continue
        letter_groups = [g for g, spec in zip(m.groups(), SIDECODES[code], strict=True) if spec[0] == "X"]
        digit_groups = [g for g, spec in zip(m.groups(), SIDECODES[code], strict=True) if spec[0] == "9"]
        # Number groups never consist of zeros only (series start at 01 / 001 / 1).
        if any(set(g) == {"0"} for g in digit_groups):
            continue
        if _letters_ok(code, letter_groups):
            return code
    return None


def is_valid_dutch(plate: str) -> bool:
    """True when a normalised plate fits a Dutch sidecode under the RDW letter rules."""
    return match_sidecode(plate) is not None


def classify(plate: str) -> PlateFormat:
    """Dutch with its sidecode, or generic text (foreign or unknown formats pass as generic)."""
    code = match_sidecode(plate)
    return PlateFormat(country="NL", sidecode=code) if code is not None else GENERIC


def format_display(plate: str) -> str:
    """Dashes between the groups of a Dutch plate (XX-99-99); other plates unchanged."""
    code = match_sidecode(plate)
    if code is None:
        return plate
    out, pos = [], 0
    for group in SIDECODES[code]:
        out.append(plate[pos : pos + len(group)])
        pos += len(group)
    return "-".join(out)


def pattern_of(sidecode: int) -> str:
    """The sidecode's pattern as one string without dashes, e.g. 'XX9999' for sidecode 1."""
    return "".join(SIDECODES[sidecode])
