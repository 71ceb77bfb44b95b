"""`scanauto eval`: the edge's own detection + OCR + candidates on single frames of a labelled manifest, scored.

Reuses the edge modules (detector, OCR reader, crop margin, confidence floor and candidate ranking of
`edge.pipeline`); only the tracker is left out, since it needs two or more frames of one car.
"""

from __future__ import annotations

import json
import math
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np
from tqdm import tqdm

from contract.errors import ConfigError, InputError
from contract.sidecodes import match_sidecode
from edge.candidates import candidates, one_frame
from edge.detector import DetectorSettings, PlateDetector
from edge.ocr import PlateReader
from edge.pipeline import BgrImage, DetectionLike, Detector, PipelineSettings, Reader, read_boxes
from models.apart import Apart, turns
from models.manifest import Box, LabelledImage, LabelledPlate, read_manifest, read_texts, with_texts

MODELS_DIR = Path(__file__).resolve().parent
DEFAULT_DETECTOR = MODELS_DIR / "detector" / "plate_detector.onnx"
DEFAULT_OCR = MODELS_DIR / "ocr" / "plate_ocr.onnx"
DEFAULT_OCR_CONFIG = MODELS_DIR / "ocr" / "plate_config.yaml"
IOU_THRESHOLD = 0.5
T = TypeVar("T")
# Score.summary keys that count detections, reads or candidates: a mixed image's belong to no one country.
PER_IMAGE_KEYS = (
    "det_precision",
    "read_box_precision",
    "wrong_reads",
    "wrong_reads_on_plates",
    "wrong_reads_off_plates",
    "reads_judged",
    "read_text_precision",
    "detections_judged",
    "candidates_per_read",
    "wrong_candidates",
    "wrong_dutch_candidates",
    "wrong_dutch_candidates_per_read",
)


@dataclass(frozen=True, slots=True)
class FrameReads:
    """What the edge makes of one frame: boxes, the best text per accepted box, and every candidate text."""

    detections: tuple[DetectionLike, ...]
    texts: tuple[str | None, ...]  # per detection: its best text, None if rejected (low confidence, no plate)
    digested: tuple[tuple[str, ...], ...]  # per detection: every candidate text the edge would digest, best first
    detect_ms: float  # the detector's share of the frame's time

    @property
    def reads(self) -> tuple[str, ...]:
        return tuple(t for t in self.texts if t is not None)

    @property
    def candidates(self) -> frozenset[str]:
        """Every candidate text of the frame: a listed plate among them would be a hit."""
        return frozenset(t for texts in self.digested for t in texts)


class SingleFrameReader:
    """Detect -> crops at the edge's margins -> OCR, views fused -> confidence floor -> candidates, exactly as
    `EdgePipeline` does."""

    def __init__(self, detector: Detector, reader: Reader, settings: PipelineSettings) -> None:
        self.detector, self.reader, self.settings = detector, reader, settings

    def read(self, frame: BgrImage) -> FrameReads:
        s = self.settings
        t0 = time.perf_counter()
        dets = [d for d in self.detector.detect(frame) if d.x2 > d.x1 and d.y2 > d.y1]
        detect_ms = (time.perf_counter() - t0) * 1000
        boxes = [(d.x1, d.y1, d.x2, d.y2) for d in dets]
        texts: list[str | None] = []
        digested: list[tuple[str, ...]] = []
        for result in read_boxes(self.reader, frame, boxes, s.ocr_margins, s.deblur):
            cands = []
            if result.confidence >= s.min_ocr_confidence:
                cands = candidates(
                    result.probs, self.reader.alphabet, self.reader.pad_char, s.candidates, one_frame(result.columns)
                )
            texts.append(cands[0].text if cands else None)
            digested.append(tuple(c.text for c in cands))
        return FrameReads(tuple(dets), tuple(texts), tuple(digested), detect_ms)


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two x1, y1, x2, y2 boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def matched_boxes(truth: Sequence[Box | None], dets: Sequence[DetectionLike], threshold: float) -> dict[int, int]:
    """True box index -> detection index: greedy one-to-one matching at IoU >= threshold, best score first."""
    found: dict[int, int] = {}
    for j in sorted(range(len(dets)), key=lambda j: -dets[j].score):
        d = dets[j]
        box = (float(d.x1), float(d.y1), float(d.x2), float(d.y2))
        best, best_iou = -1, threshold
        for i, t in enumerate(truth):
            if t is not None and i not in found and (v := iou(box, t)) >= best_iou:
                best, best_iou = i, v
        if best >= 0:
            found[best] = j
    return found


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance between two strings."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


