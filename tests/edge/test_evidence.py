"""The evidence window holds crops in RAM for its window only, wipes them, and measures their age."""

import time

import numpy as np

from edge.evidence import EvidenceWindow


def test_evidence_is_wiped_after_the_window() -> None:
    window = EvidenceWindow(window_s=0.2)
    crop = np.full((30, 120, 3), 200, np.uint8)
    window.put("a" * 32, crop, np.full((72, 128, 3), 9, np.uint8))
    held = window.get("a" * 32)
    assert held is not None and int(held[0].max()) == 200
    time.sleep(0.25)
    assert window.get("a" * 32) is None
    assert len(window) == 0 and window.wiped == 1
    assert 0.2 <= window.oldest_age_s < 1.0  # measured, not configured


def test_clear_wipes_everything() -> None:
    window = EvidenceWindow(window_s=60)
    window.put("b" * 32, np.ones((4, 4, 3), np.uint8), np.ones((4, 4, 3), np.uint8))
    window.clear()
    assert window.get("b" * 32) is None
