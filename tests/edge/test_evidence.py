"""The evidence window holds crops in RAM for its window only, wipes them, and measures their age."""

import time

import numpy as np

from contract.digest import DigestKey, digest
from edge.evidence import EvidenceWindow

KEY = DigestKey("k1", bytes(range(32)))
PROOF = frozenset({digest("GB123X", KEY), digest("G8123X", KEY)})  # the read's candidates


def test_evidence_is_wiped_after_the_window() -> None:
    window = EvidenceWindow(window_s=0.2)
    crop = np.full((30, 120, 3), 200, np.uint8)
    window.put("a" * 32, crop, np.full((72, 128, 3), 9, np.uint8), PROOF, KEY)
    held = window.get("a" * 32)
    assert held is not None and int(held[0].max()) == 200
    time.sleep(0.25)
    assert window.get("a" * 32) is None
    assert len(window) == 0 and window.wiped == 1
    assert 0.2 <= window.oldest_age_s < 1.0  # measured, not configured


def test_clear_wipes_everything() -> None:
    window = EvidenceWindow(window_s=60)
    window.put("b" * 32, np.ones((4, 4, 3), np.uint8), np.ones((4, 4, 3), np.uint8), PROOF, KEY)
    window.clear()
    assert window.get("b" * 32) is None


def test_only_a_plate_among_the_reads_candidates_proves_a_hit() -> None:
    window = EvidenceWindow(window_s=60)
    window.put("c" * 32, np.ones((4, 4, 3), np.uint8), np.ones((4, 4, 3), np.uint8), PROOF, KEY)
    assert window.proves("c" * 32, "G8123X") is True
    assert window.proves("c" * 32, "GB123Y") is False  # a guess that is not one of the read's
    assert window.proves("c" * 32, "gb-123-x") is False  # not a listed plate's form
    assert window.proves("d" * 32, "GB123X") is None  # nothing held under that read
