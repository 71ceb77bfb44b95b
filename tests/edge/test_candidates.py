"""Candidates: the OCR's own probabilities rank alternatives; sidecodes demote impossible texts."""

from dataclasses import replace
from itertools import pairwise

import numpy as np
import pytest

from edge.candidates import CandidateSettings, candidates

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_"
SLOTS = 10


def _probs(*slots: dict[str, float]) -> np.ndarray:
    """A (slots, alphabet) matrix; unspecified slots are padding."""
    out = np.full((SLOTS, len(ALPHABET)), 1e-4, dtype=np.float32)
    for i in range(SLOTS):
        dist = slots[i] if i < len(slots) else {"_": 1.0}
        for ch, p in dist.items():
            out[i, ALPHABET.index(ch)] = p
    return out / out.sum(axis=1, keepdims=True)


def test_best_reading_comes_first_and_alternatives_follow_by_probability() -> None:
    probs = _probs({"G": 0.95}, {"B": 0.6, "8": 0.4}, {"B": 0.99}, {"0": 0.98}, {"1": 0.97}, {"B": 0.99})
    got = candidates(probs, ALPHABET, "_", CandidateSettings())
    assert got[0].text == "GBB01B" and got[0].sidecode == 11
    # G8B01B fits no sidecode, so it is demoted below every valid reading.
    texts = [c.text for c in got]
    assert "G8B01B" not in texts[:1]
    assert all(a.score >= b.score for a, b in pairwise(got))


def test_confusable_alternative_that_is_a_valid_plate_is_kept() -> None:
    # 'O' vs '0' in a digit group: only the digit reading fits sidecode 1 (XX-99-99).
    probs = _probs({"B": 0.99}, {"D": 0.99}, {"1": 0.99}, {"O": 0.55, "0": 0.45}, {"3": 0.99}, {"4": 0.99})
    got = candidates(probs, ALPHABET, "_", CandidateSettings())
    assert got[0].text == "BD1034"
    assert "BD1O34" in [c.text for c in got]  # still digested, but ranked after the valid one


def test_at_most_max_candidates() -> None:
    flat = {ch: 0.3 for ch in "B8D"}
    probs = _probs(flat, flat, {"1": 0.99}, {"2": 0.99}, flat, flat)
    assert len(candidates(probs, ALPHABET, "_", CandidateSettings(max_candidates=5, min_best_prob=0.0))) == 5


def test_foreign_plate_keeps_its_text() -> None:
    probs = _probs({"M": 0.99}, {"U": 0.99}, {"C": 0.99}, {"1": 0.99}, {"2": 0.99}, {"3": 0.99}, {"4": 0.99})
    got = candidates(probs, ALPHABET, "_", CandidateSettings())
    assert got[0].text == "MUC1234" and got[0].sidecode is None


def test_foreign_plate_is_not_shortened_into_a_dutch_one() -> None:
    # A clear 7-character Polish plate whose '1' column carries some blank (pad) mass: dropping the
    # '1' gives RG6947, a valid Dutch sidecode-11 text. The sidecode prior must not delete characters.
    probs = _probs({"R": 0.99}, {"G": 0.99}, {"6": 0.99}, {"1": 0.85, "_": 0.15}, {"9": 0.99}, {"4": 0.99}, {"7": 0.99})
    got = candidates(probs, ALPHABET, "_", CandidateSettings())
    assert got[0].text == "RG61947"
    assert "RG6947" in [c.text for c in got]  # still an alternative (digested), ranked after
    old = candidates(probs, ALPHABET, "_", CandidateSettings(same_length_prior=False))
    assert old[0].text == "RG6947"  # what the unconstrained prior did


def test_a_read_the_ocr_barely_believes_is_dropped() -> None:
    # Letters on a sign: every slot spread over several characters, the best reading ~0.02.
    flat = {"1": 0.5, "I": 0.3, "L": 0.2}
    spread = {"E": 0.55, "F": 0.45}
    probs = _probs(flat, spread, {"H": 0.5, "N": 0.5}, {"U": 0.5, "V": 0.5}, {"U": 0.5, "V": 0.5}, {"R": 0.6, "P": 0.4})
    assert candidates(probs, ALPHABET, "_", CandidateSettings()) == []
    assert candidates(probs, ALPHABET, "_", CandidateSettings(min_best_prob=0.0)) != []


