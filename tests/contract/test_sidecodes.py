"""Every Dutch sidecode is recognised, formatted with dashes, and the RDW letter rules hold."""

import pytest

from contract.sidecodes import classify, format_display, is_valid_dutch, match_sidecode

VALID = [
    ("AB1234", 1, "AB-12-34"),
    ("1234AB", 2, "12-34-AB"),
    ("12AB34", 3, "12-AB-34"),
    ("BD12FG", 4, "BD-12-FG"),
    ("BDFG12", 5, "BD-FG-12"),
    ("12BDFG", 6, "12-BD-FG"),
    ("12BDF3", 7, "12-BDF-3"),
    ("1BDF23", 8, "1-BDF-23"),
    ("BD123F", 9, "BD-123-F"),
    ("B123DF", 10, "B-123-DF"),
    ("GBB01B", 11, "GBB-01-B"),
    ("B12DFG", 12, "B-12-DFG"),
    ("1BD234", 13, "1-BD-234"),
    ("123BD4", 14, "123-BD-4"),
]


@pytest.mark.parametrize(("plate", "code", "display"), VALID)
def test_each_sidecode_is_recognised_and_formatted(plate: str, code: int, display: str) -> None:
    assert match_sidecode(plate) == code
    assert format_display(plate) == display
    assert classify(plate).country == "NL"


@pytest.mark.parametrize(
    ("plate", "why"),
    [
        ("BA12FG", "vowel A in a newer series"),
        ("12BDE3", "vowel E in sidecode 7"),
        ("BC12FG", "C is never issued in newer series"),
        ("12QDF3", "Q looks like 0"),
        ("12NSB3", "banned combination NSB"),
        ("12PVV3", "banned combination PVV"),
        ("GVD12B", "banned combination GVD"),
        ("12BSD3", "SD recalls the war"),
        ("12BDY3", "Y not used from sidecode 7"),
        ("AB0000", "number group of zeros"),
        ("ABC123D", "no sidecode has seven characters of this shape"),
        ("12OB34", "O never issued in sidecode 3"),
    ],
)
def test_plates_the_rdw_does_not_issue_are_not_dutch(plate: str, why: str) -> None:
    assert not is_valid_dutch(plate), why


def test_old_series_allow_vowels() -> None:
    assert match_sidecode("AE1234") == 1
    assert match_sidecode("12UA34") == 3


def test_foreign_plates_pass_through_as_generic_text() -> None:
    fmt = classify("B123ABC")  # Belgian-like
    assert fmt.country == "" and fmt.sidecode is None
    assert format_display("MUC1234") == "MUC1234"
