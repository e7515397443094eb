"""The outbox's commands: `outbox resend`, and `mail-server`, the local SMTP server."""

from __future__ import annotations

from typing import Annotated

import typer

from reportcycle.cli.common import NowOption, fail, migrate, out
from reportcycle.clock import parse_now, resolve_now


def outbox_resend(message: int, now: NowOption = None) -> None:
    """Put an 'uncertain' message back in the queue after checking it did not arrive."""
    from models.db import session
    from reportcycle.outbox.recovery import requeue_uncertain

    migrate()
    with session() as db:
        try:
            requeue_uncertain(db, message, resolve_now(parse_now(now)), "cli")
        except (LookupError, ValueError) as exc:
            raise fail(str(exc)) from None
        db.commit()
    out.print(f"thư {message} đã xếp gửi lại; thư đi cùng lượt chạy tiếp theo.")


def mail_server(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8025,
) -> None:
    """Run the local SMTP server that delivers every message into HOME/mail/sent."""
    from models.settings import get_settings
    from reportcycle.outbox.local_server import run_mail_server

    maildir = get_settings().sent_maildir
    out.print(f"SMTP tại {host}:{port}, thư lưu vào {maildir} (Ctrl+C để dừng)")
    run_mail_server(maildir, host, port)


def register(app: typer.Typer) -> None:
    group = typer.Typer(no_args_is_help=True, help="The outbox of emails to send.")
    group.command("resend")(outbox_resend)
    app.add_typer(group, name="outbox")
    app.command("mail-server")(mail_server)
