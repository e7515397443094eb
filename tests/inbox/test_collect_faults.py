"""Exactly once, tested for real: a collector killed with SIGKILL at the worst moments, then
restarted, leaves every message with one outcome, one submission and one receipt."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter

import pytest
from sqlmodel import select

from models.db import session
from models.inbound import InboundMessage, InboundStatus, Submission
from models.settings import Settings, get_settings
from models.tables import DataRequest, OutboundMessage
from reportcycle.cycle.request_emails import render_form
from reportcycle.documents import form_fill
from tests.conftest import REPO
from tests.factories import deliver, maildir_messages, open_reference_cycle, reply_with_form

pytestmark = pytest.mark.slow

COLLECT = (
    "from reportcycle.clock import parse_now; from reportcycle.inbox.collect import collect_mail; "
    "from reportcycle.outbox.sending import send_outbox; at = parse_now('2024-06-19T10:00'); "
    "collect_mail(at); send_outbox(at)"
)
UNITS = {"DPTTH": "3b", "BDN": "3b", "SVHTTDL": "3c", "SCT": "3c", "LHHN": "3b"}


def _run(fault: str | None) -> int:
    env = {**os.environ, "REPORTCYCLE_COLLECT_BATCH_SIZE": "2"}
    env.pop("REPORTCYCLE_FAULT", None)
    if fault:
        env["REPORTCYCLE_FAULT"] = fault
    done = subprocess.run(
        [sys.executable, "-c", COLLECT],
        cwd=REPO,
        env=env,
        timeout=120,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode in (0, -signal.SIGKILL), done.stderr
    return done.returncode


def _deliver_replies(settings: Settings) -> None:
    with session() as db:
        requests = db.exec(select(DataRequest)).all()
        for request in requests:
            if request.unit_code not in UNITS:
                continue
            assert request.id is not None
            _, blank = render_form(db, request_id=request.id, settings=get_settings())
            text = f"Nội dung của {request.unit_name}."
            form = form_fill.fill_form(
                blank, sections={UNITS[request.unit_code]: [text]}, indicators={}
            )
            deliver(
                settings.inbox_maildir,
                reply_with_form(token=request.token, sender=request.to_addresses[0], form=form),
            )


@pytest.mark.parametrize(
    "fault", ["after_fetch", "after_store", "after_parse", "before_outcome_commit"]
)
def test_killed_collector_restarts_with_one_outcome_per_message(
    settings: Settings, fault: str
) -> None:
    open_reference_cycle()
    _deliver_replies(settings)
    assert _run(fault) == -signal.SIGKILL
    assert _run(None) == 0
    assert _run(None) == 0  # and a third run finds nothing to do

    with session() as db:
        inbound = db.exec(select(InboundMessage)).all()
        submissions = db.exec(select(Submission)).all()
        receipts = db.exec(select(OutboundMessage).where(OutboundMessage.kind == "receipt")).all()
    assert len(inbound) == len(UNITS)
    assert all(m.status != InboundStatus.STORED for m in inbound)
    assert Counter(s.request_id for s in submissions) == Counter({m.request_id: 1 for m in inbound})
    assert all(s.version == 1 for s in submissions)
    assert len(receipts) == len(UNITS)
    delivered = [m for m in maildir_messages(settings.sent_maildir) if m["In-Reply-To"]]
    assert Counter(str(m["In-Reply-To"]) for m in delivered) == Counter(
        {m.message_id: 1 for m in inbound}
    )
    assert not list((settings.inbox_maildir / "new").iterdir())
