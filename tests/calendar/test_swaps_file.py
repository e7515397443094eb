"""The Government's day swaps from the data file a secretariat extends each year (issue 13
§12): read and checked with file:line errors, a new year added without code, shown by
`reportcycle calendar show YEAR`."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from reportcycle.calendar import workdays
from reportcycle.calendar.swaps_file import DEFAULT_SWAPS_FILE, SwapsFileError, load_swaps_file
from reportcycle.calendar.workdays import WorkCalendar, official_swaps
from tests.conftest import REPO
from tests.factories import run_cli

NEXT_YEAR = """
  - date: 2026-02-16
    name: Nghỉ Tết Nguyên đán (29 Tết)
    source: Thông báo giả định cho thử nghiệm
"""


def _extended(tmp_path: Path, extra_off: str = NEXT_YEAR, extra_working: str = "") -> Path:
    text = DEFAULT_SWAPS_FILE.read_text(encoding="utf-8")
    text = text.replace("working_days:\n", extra_off.lstrip("\n") + "working_days:\n", 1)
    path = tmp_path / "vn-holidays.yaml"
    path.write_text(text + extra_working, encoding="utf-8")
    return path


def test_the_shipped_file_holds_the_2024_and_2025_swaps() -> None:
    swaps = load_swaps_file(DEFAULT_SWAPS_FILE)
    assert swaps.years() == [2024, 2025]
    assert date(2025, 1, 27) in {e.day for e in swaps.days_off}
    assert date(2025, 4, 26) in {e.day for e in swaps.working_days}


def test_a_year_added_to_the_file_moves_the_working_days_without_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the library is made to know nothing, so only the file can make 16/2/2026 a day off
    monkeypatch.setattr(workdays, "_library_year", lambda year: ({}, frozenset()))
    assert WorkCalendar().is_working_day(date(2026, 2, 16))
    monkeypatch.setenv("REPORTCYCLE_HOLIDAYS_FILE", str(_extended(tmp_path)))
    calendar = WorkCalendar()
    assert not calendar.is_working_day(date(2026, 2, 16))
    assert calendar.holiday_name(date(2026, 2, 16)) == "Nghỉ Tết Nguyên đán (29 Tết)"
    # a regime's own override still wins over the file
    assert WorkCalendar(extra_working_days=[date(2026, 2, 16)]).is_working_day(date(2026, 2, 16))


def test_bad_entries_are_reported_with_file_line_and_field(tmp_path: Path) -> None:
    bad = _extended(
        tmp_path,
        "  - date: 2026-02-30\n    name: Sai ngày\n    source: x\n"
        "  - date: 2026-02-17\n    nam: thiếu tên\n    source: x\n",
    )
    with pytest.raises(SwapsFileError) as caught:
        official_swaps(bad)
    lines = [str(i) for i in caught.value.issues]
    start = DEFAULT_SWAPS_FILE.read_text(encoding="utf-8").splitlines().index("working_days:")
    assert lines == [
        f"{bad}:{start + 1}: days_off[6].date: expected a date YYYY-MM-DD",
        f"{bad}:{start + 5}: days_off[7].nam: unknown field",
        f"{bad}:{start + 4}: days_off[7].name: required field is missing",
    ]


@pytest.mark.slow
def test_calendar_show_lists_days_off_and_make_up_days_with_their_names() -> None:
    done = run_cli(
        "calendar", "show", "2025", "--regime", str(REPO / "regimes" / "binh-dinh-cchc-quy.yaml")
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any("27/01/2025" in line and "nghỉ" in line for line in lines)
    assert any("26/04/2025" in line and "Làm bù cho ngày 02/5/2025" in line for line in lines)
    assert any("17/03/2025" in line and "ngày nghỉ theo cấu hình" in line for line in lines)
    assert "249 ngày làm việc" in done.stdout
