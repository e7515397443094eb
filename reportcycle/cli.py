"""The `reportcycle` command line."""

from __future__ import annotations

import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from reportcycle.clock import parse_now
from reportcycle.cycles import SuperiorRequest
from reportcycle.regime import Regime, RegimeError, load_regime

# No telemetry from the temporary Prefect server: these machines have no route out.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Periodic reporting cycles: request, collect, chase, consolidate.",
)
db_app = typer.Typer(no_args_is_help=True, help="The application database.")
regime_app = typer.Typer(no_args_is_help=True, help="Regime files (chế độ báo cáo).")
cycle_app = typer.Typer(no_args_is_help=True, help="Reporting cycles.")
outbox_app = typer.Typer(no_args_is_help=True, help="The outbox of emails to send.")
review_app = typer.Typer(no_args_is_help=True, help="Replies waiting for a person's decision.")
app.add_typer(review_app, name="review")
app.add_typer(db_app, name="db")
app.add_typer(regime_app, name="regime")
app.add_typer(cycle_app, name="cycle")
app.add_typer(outbox_app, name="outbox")
# Piped output (make demo, logs) gets room for the status table instead of 80 columns.
_WIDTH = None if sys.stdout.isatty() else 160
out = Console(soft_wrap=True, width=_WIDTH)
err = Console(stderr=True, soft_wrap=True)

NowOption = Annotated[
    str | None, typer.Option("--now", help="ISO-8601 time to act at (default: the clock)")
]


def fail(message: str) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(1)


def _migrate() -> None:
    from models.db import migrate

    migrate()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database schema to the latest version."""
    from models.settings import get_settings

    _migrate()
    out.print(f"database at head: {get_settings().db_url}")


@regime_app.command("check")
def regime_check(path: Path) -> None:
    """Validate a regime file; print every error at once, or a one-screen summary."""
    from reportcycle.cli_views import regime_summary

    try:
        loaded = load_regime(path)
    except FileNotFoundError:
        raise fail(f"{path}: no such file") from None
    except RegimeError as exc:
        for issue in exc.issues:
            err.print(str(issue), highlight=False, markup=False)
        err.print(f"{len(exc.issues)} error(s) in {path}", style="red")
        raise typer.Exit(1) from None
    regime_summary(out, loaded.regime)


@cycle_app.command("open")
def cycle_open(
    regime_file: Path,
    period: Annotated[str, typer.Option(help="e.g. 2024-H1, 2024-Q3, 2024-M07, 2024")],
    request_ref: Annotated[
        str | None, typer.Option(help="superior's document, 2608/CV/BTGTU")
    ] = None,
    request_date: Annotated[str | None, typer.Option(help="its date, 2024-06-10")] = None,
    request_from: Annotated[str | None, typer.Option(help="its sender")] = None,
    now: NowOption = None,
) -> None:
    """Open a cycle: one request per unit, each emailed with its DOCX form."""
    from flows.open_cycle import open_cycle

    try:
        at = parse_now(now)
        loaded = load_regime(regime_file)
        request = _superior_request(request_ref, request_date, request_from, loaded.regime)
    except RegimeError as exc:
        raise fail(f"regime file is invalid (run `reportcycle regime check`):\n{exc}") from None
    except (ValueError, FileNotFoundError) as exc:
        raise fail(str(exc)) from None
    _migrate()
    result = open_cycle(str(regime_file.resolve()), period, request, at)
    if not result.created and result.queued == 0 and result.sent == 0:
        out.print(f"cycle {result.cycle_code} is already open; nothing created, nothing sent.")
    else:
        verb = "opened" if result.created else "resumed"
        out.print(
            f"cycle {result.cycle_code} {verb}: {result.queued} request(s) queued, "
            f"{result.sent} sent, {result.failed} failed."
        )
    if result.failed:
        err.print(f"see `reportcycle status {result.cycle_code}` for the failures", style="yellow")
        raise typer.Exit(2)


def _superior_request(
    ref: str | None, on: str | None, sender: str | None, regime: Regime
) -> SuperiorRequest | None:
    if ref is None and on is None and sender is None:
        return None
    if ref is None or on is None:
        raise ValueError(
            "--request-ref and --request-date go together (and --request-from, "
            "unless the regime names a requester)"
        )
    sender = sender or (regime.requester.name if regime.requester else None)
    if sender is None:
        raise ValueError("--request-from is needed: the regime names no requester")
    try:
        when = date.fromisoformat(on)
    except ValueError:
        raise ValueError(f"--request-date {on!r} is not a date like 2024-06-10") from None
    return SuperiorRequest(ref=ref, date=when, sender=sender)


@app.command("status")
def status(
    cycle: Annotated[str, typer.Argument(help="cycle code, e.g. dong-nai-ttdn-6-thang-2024-H1")],
    as_json: Annotated[bool, typer.Option("--json", help="the documented JSON schema")] = False,
) -> None:
    """One line per unit: request sent, when, failures."""
    from models.db import session
    from reportcycle.cli_views import status_table
    from reportcycle.status import cycle_status, find_cycle

    _migrate()
    with session() as db:
        try:
            data = cycle_status(db, find_cycle(db, cycle))
        except LookupError as exc:
            raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        status_table(out, data)


@app.command("collect")
def collect_command(now: NowOption = None) -> None:
    """Read new replies from the inbox, store, match, acknowledge; print the outcomes."""
    from flows.collect_submissions import collect_submissions
    from reportcycle.mailin import MailSourceError

    try:
        at = parse_now(now)
    except ValueError as exc:
        raise fail(str(exc)) from None
    _migrate()
    try:
        result = collect_submissions(at)
    except MailSourceError as exc:
        raise fail(str(exc)) from None
    outcomes = ", ".join(f"{k}: {v}" for k, v in sorted(result.outcomes.items())) or "none"
    out.print(
        f"{result.fetched} message(s) read, {result.stored} new; outcomes: {outcomes}; "
        f"{result.replies_sent} answer(s) sent."
    )


@app.command("chase")
def chase_command(now: NowOption = None) -> None:
    """Send the reminders and escalations due now, and the secretariat's daily digest."""
    from flows.chase_late_units import chase_late_units

    try:
        at = parse_now(now)
    except ValueError as exc:
        raise fail(str(exc)) from None
    _migrate()
    result = chase_late_units(at)
    if result.skipped and not result.reminders:
        out.print(f"nothing sent: {result.skipped}.")
        return
    reminded = ", ".join(f"{unit} (lần {rung})" for unit, rung in result.reminders.items())
    out.print(
        f"{len(result.reminders)} reminder(s) queued{': ' + reminded if reminded else ''};"
        f" {result.digests} digest(s); {result.sent} message(s) sent."
    )


