"""The report's commands: `consolidate`, `approve`, `report list`, `report numbering`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from prefect.client.schemas.objects import State
    from sqlmodel import Session

    from models.report import ReportVersion
    from models.tables import Cycle

from reportcycle.cli.common import CycleArg, NowOption, err, fail, migrate, out
from reportcycle.clock import parse_now, resolve_now


def consolidate(cycle: CycleArg, now: NowOption = None) -> None:
    """Render a new draft of the consolidated report (flow `consolidate-report`); the run then
    waits for the decision: `reportcycle approve` or Resume in the Prefect UI."""
    from flows.consolidate_report import start
    from models.db import session
    from reportcycle.lookup import find_cycle
    from reportcycle.report.drafts import latest_draft

    migrate()
    try:
        at = parse_now(now)
        with session() as db:
            code = find_cycle(db, cycle).code
    except (LookupError, ValueError) as exc:
        raise fail(str(exc)) from None
    run_id, state = start(code, at)
    with session() as db:
        draft = latest_draft(db, find_cycle(db, code))
    if draft is None or draft.flow_run_id != str(run_id):
        raise fail(f"flow run {run_id} ended {state.name} without a draft: {state.message}")
    summary = draft.summary
    out.print(f"draft {draft.version} of {code}: {draft.path}", highlight=False)
    out.print(
        f"{summary['counted']}/{summary['units']} unit(s) in it; "
        f"{len(summary['review_notes'])} review note(s) at its end.",
        highlight=False,
    )
    for note in summary["review_notes"]:
        out.print(f"  - {note}", highlight=False)
    out.print(
        f"flow run {run_id} is {state.name}, waiting for the decision: "
        f"`reportcycle approve {code} [--edited FILE]` or Resume in the Prefect UI"
        f"{_ui_link(run_id)}.",
        highlight=False,
    )


def approve(
    cycle: CycleArg,
    edited: Annotated[
        Path | None, typer.Option(help="an edited DOCX of the draft to issue instead")
    ] = None,
    changes: Annotated[
        bool, typer.Option("--request-changes", help="do not issue; ask for changes")
    ] = False,
    comment: Annotated[str, typer.Option(help="a note kept with the decision")] = "",
    by: Annotated[str, typer.Option(help="who decides")] = "secretariat",
    retry: Annotated[
        bool, typer.Option(help="run again an approval whose process died half-way")
    ] = False,
    now: NowOption = None,
) -> None:
    """Decide on the latest draft: approve (number, final DOCX and PDF, send to the recipients)
    or --request-changes. Resumes the waiting `consolidate-report` run."""
    from uuid import UUID

    from flows.consolidate_report import Approval, resume

    migrate()
    try:
        at = parse_now(now)
    except ValueError as exc:
        raise fail(str(exc)) from None
    code, draft = _decidable_draft(cycle, retry=retry)
    if edited is not None and not edited.is_file():
        raise fail(f"{edited}: no such file")
    answer = Approval(
        decision="request_changes" if changes else "approve",
        comment=comment,
        edited_docx=str(edited.resolve()) if edited else None,
        decided_by=by,
        decided_at=at,
    )
    try:
        state = resume(UUID(draft.flow_run_id or ""), answer, retry=retry)
    except RuntimeError as exc:
        raise fail(str(exc)) from None
    if changes:
        out.print(f"changes requested on draft {draft.version} of {code}; flow run {state.name}.")
        return
    _print_final(code, draft, state)


def _decidable_draft(cycle: str, *, retry: bool) -> tuple[str, ReportVersion]:
    """The cycle's code and its latest draft, if a decision can be taken on it now."""
    from models.db import session
    from models.report import ReportStatus
    from reportcycle.lookup import find_cycle
    from reportcycle.report.drafts import latest_draft

    try:
        with session() as db:
            found = find_cycle(db, cycle)
            code, draft = found.code, latest_draft(db, found)
            unfinished = _approval_unfinished(db, found)
    except LookupError as exc:
        raise fail(str(exc)) from None
    if draft is None or draft.flow_run_id is None:
        raise fail(f"{code} has no draft yet; run `reportcycle consolidate {code}` first")
    if draft.status == ReportStatus.APPROVED and (retry or unfinished):
        # Approved, its final or its distribution not done: the rerun finishes it, and
        # without --retry the flow run's state says why it cannot be decided again.
        return code, draft
    if draft.status != ReportStatus.AWAITING:
        raise fail(
            f"draft {draft.version} of {code} is {draft.status}, not awaiting a decision; "
            f"run `reportcycle consolidate {code}` for a new draft"
        )
    return code, draft


