"""The cycle's commands: `cycle open`, `cycle set-text`, `status`, `chase`."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from reportcycle.cli.common import CycleArg, NowOption, err, fail, migrate, out, to_json
from reportcycle.clock import parse_now, resolve_now

if TYPE_CHECKING:  # the regime's modules are imported by the commands that need them
    from reportcycle.regime.loading import LoadedRegime
    from reportcycle.regime.schema import Regime
    from reportcycle.superior_request import SuperiorRequest


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
    from reportcycle.regime.loading import RegimeError, load_regime

    try:
        at = parse_now(now)
        loaded = load_regime(regime_file)
        request = _superior_request(request_ref, request_date, request_from, loaded.regime)
    except RegimeError as exc:
        raise fail(
            f"tệp chế độ báo cáo không hợp lệ (chạy `reportcycle regime check`):\n{exc}"
        ) from None
    except (ValueError, FileNotFoundError) as exc:
        raise fail(str(exc)) from None
    migrate()
    _check_parent(loaded, period)
    result = open_cycle(str(regime_file.resolve()), period, request, at)
    if not result.created and result.queued == 0 and result.sent == 0:
        out.print(f"kỳ {result.cycle_code} đã mở từ trước; không tạo thêm, không gửi gì.")
    else:
        verb = "đã mở" if result.created else "tiếp tục"
        out.print(
            f"kỳ {result.cycle_code} {verb}: {result.queued} yêu cầu xếp gửi, "
            f"{result.sent} đã gửi, {result.failed} gửi lỗi."
        )
    if result.failed:
        err.print(f"xem lỗi bằng `reportcycle status {result.cycle_code}`", style="yellow")
        raise typer.Exit(2)


def _check_parent(loaded: LoadedRegime, period: str) -> None:
    """A regime that reports up needs its parent's cycle: said here, not as a flow failure."""
    from models.db import session
    from reportcycle.calendar.periods import parse_period
    from reportcycle.cycle.parents import child_deadline
    from reportcycle.regime.loading import RegimeError

    if loaded.regime.parent is None:
        return
    try:
        with session() as db:
            child_deadline(db, loaded, parse_period(period).code)
    except RegimeError as exc:
        raise fail(str(exc)) from None
    except ValueError:
        return  # a malformed period: the flow says what is wrong with it


def _superior_request(
    ref: str | None, on: str | None, sender: str | None, regime: Regime
) -> SuperiorRequest | None:
    from reportcycle.superior_request import SuperiorRequest

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


def cycle_set_text(
    cycle: CycleArg,
    section: Annotated[str, typer.Argument(help="section code, e.g. 1 or 4")],
    file: Annotated[Path, typer.Argument(help="a UTF-8 .txt or a .docx; one paragraph a line")],
    now: NowOption = None,
) -> None:
    """Give the text of a section the secretariat writes itself (context, next steps); the
    next `consolidate` uses it. Lines starting with "- " become bullets."""
    from models.db import session
    from reportcycle.lookup import find_cycle
    from reportcycle.report.errors import ConsolidationError
    from reportcycle.report.texts import read_text_file, set_text

    migrate()
    try:
        at = resolve_now(parse_now(now))
        paragraphs = read_text_file(file)
        with session() as db:
            found = find_cycle(db, cycle)
            set_text(db, found, section, paragraphs, source_name=file.name, now=at, actor="cli")
            db.commit()
    except (ConsolidationError, LookupError, ValueError) as exc:
        raise fail(str(exc)) from None
    out.print(f"mục {section} của {cycle}: {len(paragraphs)} đoạn từ {file.name}.")


def status(
    cycle: Annotated[str, typer.Argument(help="cycle code, e.g. dong-nai-ttdn-6-thang-2024-H1")],
    as_json: Annotated[bool, typer.Option("--json", help="the documented JSON schema")] = False,
    compare: Annotated[
        str | None,
        typer.Option(help="an earlier cycle's code: each unit against its predecessors then"),
    ] = None,
) -> None:
    """One line per unit: request sent, when, failures."""
    from models.db import session
    from reportcycle.cli.views import comparison_table, status_table
    from reportcycle.cycle.status import cycle_status
    from reportcycle.lookup import find_cycle

    migrate()
    with session() as db:
        try:
            found = find_cycle(db, cycle)
            if compare is not None:
                from reportcycle.cycle.history import compare_cycles

                data = compare_cycles(db, found, find_cycle(db, compare))
            else:
                data = cycle_status(db, found)
        except LookupError as exc:
            raise fail(str(exc)) from None
    if as_json:
        typer.echo(to_json(data))
    elif compare is not None:
        comparison_table(out, data)
    else:
        status_table(out, data)


def chase(now: NowOption = None) -> None:
    """Send the reminders and escalations due now, and the secretariat's daily digest."""
    from flows.chase_late_units import chase_late_units

    try:
        at = parse_now(now)
    except ValueError as exc:
        raise fail(str(exc)) from None
    migrate()
    result = chase_late_units(at)
    if result.skipped and not result.reminders:
        out.print(f"không gửi gì: {result.skipped}.")
        return
    reminded = ", ".join(f"{unit} (lần {rung})" for unit, rung in result.reminders.items())
    out.print(
        f"{len(result.reminders)} thư nhắc xếp gửi{': ' + reminded if reminded else ''};"
        f" {result.digests} bản tổng hợp; {result.sent} thư đã gửi."
    )


def register(app: typer.Typer) -> None:
    group = typer.Typer(no_args_is_help=True, help="Reporting cycles.")
    group.command("open")(cycle_open)
    group.command("set-text")(cycle_set_text)
    app.add_typer(group, name="cycle")
    app.command("status")(status)
    app.command("chase")(chase)
