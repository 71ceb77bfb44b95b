"""Parse and validate hotlist exports (CSV) into accepted entries and a report of rejected rows."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

from contract.errors import InputError
from contract.normalise import PlateTextError, normalise

LIST_NAMES = ("stolen", "false-plate")
REQUIRED_COLUMNS = ("plate", "reference")
MAX_REFERENCE_LEN = 64


@dataclass(frozen=True, slots=True)
class ListRow:
    """One accepted list row, normalised."""

    line: int
    plate: str
    list_name: str
    reference: str
    valid_until: datetime | None


@dataclass(frozen=True, slots=True)
class Rejection:
    line: int
    reason: str


@dataclass(frozen=True, slots=True)
class ParsedList:
    rows: tuple[ListRow, ...]
    rejected: tuple[Rejection, ...]

    @property
    def total(self) -> int:
        return len(self.rows) + len(self.rejected)


def parse_valid_until(text: str) -> datetime | None:
    """ISO date (valid through that day, UTC) or ISO datetime with zone; empty means no end."""
    text = text.strip()
    if not text:
        return None
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), time.max, tzinfo=UTC)
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"valid_until {text!r} is not an ISO date (2026-12-31) or datetime") from None
    if value.tzinfo is None:
        raise ValueError(f"valid_until {text!r} has no timezone (add Z or +01:00)")
    return value


def parse_csv(path: Path, list_name: str, now: datetime) -> ParsedList:
    """Validate every row of a list export; a rejected row is reported, never dropped silently."""
    if list_name not in LIST_NAMES:
        raise InputError(f"unknown list {list_name!r}; use one of {', '.join(LIST_NAMES)}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"list file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"list file {path} cannot be read: {exc}") from None
    if not text.strip():
        raise InputError(f"list file {path} is empty: expected a header 'plate,reference,valid_until'")
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = [c.strip().lower() for c in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise InputError(f"list file {path} lacks column(s) {missing}; header found: {reader.fieldnames}")
    reader.fieldnames = columns

    rows: list[ListRow] = []
    rejected: list[Rejection] = []
    seen: dict[str, int] = {}
    for record in reader:
        line = reader.line_num
        try:
            row = _validate(record, line, list_name, now)
        except ValueError as exc:
            rejected.append(Rejection(line, str(exc)))
            continue
        if row.plate in seen:
            rejected.append(Rejection(line, f"duplicate plate, first listed on line {seen[row.plate]}"))
            continue
        seen[row.plate] = line
        rows.append(row)
    if not rows and not rejected:
        raise InputError(f"list file {path} has a header but no rows")
    return ParsedList(tuple(rows), tuple(rejected))


def _validate(record: dict[str | None, str | list[str] | None], line: int, list_name: str, now: datetime) -> ListRow:
    if None in record:
        raise ValueError("more fields than the header has columns")
    fields = {k: (v or "").strip() for k, v in record.items() if isinstance(k, str) and not isinstance(v, list)}
    row_list = fields.get("list", "")
    if row_list and row_list != list_name:
        raise ValueError(f"row is for list {row_list!r}, but this import is for {list_name!r}")
    try:
        plate = normalise(fields.get("plate", ""))
    except PlateTextError as exc:
        raise ValueError(f"plate: {exc}") from None
    reference = fields.get("reference", "")
    if not reference:
        raise ValueError("reference is empty")
    if len(reference) > MAX_REFERENCE_LEN:
        raise ValueError(f"reference longer than {MAX_REFERENCE_LEN} characters")
    valid_until = parse_valid_until(fields.get("valid_until", ""))
    if valid_until is not None and valid_until <= now:
        raise ValueError(f"entry expired on {valid_until.isoformat()}")
    return ListRow(line, plate, list_name, reference, valid_until)
