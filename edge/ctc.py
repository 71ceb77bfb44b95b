"""Whole-text probabilities from the OCR's CTC columns.

The OCR reads a crop as 40 columns, each a distribution over the characters and the CTC blank; its `plate`
output is the greedy collapse of those columns into slots (each column whose best class is a character
becomes the next slot). The slots cannot hold a reading of another length: a thin I whose column the blank
narrowly wins, or the second letter of a doubled pair, is simply not there, and a plate that loses it may read as
another valid plate. These functions work on the columns themselves: `text_probabilities` sums every
alignment of a text (the CTC forward algorithm), `likely_texts` finds the likeliest texts (CTC prefix beam
search), whatever their length.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

COLUMNS_OUTPUT = "columns"  # the OCR model's output of its column probabilities (models/ocr/expose.py)
RESCALE_EVERY = 8
Columns = npt.NDArray[np.float32]  # (views, columns, alphabet): per crop, each column's distribution


def text_probabilities(columns: Columns, texts: Sequence[str], alphabet: str, blank: int) -> npt.NDArray[np.float64]:
    """P(text | columns) of every text for every view, each alignment summed: shape (views, texts).

    All texts and views run at once: each text becomes its CTC state sequence (blank, c1, blank, c2, ...,
    blank), padded to the longest, and the forward variables are rescaled every `RESCALE_EVERY` columns so that
    long runs of small probabilities do not underflow."""
    views, steps, _ = columns.shape
    if not texts:
        return np.zeros((views, 0))
    labels = [[alphabet.index(c) for c in t] for t in texts]
    width = 2 * max(len(lab) for lab in labels) + 1
    states = np.full((len(texts), width), blank, dtype=np.intp)
    valid = np.zeros((len(texts), width), dtype=bool)
    skip = np.zeros((len(texts), width), dtype=bool)  # the state may be reached from two back (no blank between)
    ends = np.zeros(len(texts), dtype=np.intp)
    for i, lab in enumerate(labels):
        n = 2 * len(lab) + 1
        states[i, 1:n:2] = lab
        valid[i, :n] = True
        ends[i] = n - 1
        for s in range(3, n, 2):
            skip[i, s] = lab[(s - 1) // 2] != lab[(s - 3) // 2]
    cols = columns.astype(np.float64)
    mask = valid.astype(np.float64)
    from_two = skip[:, 2:].astype(np.float64)
    alpha = cols[:, 0][:, states] * mask  # (views, texts, width)
    alpha[:, :, 2:] = 0.0
    log_scale = np.zeros((views, len(texts)))
    for t in range(1, steps):
        prev = alpha
        alpha = prev.copy()
        alpha[:, :, 1:] += prev[:, :, :-1]
        alpha[:, :, 2:] += prev[:, :, :-2] * from_two
        alpha *= cols[:, t][:, states]  # past a text's last state only blanks pile up, never read
        if t % RESCALE_EVERY == 0 or t == steps - 1:  # float64 holds 8 columns of tiny probabilities easily
            z = alpha.max(axis=2)
            z = np.where(z > 0, z, 1.0)
            alpha /= z[:, :, None]
            log_scale += np.log(z)
    rows = np.arange(len(texts))
    tail = alpha[:, rows, ends] + np.where(ends > 0, alpha[:, rows, np.maximum(ends - 1, 0)], 0.0)
    with np.errstate(divide="ignore"):
        return np.exp(log_scale + np.log(tail))


def likely_texts(
    columns: npt.NDArray[np.float32], alphabet: str, blank: int, beam: int = 8, min_prob: float = 1e-3
) -> list[tuple[float, str]]:
    """The `beam` likeliest texts of one view's columns (T, C) by CTC prefix beam search, best first, with
    their probabilities as the search saw them (a lower bound: `text_probabilities` gives the exact ones).
    A character below `min_prob` in a column is not tried there; a column that tries none only moves
    every prefix to its blank state, so runs of such columns are applied in one step."""
    beams: dict[tuple[int, ...], tuple[float, float]] = {(): (1.0, 0.0)}  # prefix -> (p ends in blank, in label)
    tried = columns >= min_prob
    tried[:, blank] = False
    at, chars_at = np.nonzero(tried)
    chars_of: dict[int, list[int]] = {}
    for t, c in zip(at.tolist(), chars_at.tolist(), strict=True):
        chars_of.setdefault(t, []).append(c)
    blanks = columns[:, blank].tolist()
    idle: float | None = None  # the blank probability of the columns since the last one that tried a character
    for t in range(columns.shape[0]):
        chars = chars_of.get(t)
        if chars is None:
            idle = blanks[t] * (1.0 if idle is None else idle)
            continue
        if idle is not None:  # every prefix now ends in a blank (even when the blanks were certain)
            beams = {k: ((b + nb) * idle, 0.0) for k, (b, nb) in beams.items()}
            idle = None
        col = columns[t].tolist()
        nxt: dict[tuple[int, ...], list[float]] = {}
        p_blank = col[blank]
        for prefix, (pb, pnb) in beams.items():
            entry = nxt.setdefault(prefix, [0.0, 0.0])
            entry[0] += (pb + pnb) * p_blank
            last = prefix[-1] if prefix else -1
            for c in chars:
                p = col[c]
                longer = nxt.setdefault((*prefix, c), [0.0, 0.0])  # (a repeat after no blank adds 0 to it)
                if c == last:
                    nxt[prefix][1] += pnb * p  # the same character again: it collapses into the last one
                    longer[1] += pb * p  # after a blank it is a new one
                else:
                    longer[1] += (pb + pnb) * p
        best = sorted(nxt.items(), key=lambda kv: -(kv[1][0] + kv[1][1]))[:beam]
        beams = {k: (v[0], v[1]) for k, v in best}
    if idle is not None:
        beams = {k: ((b + nb) * idle, 0.0) for k, (b, nb) in beams.items()}
    found = [(b + nb, "".join(alphabet[i] for i in k)) for k, (b, nb) in beams.items()]
    return sorted((f for f in found if f[1] and f[0] > 0), reverse=True)


def fused_frames(probabilities: npt.NDArray[np.float64], weights: Sequence[float]) -> npt.NDArray[np.float64]:
    """One probability per text from several frames' (frames, texts), each a mean over its views.

    The frames vote by the weighted mean of their log-probabilities (a text only some frames believe keeps
    little), renormalised over the texts and scaled to the mass the frames give these texts on average: one
    frame that cannot see a character (cut off, a glare) gives the plate's text next to nothing, and would
    otherwise veto it; a single frame keeps its own probabilities."""
    w = np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    logs = (w[:, None] * np.log(np.maximum(probabilities, math.ulp(0.0)))).sum(axis=0)
    vote = np.exp(logs - logs.max())
    mass = float((w * probabilities.sum(axis=1)).sum())
    return vote / vote.sum() * mass
