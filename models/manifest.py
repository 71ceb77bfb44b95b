"""Labelled image sets in the manifest format of DATA.md: read them (grouped per image) and write them."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from contract.errors import InputError
from contract.normalise import PlateTextError, normalise

Box = tuple[float, float, float, float]  # x1, y1, x2, y2 in pixels
COLUMNS = ("image", "plate_text", "x1", "y1", "x2", "y2", "country")


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
