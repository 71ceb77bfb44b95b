"""CTC columns: a text's probability sums every alignment; the beam finds readings the greedy slots cannot hold."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from edge.ctc import fused_frames, likely_texts, text_probabilities

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_"
BLANK = ALPHABET.index("_")


def columns(*cols: dict[str, float], rest: float = 1e-5) -> np.ndarray:
    """(columns, alphabet) probabilities; each column's unnamed classes share `rest`."""
    out = np.full((len(cols), len(ALPHABET)), rest, dtype=np.float32)
    for t, col in enumerate(cols):
        for ch, p in col.items():
            out[t, ALPHABET.index(ch)] = p
    return out / out.sum(axis=1, keepdims=True)


def _collapse(path: tuple[int, ...], alphabet: str, blank: int) -> str:
    out, last = [], None
    for c in path:
        if c != last and c != blank:
            out.append(alphabet[c])
        last = c
    return "".join(out)


def test_text_probability_is_the_sum_over_every_alignment() -> None:
    alphabet, blank = "AB_", 2
    cols = np.random.default_rng(7).dirichlet(np.ones(3), size=6).astype(np.float32)
    brute: dict[str, float] = {}
    for path in itertools.product(range(3), repeat=6):
        text = _collapse(path, alphabet, blank)
        brute[text] = brute.get(text, 0.0) + float(np.prod([cols[t, c] for t, c in enumerate(path)]))
    texts = ["", "A", "AA", "AB", "ABA", "BBB"]
    got = text_probabilities(cols[None], texts, alphabet, blank)[0]
    assert got == pytest.approx([brute.get(t, 0.0) for t in texts], rel=1e-5)


def test_a_thin_letter_the_blank_narrowly_wins_is_still_read() -> None:
    # The greedy collapse reads 'NJ' (blank wins both of the I's columns); the I sits in one or both of them
    # with probability 1 - 0.6 * 0.6 = 0.64, so 'NJI' is the likelier text.
    cols = columns({"N": 1.0}, {"_": 1.0}, {"J": 1.0}, {"_": 0.6, "I": 0.4}, {"_": 0.6, "I": 0.4}, {"_": 1.0})
    found = dict((t, p) for p, t in likely_texts(cols, ALPHABET, BLANK))
    assert found["NJI"] > found["NJ"]
    exact = text_probabilities(cols[None], ["NJ", "NJI"], ALPHABET, BLANK)[0]
    assert exact == pytest.approx([0.36, 0.64], abs=3e-3)


def test_a_doubled_letter_needs_a_blank_between_its_columns() -> None:
    # Two H columns without a blank between are one H; the second H of 'HH' lives in the blank column between.
    cols = columns({"H": 1.0}, {"_": 0.7, "H": 0.3}, {"H": 1.0}, {"T": 1.0})
    got = dict(zip(["HT", "HHT"], text_probabilities(cols[None], ["HT", "HHT"], ALPHABET, BLANK)[0], strict=True))
    assert got["HT"] == pytest.approx(0.3, abs=3e-3)  # the blank column read as H merges the three into one
    assert got["HHT"] == pytest.approx(0.7, abs=3e-3)


def test_views_are_scored_apart() -> None:
    a = columns({"A": 0.9, "B": 0.1})
    b = columns({"A": 0.5, "B": 0.5})
    per_view = text_probabilities(np.stack([a, b]), ["A", "B"], ALPHABET, BLANK)
    assert per_view[:, 0] == pytest.approx([0.9, 0.5], abs=1e-3)


def test_one_frame_keeps_its_own_probabilities() -> None:
    assert fused_frames(np.array([[0.6, 0.3]]), [2.0]) == pytest.approx([0.6, 0.3])


def test_frames_vote_by_weighted_log_mean_renormalised_over_the_texts() -> None:
    fused = fused_frames(np.array([[0.9, 0.1], [0.5, 0.5]]), [3.0, 1.0])
    vote = np.array([0.9**0.75 * 0.5**0.25, 0.1**0.75 * 0.5**0.25])
    assert fused == pytest.approx(vote / vote.sum())  # both frames give these two texts all their mass


def test_one_frame_that_cannot_see_the_plate_does_not_veto_its_text() -> None:
    # Seven frames read the text; one (a character cut off) gives it 3.6e-11: the log-mean alone would leave
    # (3.6e-11) ** (1/8) = 0.049, under the edge's floor on a read's best text, and the car would go unread.
    frames = np.array([[1.0, 0.0]] * 7 + [[3.6e-11, 0.9]])
    fused = fused_frames(frames, [1.0] * 8)
    assert fused[0] > 0.9 and fused[1] < 0.01


def test_a_character_repeated_across_a_certain_blank_is_read_twice() -> None:
    # One-hot columns: the blank between the two 1s is certain (exactly 1.0), the search must still close the first.
    cols = columns({"8": 1.0}, {"1": 1.0}, {"_": 1.0}, {"1": 1.0}, {"B": 1.0}, rest=0.0)
    best = likely_texts(cols, ALPHABET, BLANK)
    assert best[0] == (pytest.approx(1.0), "811B")
    assert all(p > 0 for p, _ in best)
