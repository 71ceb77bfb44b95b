"""The OCR side-by-side benchmark: generic OCR output becomes plate text; crops come from ground-truth boxes."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from bench.ocr_peers import gt_crops, plate_text, score


def test_generic_ocr_output_is_reduced_to_plate_characters() -> None:
    assert plate_text("ay0·9034") == "AY09034"
    assert plate_text("GB-123-X 京") == "GB123X"


def test_crops_are_cut_from_labelled_boxes_with_the_edge_margin(tmp_path: Path) -> None:
    frame = np.zeros((100, 200, 3), np.uint8)
    cv2.imwrite(str(tmp_path / "a.png"), frame)
    (tmp_path / "m.csv").write_text(
        "image,plate_text,x1,y1,x2,y2,country\n"
        "a.png,GB-123-X,50,40,150,60,NL\n"
        "a.png,,10,10,40,20,NL\n"  # no text: not a reading test
        "a.png,XX99ZZ,,,,,NL\n"  # no box: nothing to cut
    )
    views, texts = gt_crops(tmp_path / "m.csv", margins=(0.1, 0.0), limit=None)
    assert texts == ["GB123X"]
    assert views[0][0].shape == (24, 120, 3)  # 100 x 20 widened by 10 % on each side
    assert views[0][1].shape == (20, 100, 3)  # the box itself


def test_score_counts_exact_reads_and_characters() -> None:
    result = score(["GB123X", "XX99ZB", ""], ["GB123X", "XX99ZZ", "AB"])
    assert result == {"crops": 3, "exact_read_rate": round(1 / 3, 4), "char_accuracy": round(1 - 3 / 14, 4)}