@dataclass(slots=True)
class Score:
    """Counts over a set of images (or of one country's plates); ratios are None where nothing was labelled."""

    images: int = 0
    plates: int = 0
    boxed: int = 0  # plates with a box
    found: int = 0  # boxed plates a detection matched at IoU >= 0.5
    judged_detections: int = 0  # detections on images whose boxes are all known
    true_detections: int = 0  # of those, the ones that matched a plate
    read_found: int = 0  # boxed plates matched by a detection the edge read (its text passed the floors)
    judged_reads: int = 0  # read detections on images whose boxes are all known
    true_reads: int = 0  # of those, the ones that matched a plate
    judged_texts: int = 0  # reads (best texts of read boxes) on images whose plate texts are all known
    wrong_texts: int = 0  # of those, the ones that are no plate's text on their image
    split_texts: int = 0  # judged reads on images whose boxes are all known too: wrong ones can be placed
    wrong_on_plates: int = 0  # of those, wrong reads of a box on a labelled plate (a misread plate)
    wrong_off_plates: int = 0  # wrong reads of a box on no labelled plate (a sign, a light, a second box)
    digests: int = 0  # candidates digested for the judged reads (each one is looked up in the hotlist)
    wrong_digests: int = 0  # of those, the ones that are no plate's text on their image
    wrong_dutch_digests: int = 0  # of those, the ones that fit a Dutch sidecode: a listed plate they could hit
    texted: int = 0  # plates with a text
    exact: int = 0  # read exactly (the best text of some box on the image)
    in_candidates: int = 0  # the true text is among the image's candidates (a hotlist digest would hit)
    chars: int = 0
    char_errors: int = 0

    def add_plate(
        self, plate: LabelledPlate, found: bool, read_found: bool, frame: FrameReads, own_reads: Sequence[str]
    ) -> None:
        """Count one plate; `own_reads` are the reads its characters are compared with (closest counts)."""
        self.plates += 1
        if plate.box is not None:
            self.boxed += 1
            self.found += found
            self.read_found += read_found
        if plate.text:
            self.texted += 1
            self.exact += plate.text in frame.reads
            self.in_candidates += plate.text in frame.candidates
            # A plate nobody read costs all its characters.
            errors = min((edit_distance(r, plate.text) for r in own_reads), default=len(plate.text))
            self.chars += len(plate.text)
            self.char_errors += min(errors, len(plate.text))

    def summary(self) -> dict[str, float | int | None]:
        return {
            "images": self.images,
            "plates": self.plates,
            "det_recall": _ratio(self.found, self.boxed),
            "det_precision": _ratio(self.true_detections, self.judged_detections),
            # The same, counting only the boxes the edge turns into reads: a box whose OCR reading falls
            # below the confidence floor or yields no candidate never leaves the car.
            "read_box_recall": _ratio(self.read_found, self.boxed),
            "read_box_precision": _ratio(self.true_reads, self.judged_reads),
            # What would leave the car as a plate that is not there: a sign, a truncated or misread plate.
            "reads_judged": self.judged_texts,
            "wrong_reads": self.wrong_texts if self.judged_texts else None,
            "read_text_precision": _ratio(self.judged_texts - self.wrong_texts, self.judged_texts),
            # Where the wrong reads come from: misread plates (the OCR's part) or boxes on no plate (the detector's).
            "wrong_reads_on_plates": self.wrong_on_plates if self.split_texts else None,
            "wrong_reads_off_plates": self.wrong_off_plates if self.split_texts else None,
            # Every candidate of a read is a digest the matcher looks up, so a wrong one that is some car's valid
            # registration is a possible hit on an innocent driver if that car is listed.
            "candidates_per_read": _ratio(self.digests, self.judged_texts),
            "wrong_candidates": self.wrong_digests if self.judged_texts else None,
            "wrong_dutch_candidates": self.wrong_dutch_digests if self.judged_texts else None,
            "wrong_dutch_candidates_per_read": _ratio(self.wrong_dutch_digests, self.judged_texts),
            "exact_read_rate": _ratio(self.exact, self.texted),
            "candidate_read_rate": _ratio(self.in_candidates, self.texted),
            "char_accuracy": _ratio(self.chars - self.char_errors, self.chars),
            "plates_with_box": self.boxed,
            "plates_with_text": self.texted,
            "detections_judged": self.judged_detections,
        }


