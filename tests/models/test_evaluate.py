"""`scanauto eval` and the synthetic test set: manifests in, the edge's own reads scored, JSON last."""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import cv2
import numpy as np
import pytest

from contract.errors import ConfigError, InputError
from contract.sidecodes import match_sidecode
from edge.candidates import candidates
from edge.ocr import OcrResult
from edge.pipeline import PipelineSettings
from models.detector.data import EVAL_SCENES, TEST_SCENES, TRAIN_SCENES
from models.evaluate import (
    DEFAULT_OCR,
    SingleFrameReader,
    edit_distance,
    evaluate,
    evaluate_pair,
    matched_boxes,
    sign_test,
)
from models.manifest import read_manifest, read_texts, with_texts
from models.shared import SHARED
from models.synth.plates import DUTCH_STYLES
from models.synth.testset import DEV_NAMESPACE, TESTSET_NAMESPACE, write_testset
from scanauto import cli

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_"
ISSUE_KEYS = {
    "images",
    "plates",
    "det_recall",
    "det_precision",
    "exact_read_rate",
    "char_accuracy",
    "ms_per_image_p50",
    "ms_per_image_p95",
}


@dataclass(frozen=True)
class Det:
    x1: int
    y1: int
    x2: int
    y2: int
    score: float


class PaintedDetector:
    """Finds exactly the boxes it was told about (a unit-test fake: the scoring logic is under test)."""

    model_version = "fake-det"

    def __init__(self, boxes: list[tuple[int, int, int, int]]) -> None:
        self.boxes = boxes

    def detect(self, frame: np.ndarray) -> list[Det]:
        return [Det(*b, 0.9) for b in self.boxes]


