"""The steps of bench/full_cycle.py, each run in a fresh child process (so that its peak RSS is
its own). State passes between steps through the run's REPORTCYCLE_HOME: its SQLite database,
its Maildirs and `state.json`.

    .venv/bin/python bench/full_cycle_steps.py STEP MODE UNITS WORKDIR

prints one line `RESULT {json}`: the step's wall time (imports and migrations excluded), the
process's peak RSS, and the parts of the step where the plain mode can time them.
"""

from __future__ import annotations

import importlib
import json
import mailbox
import resource
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

T0 = time.perf_counter()
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.open_cycle import synthetic_regime  # noqa: E402
from reportcycle.clock import VN_TZ  # noqa: E402

PERIOD = "2024-H1"
OPEN_AT = datetime(2024, 6, 17, 8, tzinfo=VN_TZ)  # window closed 14/6; units' deadline 21/6
COLLECT_AT = datetime(2024, 6, 19, 9, tzinfo=VN_TZ)
CHASE_AT = datetime(2024, 6, 24, 9, tzinfo=VN_TZ)  # Monday, the working day after the deadline
DRAFT_AT = datetime(2024, 6, 24, 10, tzinfo=VN_TZ)
APPROVE_AT = datetime(2024, 6, 25, 9, tzinfo=VN_TZ)
LATE_EVERY = 10  # one unit in ten does not reply: the chase step reminds them
# Imported before the clock starts, in both modes: a step's time is its work, not the imports
# (tasks/*.py import Prefect even when their plain functions are called, ~3 s).
WARM = (
    "sqlmodel",
    "models.db",
    "models.report",
    "models.settings",
    "models.tables",
    "reportcycle.cycle.chase",
    "reportcycle.inbox.collect",
    "reportcycle.report.approval",
    "reportcycle.documents.convert",
    "reportcycle.cycle.opening",
    "reportcycle.documents.form_build",
    "reportcycle.inbox.mailbox",
    "reportcycle.outbox.sending",
    "reportcycle.regime.schema",
    "reportcycle.report.render",
    "reportcycle.cycle.request_emails",
    "reportcycle.outbox.smtp",
    "reportcycle.cycle.status",
    "tasks.chase",
    "tasks.cycles",
    "tasks.inbox",
    "tasks.mail",
    "tasks.report",
    "tests.factories",
)
WARM_PREFECT = (
    # Prefect imports FastAPI's encoder lazily when a flow run serialises its parameters (0.4 s
    # in a fresh process, once per process): an import, like the others here, so not timed.
    "fastapi.encoders",
    "flows.chase_late_units",
    "flows.collect_submissions",
    "flows.consolidate_report",
    "flows.open_cycle",
)


class Step:
    """Times the parts of a step (the whole step is timed by the caller)."""

    def __init__(self) -> None:
        self.parts: dict[str, float] = {}
        self.info: dict[str, Any] = {}

    def part(self, label: str, fn: Callable[[], Any]) -> Any:
        start = time.perf_counter()
        value = fn()
        self.parts[label] = time.perf_counter() - start
        return value


