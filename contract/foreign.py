"""Formats of the foreign plates a Dutch street sees most (BE, DE, FR, PL, RO), as their normalised texts.

Only the structure a reader can rely on is encoded: which positions hold letters or digits, group lengths, and the
letters a series never issues. Where a country's rule is only partly known the pattern is kept loose (old French
FNI letters): a loose pattern can only leave a misread alone, never cost a right read.
"""

from __future__ import annotations

import re

_SIV = "A-HJ-NP-TV-Z"  # French SIV letters: no I, O, U
PL_VOIVODESHIPS = "BCDEFGKLNOPRSTWZ"  # the first letter of a Polish plate names one of the 16 voivodeships
PL_SERIES_LETTERS = "ACEFGHJKLMNPRSTUVWXY"  # Polish series issue no B, D, I, O, Z (they look like 8, 0, 1, 0, 2)
_PL_SERIES = f"(?!(?:[0-9]*[{PL_SERIES_LETTERS}]){{3}})[0-9{PL_SERIES_LETTERS}]"  # one series char; at most 2 letters

FOREIGN_FORMATS: dict[str, tuple[re.Pattern[str], ...]] = {
    "BE": (
        re.compile(r"[1-9][A-Z]{3}[0-9]{3}"),  # since 2010: 1-ABC-234
        re.compile(r"[A-Z]{3}[0-9]{3}"),  # 1973-2008: ABC-123
        re.compile(r"[0-9]{3}[A-Z]{3}"),  # 2008-2010: 123-ABC
    ),
    "DE": (
        # District (1-3 letters) and recognition letters (1-2), then a number without a leading zero; E (electric)
        # or H (historic) may follow. The normalised text loses the gap between the two letter groups.
        re.compile(r"[A-Z]{2,5}[1-9][0-9]{0,3}[EH]?"),
    ),
    "FR": (
        re.compile(rf"[{_SIV}]{{2}}[0-9]{{3}}[{_SIV}]{{2}}"),  # SIV since 2009: AB-123-CD
        re.compile(r"[1-9][0-9]{0,3}[A-Z]{1,3}(?:[0-9]{2}|2[AB]|97[1-6])"),  # FNI before 2009: 1234 AB 75
    ),
    "PL": (
        # District (voivodeship letter + one or two letters), then a series of 4-5 characters with at most two
        # letters; a two-letter district is followed by a digit, so that "XY 1..." never reads as "XYZ ...".
        re.compile(rf"[{PL_VOIVODESHIPS}][A-Z][0-9]{_PL_SERIES}{{4}}"),  # WA 12345, KR 1AC23
        re.compile(rf"[{PL_VOIVODESHIPS}][A-Z]{{2}}{_PL_SERIES}{{4,5}}"),  # WPR 1234A, WPI AC12
        re.compile(rf"[{PL_VOIVODESHIPS}][0-9][A-Z]{{1,5}}[0-9]{{0,2}}"),  # vanity: L0 BIBI, B4 BMW99 (3-5 after)
    ),
    "RO": (
        re.compile(r"B[0-9]{2,3}[A-Z]{3}"),  # Bucharest: B 123 ABC
        re.compile(r"[A-Z]{2}[0-9]{2}[A-Z]{3}"),  # counties: CJ 12 ABC
    ),
}


def foreign_countries(plate: str) -> tuple[str, ...]:
    """The countries (of FOREIGN_FORMATS) whose format a normalised plate fits, e.g. ("FR",); empty if none."""
    # Length caps the patterns leave out: a German district + letters + number is at most 8 characters, and a
    # Polish vanity plate has 3-5 characters after its voivodeship letter and digit.
    caps = {"DE": len(plate.rstrip("EH")) > 8, "PL": len(plate) > 8 or (plate[1:2].isdigit() and len(plate) < 5)}
    return tuple(
        country
        for country, patterns in FOREIGN_FORMATS.items()
        if any(p.fullmatch(plate) for p in patterns) and not caps.get(country, False)
    )
