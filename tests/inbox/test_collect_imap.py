"""`reportcycle collect` against a real IMAP server (Dovecot on loopback), end to end."""

from __future__ import annotations

import pytest
from sqlmodel import select

from models.db import session
from models.inbound import InboundMessage, MailboxState
from models.settings import Settings, get_settings
from models.tables import DataRequest
from reportcycle.clock import parse_now
from reportcycle.cycle.request_emails import render_form
from reportcycle.documents import form_fill
from reportcycle.inbox.collect import collect_mail
from reportcycle.outbox.sending import send_outbox
from tests.factories import maildir_messages, open_reference_cycle, reply_with_form
from tests.imap_server import Dovecot, dovecot_server, imap_mailbox  # noqa: F401

AT = parse_now("2024-06-19T10:00")
assert AT is not None


def _reply(unit: str) -> bytes:
    with session() as db:
        request = db.exec(select(DataRequest).where(DataRequest.unit_code == unit)).one()
        assert request.id is not None
        _, blank = render_form(db, request_id=request.id, settings=get_settings())
    form = form_fill.fill_form(
        blank,
        sections={code: ["Nội dung."] for code in request.section_codes},
        indicators=dict.fromkeys(request.indicator_codes, "1"),
    )
    return reply_with_form(token=request.token, sender=request.to_addresses[0], form=form)


@pytest.mark.parametrize("kind", ["imap", "imaps"])
def test_collect_reads_imap_flags_processed_and_resumes_after_restart(
    settings: Settings, imap: Dovecot, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    monkeypatch.setenv("REPORTCYCLE_INBOX_URL", imap.url(kind))
    monkeypatch.setenv("REPORTCYCLE_IMAP_CAFILE", str(imap.cafile))
    get_settings.cache_clear()
    open_reference_cycle()
    imap.append(_reply("DPTTH").replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n"))
    imap.append(_reply("BDN").replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n"))

    report = collect_mail(AT)
    assert report.outcomes == {"accepted": 2}
    flags = imap.flags()
    assert all({"\\Seen", "$ReportcycleDone"} <= f for f in flags.values())

    imap.append(_reply("SCT").replace(b"\n", b"\r\n").replace(b"\r\r\n", b"\r\n"))
    again = collect_mail(AT)  # a new process would start here: the position is in the database
    assert (again.fetched, again.outcomes) == (1, {"accepted": 1})
    send_outbox(AT)
    with session() as db:
        assert len(db.exec(select(InboundMessage)).all()) == 3
        (state,) = db.exec(select(MailboxState)).all()
    assert state.last_uid == max(imap.uids())
    receipts = [m for m in maildir_messages(settings.sent_maildir) if m["In-Reply-To"]]
    assert len(receipts) == 3