def _state(work: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((work / "state.json").read_text("utf-8"))
    return data


def step_open(mode: str, units: int, work: Path) -> Callable[[Step], None]:
    from models.db import migrate

    regime_path = synthetic_regime(units, work / "regime.yaml")
    migrate()
    if mode == "prefect":
        from flows.open_cycle import open_cycle

        def run_flow(step: Step) -> None:
            result = open_cycle(str(regime_path), PERIOD, None, OPEN_AT)
            step.info.update(sent=result.sent, failed=result.failed)
            _save(work, result.cycle_id, result.cycle_code)

        return run_flow
    return lambda step: _open_plain(step, regime_path, work)


def _open_plain(step: Step, regime_path: Path, work: Path) -> None:
    from models.db import session
    from models.settings import get_settings
    from reportcycle.cycle import opening, request_emails
    from reportcycle.outbox.sending import send_outbox
    from reportcycle.regime.loading import load_regime

    loaded = step.part("load regime", lambda: load_regime(regime_path))
    with session() as db:
        opened = step.part(
            "create cycle + requests",
            lambda: opening.open_cycle(
                db, loaded=loaded, period_code=PERIOD, request=None, now=OPEN_AT
            ),
        )
        db.commit()
        step.part(
            "forms + compose + enqueue",
            lambda: request_emails.queue_request_emails(
                db, cycle_id=opened.cycle_id, now=OPEN_AT, settings=get_settings()
            ),
        )
        db.commit()
    report = step.part("send", lambda: send_outbox(OPEN_AT, opened.cycle_id))
    with session() as db:
        step.part(
            "request status",
            lambda: request_emails.sync_request_status(db, cycle_id=opened.cycle_id, now=OPEN_AT),
        )
        db.commit()
    step.info.update(sent=report.sent, failed=report.failed)
    _save(work, opened.cycle_id, opened.code)


def _save(work: Path, cycle_id: int, code: str) -> None:
    (work / "state.json").write_text(json.dumps({"cycle_id": cycle_id, "cycle_code": code}))


def step_replies(mode: str, units: int, work: Path) -> Callable[[Step], None]:
    """The units: each fills its form (python-docx once per distinct assignment, then stamped
    per unit as the system stamps the forms it sends) and replies; one in ten stays late."""
    cycle_id = _state(work)["cycle_id"]

    def run(step: Step) -> None:
        from models.settings import get_settings

        inbox = get_settings().inbox_maildir
        inbox.parent.mkdir(parents=True, exist_ok=True)
        step.info["replies"] = _fill_inbox(cycle_id, mailbox.Maildir(inbox, create=True))
        step.info["late"] = units - step.info["replies"]

    return run


def _fill_inbox(cycle_id: int, box: mailbox.Maildir) -> int:
    """Each unit's own text and figures (bench/unit_replies.py) in its form, stamped as the
    system stamps the forms it sends; python-docx opens each distinct assignment's form once."""
    from sqlmodel import col, select

    from bench.unit_replies import UnitSpec, unit_replies
    from models.db import session
    from models.settings import get_settings
    from models.tables import DataRequest
    from reportcycle.cycle.request_emails import form_template, stamp_for
    from reportcycle.documents.form_fill import fill_form
    from tests.factories import reply_with_form

    settings = get_settings()
    templates: dict[tuple[tuple[str, ...], tuple[str, ...]], bytes] = {}
    with session() as db:
        rows = db.exec(
            select(DataRequest)
            .where(DataRequest.cycle_id == cycle_id)
            .order_by(col(DataRequest.id))
        ).all()
        replying = [(i, r) for i, r in enumerate(rows) if i % LATE_EVERY != LATE_EVERY - 1]
        specs = [
            UnitSpec(i, r.unit_name, tuple(r.section_codes), tuple(r.indicator_codes))
            for i, r in replying
        ]
        for (_, request), reply in zip(replying, unit_replies(specs), strict=True):
            assert request.id is not None
            key = (tuple(request.section_codes), tuple(request.indicator_codes))
            if key not in templates:
                templates[key] = form_template(db, request_id=request.id, settings=settings)
            sections = {code: list(texts) for code, texts in reply.sections.items()}
            filled = fill_form(templates[key], sections=sections, indicators=reply.indicators)
            form = stamp_for(db, request_id=request.id, template=filled, settings=settings)
            box.add(reply_with_form(token=request.token, sender=request.to_addresses[0], form=form))
    return len(replying)


def step_collect(mode: str, units: int, work: Path) -> Callable[[Step], None]:
    if mode == "prefect":
        from flows.collect_submissions import collect_submissions

        def run_flow(step: Step) -> None:
            result = collect_submissions(COLLECT_AT)
            step.info.update(fetched=result.fetched, outcomes=result.outcomes)
            step.info["sent"] = result.replies_sent

        return run_flow
    from reportcycle.inbox.collect import collect_mail
    from reportcycle.outbox.sending import send_outbox

    def run(step: Step) -> None:
        report = step.part("collect", lambda: collect_mail(COLLECT_AT))
        sent = step.part("send receipts", lambda: send_outbox(COLLECT_AT))
        step.info.update(fetched=report.fetched, outcomes=report.outcomes, sent=sent.sent)

    return run


def step_chase(mode: str, units: int, work: Path) -> Callable[[Step], None]:
    if mode == "prefect":
        from flows.chase_late_units import chase_late_units

        def run_flow(step: Step) -> None:
            result = chase_late_units(CHASE_AT)
            step.info.update(reminders=len(result.reminders), sent=result.sent)
            step.info["skipped"] = result.skipped

        return run_flow
    from reportcycle.cycle.chase import queue_reminders
    from reportcycle.outbox.sending import send_outbox

    def run(step: Step) -> None:
        report = step.part("queue reminders", lambda: queue_reminders(CHASE_AT))
        sent = step.part("send", lambda: send_outbox(CHASE_AT))
        step.info.update(reminders=len(report.reminders), sent=sent.sent, skipped=report.skipped)

    return run


def step_consolidate(mode: str, units: int, work: Path) -> Callable[[Step], None]:
    code = _state(work)["cycle_code"]
    if mode == "prefect":
        from flows.consolidate_report import Approval, resume, start

        def run_flow(step: Step) -> None:
            run_id, paused = step.part("start (draft, suspend)", lambda: start(code, DRAFT_AT))
            if not paused.is_paused():
                raise RuntimeError(f"consolidate-report did not suspend: {paused!r}")
            final = step.part(
                "resume (final, PDF, send)", lambda: resume(run_id, Approval(decided_at=APPROVE_AT))
            )
            if not final.is_completed():
                raise RuntimeError(f"consolidate-report did not complete: {final!r}")
            step.info["state"] = final.name

        return run_flow
    return lambda step: _consolidate_plain(step, code)


def _consolidate_plain(step: Step, code: str) -> None:
    from models.db import session
    from models.settings import get_settings
    from reportcycle.lookup import find_cycle
    from reportcycle.outbox.sending import send_outbox
    from reportcycle.report import approval, drafts

    settings = get_settings()
    with session() as db:
        cycle = find_cycle(db, code)
        draft, _ = step.part(
            "draft", lambda: drafts.make_draft(db, cycle, now=DRAFT_AT, settings=settings)
        )
        db.commit()
        decision = approval.Decision(approve=True, at=APPROVE_AT)
        final = step.part(
            "approve: number, final DOCX + PDF",
            lambda: approval.decide(db, cycle, draft, decision, settings=settings),
        )
        db.commit()
        step.info.update(number=final.number_text, pdf=bool(final.pdf_path))
    sent = step.part("send distribution", lambda: send_outbox(APPROVE_AT, cycle.id))
    step.info["sent"] = sent.sent


STEPS: dict[str, Callable[[str, int, Path], Callable[[Step], None]]] = {
    "open": step_open,
    "replies": step_replies,
    "collect": step_collect,
    "chase": step_chase,
    "consolidate": step_consolidate,
}


def main() -> None:
    name, mode, units, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    for module in WARM + (WARM_PREFECT if mode == "prefect" else ()):
        importlib.import_module(module)
    run = STEPS[name](mode, units, work)  # set-up, not timed
    step = Step()
    start = time.perf_counter()
    run(step)
    wall = time.perf_counter() - start
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = {
        "setup": start - T0,
        "wall": wall,
        "rss_mb": own.ru_maxrss / 1024,
        "children_rss_mb": children.ru_maxrss / 1024,
        "cpu": own.ru_utime + own.ru_stime,
        "parts": step.parts,
        "info": step.info,
    }
    print("RESULT " + json.dumps(result, default=str), flush=True)


if __name__ == "__main__":
    main()
