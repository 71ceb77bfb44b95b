"""List exports: every row validated; rejected rows reported with line number and reason."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from contract.errors import InputError
from ingest.lists import parse_list

NOW = datetime(2026, 11, 23, tzinfo=UTC)


def test_rejected_rows_are_reported_with_line_and_reason(tmp_path: Path) -> None:
    path = tmp_path / "stolen.csv"
    path.write_text(
        "plate,reference,valid_until\n"
        "AB-12-34,SV-1,2027-01-01\n"  # 2 ok
        "AB!2-34,SV-2,\n"  # 3 bad char
        ",SV-3,\n"  # 4 empty plate
        "12-BDF-3,,\n"  # 5 no reference
        "12-BDF-4,SV-5,2020-01-01\n"  # 6 expired
        "ab 12 34,SV-6,\n"  # 7 duplicate of line 2
        "GBB-01-B,SV-7,next week\n"  # 8 bad date
        "GBB-01-B,SV-8,2027-01-01T00:00:00\n"  # 9 no timezone
        "K-123-BB,SV-9,2027-01-01T00:00:00Z\n"  # 10 ok
    )
    parsed = parse_list(path, "stolen", NOW)
    assert [r.plate for r in parsed.rows] == ["AB1234", "K123BB"]
    reasons = {r.line: r.reason for r in parsed.rejected}
    assert set(reasons) == {3, 4, 5, 6, 7, 8, 9}
    assert "'!'" in reasons[3] and "empty" in reasons[4] and "reference" in reasons[5]
    assert "expired" in reasons[6] and "line 2" in reasons[7] and "ISO" in reasons[8] and "timezone" in reasons[9]
    assert parsed.total == 9


def test_row_for_another_list_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "mixed.csv"
    path.write_text("plate,list,reference\nAB1234,false-plate,FP-1\nBD12FG,stolen,SV-1\n")
    parsed = parse_list(path, "stolen", NOW)
    assert [r.plate for r in parsed.rows] == ["BD12FG"]
    assert "false-plate" in parsed.rejected[0].reason


@pytest.mark.parametrize(
    ("content", "message"),
    [("", "empty"), ("plate,reference\n", "no rows"), ("number,ref\nAB1234,x\n", "lacks column")],
)
def test_unusable_files_are_clear_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "list.csv"
    path.write_text(content)
    with pytest.raises(InputError, match=message):
        parse_list(path, "stolen", NOW)


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        parse_list(tmp_path / "nope.csv", "stolen", NOW)


def test_json_lines_are_validated_like_csv(tmp_path: Path) -> None:
    path = tmp_path / "false.jsonl"
    path.write_text(
        '{"plate": "GBB-01-B", "reference": "FP-1", "valid_until": "2027-01-01", "note": "cloned plate"}\n'
        "\n"
        '{"plate": "K-123-BB", "reference": 42}\n'
        "not json\n"
        '["AB1234"]\n'
        '{"plate": "12-BDF-3", "reference": "FP-5", "list": "false-plate"}\n'
    )
    parsed = parse_list(path, "false-plate", NOW)
    assert [(r.plate, r.note) for r in parsed.rows] == [("GBB01B", "cloned plate"), ("12BDF3", None)]
    assert {r.line: r.reason for r in parsed.rejected} == {
        3: "field(s) ['reference'] must be strings",
        4: "not valid JSON (Expecting value)",
        5: "a line must hold one JSON object",
    }
