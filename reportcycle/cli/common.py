"""What every command shares: the consoles, the error exit, `--now`, the cycle argument."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

# Piped output (make demo, logs) gets room for the status table instead of 80 columns.
_WIDTH = None if sys.stdout.isatty() else 160
out = Console(soft_wrap=True, width=_WIDTH)
err = Console(stderr=True, soft_wrap=True)

NowOption = Annotated[
    str | None, typer.Option("--now", help="ISO-8601 time to act at (default: the clock)")
]
CycleArg = Annotated[str, typer.Argument(help="cycle code, e.g. dong-nai-ttdn-6-thang-2024-H1")]


def fail(message: str) -> typer.Exit:
    err.print(f"[red]lỗi:[/red] {message}", highlight=False)
    return typer.Exit(1)


def migrate() -> None:
    """Every command brings the schema to head first (cheap when it is there already)."""
    from models.db import migrate as upgrade

    upgrade()
