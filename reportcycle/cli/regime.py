"""`reportcycle regime check`: a regime file validated, every error at once."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from reportcycle.cli.common import err, fail, out

if TYPE_CHECKING:
    from reportcycle.regime.schema import Regime


def check(path: Path) -> None:
    """Validate a regime file; print every error at once, or a one-screen summary."""
    from reportcycle.cli.views import regime_summary
    from reportcycle.regime.loading import RegimeError, load_regime

    try:
        loaded = load_regime(path)
    except FileNotFoundError:
        raise fail(f"{path}: no such file") from None
    except RegimeError as exc:
        for issue in exc.issues:
            err.print(str(issue), highlight=False, markup=False)
        err.print(f"{len(exc.issues)} lỗi trong {path}", style="red")
        raise typer.Exit(1) from None
    regime_summary(out, loaded.regime)
    _check_swaps(loaded.regime)


def _check_swaps(regime: Regime) -> None:
    """The national day swaps the regime's deadlines are computed on: checked too."""
    from reportcycle.calendar.swaps_file import SwapsFileError, load_swaps_file
    from reportcycle.calendar.workdays import swaps_path

    try:
        swaps = load_swaps_file(swaps_path())
    except (SwapsFileError, OSError) as exc:
        for line in str(exc).splitlines():
            err.print(line, highlight=False, markup=False)
        raise typer.Exit(1) from None
    years = swaps.years()
    span = f"{years[0]}–{years[-1]}" if years else "chưa có năm nào"
    local = len(regime.calendar.days_off) + len(regime.calendar.working_days)
    out.print(
        f"lịch: ngày nghỉ, làm bù toàn quốc theo {swaps.path} ({span}); {local} ngày điều "
        "chỉnh riêng của chế độ; xem các ngày làm việc bằng "
        "`reportcycle calendar show NĂM --regime TỆP`",
        highlight=False,
    )


def register(app: typer.Typer) -> None:
    group = typer.Typer(no_args_is_help=True, help="Regime files (chế độ báo cáo).")
    group.command("check")(check)
    app.add_typer(group, name="regime")
