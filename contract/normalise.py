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
    # Cyrillic
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
    "С": "C", "Т": "T", "Х": "X", "У": "Y", "І": "I", "Ј": "J", "Ѕ": "S", "З": "3",
    # Greek
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
    "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
}  # fmt: skip


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
