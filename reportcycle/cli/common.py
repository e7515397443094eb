"""What every command shares: the consoles, the error exit, `--now`, the cycle argument."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

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


def to_json(value: Any, pad: str = "") -> str:
    """JSON for people and programs: objects indented, and a list of objects one object per
    line (a status of 5,000 units is 5,000 lines, not 340,000). Each line comes from the C
    encoder; `json.dumps(indent=2)` uses the pure-Python one, 0.43 s of a 5,000-unit status."""
    inner = pad + "  "
    if isinstance(value, dict) and value:
        items = (f"{inner}{_compact(k)}: {to_json(v, inner)}" for k, v in value.items())
        return "{\n" + ",\n".join(items) + f"\n{pad}}}"
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return "[\n" + ",\n".join(inner + _compact(v) for v in value) + f"\n{pad}]"
    return _compact(value)


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