@dataclass(slots=True)
class Evaluation:
    """The whole run: overall score, per-country scores and the time of each frame."""

    total: Score = field(default_factory=Score)
    countries: dict[str, Score] = field(default_factory=dict)
    ms: list[float] = field(default_factory=list)
    detect_ms: list[float] = field(default_factory=list)
    unreadable: list[Path] = field(default_factory=list)  # listed images that could not be decoded: not scored

    def add(self, image: LabelledImage, frame: FrameReads, ms: float) -> None:
        self.ms.append(ms)
        self.detect_ms.append(frame.detect_ms)
        self.total.images += 1
        truth = [p.box for p in image.plates]
        found = matched_boxes(truth, frame.detections, IOU_THRESHOLD)
        read = [d for d, t in zip(frame.detections, frame.texts, strict=True) if t is not None]
        read_found = matched_boxes(truth, read, IOU_THRESHOLD)
        if image.boxes_known:
            self.total.judged_detections += len(frame.detections)
            self.total.true_detections += len(found)
            self.total.judged_reads += len(read)
            self.total.true_reads += len(read_found)
        if image.texts_known:
            texts = {p.text for p in image.plates}
            self.total.judged_texts += len(frame.reads)
            self.total.wrong_texts += sum(r not in texts for r in frame.reads)
            wrong_digests = [t for read in frame.digested for t in read if t not in texts]
            self.total.digests += sum(len(read) for read in frame.digested)
            self.total.wrong_digests += len(wrong_digests)
            self.total.wrong_dutch_digests += sum(match_sidecode(t) is not None for t in wrong_digests)
            if image.boxes_known:
                on_plates = set(read_found.values())  # indices into `read`
                wrong = [k for k, text in enumerate(frame.reads) if text not in texts]  # frame.reads is `read`'s texts
                self.total.split_texts += len(read)
                self.total.wrong_on_plates += sum(k in on_plates for k in wrong)
                self.total.wrong_off_plates += sum(k not in on_plates for k in wrong)
        # Characters: a boxed plate is compared with the read of the detection on its box; a plate
        # without a box with the closest read that no boxed plate owns.
        owned = {j for j in found.values()}
        free = [t for j, t in enumerate(frame.texts) if t is not None and j not in owned]
        for i, plate in enumerate(image.plates):
            if plate.box is None:
                own = free
            else:
                text = frame.texts[found[i]] if i in found else None
                own = [text] if text is not None else []
            for score in (self.total, self.countries.setdefault(plate.country or "?", Score())):
                score.add_plate(plate, i in found, i in read_found, frame, own)
        for country in {p.country or "?" for p in image.plates}:
            self.countries[country].images += 1

    def summary(self) -> dict[str, object]:
        ms, det_ms = np.array(self.ms or [0.0]), np.array(self.detect_ms or [0.0])
        by_country = {}
        for country, score in sorted(self.countries.items()):
            s = score.summary()
            for key in PER_IMAGE_KEYS:
                s.pop(key)
            by_country[country] = s
        return {
            **self.total.summary(),
            "ms_per_image_p50": round(float(np.percentile(ms, 50)), 2),
            "ms_per_image_p95": round(float(np.percentile(ms, 95)), 2),
            "detect_ms_p50": round(float(np.percentile(det_ms, 50)), 2),
            "detect_ms_p95": round(float(np.percentile(det_ms, 95)), 2),
            "unreadable_images": len(self.unreadable),
            "by_country": by_country,
        }


