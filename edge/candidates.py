"""Turn the OCR's per-character distributions into ranked plate candidates (plaintext, in RAM)."""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import numpy.typing as npt

from contract.foreign import foreign_countries
from contract.normalise import MAX_PLATE_LEN
from contract.sidecodes import match_sidecode
from edge.ctc import Columns, fused_frames, likely_texts, text_probabilities

CharProbs = npt.NDArray[np.float32]  # (slots, alphabet)
# The CTC columns behind a reading: one (weight, columns of every view) per frame of the track (one for a
# single frame), heaviest first. See `ctc_texts`.
ColumnEvidence = Sequence[tuple[float, Columns]]


def one_frame(columns: Columns | None) -> ColumnEvidence | None:
    """The evidence of a single-frame read (`scanauto eval`, the benches): its views' columns, if any."""
    return None if columns is None else [(1.0, columns)]


@dataclass(frozen=True, slots=True)
class PlateCandidate:
    text: str  # normalised plate; never leaves the edge process
    probability: float  # the OCR's own probability of this reading (what the read event reports)
    sidecode: int | None
    score: float  # the rank: the probability, demoted when this text fits no format of the country the read looks from


# Characters a camera confuses with each other (both ways). A slot's best character brings its
# partners into the search even when the OCR gave them almost nothing: their rank still comes
# from the OCR's own probability, and the sidecodes decide whether the result is a plate.
CONFUSABLE_PAIRS = ("O0", "D0", "Q0", "DO", "I1", "L1", "T1", "B8", "S5", "Z2", "G6", "A4", "T7", "UV", "MN", "HN")
CONFUSABLE: dict[str, str] = {}
for _a, _b in CONFUSABLE_PAIRS:
    CONFUSABLE[_a] = CONFUSABLE.get(_a, "") + _b
    CONFUSABLE[_b] = CONFUSABLE.get(_b, "") + _a


@dataclass(frozen=True, slots=True)
class CandidateSettings:
    max_candidates: int = 8
    per_slot: int = 3  # alternatives considered per character slot
    min_char_prob: float = 0.02  # a non-confusable alternative below this is not worth a digest
    beam: int = 64
    invalid_penalty: float = 0.05  # factor for non-Dutch texts when the read looks Dutch (and see foreign_prior)
    # When no likely reading is Dutch but one fits a foreign format we read (contract.foreign: BE, DE, FR, PL, RO),
    # readings that fit no known format at all are demoted the same way: FR-730-YO is no French plate (SIV has no
    # O), DE YUC07 no German one (no number starts with 0), so XP730YQ and YUCO7 rank first.
    foreign_prior: bool = True
    confusables: bool = True  # also try the confusable partners of each slot's best character
    # Only readings as long as the OCR's best one make a read "look Dutch": the sidecode prior fixes
    # look-alike characters, it must not delete or invent one (a 7-character foreign plate whose
    # CTC columns carry some blank mass would otherwise lose a character to become a Dutch 6).
    same_length_prior: bool = True
    # A read whose best candidate the OCR itself gives less than this is no plate worth a digest (a sign
    # or sticker read as letters). On the first 400 synthetic test images 0.03 dropped none of 705 right
    # reads and 10 of 81 wrong ones. It is applied to the OCR's best reading before the Dutch prior's
    # demotion (since 2026-11-24: romanian-dashcam valid boxes read 0.954 -> 0.985, dev set exact unchanged).
    # 0.05 since OCR version 8, which is surer of signs too: the highest floor that loses no exact read and no
    # candidate on either development set (0.08 loses one); romanian valid read boxes 1.000 / 0.845 -> 1.000 / 0.862.
    min_best_prob: float = 0.05
    # An alternative (any candidate but the first-ranked) is digested only if the OCR itself gives it at least this:
    # every digest is looked up in the hotlist, and one the OCR gives next to nothing can still be a valid plate of
    # some innocent listed car. The first-ranked candidate, the read's answer, is always digested. 0.01 since
    # 2026-12-07 (session 37, criteria written before the sweep): on the four development sets (11,886 reads) the
    # wrong candidates fitting a Dutch sidecode fell from 1.66 to 0.12 per read and digests from 7.85 to 2.05, while
    # the reads with their true text among the candidates fell 11,737 -> 11,734 (0.03: 11,729, 3 on one set).
    min_alternative_prob: float = 0.01
    # Rank readings by the OCR's CTC columns when the model gives them (`edge.ctc`): every reading the slots'
    # beam finds (its best `ctc_from_slots`) and the `ctc_beam` likeliest texts of each view's columns, whatever
    # their length, each given P(text | columns) summed over every alignment, the mean over the views of a
    # frame, the frames' weighted log-mean renormalised (`edge.ctc.fused_frames`). The greedy slots cannot hold
    # a reading of another length (a thin I the blank narrowly wins, the second of a doubled letter); the
    # columns can. Since 2026-12-07 (session 40, criteria written before the deciding runs; models/README).
    ctc_texts: bool = True
    ctc_beam: int = 8
    ctc_from_slots: int = 16
    ctc_beam_frames: int = 2  # the heaviest frames of a track whose views are searched for texts; all frames score