def test_a_clear_foreign_plate_survives_a_dutch_spelling_the_ocr_barely_considered() -> None:
    # A Romanian plate read from a real dashcam frame: B90MYU (M or 4 in slot 4). Swapping in the
    # confusable partners 8 for B and 4 for M gives 8904YU, a Dutch sidecode-2 text the OCR gives almost
    # nothing. The Dutch prior demotes the foreign reading, but the floor judges the OCR's own belief.
    probs = _probs({"B": 0.99}, {"9": 0.99}, {"0": 0.99}, {"M": 0.5, "4": 0.47}, {"Y": 0.99}, {"U": 0.99})
    got = candidates(probs, ALPHABET, "_", CandidateSettings())
    assert got and got[0].text == "B90MYU" and got[0].sidecode is None
    # The read event reports the OCR's own probability of the reading, not the rank the prior gave it.
    assert got[0].probability > 0.4 and got[0].score < 0.03
    # The Dutch spelling is an alternative the OCR gives almost nothing: it is not digested (it could only ever hit
    # some other, innocent car); with no floor on the alternatives it would be.
    assert "8904YU" not in [c.text for c in got]
    every = candidates(probs, ALPHABET, "_", CandidateSettings(min_alternative_prob=0.0))
    assert "8904YU" in [c.text for c in every]


def test_confusable_partner_is_tried_even_when_the_ocr_barely_considered_it() -> None:
    # The OCR is sure of 'O' in a digit group, but 'BD1O34' fits no sidecode: the confusable
    # '0' (with the OCR's own tiny probability) gives the valid plate, which is digested too.
    probs = _probs({"B": 0.99}, {"D": 0.99}, {"1": 0.99}, {"O": 0.995, "0": 0.004}, {"3": 0.99}, {"4": 0.99})
    every = CandidateSettings(min_alternative_prob=0.0)  # the floor on alternatives is tested below
    got = {c.text: c for c in candidates(probs, ALPHABET, "_", every)}
    assert "BD1O34" in got and got["BD1034"].sidecode is not None
    without = candidates(probs, ALPHABET, "_", replace(every, confusables=False))
    assert "BD1034" not in [c.text for c in without]


def test_confusable_alternatives_are_ranked_by_the_ocr_probabilities() -> None:
    # Valid Dutch plate GBB01B (sidecode 11): B/8 in slot 2 is likelier than G/6 in slot 1.
    probs = _probs({"G": 0.9, "6": 0.01}, {"B": 0.9, "8": 0.09}, {"B": 0.99}, {"0": 0.98}, {"1": 0.97}, {"B": 0.99})
    got = [c.text for c in candidates(probs, ALPHABET, "_", CandidateSettings(max_candidates=8))]
    assert got[0] == "GBB01B"
    assert len(got) <= 8


def test_signs_and_house_numbers_are_not_plates_even_with_confusable_digits() -> None:
    sign = _probs({"T": 0.99}, {"E": 0.99}, {"H": 0.99}, {"U": 0.99}, {"U": 0.99}, {"R": 0.99})
    assert candidates(sign, ALPHABET, "_", CandidateSettings()) == []  # not '1EHUUR'
    number = _probs({"7": 0.99}, {"7": 0.99}, {"1": 0.99}, {"1": 0.99})
    assert candidates(number, ALPHABET, "_", CandidateSettings()) == []


def test_the_shortest_german_plate_is_read_but_house_numbers_are_not() -> None:
    short = _probs({"M": 0.99}, {"A": 0.99}, {"1": 0.99})  # M-A 1: district, one letter, one digit
    assert [c.text for c in candidates(short, ALPHABET, "_", CandidateSettings())][:1] == ["MA1"]
    for house in ({"1": 0.99}, {"2": 0.99}, {"A": 0.99}), ({"7": 0.99}, {"B": 0.99}, {"C": 0.99}):
        assert candidates(_probs(*house), ALPHABET, "_", CandidateSettings()) == []


def test_a_german_read_with_a_number_starting_at_zero_yields_to_its_letter_spelling() -> None:
    # YUC07 is no German plate (numbers start at 1); YUCO7 is, and no reading is Dutch.
    probs = _probs({"Y": 0.99}, {"U": 0.99}, {"C": 0.99}, {"0": 0.7, "O": 0.3}, {"7": 0.99})
    got = candidates(probs, ALPHABET, "_", CandidateSettings())
    assert got[0].text == "YUCO7"
    assert "YUC07" in [c.text for c in got]  # still digested, ranked after
    assert candidates(probs, ALPHABET, "_", CandidateSettings(foreign_prior=False))[0].text == "YUC07"


def test_a_dutch_looking_read_keeps_the_dutch_prior_before_any_foreign_format() -> None:
    # GBB01B is Dutch (sidecode 11); G8B01B fits the Polish pattern, but a same-length Dutch reading decides.
    probs = _probs({"G": 0.95}, {"B": 0.6, "8": 0.4}, {"B": 0.99}, {"0": 0.98}, {"1": 0.97}, {"B": 0.99})
    with_prior = candidates(probs, ALPHABET, "_", CandidateSettings())
    without = candidates(probs, ALPHABET, "_", CandidateSettings(foreign_prior=False))
    assert [c.text for c in with_prior] == [c.text for c in without]