def _images(
    images: Sequence[LabelledImage], progress: bool, desc: str, unreadable: list[Path]
) -> Iterator[tuple[LabelledImage, BgrImage]]:
    """Each image decoded (colour, turned upright by its EXIF orientation as a viewer shows it). One that cannot be
    decoded is skipped and added to `unreadable`: a broken file late in a long run must not cost the rest."""
    bar = tqdm(images, desc=desc, unit="img", disable=not progress, file=sys.stderr)
    for image in bar:
        frame = cv2.imread(str(image.path), cv2.IMREAD_COLOR)
        if frame is None:
            unreadable.append(image.path)
            bar.write(f"skipped {image.path}: it cannot be decoded as an image (its plates are not scored)", sys.stderr)
            continue
        yield image, frame


def _some(paths: Sequence[Path], shown: int = 3) -> str:
    more = f" and {len(paths) - shown} more" if len(paths) > shown else ""
    return ", ".join(str(p) for p in paths[:shown]) + more


def missing_images(images: Sequence[LabelledImage], manifest: Path) -> None:
    """Refuse, before any work, a manifest that lists image files that are not there."""
    missing = [image.path for image in images if not image.path.is_file()]
    if missing:
        raise InputError(
            f"{len(missing)} of the {len(images)} images {manifest} lists are not there ({_some(missing)}); image"
            " paths are relative to the manifest's folder: fix them, or drop those rows"
        )


def unreadable_error(unreadable: Sequence[Path]) -> InputError:
    """What `scanauto eval` says after its figures when some images could not be decoded."""
    return InputError(
        f"{len(unreadable)} image(s) could not be decoded and were left out of the figures above"
        f" ({_some(unreadable)}): re-save them as JPEG or PNG, or drop their rows, and run again"
    )


def _timed(frames: SingleFrameReader, frame: BgrImage) -> tuple[FrameReads, float]:
    t0 = time.perf_counter()
    reads = frames.read(frame)
    return reads, (time.perf_counter() - t0) * 1000


def evaluate(
    frames: SingleFrameReader, images: Sequence[LabelledImage], progress: bool = True, desc: str = "eval"
) -> Evaluation:
    """Run the edge on every image (read from disk, not timed) and score it."""
    result = Evaluation()
    for n, (image, frame) in enumerate(_images(images, progress, desc, result.unreadable)):
        if n == 0:  # the first run allocates onnxruntime's buffers: keep it out of the timings
            frames.read(frame)
        result.add(image, *_timed(frames, frame))
    return result


def sign_test(gained: int, lost: int) -> float:
    """Two-sided exact sign test: how likely a split at least this uneven is if neither arm reads better."""
    n = gained + lost
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(gained, lost) + 1)) / 2**n
    return round(min(1.0, 2 * tail), 4)


