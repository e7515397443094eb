"""`reportcycle regime check`: a regime file validated, every error at once."""

from __future__ import annotations

from pathlib import Path

import typer

from reportcycle.cli.common import err, fail, out
from reportcycle.regime.loading import RegimeError, load_regime


def check(path: Path) -> None:
    """Validate a regime file; print every error at once, or a one-screen summary."""
    from reportcycle.cli.views import regime_summary

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


def register(app: typer.Typer) -> None:
    group = typer.Typer(no_args_is_help=True, help="Regime files (chế độ báo cáo).")
    group.command("check")(check)
    app.add_typer(group, name="regime")
