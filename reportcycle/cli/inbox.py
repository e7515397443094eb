"""The inbox's commands: `collect`, and `review list/accept/reject/retry` for the replies the
collector does not accept alone."""

from __future__ import annotations

from typing import Annotated

import typer

from reportcycle.cli.common import NowOption, fail, migrate, out, to_json
from reportcycle.clock import parse_now, resolve_now
from reportcycle.cycle.labels import counts


def collect(now: NowOption = None) -> None:
    """Read new replies from the inbox, store, match, acknowledge; print the outcomes."""
    from flows.collect_submissions import collect_submissions
    from reportcycle.inbox.mailbox import MailSourceError

    try:
        at = parse_now(now)
    except ValueError as exc:
        raise fail(str(exc)) from None
    migrate()
    try:
        result = collect_submissions(at)
    except MailSourceError as exc:
        raise fail(str(exc)) from None
    outcomes = counts(result.outcomes) or "không có"
    out.print(
        f"Đã đọc {result.fetched} thư, {result.stored} thư mới; kết quả: {outcomes}; "
        f"{result.replies_sent} biên nhận/thư trả lời đã gửi."
    )


def review_list(
    cycle: Annotated[str | None, typer.Option(help="only this cycle")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    rejected: Annotated[
        bool, typer.Option("--rejected", help="also the messages refused without a person")
    ] = False,
) -> None:
    """Replies waiting for a decision, with why (--rejected: and every refused message)."""
    from models.db import session
    from reportcycle.cli.views import review_table
    from reportcycle.inbox.review import pending_reviews, rejected_messages

    migrate()
    with session() as db:
        rows = pending_reviews(db, cycle)
        refused = rejected_messages(db, cycle)
    if rejected:
        rows += refused
    if as_json:
        typer.echo(to_json(rows))
        return
    review_table(out, rows)
    if refused and not rejected:
        out.print(
            f"{len(refused)} message(s) were refused and their senders told why; "
            "see them with `reportcycle review list --rejected`."
        )


def _decide(submission: int, accept: bool, note: str | None, now: str | None) -> None:
    from models.db import session
    from models.settings import get_settings
    from reportcycle.inbox.review import decide
    from reportcycle.outbox.sending import send_outbox

    migrate()
    at = resolve_now(parse_now(now))
    with session() as db:
        try:
            decide(
                db,
                submission_id=submission,
                accept=accept,
                note=note,
                actor="cli",
                settings=get_settings(),
                now=at,
            )
        except (LookupError, ValueError) as exc:
            raise fail(str(exc)) from None
        db.commit()
    report = send_outbox(at)
    verb = "đã chấp nhận: được đưa vào báo cáo" if accept else "đã từ chối: đơn vị được báo lý do"
    out.print(f"bản gửi {submission} {verb} ({report.sent} thư đã gửi).")


def review_accept(
    submission: int,
    note: Annotated[str | None, typer.Option(help="kept in the audit trail")] = None,
    now: NowOption = None,
) -> None:
    """Accept a submission waiting for review; the unit gets its receipt."""
    _decide(submission, True, note, now)


def review_reject(
    submission: int,
    note: Annotated[str, typer.Option(help="what the unit must fix (sent to it)")],
    now: NowOption = None,
) -> None:
    """Reject a submission waiting for review; the unit is told what to fix."""
    _decide(submission, False, note, now)


def review_retry(message: int, now: NowOption = None) -> None:
    """Process again a message that failed with an error (after the cause is fixed)."""
    from models.db import session
    from reportcycle.inbox.review import retry

    migrate()
    with session() as db:
        try:
            retry(db, message_id=message, actor="cli", now=resolve_now(parse_now(now)))
        except (LookupError, ValueError) as exc:
            raise fail(str(exc)) from None
        db.commit()
    out.print(f"thư {message} sẽ được xử lý lại ở lần `reportcycle collect` tiếp theo.")


def register(app: typer.Typer) -> None:
    app.command("collect")(collect)
    group = typer.Typer(no_args_is_help=True, help="Replies waiting for a person's decision.")
    group.command("list")(review_list)
    group.command("accept")(review_accept)
    group.command("reject")(review_reject)
    group.command("retry")(review_retry)
    app.add_typer(group, name="review")
