"""Parse and validate hotlist exports (CSV, JSON Lines) into accepted rows and a report of rejected rows."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path

from tqdm import tqdm

from contract.errors import InputError
from contract.normalise import PlateTextError, normalise

LIST_NAMES = ("stolen", "false-plate")
REQUIRED_COLUMNS = ("plate", "reference")
MAX_REFERENCE_LEN = 64
MAX_NOTE_LEN = 200
PROGRESS_MIN_BYTES = 1_000_000  # show a progress bar for files larger than this


@dataclass(frozen=True, slots=True)
class ListRow:
    """One accepted list row, normalised."""

    line: int
    plate: str
    list_name: str
    reference: str
    valid_until: datetime | None
    note: str | None = None


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


def _read_text(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(f"list file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"list file {path} cannot be read: {exc}") from None
    if not text.strip():
        raise InputError(f"list file {path} is empty: expected a header 'plate,reference,valid_until' or JSON lines")
    return text


def _records_csv(path: Path, text: str) -> Iterator[tuple[int, dict[str, str] | str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    columns = [c.strip().lower() for c in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise InputError(f"list file {path} lacks column(s) {missing}; header found: {reader.fieldnames}")
    reader.fieldnames = columns
    for record in reader:
        if None in record:
            yield reader.line_num, "more fields than the header has columns"
            continue
        yield reader.line_num, {k: (v or "").strip() for k, v in record.items() if isinstance(k, str)}


def _records_jsonl(text: str) -> Iterator[tuple[int, dict[str, str] | str]]:
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            yield line_no, f"not valid JSON ({exc.msg})"
            continue
        if not isinstance(obj, dict):
            yield line_no, "a line must hold one JSON object"
            continue
        bad = [k for k, v in obj.items() if v is not None and not isinstance(v, str)]
        if bad:
            yield line_no, f"field(s) {bad} must be strings"
            continue
        yield line_no, {str(k).lower(): (v or "").strip() for k, v in obj.items()}


def parse_list(path: Path, list_name: str, now: datetime, progress: bool = False) -> ParsedList:
    """Validate every row of a list export (.csv, or .jsonl/.ndjson); rejected rows are reported."""
    if list_name not in LIST_NAMES:
        raise InputError(f"unknown list {list_name!r}; use one of {', '.join(LIST_NAMES)}")
    text = _read_text(path)
    jsonl = path.suffix.lower() in (".jsonl", ".ndjson")
    records = _records_jsonl(text) if jsonl else _records_csv(path, text)
    show = progress and len(text) >= PROGRESS_MIN_BYTES
    records = tqdm(records, desc=f"validating {path.name}", unit="row", disable=not show, file=sys.stderr)

    rows: list[ListRow] = []
    rejected: list[Rejection] = []
    seen: dict[str, int] = {}
    for line, record in records:
        try:
            if isinstance(record, str):
                raise ValueError(record)
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
        raise InputError(f"list file {path} has no rows")
    return ParsedList(tuple(rows), tuple(rejected))


def _validate(fields: dict[str, str], line: int, list_name: str, now: datetime) -> ListRow:
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
    note = fields.get("note") or None
    if note is not None and len(note) > MAX_NOTE_LEN:
        raise ValueError(f"note longer than {MAX_NOTE_LEN} characters")
    return ListRow(line, plate, list_name, reference, valid_until, note)
