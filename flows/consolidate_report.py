"""Flow `consolidate-report`: render a draft, wait for the secretariat's decision, then number,
finalise and distribute the report (DESIGN §8).

The flow suspends after the draft with a Prefect input form (`Approval`): the run leaves its
process, and whoever resumes it (the Resume button of the Prefect UI, or `reportcycle
approve`) gives the decision. A resumed run starts again from the top, so everything before the
suspension is idempotent: the draft is looked up by the flow run's id.

Suspending needs a deployment; `start` registers `consolidate-report` (no schedule) and runs
the new flow run in this process, `resume` resumes one and runs the rest here unless a
`reportcycle serve` process, which serves the same deployment, picks it up first.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

from prefect import flow, get_run_logger
from prefect.artifacts import create_markdown_artifact
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun, StateType
from prefect.deployments.runner import RunnerDeployment
from prefect.exceptions import ObjectNotFound, Pause
from prefect.flow_engine import run_flow
from prefect.flow_runs import resume_flow_run, suspend_flow_run
from prefect.input import RunInput
from prefect.runtime import flow_run as current_run
from prefect.states import Cancelled, Scheduled, State
from prefect.types.entrypoint import EntrypointType
from pydantic import BaseModel, Field

from flows import heartbeat
from flows.artifacts import artifact_key, publish_cycle
from models.settings import get_settings
from reportcycle.clock import resolve_now
from reportcycle.report.approval import Decision
from reportcycle.report.errors import ConsolidationError
from reportcycle.report.files_server import file_url
from reportcycle.report.runs import VersionInfo, superseded_runs
from tasks.mail import send_outbox
from tasks.report import record_decision, render_draft

heartbeat.install()  # no 1 s wait for the heartbeat thread at the end of each run

DEPLOYMENT = "consolidate-report"


class Approval(RunInput):
    """The form the Prefect UI shows on Resume (and what `reportcycle approve` sends)."""

    decision: Literal["approve", "request_changes"] = Field(
        default="approve", description="approve: number and send; request_changes: stop here"
    )
    comment: str = Field(default="", description="a note kept with the decision")
    edited_docx: str | None = Field(
        default=None,
        description="path of an edited DOCX to issue instead of the draft "
        "(on the machine that runs the flow)",
    )
    decided_by: str = Field(default="secretariat", description="who decides")
    decided_at: datetime | None = Field(
        default=None, description="when (the report's date); empty: the time of resuming"
    )


class ConsolidateResult(BaseModel):
    cycle_code: str
    draft: VersionInfo
    decision: str  # "approved", "changes_requested"
    final: VersionInfo | None = None
    sent: int = 0
    failed: int = 0


@flow(name="consolidate-report", flow_run_name="consolidate {cycle}", log_prints=True)
def consolidate_report(cycle: str, now: datetime | None = None) -> ConsolidateResult:
    """Draft the report of `cycle` (code or id), then wait for the secretariat's decision."""
    at = resolve_now(now)
    run_id = current_run.id
    draft = render_draft(cycle, at, str(run_id) if run_id else None)
    if not draft.resumed:  # a resumed run published these before its suspension
        publish_cycle(draft.cycle_id)
        _publish_report(draft, "Dự thảo chờ phê duyệt")
    outcome, answer = _await_decision(cycle, draft)
    decided_at = resolve_now(answer.decided_at)
    if outcome.kind != "final":
        get_run_logger().warning("changes requested on draft %s: %s", draft.version, answer.comment)
        _publish_report(outcome, "Yêu cầu chỉnh sửa")
        return ConsolidateResult(
            cycle_code=draft.cycle_code, draft=draft, decision="changes_requested"
        )
    report = send_outbox(decided_at, draft.cycle_id)
    _publish_report(outcome, f"Báo cáo số {outcome.number} đã phát hành")
    return ConsolidateResult(
        cycle_code=draft.cycle_code,
        draft=draft,
        decision="approved",
        final=outcome,
        sent=report.sent,
        failed=report.failed,
    )