@dataclass(slots=True)
class Pairing:
    """Two edge configurations on the same images, plate by plate: what the second reads that the first does not
    (gained) and the reverse (lost). Totals hide these: two models can tie on 1,906 plates and differ on eight."""

    both: int = 0
    neither: int = 0
    gained: list[tuple[str, str]] = field(default_factory=list)  # (image, plate text)
    lost: list[tuple[str, str]] = field(default_factory=list)

    def add(self, image: LabelledImage, a: FrameReads, b: FrameReads) -> None:
        for plate in image.plates:
            if not plate.text:
                continue
            in_a, in_b = plate.text in a.reads, plate.text in b.reads
            self.both += in_a and in_b
            self.neither += not (in_a or in_b)
            if in_a != in_b:
                (self.gained if in_b else self.lost).append((image.path.name, plate.text))

    def summary(self) -> dict[str, object]:
        return {
            "both": self.both,
            "neither": self.neither,
            "gained": len(self.gained),
            "lost": len(self.lost),
            "net": len(self.gained) - len(self.lost),
            "sign_test_p": sign_test(len(self.gained), len(self.lost)),
            "gained_plates": [f"{image} {text}" for image, text in self.gained],
            "lost_plates": [f"{image} {text}" for image, text in self.lost],
        }


def _blocks(items: Iterator[T], size: int) -> Iterator[list[T]]:
    block: list[T] = []
    for item in items:
        block.append(item)
        if len(block) == size:
            yield block
            block = []
    if block:
        yield block


def _arm(frames: SingleFrameReader, frame: BgrImage | None) -> FrameReads | dict[str, object]:
    """What an arm of `evaluate_pair` answers in its process: its reads of a frame, or its versions for None."""
    return _versions(frames) if frame is None else frames.read(frame)


@dataclass
class PairRun:
    """Two configurations' scores on the same images, plate by plate, and what each ran (`_versions`)."""

    first: Evaluation
    second: Evaluation
    pairing: Pairing
    versions: tuple[dict[str, object], dict[str, object]]


def evaluate_pair(
    build_a: Callable[[], SingleFrameReader],
    build_b: Callable[[], SingleFrameReader],
    images: Sequence[LabelledImage],
    progress: bool = True,
    desc: str = "eval",
    block: int = 32,
) -> PairRun:
    """Both configurations on every image, each built by its `build` in a process of its own (`models.apart`), taking
    turns `block` frames at a time, each going first on every other block, so neither has the warmer caches or the
    quieter machine. The builds must be picklable. In one process two onnxruntime sessions slow each other, since a
    session's idle threads spin (2 threads, session 36: 46.2 / 47.1 ms p50 against 30.4 alone); right after a turn
    they still do, so turns of one frame are as slow (300 development frames, 2 threads: 46.7 / 46.0 ms p50),
    8 frames 31.9 / 33.6, and turns of 32 as fast as one configuration alone (35.3 / 30.8 against 36.1, then 38.5 /
    36.9 against 34.6, session 38: this machine drifts by more from minute to minute)."""
    first, second, pairing = Evaluation(), Evaluation(), Pairing()
    second.unreadable = first.unreadable
    with Apart([build_a, build_b], _arm, ["the first configuration", "the second configuration"]) as arms:
        version_a, version_b = (arms.run(k, [None])[0][1] for k in (0, 1))
        for n, pending in enumerate(_blocks(_images(images, progress, desc, first.unreadable), block)):
            frames = [frame for _, frame in pending]
            if n == 0:  # onnxruntime's first run allocates its buffers: keep it out of the timings
                for k in (0, 1):
                    arms.run(k, frames[:1])
            out = {k: arms.run(k, frames) for k in turns(2, n)}
            for (image, _), (ms_a, reads_a), (ms_b, reads_b) in zip(pending, out[0], out[1], strict=True):
                first.add(image, reads_a, ms_a)
                second.add(image, reads_b, ms_b)
                pairing.add(image, reads_a, reads_b)
    return PairRun(first, second, pairing, (version_a, version_b))


def _fmt(v: object) -> str:
    return "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