@app.command("serve")
def serve_command(
    regime_files: Annotated[
        list[Path] | None, typer.Argument(help="regimes to schedule (default: regimes/*.yaml)")
    ] = None,
    limit: Annotated[int, typer.Option(help="flow runs at once in this process")] = 4,
) -> None:
    """Serve every flow as a Prefect deployment on its schedule (Asia/Ho_Chi_Minh); Ctrl+C
    stops. Watch them in the Prefect UI."""
    from flows.serve import serve_all
    from reportcycle.schedules import deployment_specs

    paths = regime_files or sorted(Path("regimes").glob("*.yaml"))
    if not paths:
        raise fail("no regime files: give them as arguments, or run from the repository")
    for path in paths:
        try:
            load_regime(path)
        except (RegimeError, FileNotFoundError) as exc:
            raise fail(f"{path}: {exc}") from None
    _migrate()
    for spec in deployment_specs(paths):
        out.print(f"deployment {spec.name}: {spec.cron} ({spec.timezone})", highlight=False)
    serve_all(paths, limit=limit)


@review_app.command("list")
def review_list(
    cycle: Annotated[str | None, typer.Option(help="only this cycle")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Replies waiting for a decision, with why."""
    from models.db import session
    from reportcycle.cli_views import review_table
    from reportcycle.review import pending_reviews

    _migrate()
    with session() as db:
        rows = pending_reviews(db, cycle)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    else:
        review_table(out, rows)


def _decide(submission: int, accept: bool, note: str | None, now: str | None) -> None:
    from models.db import session
    from models.settings import get_settings
    from reportcycle.clock import resolve_now
    from reportcycle.review import decide
    from tasks.mail import send_outbox_now

    _migrate()
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
    report = send_outbox_now(at)
    verb = "accepted: it counts now" if accept else "rejected: the unit is told why"
    out.print(f"submission {submission} {verb} ({report.sent} message(s) sent).")


@review_app.command("accept")
def review_accept(
    submission: int,
    note: Annotated[str | None, typer.Option(help="kept in the audit trail")] = None,
    now: NowOption = None,
) -> None:
    """Accept a submission waiting for review; the unit gets its receipt."""
    _decide(submission, True, note, now)


@review_app.command("reject")
def review_reject(
    submission: int,
    note: Annotated[str, typer.Option(help="what the unit must fix (sent to it)")],
    now: NowOption = None,
) -> None:
    """Reject a submission waiting for review; the unit is told what to fix."""
    _decide(submission, False, note, now)


@review_app.command("retry")
def review_retry(message: int, now: NowOption = None) -> None:
    """Process again a message that failed with an error (after the cause is fixed)."""
    from models.db import session
    from reportcycle.clock import resolve_now
    from reportcycle.review import retry

    _migrate()
    with session() as db:
        try:
            retry(db, message_id=message, actor="cli", now=resolve_now(parse_now(now)))
        except (LookupError, ValueError) as exc:
            raise fail(str(exc)) from None
        db.commit()
    out.print(f"message {message} will be processed again by the next `reportcycle collect`.")


@outbox_app.command("resend")
def outbox_resend(message: int, now: NowOption = None) -> None:
    """Put an 'uncertain' message back in the queue after checking it did not arrive."""
    from models.db import session
    from reportcycle.clock import resolve_now
    from reportcycle.outbox import requeue_uncertain

    _migrate()
    with session() as db:
        try:
            requeue_uncertain(db, message, resolve_now(parse_now(now)), "cli")
        except (LookupError, ValueError) as exc:
            raise fail(str(exc)) from None
        db.commit()
    out.print(f"message {message} queued again; it goes out with the next flow run.")


@app.command("mail-server")
def mail_server(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8025,
) -> None:
    """Run the local SMTP server that delivers every message into HOME/mail/sent."""
    from models.settings import get_settings
    from reportcycle.mailserver import run_mail_server

    maildir = get_settings().sent_maildir
    out.print(f"SMTP on {host}:{port}, delivering into {maildir} (Ctrl+C stops)")
    run_mail_server(maildir, host, port)


# The report's commands (consolidate, approve, cycle set-text, report …) live in their own module.
import reportcycle.demo  # noqa: E402, F401  (the `demo` command)
from reportcycle import cli_report  # noqa: E402, F401

if __name__ == "__main__":
    # `python -m reportcycle.cli` runs this file as __main__; cli_report registered its commands
    # on the app of the module imported under its own name.
    from reportcycle.cli import app as registered

    registered()