def report_file_line(label: str, path: str) -> str:
    """A link the browser opens (REPORTCYCLE_REPORTS_URL, `reportcycle files serve`), else
    the path to copy: browsers block file:// links from the UI's http page."""
    url = file_url(get_settings(), path)
    if url is None:
        return f"- {label}: `{path}` (mở từ máy chủ; `reportcycle files serve` cho liên kết)"
    return f"- {label}: [{Path(path).name}]({url})"


def _publish_report(info: VersionInfo, headline: str) -> None:
    lines = [
        f"## {headline} — {info.cycle_code}",
        "",
        f"- Phiên bản: {info.version} ({info.kind}, {info.status})",
    ]
    if info.number:
        lines.append(f"- Số: {info.number}")
    for label, path in (("Word", info.path), ("PDF", info.pdf_path)):
        if path:
            lines.append(report_file_line(label, path))
    summary = info.summary
    if "counted" in summary:
        lines.append(f"- Đơn vị có trong báo cáo: {summary['counted']}/{summary['units']}")
    notes = summary.get("review_notes") or []
    if notes and info.kind == "draft":
        lines += ["", "### Ghi chú rà soát", "", *(f"- {n}" for n in notes)]
    if info.kind == "draft":
        lines += [
            "",
            "Phê duyệt: nút **Resume** của lượt chạy này, hoặc "
            f"`reportcycle approve {info.cycle_code} [--edited TỆP.docx]`.",
        ]
    create_markdown_artifact(
        key=artifact_key("report", info.cycle_code),
        markdown="\n".join(lines),
        description=f"{headline} — {info.cycle_code}",
    )


# --- running it from the command line -----------------------------------------------------


REFUSED_FILES = 20  # bad edited files a run waits through before it gives up


def _await_decision(cycle: str, draft: VersionInfo) -> tuple[VersionInfo, Approval]:
    """Suspend for the decision and record it. An edited DOCX that cannot be made final is
    refused before a number is taken, and the run waits again under the next key: a rerun
    replays the inputs in order, so it lands on the same wait."""
    for attempt in range(REFUSED_FILES):
        key = f"approval-{draft.id}" + (f"-{attempt}" if attempt else "")
        answer = suspend_flow_run(wait_for_input=Approval, key=key)
        decision = Decision(
            approve=answer.decision == "approve",
            at=resolve_now(answer.decided_at),
            comment=answer.comment,
            edited=Path(answer.edited_docx) if answer.edited_docx else None,
            actor=answer.decided_by,
        )
        try:
            return record_decision(cycle, draft.id, decision), answer
        except ConsolidationError as exc:
            if decision.edited is None:
                raise
            get_run_logger().error("%s", exc)
            _publish_report(draft, f"Tệp đã sửa bị từ chối, dự thảo vẫn chờ phê duyệt: {exc}")
    raise ConsolidationError(f"{REFUSED_FILES} edited files refused; run `consolidate` again")


