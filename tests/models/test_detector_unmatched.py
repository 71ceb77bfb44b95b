"""`python -m models.detector.unmatched`: the boxes a partly labelled set calls false positives, for judging."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from contract.errors import InputError
from edge.detector import PlateDetector
from models.detector.data import DEFAULT_MODEL
from models.detector.unmatched import Census, find_unmatched, judged_summary, main, write_review
from models.evaluate import iou
from models.manifest import read_manifest, write_manifest
from models.synth.testset import write_testset


@pytest.fixture(scope="module")
def partly_labelled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[tuple[str, tuple]]]:
    """Synthetic scenes with every plate labelled, and the same scenes with only each image's first plate."""
    root = tmp_path_factory.mktemp("unmatched")
    full = write_testset(root, 12, workers=1, progress=False)
    rows, dropped = [], []
    for image in read_manifest(full):
        rel = str(image.path.relative_to(root))
        for k, plate in enumerate(image.plates):
            if k == 0:
                rows.append((rel, plate))
            else:
                dropped.append((rel, plate.box))
        if not image.plates:
            rows.append((rel, None))
    partial = root / "partial.csv"
    write_manifest(partial, rows)
    assert dropped, "the scenes should hold some images with two or more plates"
    return full, partial, dropped


@pytest.fixture(scope="module")
def review(partly_labelled) -> tuple[Census, dict[int, np.ndarray]]:
    """The shipped detector's unmatched boxes on the partly labelled scenes."""
    _, partial, _ = partly_labelled
    return find_unmatched(PlateDetector(DEFAULT_MODEL, threads=1), partial, read_manifest(partial))


def _judge(review: Path, dropped: list[tuple[str, tuple]], out: Path) -> int:
    with (review / "unmatched.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    plates = 0
    for r in rows:
        box = tuple(float(r[k]) for k in ("x1", "y1", "x2", "y2"))
        is_plate = any(rel == r["image"] and iou(box, b) >= 0.5 for rel, b in dropped)
        r["judged"] = "plate" if is_plate else "other"
        plates += is_plate
    with out.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return plates


def test_the_plates_left_unlabelled_are_the_boxes_listed_for_judging(partly_labelled, review, tmp_path) -> None:
    _, _, dropped = partly_labelled
    census, tiles = review
    listed = [(u.image, (u.det.x1, u.det.y1, u.det.x2, u.det.y2)) for u in census.unmatched]
    for rel, box in dropped:
        assert any(r == rel and iou(b, box) >= 0.5 for r, b in listed), f"the unlabelled plate {box} of {rel}"
    sheets = write_review(census, tiles, tmp_path)
    assert [u.n for u in census.unmatched] == list(range(1, len(census.unmatched) + 1))
    assert len(sheets) == -(-len(census.unmatched) // 48)
    first = cv2.imread(str(sheets[0]))
    assert first is not None and first.shape[1] == 6 * 240


def test_judging_the_unlabelled_plates_gives_the_precision_of_complete_labels(
    partly_labelled, review, tmp_path
) -> None:
    full, _, dropped = partly_labelled
    census, tiles = review
    write_review(census, tiles, tmp_path)
    plates = _judge(tmp_path, dropped, tmp_path / "judged.csv")
    summary = judged_summary(census, tmp_path / "judged.csv")
    assert summary["judged"]["plate"] == plates == len(dropped)
    complete, _ = find_unmatched(PlateDetector(DEFAULT_MODEL, threads=1), full, read_manifest(full))
    assert summary["precision_with_judged_plates"] == round(
        (complete.detections - len(complete.unmatched)) / complete.detections, 4
    )
    assert summary["precision_labelled"] < summary["precision_with_judged_plates"]


def test_a_judgement_written_for_other_boxes_is_refused(partly_labelled, review, tmp_path: Path) -> None:
    _, _, dropped = partly_labelled
    census, tiles = review
    write_review(census, tiles, tmp_path)
    _judge(tmp_path, dropped, tmp_path / "judged.csv")
    lines = (tmp_path / "judged.csv").read_text().splitlines()
    (tmp_path / "stale.csv").write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(InputError, match="judge it again"):
        judged_summary(census, tmp_path / "stale.csv")
    (tmp_path / "typo.csv").write_text("\n".join([*lines[:-1], lines[-1].rsplit(",", 1)[0] + ",plaet"]) + "\n")
    with pytest.raises(InputError, match="plaet"):
        judged_summary(census, tmp_path / "typo.csv")


def test_the_command_prints_one_json_line(partly_labelled, tmp_path: Path, capsys) -> None:
    _, partial, _ = partly_labelled
    assert main(["--manifest", str(partial), "--out", str(tmp_path), "--threads", "1"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["unmatched"] >= 1 and out["detector"].startswith("plate_detector-")
    assert Path(out["csv"]).is_file() and all(Path(s).is_file() for s in out["sheets"])