class PaintedReader:
    """Reads a crop as the text registered for its centre pixel's grey level."""

    model_version = "fake-ocr"
    alphabet = ALPHABET
    pad_char = "_"

    def __init__(self, texts: dict[int, str]) -> None:
        self.texts = texts

    def read(self, crops: list[np.ndarray]) -> list[OcrResult]:
        out = []
        for crop in crops:
            text = self.texts[int(crop[crop.shape[0] // 2, crop.shape[1] // 2, 0])].ljust(10, "_")
            probs = np.full((10, len(ALPHABET)), 0.001, np.float32)
            for slot, ch in enumerate(text):
                probs[slot, ALPHABET.index(ch)] = 0.99
            out.append(OcrResult(probs))
        return out


def _manifest(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "manifest.csv"
    path.write_text("image,plate_text,x1,y1,x2,y2,country,split\n" + body)
    return path


def test_manifest_groups_rows_per_image_and_keeps_unknowns(tmp_path: Path) -> None:
    path = _manifest(
        tmp_path,
        "a.jpg,AB-12-CD,10,10,60,22,NL,train\n"
        "a.jpg,,100,10,150,22,RO,train\n"
        "b.jpg,,,,,,,valid\n"
        "c.jpg,XY99ZZ,,,,,US,valid\n",
    )
    images = read_manifest(path)
    assert [i.path.name for i in images] == ["a.jpg", "b.jpg", "c.jpg"]
    assert images[0].plates[0].text == "AB12CD" and images[0].plates[1].text == ""
    assert images[1].plates == () and images[1].boxes_known
    assert images[2].plates[0].box is None and not images[2].boxes_known
    assert [i.path.name for i in read_manifest(path, "valid")] == ["b.jpg", "c.jpg"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("a.jpg,AB12CD,10,10,,,NL,x\n", "incomplete"),
        ("a.jpg,AB12CD,10,10,5,20,NL,x\n", "empty box"),
        ("a.jpg,AB$2CD,10,10,50,20,NL,x\n", "plate_text"),
    ],
)
def test_bad_manifest_rows_name_the_line(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(InputError, match=rf"manifest.csv:2: .*{message}"):
        read_manifest(_manifest(tmp_path, body))


def test_manifest_without_the_columns_is_refused(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text("file,text\na.jpg,AB12CD\n")
    with pytest.raises(InputError, match="plate_text"):
        read_manifest(tmp_path / "m.csv")


def _review(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "texts.csv"
    path.write_text("image,x1,y1,x2,y2,plate_text,legible\n" + body)
    return path


def test_a_texts_review_gives_the_plates_of_a_split_their_texts(tmp_path: Path) -> None:
    manifest = _manifest(
        tmp_path, "a.jpg,,10,10,60,22,RO,valid\na.jpg,,100,10,150,22,RO,valid\nb.jpg,,5,5,50,15,RO,valid\n"
    )
    review = _review(tmp_path, "a.jpg,10,10,60,22,B-21-GSB,yes\nb.jpg,5,5,50,15,,no\n")
    images = with_texts(read_manifest(manifest, "valid"), manifest, read_texts(review))
    assert [[p.text for p in i.plates] for i in images] == [["B21GSB", ""], [""]]  # not reviewed, illegible: none
    assert [p.box for p in images[0].plates] == [(10, 10, 60, 22), (100, 10, 150, 22)]


def test_a_texts_review_of_other_boxes_or_of_labelled_plates_is_refused(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, "a.jpg,,10,10,60,22,RO,valid\nb.jpg,,5,5,50,15,RO,train\nc.jpg,XY99ZZ,1,1,9,5,,x\n")
    valid = read_manifest(manifest, "valid")
    with pytest.raises(InputError, match="another manifest or --split"):
        with_texts(valid, manifest, read_texts(_review(tmp_path, "b.jpg,5,5,50,15,B01XEN,yes\n")))
    with pytest.raises(InputError, match="only adds texts"):
        with_texts(read_manifest(manifest), manifest, read_texts(_review(tmp_path, "c.jpg,1,1,9,5,XY99ZA,yes\n")))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("a.jpg,10,10,60,22,,yes\n", "a text exactly when it is legible"),
        ("a.jpg,10,10,60,22,B01XEN,maybe\n", "not yes or no"),
        ("a.jpg,,,,,B01XEN,yes\n", "needs its box"),
        ("a.jpg,10,10,60,22,B01XEN,yes\na.jpg,10,10,60,22,B01XEN,yes\n", "reviewed twice"),
    ],
)
def test_bad_texts_review_rows_name_the_line(tmp_path: Path, body: str, message: str) -> None:
    with pytest.raises(InputError, match=rf"texts.csv:\d: .*{message}"):
        read_texts(_review(tmp_path, body))


ROMANIAN = SHARED / "data" / "romanian-dashcam" / "manifest.csv"
REVIEWS = Path(__file__).resolve().parents[2] / "models" / "ocr" / "review"


@pytest.mark.skipif(not ROMANIAN.is_file(), reason="the shared romanian-dashcam set is not here")
@pytest.mark.parametrize(
    ("split", "review", "boxes", "legible"),
    [
        ("valid", "romanian-valid-texts.csv", 131, 120),
        ("train", "romanian-train-unkept-texts.csv", 256, 162),
        ("train", "romanian-train-kept-texts.csv", 265, 264),
        ("valid", "romanian-valid-second-reader.csv", 131, 114),
    ],
)
def test_the_committed_romanian_reviews_fit_the_boxes_of_their_split(
    split: str, review: str, boxes: int, legible: int
) -> None:
    texts = read_texts(REVIEWS / review)
    images = with_texts(read_manifest(ROMANIAN, split), ROMANIAN, texts)  # every reviewed box is one of the split
    assert len(texts) == boxes and sum(bool(t) for t in texts.values()) == legible
    assert sum(bool(p.text) for i in images for p in i.plates) == legible
    if split == "valid":  # the valid review reads every labelled box of its split
        assert sum(len(i.plates) for i in images) == boxes


@pytest.mark.skipif(not ROMANIAN.is_file(), reason="the shared romanian-dashcam set is not here")
def test_the_two_readers_of_the_valid_boxes_agree_wherever_both_could_read() -> None:
    first, second = (read_texts(REVIEWS / f"romanian-valid-{k}.csv") for k in ("texts", "second-reader"))
    both = [box for box in first if first[box] and second[box]]
    assert first.keys() == second.keys() and len(both) == 114
    assert all(first[box] == second[box] for box in both)


@pytest.mark.skipif(not ROMANIAN.is_file(), reason="the shared romanian-dashcam set is not here")
def test_the_two_train_reviews_read_every_train_box_once() -> None:
    kept, unkept = (read_texts(REVIEWS / f"romanian-train-{k}-texts.csv") for k in ("kept", "unkept"))
    train = [p for i in read_manifest(ROMANIAN, "train") for p in i.plates]
    assert not kept.keys() & unkept.keys() and len(kept) + len(unkept) == len(train)


def test_greedy_matching_counts_each_true_box_once() -> None:
    truth = [(0.0, 0.0, 100.0, 20.0), None, (200.0, 0.0, 300.0, 20.0)]
    dets = [Det(0, 0, 100, 20, 0.9), Det(2, 0, 100, 20, 0.8), Det(400, 0, 500, 20, 0.7)]
    assert matched_boxes(truth, dets, 0.5) == {0: 0}
    assert edit_distance("AB12CD", "AB12CO") == 1 and edit_distance("", "ABC") == 3


def test_scores_recall_precision_reads_and_characters(tmp_path: Path) -> None:
    frame = np.zeros((100, 400, 3), np.uint8)
    frame[10:30, 10:110] = 50  # plate 1, read right
    frame[10:30, 150:250] = 60  # plate 2, read with one wrong character
    frame[60:80, 300:390] = 70  # a shop sign the detector takes for a plate: "SALE" is not plausible
    cv2.imwrite(str(tmp_path / "a.png"), frame)
    cv2.imwrite(str(tmp_path / "b.png"), np.zeros((100, 400, 3), np.uint8))
    manifest = _manifest(
        tmp_path,
        "a.png,GB-123-X,10,10,110,30,NL,\na.png,XX-99-ZZ,150,10,250,30,NL,\na.png,RO12ABC,,,,,RO,\nb.png,,,,,,,\n",
    )
    detector = PaintedDetector([(10, 10, 110, 30), (150, 10, 250, 30), (300, 60, 390, 80)])
    reader = PaintedReader({0: "", 50: "GB123X", 60: "XX99ZB", 70: "SALE"})
    frames = SingleFrameReader(detector, reader, PipelineSettings(vehicle_id="t", camera_id="t"))
    summary = evaluate(frames, read_manifest(manifest), progress=False).summary()
    assert summary["images"] == 2 and summary["plates"] == 3
    assert summary["det_recall"] == 1.0  # both boxed plates found; the RO plate has no box
    # Image b has no plates, so its 3 detections are all false; image a is not judged (a box is unknown).
    assert summary["det_precision"] == 0.0 and summary["detections_judged"] == 3
    assert summary["exact_read_rate"] == round(1 / 3, 4)
    assert summary["char_accuracy"] == round((6 + 5 + 0) / (6 + 6 + 7), 4)  # RO: only "SALE" is free, rejected
    assert summary["by_country"]["NL"]["exact_read_rate"] == 0.5  # type: ignore[index]
    assert summary.keys() >= ISSUE_KEYS


def test_boxes_the_edge_does_not_read_leave_the_read_box_scores(tmp_path: Path) -> None:
    frame = np.zeros((100, 400, 3), np.uint8)
    frame[10:30, 10:110] = 50  # plate 1, read
    # plate 2 (150-250) stays black: the OCR reads nothing there, so the edge drops the box
    frame[60:80, 300:390] = 60  # a false box that reads as a plausible plate
    cv2.imwrite(str(tmp_path / "a.png"), frame)
    manifest = _manifest(tmp_path, "a.png,GB123X,10,10,110,30,NL,\na.png,XX99ZZ,150,10,250,30,NL,\n")
    detector = PaintedDetector([(10, 10, 110, 30), (150, 10, 250, 30), (300, 60, 390, 80)])
    reader = PaintedReader({0: "", 50: "GB123X", 60: "XX99ZB"})
    frames = SingleFrameReader(detector, reader, PipelineSettings(vehicle_id="t", camera_id="t"))
    summary = evaluate(frames, read_manifest(manifest), progress=False).summary()
    assert summary["det_recall"] == 1.0 and summary["det_precision"] == round(2 / 3, 4)
    assert summary["read_box_recall"] == 0.5  # plate 2 was found but not read
    assert summary["read_box_precision"] == 0.5  # two boxes read, one of them a plate
    assert summary["by_country"]["NL"]["read_box_recall"] == 0.5  # type: ignore[index]


def _two_plates_and_a_sign(tmp_path: Path, body: str, settings: PipelineSettings | None = None) -> dict[str, object]:
    """The edge's summary on images a.png and b.png (the manifest rows `body`), each showing two plates and a sign:
    one plate read right (GB123X), one with a character wrong (XX99ZB), the sign read as a plausible plate."""
    frame = np.zeros((100, 400, 3), np.uint8)
    frame[10:30, 10:110] = 50
    frame[10:30, 150:250] = 60
    frame[60:80, 300:390] = 70
    for name in ("a.png", "b.png"):
        cv2.imwrite(str(tmp_path / name), frame)
    detector = PaintedDetector([(10, 10, 110, 30), (150, 10, 250, 30), (300, 60, 390, 80)])
    reader = PaintedReader({0: "", 50: "GB123X", 60: "XX99ZB", 70: "PIZ12A"})
    frames = SingleFrameReader(detector, reader, settings or PipelineSettings(vehicle_id="t", camera_id="t"))
    return evaluate(frames, read_manifest(_manifest(tmp_path, body)), progress=False).summary()


def test_reads_that_are_no_plate_on_their_image_count_as_wrong(tmp_path: Path) -> None:
    # On b one plate's text is unknown: its reads cannot be judged, right or wrong.
    summary = _two_plates_and_a_sign(
        tmp_path,
        "a.png,GB123X,10,10,110,30,NL,\na.png,XX99ZZ,150,10,250,30,NL,\n"
        "b.png,GB123X,10,10,110,30,NL,\nb.png,,150,10,250,30,NL,\n",
    )
    assert summary["reads_judged"] == 3 and summary["wrong_reads"] == 2  # image a: XX99ZB and the sign's PIZ12A
    assert summary["read_text_precision"] == round(1 / 3, 4)
    assert "wrong_reads" not in summary["by_country"]["NL"]  # type: ignore[operator]


def test_wrong_reads_are_split_into_misread_plates_and_boxes_on_no_plate(tmp_path: Path) -> None:
    # On b the second plate has no box: its image's wrong reads cannot be placed on or off a plate.
    summary = _two_plates_and_a_sign(
        tmp_path,
        "a.png,GB123X,10,10,110,30,NL,\na.png,XX99ZZ,150,10,250,30,NL,\n"
        "b.png,GB123X,10,10,110,30,NL,\nb.png,XX99ZZ,,,,,NL,\n",
    )
    assert summary["wrong_reads"] == 4  # XX99ZB and PIZ12A on each image
    assert (summary["wrong_reads_on_plates"], summary["wrong_reads_off_plates"]) == (1, 1)  # image a only
    assert "wrong_reads_on_plates" not in summary["by_country"]["NL"]  # type: ignore[operator]


def test_every_digested_candidate_that_is_no_plate_counts_and_valid_dutch_ones_apart(tmp_path: Path) -> None:
    # Each read digests its best text and its alternatives; any of them could hit a listed plate. The painted
    # reader gives every other character 0.001, under the edge's floor on alternatives: here every one is digested.
    edge = PipelineSettings(vehicle_id="t", camera_id="t")
    edge = replace(edge, candidates=replace(edge.candidates, min_alternative_prob=0.0))
    summary = _two_plates_and_a_sign(
        tmp_path,
        "a.png,GB123X,10,10,110,30,NL,\na.png,XX99ZZ,150,10,250,30,NL,\n"
        "b.png,GB123X,10,10,110,30,NL,\nb.png,,150,10,250,30,NL,\n",
        edge,
    )
    reader, settings = PaintedReader({}), edge.candidates
    digested = []  # the candidates of the three reads on one image, as the edge ranks them
    for text in ("GB123X", "XX99ZB", "PIZ12A"):
        probs = np.full((10, len(ALPHABET)), 0.001, np.float32)
        for slot, ch in enumerate(text.ljust(10, "_")):
            probs[slot, ALPHABET.index(ch)] = 0.99
        digested += [c.text for c in candidates(probs, reader.alphabet, reader.pad_char, settings)]
    assert len(digested) > 3  # alternatives were digested, not only the three best texts
    # b's second plate has no text: its reads cannot be judged, so only image a counts.
    wrong = [t for t in digested if t not in {"GB123X", "XX99ZZ"}]
    assert summary["candidates_per_read"] == round(len(digested) / 3, 4)
    assert summary["wrong_candidates"] == len(wrong)
    assert summary["wrong_dutch_candidates"] == sum(match_sidecode(t) is not None for t in wrong) > 0
    assert "wrong_candidates" not in summary["by_country"]["NL"]  # type: ignore[operator]


def test_sign_test_is_the_exact_two_sided_binomial_tail() -> None:
    assert sign_test(0, 0) == 1.0 and sign_test(3, 3) == 1.0
    assert sign_test(0, 6) == sign_test(6, 0) == round(2 / 64, 4)
    assert sign_test(8, 17) == round(2 * sum(math.comb(25, k) for k in range(9)) / 2**25, 4)


def test_two_configurations_are_compared_plate_by_plate(tmp_path: Path) -> None:
    frame = np.zeros((100, 400, 3), np.uint8)
    frame[10:30, 10:110] = 50  # read right by both
    frame[10:30, 150:250] = 60  # read right by a only
    frame[60:80, 300:390] = 70  # read right by b only
    cv2.imwrite(str(tmp_path / "a.png"), frame)
    manifest = _manifest(
        tmp_path, "a.png,GB123X,10,10,110,30,NL,\na.png,XX99ZZ,150,10,250,30,NL,\na.png,KL01NB,300,60,390,80,NL,\n"
    )
    detector = PaintedDetector([(10, 10, 110, 30), (150, 10, 250, 30), (300, 60, 390, 80)])
    settings = PipelineSettings(vehicle_id="t", camera_id="t")
    a = partial(SingleFrameReader, detector, PaintedReader({0: "", 50: "GB123X", 60: "XX99ZZ", 70: "KL01N8"}), settings)
    b = partial(SingleFrameReader, detector, PaintedReader({0: "", 50: "GB123X", 60: "XX99ZB", 70: "KL01NB"}), settings)
    pair = evaluate_pair(a, b, read_manifest(manifest), progress=False)  # each in a process of its own
    assert pair.first.summary()["exact_read_rate"] == pair.second.summary()["exact_read_rate"] == round(2 / 3, 4)
    paired = pair.pairing.summary()  # equal totals, two different plates
    assert paired["both"] == 1 and paired["neither"] == 0 and paired["net"] == 0
    assert paired["gained_plates"] == ["a.png KL01NB"] and paired["lost_plates"] == ["a.png XX99ZZ"]


def test_pairs_are_scored_in_blocks_whatever_is_left_over(tmp_path: Path) -> None:
    frame = np.zeros((100, 400, 3), np.uint8)
    frame[10:30, 10:110] = 50
    rows = ""
    for k in range(5):  # blocks of 2: two full ones and one of a single frame
        cv2.imwrite(str(tmp_path / f"{k}.png"), frame)
        rows += f"{k}.png,GB123X,10,10,110,30,NL,\n"
    settings = PipelineSettings(vehicle_id="t", camera_id="t")
    detector = PaintedDetector([(10, 10, 110, 30)])
    a = partial(SingleFrameReader, detector, PaintedReader({0: "", 50: "GB123X"}), settings)
    b = partial(SingleFrameReader, detector, PaintedReader({0: "", 50: "GB12EX"}), settings)
    pair = evaluate_pair(a, b, read_manifest(_manifest(tmp_path, rows)), progress=False, block=2)
    assert pair.first.summary()["images"] == pair.second.summary()["images"] == 5
    assert len(pair.first.ms) == len(pair.second.ms) == 5 and min(pair.first.ms) > 0
    assert pair.pairing.summary()["lost"] == 5
    assert pair.versions[0]["ocr_margins"] == list(settings.ocr_margins)


def test_eval_against_a_missing_model_names_the_option(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = _manifest(tmp_path, "a.png,GB123X,10,10,110,30,NL,\n")
    missing = tmp_path / "none.onnx"
    assert cli.main(["eval", "--manifest", str(manifest), "--against-ocr-model", str(missing)]) == 2
    assert f"{missing} not found (check --against-ocr-model)" in capsys.readouterr().err


def test_testset_is_deterministic_and_uses_its_own_seed_namespace(tmp_path: Path) -> None:
    assert TESTSET_NAMESPACE not in (TRAIN_SCENES, EVAL_SCENES, TEST_SCENES)
    first = write_testset(tmp_path / "a", 3, workers=1, progress=False)
    second = write_testset(tmp_path / "b", 3, workers=1, progress=False)
    assert first.read_text() == second.read_text()
    images = read_manifest(first)
    assert len(images) == 3 and all(i.path.is_file() for i in images)
    assert all(p.country and p.text and p.box for i in images for p in i.plates)


def test_a_set_in_one_dutch_style_takes_the_known_styles_only(tmp_path: Path) -> None:
    choices = next(a.choices for a in _testset_parser()._actions if a.dest == "dutch_style")
    assert list(choices or []) == list(DUTCH_STYLES)
    with pytest.raises(ConfigError, match="unknown Dutch plate style 'pink'"):
        write_testset(tmp_path, 1, workers=1, progress=False, dutch_style="pink")
    black = write_testset(tmp_path / "black", 2, workers=1, progress=False, dutch_style="nl_black_classic")
    plain = write_testset(tmp_path / "plain", 2, workers=1, progress=False)
    assert read_manifest(black) and black.read_text() != plain.read_text()


def _testset_parser() -> argparse.ArgumentParser:
    sub = next(a for a in cli.build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices["testset"]


def test_dev_set_is_other_scenes_than_the_test_set(tmp_path: Path) -> None:
    assert DEV_NAMESPACE not in (TESTSET_NAMESPACE, TRAIN_SCENES, EVAL_SCENES, TEST_SCENES)
    test = write_testset(tmp_path / "test", 3, workers=1, progress=False)
    dev = write_testset(tmp_path / "dev", 3, workers=1, progress=False, namespace=DEV_NAMESPACE)
    texts = [{p.text for i in read_manifest(m) for p in i.plates} for m in (test, dev)]
    assert texts[0] and texts[1] and not texts[0] & texts[1]


@pytest.mark.skipif(not DEFAULT_OCR.is_file(), reason="the OCR model has not been trained yet")
def test_eval_command_runs_the_committed_models_and_ends_with_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = write_testset(tmp_path, 4, workers=1, progress=False)
    assert cli.main(["eval", "--manifest", str(manifest), "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    result = json.loads(lines[-1])
    assert result.keys() >= ISSUE_KEYS
    assert result["images"] == 4 and result["plates"] == sum(len(i.plates) for i in read_manifest(manifest))
    assert result["det_recall"] >= 0.7
    assert 0 < result["ms_per_image_p50"] <= result["ms_per_image_p95"]


@pytest.mark.skipif(not DEFAULT_OCR.is_file(), reason="the OCR model has not been trained yet")
def test_eval_scores_a_reviews_texts_as_it_scores_the_manifests_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    labelled = write_testset(tmp_path, 3, workers=1, progress=False)
    rows = labelled.read_text().splitlines()
    body = [r.split(",") for r in rows[1:]]
    bare = tmp_path / "bare.csv"
    bare.write_text("\n".join([rows[0], *(",".join([r[0], "", *r[2:]]) for r in body)]) + "\n")
    review = _review(tmp_path, "".join(f"{r[0]},{','.join(r[2:6])},{r[1]},yes\n" for r in body if r[1]))
    results = []
    for args in (["--manifest", str(labelled)], ["--manifest", str(bare), "--texts", str(review)]):
        assert cli.main(["eval", *args, "--json"]) == 0
        results.append(json.loads(capsys.readouterr().out.strip().splitlines()[-1]))
    keys = ("plates", "plates_with_text", "exact_read_rate", "char_accuracy", "wrong_reads", "det_recall")
    assert results[1]["texts"] == str(review) and results[0]["plates_with_text"] > 0
    assert {k: results[1][k] for k in keys} == {k: results[0][k] for k in keys}


def test_eval_command_reports_a_missing_manifest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["eval", "--manifest", str(tmp_path / "none.csv")]) == 3
    assert "not found" in capsys.readouterr().err


@pytest.mark.skipif(not DEFAULT_OCR.is_file(), reason="the OCR model has not been trained yet")
def test_eval_against_the_same_model_gains_and_loses_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = write_testset(tmp_path, 3, workers=1, progress=False)
    assert cli.main(["eval", "--manifest", str(manifest), "--against-ocr-model", str(DEFAULT_OCR), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["a"].keys() >= ISSUE_KEYS and result["a"]["ocr"] == result["b"]["ocr"]
    assert result["a"]["exact_read_rate"] == result["b"]["exact_read_rate"]
    assert result["paired"]["gained"] == result["paired"]["lost"] == 0 and result["paired"]["both"] > 0


@pytest.mark.skipif(not DEFAULT_OCR.is_file(), reason="the OCR model has not been trained yet")
def test_eval_against_other_ocr_margins_runs_each_arm_with_its_own_views(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = write_testset(tmp_path, 3, workers=1, progress=False)
    args = ["eval", "--manifest", str(manifest), "--ocr-margins", "0.08", "--against-ocr-margins", "0,0.04,0.08"]
    assert cli.main([*args, "--json"]) == 0
    out = capsys.readouterr().out
    result = json.loads(out.strip().splitlines()[-1])
    assert result["a"]["ocr_margins"] == [0.08] and result["b"]["ocr_margins"] == [0.0, 0.04, 0.08]
    assert result["a"]["ocr"] == result["b"]["ocr"] and "OCR margins [0.0, 0.04, 0.08]" in out
    paired = result["paired"]
    labelled = sum(1 for i in read_manifest(manifest) for p in i.plates if p.text)
    assert paired["both"] + paired["neither"] + paired["gained"] + paired["lost"] == labelled


@pytest.mark.skipif(not DEFAULT_OCR.is_file(), reason="the OCR model has not been trained yet")
def test_eval_against_the_deconvolved_views_runs_the_second_arm_with_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = write_testset(tmp_path, 2, workers=1, progress=False)
    assert cli.main(["eval", "--manifest", str(manifest), "--against-deblur", "on", "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["a"]["deblur"] is False and result["b"]["deblur"] is True  # the edge's default is off
    assert result["a"]["plates"] == result["b"]["plates"] > 0


def test_a_set_that_starts_where_another_ends_renders_the_later_scenes_of_the_same_namespace(tmp_path: Path) -> None:
    whole = read_manifest(write_testset(tmp_path / "whole", 4, workers=1, progress=False, namespace=DEV_NAMESPACE))
    later = read_manifest(
        write_testset(tmp_path / "later", 2, workers=1, progress=False, namespace=DEV_NAMESPACE, first=2)
    )
    assert [i.path.name for i in later] == [i.path.name for i in whole[2:]]
    assert [[p.text for p in i.plates] for i in later] == [[p.text for p in i.plates] for i in whole[2:]]
    with pytest.raises(ConfigError, match="--first >= 0"):
        write_testset(tmp_path / "bad", 2, workers=1, progress=False, first=-1)


def test_eval_against_a_fixed_size_detector_runs_it_without_the_large_plate_passes(
    tmp_path: Path, fixed_size_detector: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = write_testset(tmp_path, 2, workers=1, progress=False)
    args = ["eval", "--manifest", str(manifest), "--against-detector-model", str(fixed_size_detector), "--json"]

    assert cli.main(args) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["a"]["large_plate_passes"] == 1 and result["b"]["large_plate_passes"] == 0
    assert result["a"]["det_recall"] == result["b"]["det_recall"]  # small plates: the same boxes


def test_eval_refuses_a_manifest_listing_absent_images_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = write_testset(tmp_path, 2, workers=1, progress=False)
    rows = manifest.read_text().splitlines()
    manifest.write_text("\n".join([*rows, "images/gone.jpg,GB123X,10,10,110,30,NL"]) + "\n")
    assert cli.main(["eval", "--manifest", str(manifest), "--json"]) == 3
    captured = capsys.readouterr()
    assert "1 of the 3 images" in captured.err and "gone.jpg" in captured.err
    assert "relative to the manifest's folder" in captured.err
    assert captured.out == ""  # nothing ran


@pytest.mark.skipif(not DEFAULT_OCR.is_file(), reason="the OCR model has not been trained yet")
def test_eval_scores_every_other_image_when_one_cannot_be_decoded_and_says_which(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    manifest = write_testset(tmp_path, 3, workers=1, progress=False)
    assert cli.main(["eval", "--manifest", str(manifest), "--json"]) == 0
    whole = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    broken = read_manifest(manifest)[1]
    broken.path.write_bytes(b"not an image")
    assert cli.main(["eval", "--manifest", str(manifest), "--json"]) == 3
    captured = capsys.readouterr()
    result = json.loads(captured.out.strip().splitlines()[-1])  # the figures of the rest are still printed
    assert whole["unreadable_images"] == 0 and result["unreadable_images"] == 1
    assert result["images"] == 2 and result["plates"] == whole["plates"] - len(broken.plates)
    assert f"skipped {broken.path}" in captured.err and "could not be decoded" in captured.err
