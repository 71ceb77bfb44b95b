"""Labelled image sets in the manifest format of DATA.md: read them (grouped per image) and write them."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from contract.errors import InputError
from contract.normalise import PlateTextError, normalise

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels
COLUMNS = ("image", "plate_text", "x1", "y1", "x2", "y2", "country")
TEXT_COLUMNS = ("image", "x1", "y1", "x2", "y2", "plate_text", "legible")


@dataclass(frozen=True, slots=True)
class LabelledPlate:
    """One plate of an image: normalised text ("" if unknown), box (None if unknown), country ("" if unknown)."""

    text: str
    box: Box | None
    country: str


@dataclass(frozen=True, slots=True)
class LabelledImage:
    """One image of a manifest and all its plates (none: the image shows no plate)."""

    path: Path
    plates: tuple[LabelledPlate, ...]

    @property
    def boxes_known(self) -> bool:
        """Every plate has a box, so each detection on this image can be judged (also with no plates)."""
        return all(p.box is not None for p in self.plates)

    @property
    def texts_known(self) -> bool:
        """Every plate has a text, so each read on this image can be judged right or wrong (also with no plates)."""
        return all(p.text for p in self.plates)


def _plate(row: dict[str, str], where: str) -> LabelledPlate | None:
    text = (row.get("plate_text") or "").strip()
    coords = [(row.get(k) or "").strip() for k in ("x1", "y1", "x2", "y2")]
    if not text and not any(coords):
        return None  # the image's "no plate" row
    box: Box | None = None
    if all(coords):
        try:
            x1, y1, x2, y2 = (float(c) for c in coords)
        except ValueError:
            raise InputError(f"{where}: box {coords} is not numeric") from None
        if x2 <= x1 or y2 <= y1:
            raise InputError(f"{where}: empty box {coords}")
        box = (x1, y1, x2, y2)
    elif any(coords):
        raise InputError(f"{where}: box {coords} is incomplete (give all of x1, y1, x2, y2 or none)")
    if text:
        try:
            text = normalise(text)
        except PlateTextError as exc:
            raise InputError(f"{where}: plate_text {text!r}: {exc}") from None
    return LabelledPlate(text, box, (row.get("country") or "").strip().upper())


def read_manifest(path: Path, split: str | None = None) -> list[LabelledImage]:
    """The images of manifest `path` in file order, with their plates; only rows of `split` if given."""
    if not path.is_file():
        raise InputError(f"manifest {path} not found")
    plates: dict[str, list[LabelledPlate]] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"manifest {path} lacks the column(s) {', '.join(missing)} (see DATA.md)")
        if split is not None and "split" not in (reader.fieldnames or []):
            raise InputError(f"manifest {path} has no 'split' column; drop --split")
        for line, row in enumerate(reader, start=2):
            if split is not None and row.get("split") != split:
                continue
            image = (row.get("image") or "").strip()
            if not image:
                raise InputError(f"{path}:{line}: empty image path")
            plate = _plate(row, f"{path}:{line}")
            entry = plates.setdefault(image, [])
            if plate is not None:
                entry.append(plate)
    if not plates:
        raise InputError(f"manifest {path} has no rows" + (f" of split {split!r}" if split else ""))
    return [LabelledImage(path.parent / rel, tuple(ps)) for rel, ps in plates.items()]


def read_texts(path: Path) -> dict[tuple[str, Box], str]:
    """A review that gives the plates of a manifest without texts their texts, read by eye (`TEXT_COLUMNS`; e.g.
    `models/ocr/review/romanian-valid-texts.csv`): (image as the manifest names it, box) -> text, "" where the
    reviewer could not tell every character (`legible` no)."""
    if not path.is_file():
        raise InputError(f"texts review {path} not found")
    texts: dict[tuple[str, Box], str] = {}
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in TEXT_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"texts review {path} lacks the column(s) {', '.join(missing)}")
        for line, row in enumerate(reader, start=2):
            where = f"{path}:{line}"
            legible = (row.get("legible") or "").strip()
            if legible not in ("yes", "no"):
                raise InputError(f"{where}: legible is {legible!r}, not yes or no")
            plate = _plate({**row, "plate_text": row["plate_text"] if legible == "yes" else ""}, where)
            if plate is None or plate.box is None or (legible == "yes") != bool(plate.text):
                raise InputError(f"{where}: a reviewed plate needs its box, and a text exactly when it is legible")
            key = ((row.get("image") or "").strip(), plate.box)
            if key in texts:
                raise InputError(f"{where}: {key[0]} box {list(key[1])} is reviewed twice")
            texts[key] = plate.text
    return texts


def with_texts(images: list[LabelledImage], manifest: Path, texts: dict[tuple[str, Box], str]) -> list[LabelledImage]:
    """`images` (read from `manifest`) with the reviewed texts on their boxes. Every reviewed box must be a plate of
    these images without a text of its own: a review of another manifest or split fails, it is not half applied."""
    left = dict(texts)
    out = []
    for image in images:
        rel = image.path.relative_to(manifest.parent).as_posix()
        plates = []
        for plate in image.plates:
            text = left.pop((rel, plate.box), None) if plate.box is not None else None
            if text is not None and plate.text:
                raise InputError(f"{manifest}: {rel} box {list(plate.box or ())} has a text; a review only adds texts")
            plates.append(replace(plate, text=text) if text else plate)
        out.append(replace(image, plates=tuple(plates)))
    if left:
        (rel, box), *_ = left
        raise InputError(
            f"the texts review names {len(left)} box(es) that are no plate of {manifest} as read (e.g. {rel} box "
            f"{list(box)}): it was made for another manifest or --split"
        )
    return out


def write_manifest(path: Path, rows: Iterable[tuple[str, LabelledPlate | None]]) -> None:
    """Write (relative image path, plate or None for an image without plates) rows as a manifest."""
    with path.open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(COLUMNS)
        for image, plate in rows:
            if plate is None:
                out.writerow([image, "", "", "", "", "", ""])
                continue
            box = [f"{v:g}" for v in plate.box] if plate.box is not None else ["", "", "", ""]
            out.writerow([image, plate.text, *box, plate.country])
