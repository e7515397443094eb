"""The consolidate-report flow against a real Prefect server: it suspends after the draft with
an input form, and a decision given the way the UI gives it (Prefect's resume with the form's
values) is carried out by the next process that runs the flow run."""

from __future__ import annotations

import os
import signal
import subprocess
from datetime import datetime

import pytest
from prefect.client.orchestration import get_client
from prefect.flow_runs import resume_flow_run
from sqlmodel import select

from flows.artifacts import artifact_key
from flows.consolidate_report import Approval, resume, start
from models.db import session
from models.report import IssuedNumber, ReportStatus, ReportVersion
from models.settings import Settings
from models.tables import OutboundMessage
from reportcycle.clock import VN_TZ
from tests.factories import maildir_messages, open_reference_cycle, run_cli
from tests.flows.test_artifacts import _latest

pytestmark = [pytest.mark.slow, pytest.mark.libreoffice]

CODE = "dong-nai-ttdn-6-thang-2024-H1"


def test_a_decision_given_in_the_ui_is_carried_out_by_approve(
    settings: Settings, prefect: str
) -> None:
    open_reference_cycle()
    run_id, state = start(CODE, datetime(2024, 7, 1, 9, tzinfo=VN_TZ))
    assert state.is_paused()
    assert state.name == "Suspended"
    with session() as db:
        (draft,) = db.exec(select(ReportVersion)).all()
    assert draft.flow_run_id == str(run_id)
    assert draft.status == ReportStatus.AWAITING
    report = _latest(artifact_key("report", CODE))
    assert f"approve {CODE}" in report.data  # type: ignore[attr-defined]
    with get_client(sync_client=True) as client:
        schema = client.read_flow_run(run_id).state.state_details.run_input_keyset  # type: ignore[union-attr]
    assert schema is not None, "the suspended run carries an input form"

    # the UI's Resume button: the form's values, as JSON
    resume_flow_run(run_id, run_input={"decision": "request_changes", "comment": "Bổ sung mục 1"})
    finished = resume(run_id, Approval())  # `reportcycle approve` finds it scheduled, runs it

    assert finished.is_completed()
    with session() as db:
        (draft,) = db.exec(select(ReportVersion)).all()
    assert draft.status == ReportStatus.CHANGES_REQUESTED
    assert draft.decision_comment == "Bổ sung mục 1"


def test_a_new_draft_cancels_the_run_waiting_on_the_old_one(
    settings: Settings, prefect: str
) -> None:
    open_reference_cycle()
    first, _ = start(CODE, datetime(2024, 7, 1, 9, tzinfo=VN_TZ))
    second, state = start(CODE, datetime(2024, 7, 2, 9, tzinfo=VN_TZ))
    assert state.is_paused()
    with get_client(sync_client=True) as client:
        old = client.read_flow_run(first).state
    assert old is not None
    assert old.is_cancelled()
    assert "superseded" in (old.message or "")
    with session() as db:
        statuses = sorted((v.version, v.status) for v in db.exec(select(ReportVersion)).all())
    assert statuses == [(1, ReportStatus.SUPERSEDED), (2, ReportStatus.AWAITING)]


def _approve(
    prefect: str, *extra: str, fault: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "REPORTCYCLE_FAULT"}
    if fault:
        env["REPORTCYCLE_FAULT"] = fault
    return run_cli(
        "approve", CODE, "--now", "2024-07-03T09:00", *extra, prefect=prefect, env=env, timeout=300
    )


APPROVAL_KILL_POINTS = [
    "after_number",
    "after_final_docx",
    "after_pdf",
    "after_archive_commit",
    "between_messages",  # one distribution email sent and recorded, the others not yet
]


@pytest.mark.parametrize("fault", APPROVAL_KILL_POINTS)
def test_an_approval_killed_anywhere_is_finished_by_retry_with_one_number_final_and_email(
    settings: Settings, prefect: str, fault: str
) -> None:
    open_reference_cycle()
    start(CODE, datetime(2024, 7, 1, 9, tzinfo=VN_TZ))

    killed = _approve(prefect, fault=fault)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    stuck = _approve(prefect)
    assert stuck.returncode == 1
    assert "đang ở trạng thái Running, không chờ quyết định" in stuck.stderr
    assert "reportcycle approve --retry" in stuck.stderr

    done = _approve(prefect, "--retry")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "báo cáo số 01/BC-UBND đã phát hành" in done.stdout
    _assert_issued_once(settings)


def _assert_issued_once(settings: Settings) -> None:
    """One number, one final (one DOCX and one PDF in the archive), one email per recipient."""
    with session() as db:
        assert len(db.exec(select(IssuedNumber)).all()) == 1
        finals = db.exec(select(ReportVersion).where(ReportVersion.kind == "final")).all()
        distributed = db.exec(
            select(OutboundMessage).where(OutboundMessage.kind == "distribution")
        ).all()
    assert [f.number_text for f in finals] == ["01/BC-UBND"]
    archived = sorted(p.suffix for p in (settings.home / "reports" / CODE).glob("bao-cao-*"))
    assert archived == [".docx", ".pdf"]
    assert len(distributed) == 4
    assert {m.status for m in distributed} == {"sent"}
    sent = [m for m in maildir_messages(settings.sent_maildir) if "01/BC-UBND" in m["Subject"]]
    assert len(sent) == 4, "each recipient gets the report once"
    assert len({str(m["To"]) for m in sent}) == 4


def test_a_consolidation_killed_mid_render_leaves_nothing_and_a_rerun_makes_one_draft(
    settings: Settings, prefect: str
) -> None:
    open_reference_cycle()
    env = {**os.environ, "REPORTCYCLE_FAULT": "mid_render"}
    consolidate = ["consolidate", CODE, "--now", "2024-07-01T09:00"]
    killed = run_cli(*consolidate, prefect=prefect, env=env, timeout=300)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    with session() as db:
        assert db.exec(select(ReportVersion)).all() == []
    assert not list((settings.home / "reports").glob(f"{CODE}/*"))

    env.pop("REPORTCYCLE_FAULT")
    again = run_cli(*consolidate, prefect=prefect, env=env, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    with session() as db:
        (draft,) = db.exec(select(ReportVersion)).all()
    assert (draft.version, draft.status) == (1, ReportStatus.AWAITING)
    assert f"dự thảo lần 1 của {CODE}" in again.stdout

    done = _approve(prefect)
    assert done.returncode == 0, done.stdout + done.stderr
    _assert_issued_once(settings)
