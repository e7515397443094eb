"""`reportcycle calendar show YEAR [--regime FILE]`: the year's days off and make-up working
days, with their names: what the deadlines and the reminder ladder are computed on."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reportcycle.cli.common import err, fail, out

if TYPE_CHECKING:  # the calendar (and the holidays library) only for its commands
    from reportcycle.calendar.workdays import WorkCalendar

WEEKDAYS_VI = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")


def show(
    year: int,
    regime: Annotated[
        Path | None, typer.Option(help="add this regime's own calendar overrides")
    ] = None,
) -> None:
    """List the days off (besides weekends) and the Saturdays and Sundays worked in YEAR."""
    from rich.table import Table

    from reportcycle.calendar.swaps_file import SwapsFileError, load_swaps_file
    from reportcycle.calendar.workdays import WorkCalendar, swaps_path

    try:
        calendar = _calendar(regime) if regime else WorkCalendar()
        made_up = {e.day: e.name for e in load_swaps_file(swaps_path()).working_days}
    except SwapsFileError as exc:
        for issue in exc.issues:
            err.print(str(issue), highlight=False, markup=False)
        raise typer.Exit(1) from None
    table = Table("ngày / date", "thứ", "", "tên / name")
    off = working = 0
    for d in _days(year):
        name = calendar.holiday_name(d)
        if name is not None:
            off += 1
            table.add_row(d.strftime("%d/%m/%Y"), WEEKDAYS_VI[d.weekday()], "nghỉ", name)
        elif d.weekday() >= 5 and calendar.is_working_day(d):
            working += 1
            name = made_up.get(d, "ngày làm việc (cấu hình / thư viện)")
            table.add_row(d.strftime("%d/%m/%Y"), WEEKDAYS_VI[d.weekday()], "làm bù", name)
    out.print(table)
    total = sum(calendar.is_working_day(d) for d in _days(year))
    out.print(
        f"{year}: {off} ngày lễ, nghỉ bù; {working} ngày làm bù; "
        f"{total} ngày làm việc. Nguồn: thư viện holidays, {swaps_path()}"
        + (f", {regime}" if regime else ""),
        highlight=False,
    )


def _calendar(path: Path) -> WorkCalendar:
    from reportcycle.lookup import calendar_for
    from reportcycle.regime.loading import RegimeError, load_regime

    try:
        return calendar_for(load_regime(path).regime)
    except FileNotFoundError:
        raise fail(f"{path}: no such file") from None
    except RegimeError as exc:
        for issue in exc.issues:
            err.print(str(issue), highlight=False, markup=False)
        raise typer.Exit(1) from None


def _days(year: int) -> list[date]:
    first = date(year, 1, 1)
    return [first + timedelta(days=n) for n in range((date(year + 1, 1, 1) - first).days)]


def register(app: typer.Typer) -> None:
    group = typer.Typer(no_args_is_help=True, help="Working days (lịch làm việc).")
    group.command("show")(show)
    app.add_typer(group, name="calendar")
