"""Normalisation gives one canonical text per plate and refuses what cannot be a plate."""

import pytest

from contract.normalise import PlateTextError, normalise


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ab-12-34", "AB1234"),
        (" GBB 01 B ", "GBB01B"),
        ("12.ab.34", "12AB34"),
        ("ＡＢ－１２－３４", "AB1234"),  # full-width forms
        ("АВ-12-34", "AB1234"),  # Cyrillic A and V look-alikes
        ("ΚΡ-12-34", "KP1234"),  # Greek look-alikes
        ("Ö-12-AB", "O12AB"),  # accents stripped
        ("B\u201312\u2013DFG", "B12DFG"),  # en dashes
    ],
)
def test_normalise_maps_to_canonical_text(raw: str, expected: str) -> None:
    assert normalise(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"), [("", "empty"), (" - ", "empty"), ("AB!12", "'!'"), ("ABCDEFGHIJK", "at most 10")]
)
def test_normalise_rejects_with_reason(raw: str, reason: str) -> None:
    with pytest.raises(PlateTextError, match=reason):
        normalise(raw)
