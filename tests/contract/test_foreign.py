"""Foreign formats: the structure of BE, DE, FR, PL and RO plates a reader can rely on."""

import pytest

from contract.foreign import foreign_countries


@pytest.mark.parametrize(
    ("plate", "country"),
    [
        ("1ABC234", "BE"), ("ABC123", "BE"), ("123ABC", "BE"),
        ("MUC1234", "DE"), ("BAB1", "DE"), ("HHAB123E", "DE"), ("KA1H", "DE"),
        ("AB123CD", "FR"), ("1234AB75", "FR"), ("12ABC2A", "FR"),
        ("WA12345", "PL"), ("KR1AC23", "PL"), ("WPR1234A", "PL"), ("WPIAC12", "PL"),
        ("L0BIBI", "PL"), ("B4BMW99", "PL"), ("K6Z17", "PL"),
        ("B123ABC", "RO"), ("B12ABC", "RO"), ("CJ12ABC", "RO"),
    ],
)  # fmt: skip
def test_plates_in_their_country_format_are_recognised(plate: str, country: str) -> None:
    assert country in foreign_countries(plate)


@pytest.mark.parametrize(
    ("plate", "country", "why"),
    [
        ("AB123CO", "FR", "French SIV issues no O (nor I, U)"),
        ("AI123CD", "FR", "French SIV issues no I"),
        ("MUC0123", "DE", "German numbers do not start with 0"),
        ("ABCDE1234", "DE", "German plates have at most 8 characters"),
        ("0ABC234", "BE", "Belgian series start at 1"),
        ("B1234ABC", "RO", "Bucharest numbers have 2 or 3 digits"),
        ("WA1BC23", "PL", "Polish series issue no B (nor D, I, O, Z)"),
        ("WPR1ACE2", "PL", "Polish series hold at most two letters"),
        ("XA12345", "PL", "X names no Polish voivodeship"),
        ("B4BMWXY99", "PL", "Polish plates have at most 8 characters"),
        ("L0BI", "PL", "a Polish vanity plate has 3-5 characters after the voivodeship letter and digit"),
    ],
)
def test_texts_against_a_country_rule_do_not_fit_that_country(plate: str, country: str, why: str) -> None:
    assert country not in foreign_countries(plate), why


def test_texts_outside_every_format_fit_none() -> None:
    assert foreign_countries("1A2B3C") == ()
    assert foreign_countries("YUC07") == ()
    assert foreign_countries("12ABC3") == ()  # Dutch sidecode 7 only
