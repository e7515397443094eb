"""`reportcycle db`: the application database."""

from __future__ import annotations

import typer

from reportcycle.cli.common import migrate, out


def upgrade() -> None:
    """Create or migrate the database schema to the latest version."""
    from models.settings import get_settings

    migrate()
    out.print(f"cơ sở dữ liệu đã ở phiên bản mới nhất: {get_settings().db_url}")


def register(app: typer.Typer) -> None:
    group = typer.Typer(no_args_is_help=True, help="The application database.")
    group.command("upgrade")(upgrade)
    app.add_typer(group, name="db")