def _approval_unfinished(db: Session, cycle: Cycle) -> bool:
    """No final yet, or a distribution email still waiting to go (its process died)."""
    from sqlmodel import col, select

    from models.tables import MessageStatus, OutboundMessage
    from reportcycle.report.drafts import final_of

    if final_of(db, cycle) is None:
        return True
    pending = select(OutboundMessage.id).where(
        OutboundMessage.cycle_id == cycle.id,
        OutboundMessage.kind == "distribution",
        col(OutboundMessage.status).in_([MessageStatus.QUEUED, MessageStatus.SENDING]),
    )
    return db.exec(pending).first() is not None


def _print_final(code: str, draft: ReportVersion, state: State) -> None:
    from models.db import session
    from reportcycle.lookup import find_cycle
    from reportcycle.report.drafts import final_of

    with session() as db:
        final = final_of(db, find_cycle(db, code))
    if final is None:
        raise fail(f"flow run {draft.flow_run_id} ended {state.name}: {state.message}")
    out.print(f"report {final.number_text} issued for {code}:", highlight=False)
    out.print(f"  DOCX: {final.path}\n  PDF:  {final.pdf_path}", highlight=False)
    if not state.is_completed():
        err.print(f"the flow run ended {state.name}: {state.message}", style="yellow")
        raise typer.Exit(2)


def report_list(cycle: CycleArg) -> None:
    """Every version of a cycle's report: drafts, edited copies, the final."""
    from models.db import session
    from reportcycle.lookup import find_cycle
    from reportcycle.report.drafts import versions_of

    migrate()
    with session() as db:
        try:
            found = find_cycle(db, cycle)
        except LookupError as exc:
            raise fail(str(exc)) from None
        rows = versions_of(db, found)
    if not rows:
        out.print(f"{found.code} has no report version yet.")
    for row in rows:
        number = f" {row.number_text}" if row.number_text else ""
        out.print(
            f"v{row.version:<3} {row.kind:<7} {row.status:<18}{number} "
            f"{row.created_at:%Y-%m-%d %H:%M} {row.path}",
            highlight=False,
        )


def report_numbering(
    regime_file: Path,
    year: Annotated[int, typer.Option(help="the year of the register")],
    last: Annotated[int, typer.Option(help="the last number already given that year")],
    now: NowOption = None,
) -> None:
    """Align the document counter with the clerk's register: the next report gets last + 1."""
    from models.db import session
    from reportcycle.regime.loading import RegimeError, load_regime
    from reportcycle.report.numbering import set_counter

    if last < 0:
        raise fail("--last must be 0 or more")
    try:
        regime = load_regime(regime_file).regime
        at = resolve_now(parse_now(now))
    except (RegimeError, FileNotFoundError, ValueError) as exc:
        raise fail(str(exc)) from None
    migrate()
    with session() as db:
        set_counter(db, regime, year=year, last=last, at=at)
        db.commit()
    out.print(
        f"{regime.issuer.name}, {year}: the next report will be "
        f"{last + 1:02d}/{regime.issuer.symbol}."
    )


def _ui_link(run_id: object) -> str:
    import os

    api = os.environ.get("PREFECT_API_URL", "")
    if not api:
        return ""
    return f" ({api.removesuffix('/api').rstrip('/')}/runs/flow-run/{run_id})"


def register(app: typer.Typer) -> None:
    app.command("consolidate")(consolidate)
    app.command("approve")(approve)
    group = typer.Typer(no_args_is_help=True, help="Report versions and document numbers.")
    group.command("list")(report_list)
    group.command("numbering")(report_numbering)
    app.add_typer(group, name="report")
