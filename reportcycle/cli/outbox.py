"""The outbox's commands: `outbox send`, `outbox resend`, and `mail-server`, the local SMTP
server."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from reportcycle.cli.common import NowOption, fail, migrate, out
from reportcycle.clock import parse_now, resolve_now

MessageArg = Annotated[int | None, typer.Argument(help="the message's id (see `status`)")]
CycleOption = Annotated[
    str | None, typer.Option("--cycle", help="every uncertain message of this cycle")
]
AllOption = Annotated[bool, typer.Option("--all-uncertain", help="every uncertain message")]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="do not ask for confirmation")]


def outbox_send(now: NowOption = None) -> None:
    """Send every due message now; rows a stopped sender left behind are resolved first."""
    from reportcycle.outbox.sending import send_outbox

    migrate()
    report = send_outbox(resolve_now(parse_now(now)))
    out.print(
        f"{report.sent} sent, {report.retried} to retry, {report.failed} failed; "
        f"{report.recovered} left by a stopped sender resolved "
        f"({report.uncertain} of them uncertain)."
    )


def outbox_resend(
    message: MessageArg = None,
    cycle: CycleOption = None,
    all_uncertain: AllOption = False,
    yes: YesOption = False,
    now: NowOption = None,
) -> None:
    """Put 'uncertain' messages back in the queue after checking they did not arrive: one by
    id, or every one of a cycle (--cycle) or of all cycles (--all-uncertain), after a list."""
    if sum([message is not None, cycle is not None, all_uncertain]) != 1:
        raise fail("name one message id, or --cycle CODE, or --all-uncertain (exactly one)")
    migrate()
    if message is not None:
        _resend_one(message, now)
    else:
        _resend_many(cycle, yes, now)


def _resend_one(message: int, now: str | None) -> None:
    from models.db import session
    from reportcycle.outbox.recovery import requeue_uncertain

    with session() as db:
        try:
            requeue_uncertain(db, message, resolve_now(parse_now(now)), "cli")
        except (LookupError, ValueError) as exc:
            raise fail(str(exc)) from None
        db.commit()
    out.print(f"thư {message} đã xếp gửi lại; thư đi cùng lượt chạy tiếp theo.")


def _resend_many(cycle: str | None, yes: bool, now: str | None) -> None:
    from models.db import session
    from reportcycle.lookup import find_cycle
    from reportcycle.outbox.recovery import requeue_uncertain, uncertain_messages

    with session() as db:
        try:
            cycle_id = find_cycle(db, cycle).id if cycle is not None else None
        except LookupError as exc:
            raise fail(str(exc)) from None
        rows = uncertain_messages(db, cycle_id)
        where = f"in cycle {cycle}" if cycle is not None else "in any cycle"
        if not rows:
            out.print(f"no uncertain message {where}; nothing to send again.")
            return
        out.print(f"{len(rows)} uncertain message(s) {where} will be sent again:")
        for row in rows:
            to = ", ".join(row.recipients)
            line = f"  #{row.id}  to {to}  «{row.subject}»  key {row.idempotency_key}"
            out.print(line, markup=False, highlight=False)
        _confirm(yes, len(rows))
        at = resolve_now(parse_now(now))
        for row in rows:
            assert row.id is not None
            requeue_uncertain(db, row.id, at, "cli")
        db.commit()
    out.print(f"{len(rows)} message(s) queued again; they go out with the next flow run.")


def _confirm(yes: bool, count: int) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        raise fail(
            "not sending again without a confirmation, and there is no terminal to ask on; "
            "check the list above with the recipients, then run again with --yes"
        )
    if not typer.confirm(f"Send these {count} message(s) again?", default=False):
        raise fail("nothing sent again (not confirmed)")


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
    group.command("send")(outbox_send)
    group.command("resend")(outbox_resend)
    app.add_typer(group, name="outbox")
    app.command("mail-server")(mail_server)
