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
from reportcycle.cycle.labels import label


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
        raise fail(
            f"lượt chạy {run_id} kết thúc ({state.name}) mà không có dự thảo: {state.message}"
        )
    summary = draft.summary
    out.print(f"dự thảo lần {draft.version} của {code}: {draft.path}", highlight=False)
    out.print(
        f"có phần của {summary['counted']}/{summary['units']} đơn vị; "
        f"{len(summary['review_notes'])} ghi chú rà soát ở cuối.",
        highlight=False,
    )
    for note in summary["review_notes"]:
        out.print(f"  - {note}", highlight=False)
    out.print(
        f"lượt chạy {run_id} ({state.name}) chờ quyết định: "
        f"`reportcycle approve {code} [--edited TỆP]` hoặc nút Resume trong Prefect UI"
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
    if edited is not None and not changes:
        _check_edited(code, edited)
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
        out.print(
            f"đã yêu cầu chỉnh sửa dự thảo lần {draft.version} của {code}; lượt chạy {state.name}."
        )
        return
    _print_final(code, draft, state)


def _check_edited(code: str, edited: Path) -> None:
    """A bad edited file is refused here, before the waiting run is given the decision: the
    run keeps waiting, and the next `approve` (with a good file, or none) still works."""
    from models.db import session
    from reportcycle.lookup import find_cycle, regime_of
    from reportcycle.report.approval import check_edited, read_edited
    from reportcycle.report.errors import ConsolidationError

    try:
        with session() as db:
            regime = regime_of(db, find_cycle(db, code))
        check_edited(edited, read_edited(edited), regime)
    except ConsolidationError as exc:
        raise fail(str(exc)) from None


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
        raise fail(f"{code} chưa có dự thảo; chạy `reportcycle consolidate {code}` trước")
    if draft.status == ReportStatus.APPROVED and (retry or unfinished):
        # Approved, its final or its distribution not done: the rerun finishes it, and
        # without --retry the flow run's state says why it cannot be decided again.
        return code, draft
    if draft.status != ReportStatus.AWAITING:
        raise fail(
            f"dự thảo lần {draft.version} của {code} đang ở trạng thái "
            f"“{label(draft.status)}”, không chờ quyết định; "
            f"chạy `reportcycle consolidate {code}` để có dự thảo mới"
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
        raise fail(f"lượt chạy {draft.flow_run_id} kết thúc ({state.name}): {state.message}")
    out.print(f"báo cáo số {final.number_text} đã phát hành cho {code}:", highlight=False)
    out.print(f"  DOCX: {final.path}\n  PDF:  {final.pdf_path}", highlight=False)
    if not state.is_completed():
        err.print(f"lượt chạy kết thúc ({state.name}): {state.message}", style="yellow")
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
        out.print(f"{found.code} chưa có phiên bản báo cáo nào.")
    for row in rows:
        number = f" {row.number_text}" if row.number_text else ""
        out.print(
            f"v{row.version:<3} {label(row.kind):<14} {label(row.status):<20}{number} "
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
        f"{regime.issuer.name}, năm {year}: báo cáo tiếp theo sẽ mang số "
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
    files = typer.Typer(no_args_is_help=True, help="The report files over HTTP (read-only).")
    files.command("serve")(files_serve)
    app.add_typer(files, name="files")


def files_serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port; set REPORTCYCLE_REPORTS_URL to match")] = 8766,
) -> None:
    """Serve HOME/reports read-only over HTTP, so the report artifact's links open."""
    from models.settings import get_settings
    from reportcycle.report.files_server import make_server, reports_root

    root = reports_root(get_settings())
    server = make_server(root, host, port)
    out.print(
        f"Phục vụ tệp báo cáo trong {root} tại http://{host}:{server.server_port}/ "
        f"(chỉ đọc; Ctrl+C để dừng). Đặt REPORTCYCLE_REPORTS_URL=http://{host}:"
        f"{server.server_port} để liên kết trong Prefect UI mở được.",
        highlight=False,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