def _top_sequences(probs: CharProbs, alphabet: str, pad: str, s: CandidateSettings) -> list[tuple[float, str]]:
    """Best character sequences by product of probabilities (beam search over slots)."""
    beam: list[tuple[float, str]] = [(0.0, "")]  # (log prob, text)
    for slot in probs:
        order = np.argsort(slot)[::-1][: s.per_slot]
        chosen = [int(i) for i in order if float(slot[i]) >= s.min_char_prob or i == order[0]]
        if s.confusables:
            chosen += [alphabet.index(c) for c in CONFUSABLE.get(alphabet[order[0]], "") if c in alphabet]
        options = [(math.log(max(float(slot[i]), 1e-12)), alphabet[i]) for i in dict.fromkeys(chosen)]
        beam = heapq.nlargest(
            s.beam, ((lp + olp, text + ("" if ch == pad else ch)) for lp, text in beam for olp, ch in options)
        )
    merged: dict[str, float] = {}
    for lp, text in beam:  # pads in different slots can give the same text: add them up
        if text and len(text) <= MAX_PLATE_LEN:
            merged[text] = merged.get(text, 0.0) + math.exp(lp)
    return sorted(((p, t) for t, p in merged.items()), reverse=True)


def ctc_sequences(
    seqs: list[tuple[float, str]], evidence: ColumnEvidence, alphabet: str, pad: str, s: CandidateSettings
) -> list[tuple[float, str]]:
    """The readings of `seqs` and those the columns' own beam finds, ranked by P(text | columns)."""
    blank = alphabet.index(pad)
    texts = {t for _, t in seqs[: s.ctc_from_slots]}
    for _, columns in evidence[: s.ctc_beam_frames]:
        for view in columns:
            texts.update(t for _, t in likely_texts(view, alphabet, blank, s.ctc_beam))
    ordered = sorted(t for t in texts if len(t) <= MAX_PLATE_LEN)
    every_view = text_probabilities(np.concatenate([c for _, c in evidence]), ordered, alphabet, blank)
    bounds = np.cumsum([0] + [len(c) for _, c in evidence])
    per_frame = np.stack([every_view[a:b].mean(axis=0) for a, b in pairwise(bounds)])
    fused = fused_frames(per_frame, [w for w, _ in evidence])
    return sorted(((float(p), t) for p, t in zip(fused, ordered, strict=True)), reverse=True)


def plausible(text: str, sidecode: int | None) -> bool:
    """Could this be a plate? A Dutch sidecode, or 4-10 characters mixing letters and digits
    (every format we read abroad does), or the shortest German form: two letters and a digit (M-A 1).
    Shop signs and house numbers (12, 12A) are not."""
    if sidecode is not None:
        return True
    if len(text) == 3:
        return text[:2].isalpha() and text[2].isdigit()
    return 4 <= len(text) <= MAX_PLATE_LEN and any(c.isdigit() for c in text) and any(c.isalpha() for c in text)


def candidates(
    probs: CharProbs, alphabet: str, pad: str, settings: CandidateSettings, columns: ColumnEvidence | None = None
) -> list[PlateCandidate]:
    """Up to `max_candidates` readings, best first, constrained by the Dutch sidecodes and foreign formats; an
    alternative to the first-ranked reading only if the OCR gives it at least `min_alternative_prob`.

    When any likely reading as long as the best one is a valid Dutch plate, readings that fit
    no sidecode are demoted: a Dutch street mostly has Dutch plates. Otherwise, when one fits a foreign
    format (`contract.foreign`), readings that fit none are demoted. Plates of other formats keep their raw text.
    Readings that cannot be a plate at all (see `plausible`) are dropped: an empty result
    means the track was a sign, not a plate. With `columns` (and `settings.ctc_texts`) the readings are those of
    `ctc_sequences`, ranked by the OCR's CTC columns.
    """
    seqs = _top_sequences(probs, alphabet, pad, settings)
    if columns and settings.ctc_texts:
        seqs = ctc_sequences(seqs, columns, alphabet, pad, settings)
    if not seqs or not plausible(seqs[0][1], match_sidecode(seqs[0][1])):
        return []  # the OCR's own best reading is no plate: a sign, a house number ...
    coded = [(p, t, match_sidecode(t)) for p, t in seqs]
    best_len = len(seqs[0][1])

    def comparable(text: str) -> bool:
        return len(text) == best_len or not settings.same_length_prior

    looks_dutch = any(code is not None and comparable(t) for _, t, code in coded)
    foreign = {t for _, t, _ in coded if settings.foreign_prior and foreign_countries(t)}
    looks_foreign = not looks_dutch and any(comparable(t) for t in foreign)

    def fits(text: str, code: int | None) -> bool:
        """Does this reading fit a format of the country the read looks from (all fit when it looks from none)?"""
        if looks_dutch:
            return code is not None
        return not looks_foreign or code is not None or text in foreign

    scored = [PlateCandidate(t, p, code, p if fits(t, code) else p * settings.invalid_penalty) for p, t, code in coded]
    scored = [c for c in scored if plausible(c.text, c.sidecode)]
    scored.sort(key=lambda c: -c.score)
    # The floor judges the OCR's own belief in its best reading, before the Dutch prior demotes it: a clear
    # foreign plate must not be dropped because a confusable spelling of it (which the OCR gives almost
    # nothing) happens to fit a Dutch sidecode.
    if not scored or seqs[0][0] < settings.min_best_prob:
        return []
    kept = scored[:1] + [c for c in scored[1:] if c.probability >= settings.min_alternative_prob]
    return kept[: settings.max_candidates]