def test_a_read_of_no_known_format_keeps_the_ocr_order() -> None:
    # A text no format admits (ten characters, letters first): the OCR's own order stands.
    probs = _probs(*({c: 0.9, "8": 0.1} if c == "B" else {c: 0.99} for c in "ABCDEFGH12"))
    got = candidates(probs, ALPHABET, "_", CandidateSettings(min_best_prob=0.0))
    assert got[0].text == "ABCDEFGH12"


def test_alternatives_the_ocr_barely_considered_are_not_digested() -> None:
    # GBB01B, sure but for slot 2 (B 0.9, 8 0.09): G8B01B is a real alternative; the confusable partners of the
    # other slots (6 for G, 8 for B, O and D for 0, I, L and T for 1) get ~1e-4 each, and spellings built from them
    # would only be digests that could hit innocent listed cars.
    probs = _probs({"G": 0.99}, {"B": 0.9, "8": 0.09}, {"B": 0.99}, {"0": 0.98}, {"1": 0.97}, {"B": 0.99})
    floor = CandidateSettings().min_alternative_prob
    got = candidates(probs, ALPHABET, "_", CandidateSettings())
    assert got[0].text == "GBB01B"
    assert all(c.probability >= floor for c in got[1:])
    assert "G8B01B" in [c.text for c in got]  # the OCR gave it 9 %: still looked up
    every = candidates(probs, ALPHABET, "_", CandidateSettings(min_alternative_prob=0.0))
    assert len(every) > len(got) and [c.text for c in every][:1] == ["GBB01B"]


def test_the_first_ranked_reading_is_digested_however_low_its_probability() -> None:
    # 'O' (0.6) or '0' (0.4) in a digit group: the Dutch prior ranks BD1034 (sidecode 1) above BD1O34 (no format).
    probs = _probs({"B": 0.99}, {"D": 0.99}, {"1": 0.99}, {"O": 0.6, "0": 0.4}, {"3": 0.99}, {"4": 0.99})
    got = candidates(probs, ALPHABET, "_", CandidateSettings(min_alternative_prob=0.99))
    assert [c.text for c in got] == ["BD1034"]  # below the floor, but the read's answer: kept, and alone
    assert got[0].probability < 0.99


def _columns(*cols: dict[str, float]) -> np.ndarray:
    """One view's CTC columns (1, columns, alphabet); unnamed classes get next to nothing."""
    out = np.full((len(cols), len(ALPHABET)), 1e-6, dtype=np.float32)
    for t, col in enumerate(cols):
        for ch, p in col.items():
            out[t, ALPHABET.index(ch)] = p
    return (out / out.sum(axis=1, keepdims=True))[None]


def test_columns_keep_a_thin_letter_the_slots_drop_so_a_foreign_plate_does_not_become_dutch() -> None:
    # A Romanian JH85NJI whose I the blank narrowly wins in both its columns: the greedy slots read JH85NJ, a
    # valid Dutch plate (sidecode 4); over the columns the I is there with probability 1 - 0.6 * 0.6 = 0.64.
    sure = [{c: 0.99} for c in "JH85NJ"]
    slots = _probs(*sure)
    cols = [{"_": 1.0}]
    for c in "JH85NJ":
        cols += [{c: 1.0}, {"_": 1.0}]
    cols += [{"_": 0.6, "I": 0.4}, {"_": 0.6, "I": 0.4}, {"_": 1.0}]
    settings = CandidateSettings()
    assert candidates(slots, ALPHABET, "_", settings)[0].text == "JH85NJ"
    got = candidates(slots, ALPHABET, "_", settings, [(1.0, _columns(*cols))])
    assert [c.text for c in got][:2] == ["JH85NJI", "JH85NJ"]
    assert got[0].probability == pytest.approx(0.64, abs=0.01)
    assert candidates(slots, ALPHABET, "_", replace(settings, ctc_texts=False), [(1.0, _columns(*cols))]) == (
        candidates(slots, ALPHABET, "_", settings)
    )


def test_a_track_scores_texts_on_every_kept_frame_by_weighted_log_mean() -> None:
    # Two frames weighted 3:1, the sixth character B or 8 at 0.9/0.1 and 0.5/0.5: the texts keep the ratio
    # (0.9 / 0.1) ** 0.75 * (0.5 / 0.5) ** 0.25.
    slots = _probs(*[{c: 0.99} for c in "GBB01B"])

    def frame(sixth_b: float) -> np.ndarray:
        cols = [{"_": 1.0}]
        for c in "GBB01":
            cols += [{c: 1.0}, {"_": 1.0}]
        return _columns(*cols, {"B": sixth_b, "8": 1 - sixth_b}, {"_": 1.0})

    got = {
        c.text: c.probability
        for c in candidates(slots, ALPHABET, "_", CandidateSettings(), [(3.0, frame(0.9)), (1.0, frame(0.5))])
    }
    assert got["GBB01B"] / got["GBB018"] == pytest.approx(9**0.75, rel=0.01)
    assert got["GBB01B"] + got["GBB018"] == pytest.approx(1.0, abs=0.01)
