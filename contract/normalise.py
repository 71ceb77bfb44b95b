"""Normalise plate text to the canonical form every digest is computed over: uppercase A-Z0-9."""

from __future__ import annotations

import unicodedata

MAX_PLATE_LEN = 10
"""Longest plate we accept after normalisation (EU plates stay within 10 characters)."""

# Separators a plate may be written with; they carry no identity.
_SEPARATORS = frozenset(" -.\u00b7_/\t\u2010\u2011\u2012\u2013\u2014\u2212:")

# Look-alike characters from other scripts that OCR exports or hand-typed lists contain.
# NFKC already folds full-width forms; these are the homoglyphs it leaves alone.
_HOMOGLYPHS = {
    "\N{CYRILLIC CAPITAL LETTER A}": "A",
    "\N{CYRILLIC CAPITAL LETTER VE}": "B",
    "\N{CYRILLIC CAPITAL LETTER IE}": "E",
    "\N{CYRILLIC CAPITAL LETTER KA}": "K",
    "\N{CYRILLIC CAPITAL LETTER EM}": "M",
    "\N{CYRILLIC CAPITAL LETTER EN}": "H",
    "\N{CYRILLIC CAPITAL LETTER O}": "O",
    "\N{CYRILLIC CAPITAL LETTER ER}": "P",
    "\N{CYRILLIC CAPITAL LETTER ES}": "C",
    "\N{CYRILLIC CAPITAL LETTER TE}": "T",
    "\N{CYRILLIC CAPITAL LETTER HA}": "X",
    "\N{CYRILLIC CAPITAL LETTER U}": "Y",
    "\N{CYRILLIC CAPITAL LETTER BYELORUSSIAN-UKRAINIAN I}": "I",
    "\N{CYRILLIC CAPITAL LETTER JE}": "J",
    "\N{CYRILLIC CAPITAL LETTER DZE}": "S",
    "\N{CYRILLIC CAPITAL LETTER ZE}": "3",
    "\N{GREEK CAPITAL LETTER ALPHA}": "A",
    "\N{GREEK CAPITAL LETTER BETA}": "B",
    "\N{GREEK CAPITAL LETTER EPSILON}": "E",
    "\N{GREEK CAPITAL LETTER ZETA}": "Z",
    "\N{GREEK CAPITAL LETTER ETA}": "H",
    "\N{GREEK CAPITAL LETTER IOTA}": "I",
    "\N{GREEK CAPITAL LETTER KAPPA}": "K",
    "\N{GREEK CAPITAL LETTER MU}": "M",
    "\N{GREEK CAPITAL LETTER NU}": "N",
    "\N{GREEK CAPITAL LETTER OMICRON}": "O",
    "\N{GREEK CAPITAL LETTER RHO}": "P",
    "\N{GREEK CAPITAL LETTER TAU}": "T",
    "\N{GREEK CAPITAL LETTER UPSILON}": "Y",
    "\N{GREEK CAPITAL LETTER CHI}": "X",
}


class PlateTextError(ValueError):
    """Plate text that cannot be normalised (empty, too long, or with characters no plate has)."""


def normalise(text: str) -> str:
    """Return the canonical form of a plate: uppercase A-Z0-9, no separators.

    Raises PlateTextError with the reason when the text cannot be a plate.
    """
    if not isinstance(text, str):
        raise PlateTextError(f"plate must be text, got {type(text).__name__}")
    folded = unicodedata.normalize("NFKC", text).upper()
    out: list[str] = []
    for ch in folded:
        if ch in _SEPARATORS:
            continue
        ch = _HOMOGLYPHS.get(ch, ch)
        if not ("A" <= ch <= "Z" or "0" <= ch <= "9"):
            # Strip accents (Ö -> O) before giving up: lists typed by hand contain them.
            base = unicodedata.normalize("NFKD", ch)[:1]
            if "A" <= base <= "Z":
                ch = base
            else:
                raise PlateTextError(f"character {ch!r} cannot appear in a plate")
        out.append(ch)
    plate = "".join(out)
    if not plate:
        raise PlateTextError("plate is empty after removing separators")
    if len(plate) > MAX_PLATE_LEN:
        raise PlateTextError(f"plate has {len(plate)} characters, at most {MAX_PLATE_LEN} allowed")
    return plate