def _edge(
    detector_model: Path,
    ocr_model: Path,
    ocr_config: Path,
    threads: int,
    ocr_margins: tuple[float, ...] | None,
    min_alternative_prob: float | None = None,
    deblur: bool | None = None,
) -> SingleFrameReader:
    # The edge's passes for large plates; a detector exported before version 8.4 (a fixed input size, e.g. an older
    # version compared against) cannot run them and runs without (the JSON says which).
    passes = DetectorSettings().large_plate_passes if PlateDetector.takes_any_size(detector_model) else 0
    detector = PlateDetector(detector_model, threads=threads, settings=DetectorSettings(large_plate_passes=passes))
    reader = PlateReader(ocr_model, ocr_config, threads=threads)
    settings = PipelineSettings(vehicle_id="eval", camera_id="eval")
    if ocr_margins is not None:
        settings = replace(settings, ocr_margins=ocr_margins)
    if min_alternative_prob is not None:
        settings = replace(settings, candidates=replace(settings.candidates, min_alternative_prob=min_alternative_prob))
    if deblur is not None:
        settings = replace(settings, deblur=replace(settings.deblur, enabled=deblur))
    return SingleFrameReader(detector, reader, settings)


def _versions(frames: SingleFrameReader) -> dict[str, object]:
    return {
        **{
            k: str(getattr(part, "model_version", "?"))
            for k, part in (("detector", frames.detector), ("ocr", frames.reader))
        },
        "large_plate_passes": getattr(frames.detector, "large_plate_passes", 0),
        "ocr_margins": list(frames.settings.ocr_margins),
        "min_alternative_prob": frames.settings.candidates.min_alternative_prob,
        "deblur": frames.settings.deblur.enabled,
    }


def _print_summary(summary: dict[str, object], threads: int) -> None:
    head = ("images", "plates", "det_recall", "det_precision", "exact_read_rate", "candidate_read_rate")
    print("  " + "  ".join(f"{k} {_fmt(summary[k])}" for k in (*head, "char_accuracy")))
    keys = ("read_box_recall", "read_box_precision", "wrong_reads", "read_text_precision")
    print("  " + "  ".join(f"{k} {_fmt(summary[k])}" for k in keys))
    keys = ("wrong_reads_on_plates", "wrong_reads_off_plates")
    print("  of the wrong reads: " + "  ".join(f"{k.removeprefix('wrong_reads_')} {_fmt(summary[k])}" for k in keys))
    print(
        f"  candidates per read {_fmt(summary['candidates_per_read'])}, wrong {_fmt(summary['wrong_candidates'])}, of"
        f" which a valid Dutch plate {_fmt(summary['wrong_dutch_candidates'])}"
        f" ({_fmt(summary['wrong_dutch_candidates_per_read'])} per read)"
    )
    print(
        f"  ms per image p50 {summary['ms_per_image_p50']} p95 {summary['ms_per_image_p95']}, of which detection"
        f" p50 {summary['detect_ms_p50']} p95 {summary['detect_ms_p95']} ({threads} threads)"
    )
    for country, s in summary["by_country"].items():  # type: ignore[attr-defined]
        keys = ("plates", "det_recall", "exact_read_rate", "char_accuracy")
        print(f"  {country:>3}: " + "  ".join(f"{k} {_fmt(s[k])}" for k in keys))