def deployment() -> RunnerDeployment:
    built = consolidate_report.to_deployment(
        name=DEPLOYMENT,
        description="Draft, approval, number, final DOCX/PDF and distribution of a report.",
        tags=["reportcycle"],
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    if not isinstance(built, RunnerDeployment):
        raise TypeError("deployment() was called from a running event loop")
    return built


def start(cycle_code: str, now: datetime | None) -> tuple[UUID, State[Any]]:
    """Register the deployment, create a run of it, and run it here up to its suspension."""
    deployment_id = _deployment_id()
    parameters: dict[str, Any] = {"cycle": cycle_code, "now": now}
    with get_client(sync_client=True) as client:
        created = client.create_flow_run_from_deployment(
            deployment_id,
            parameters={"cycle": cycle_code, "now": now.isoformat() if now else None},
            tags=["reportcycle", f"cycle:{cycle_code}"],
        )
    state = _execute(created, parameters)
    if state.is_paused():
        _cancel_superseded(cycle_code, keep=created.id)
    return created.id, state


def _cancel_superseded(cycle_code: str, *, keep: UUID) -> None:
    """Runs still waiting on an older draft of the cycle: that draft is superseded, so its
    run is cancelled rather than left suspended in the UI for ever."""
    waiting = superseded_runs(cycle_code)
    with get_client(sync_client=True) as client:
        for run_id, version in waiting:
            if UUID(run_id) == keep:
                continue
            try:
                found = client.read_flow_run(UUID(run_id))
            except ObjectNotFound:
                continue
            if found.state is not None and found.state.is_paused():
                client.set_flow_run_state(
                    found.id,
                    Cancelled(message=f"draft {version} was superseded by a newer draft"),
                    force=True,
                )


def _deployment_id() -> UUID:
    """The registered deployment (by `reportcycle serve`, `prefect deploy` or an earlier
    run), or a new one without a schedule; an existing one is kept as it is, work pool and all."""
    with get_client(sync_client=True) as client:
        try:
            return client.read_deployment_by_name(f"{consolidate_report.name}/{DEPLOYMENT}").id
        except ObjectNotFound:
            pass
    deployment_id = deployment().apply()
    if not isinstance(deployment_id, UUID):  # apply() is async when called from a loop
        raise TypeError("start() was called from a running event loop")
    return deployment_id


def resume(flow_run_id: UUID, answer: Approval, *, retry: bool = False) -> State[Any]:
    """Give the decision to a suspended run and run the rest of it here.

    A run whose process died after it was resumed (Crashed, Failed, or with `retry` still
    Running) is run again from the top: it finds its draft, its decision (Prefect keeps the
    input) and, if it got that far, its number, so nothing is done twice."""
    with get_client(sync_client=True) as client:
        try:
            found = client.read_flow_run(flow_run_id)
        except ObjectNotFound:
            raise RuntimeError(
                f"lượt chạy {flow_run_id} không có trên Prefect server {client.api_url}; "
                "PREFECT_API_URL có phải server mà `consolidate` đã chạy không? Nếu không, chạy "
                "`reportcycle consolidate` để có dự thảo mới"
            ) from None
    state = found.state
    died = {StateType.CRASHED, StateType.FAILED} | (
        {StateType.RUNNING, StateType.PENDING} if retry else set()
    )
    if state is not None and state.is_paused():
        resume_flow_run(flow_run_id, run_input=answer.model_dump(mode="json"))
    elif state is not None and state.type in died:
        with get_client(sync_client=True) as client:
            client.set_flow_run_state(
                flow_run_id, Scheduled(message="run again after its process died"), force=True
            )
    elif state is None or state.type != StateType.SCHEDULED:
        hint = (
            " Nếu tiến trình chạy nó đã dừng, chạy `reportcycle approve --retry`."
            if state is not None and state.type in (StateType.RUNNING, StateType.PENDING)
            else " Chạy `reportcycle consolidate` để có dự thảo mới."
        )
        raise RuntimeError(
            f"lượt chạy {flow_run_id} đang ở trạng thái {state.name if state else 'không rõ'}, "
            f"không chờ quyết định.{hint}"
        )
    with get_client(sync_client=True) as client:
        found = client.read_flow_run(flow_run_id)
    parameters = dict(found.parameters)
    return _execute(found, {"cycle": parameters["cycle"], "now": parameters.get("now")})


def _execute(run: FlowRun, parameters: dict[str, Any]) -> State[Any]:
    try:
        state = run_flow(
            consolidate_report, flow_run=run, parameters=parameters, return_type="state"
        )
    except Pause as suspended:  # the run left this process to wait for its decision
        if suspended.state is None:
            raise
        return suspended.state
    if not isinstance(state, State):
        raise TypeError(f"unexpected result of run_flow: {state!r}")
    return state