def run(
    manifest: Path,
    split: str | None = None,
    detector_model: Path = DEFAULT_DETECTOR,
    ocr_model: Path = DEFAULT_OCR,
    ocr_config: Path = DEFAULT_OCR_CONFIG,
    threads: int = 1,
    limit: int | None = None,
    as_json: bool = False,
    against: dict[str, Path] | None = None,
    show: int = 20,
    ocr_margins: tuple[float, ...] | None = None,
    against_ocr_margins: tuple[float, ...] | None = None,
    min_alternative_prob: float | None = None,
    texts: Path | None = None,
    deblur: bool | None = None,
    against_deblur: bool | None = None,
) -> int:
    """The `scanauto eval` command: prints a table, and with `as_json` one JSON object as the last line.

    `ocr_margins` replaces the edge's OCR views (`PipelineSettings.ocr_margins`), `min_alternative_prob` its floor
    on the alternative candidates (`CandidateSettings`; both arms). With `against` (any of
    detector_model, ocr_model, ocr_config) or `against_ocr_margins` (the rest as the first configuration's), a
    second configuration runs on the same images and the two are compared plate by plate (`Pairing`). `texts`: a
    review that gives the manifest's plates their texts (`models.manifest.read_texts`). `deblur` switches the
    deconvolved views (`PipelineSettings.deblur`) on or off, `against_deblur` for a second configuration."""
    images = read_manifest(manifest, split)
    if texts is not None:
        images = with_texts(images, manifest, read_texts(texts))
    images = images[:limit]
    where = f"{manifest}{f' [{split}]' if split else ''}{f' with texts {texts}' if texts else ''}"
    info = {"manifest": str(manifest), "split": split, **({"texts": str(texts)} if texts else {})}
    if against is None and against_ocr_margins is None and against_deblur is None:
        missing_images(images, manifest)
        frames = _edge(detector_model, ocr_model, ocr_config, threads, ocr_margins, min_alternative_prob, deblur)
        result = evaluate(frames, images, desc=manifest.parent.name)
        summary = result.summary()
        versions = _versions(frames)
        print(f"{where}: detector {versions['detector']}, OCR {versions['ocr']}, OCR margins {versions['ocr_margins']}")
        _print_summary(summary, threads)
        if as_json:
            print(json.dumps({**info, **versions, "threads": threads, **summary}))
        if result.unreadable:
            raise unreadable_error(result.unreadable)
        return 0
    paths = {"detector_model": detector_model, "ocr_model": ocr_model, "ocr_config": ocr_config, **(against or {})}
    options = {"detector-model": detector_model, "ocr-model": ocr_model, "ocr-config": ocr_config}
    options |= {f"against-{name.replace('_', '-')}": path for name, path in (against or {}).items()}
    for option, path in options.items():  # checked here, not in an arm's process, so that the error names the option
        if not path.is_file():
            raise ConfigError(f"{path} not found (check --{option})")
    margins = ocr_margins if against_ocr_margins is None else against_ocr_margins
    deblur_b = deblur if against_deblur is None else against_deblur
    build_b = partial(
        _edge,
        paths["detector_model"],
        paths["ocr_model"],
        paths["ocr_config"],
        threads,
        margins,
        min_alternative_prob,
        deblur_b,
    )
    build_a = partial(_edge, detector_model, ocr_model, ocr_config, threads, ocr_margins, min_alternative_prob, deblur)
    missing_images(images, manifest)
    pair = evaluate_pair(build_a, build_b, images, desc=manifest.parent.name)
    arms = {
        "a": {**pair.versions[0], **pair.first.summary()},
        "b": {**pair.versions[1], **pair.second.summary()},
    }
    for name, arm in arms.items():
        print(f"{where}: {name}: detector {arm['detector']}, OCR {arm['ocr']}, OCR margins {arm['ocr_margins']}")
        _print_summary(arm, threads)
    paired = pair.pairing.summary()
    print(
        f"  plate by plate: both read {paired['both']}, neither {paired['neither']}; b reads {paired['gained']} that"
        f" a misses and misses {paired['lost']} that a reads (net {paired['net']:+d}, sign test p"
        f" {paired['sign_test_p']})"
    )
    for key in ("gained_plates", "lost_plates"):
        listed: list[str] = paired[key]  # type: ignore[assignment]
        more = f" (and {len(listed) - show} more)" if len(listed) > show else ""
        print(f"  {key.replace('_', ' ')}: {', '.join(listed[:show]) or '-'}{more}")
    if as_json:
        print(json.dumps({**info, "threads": threads, **arms, "paired": paired}))
    if pair.first.unreadable:
        raise unreadable_error(pair.first.unreadable)
    return 0
