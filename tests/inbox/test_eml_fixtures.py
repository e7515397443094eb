"""Every .eml fixture (replies as real mail clients send them, and replies gone wrong) gets
its expected outcome through the whole collector: Maildir, store, match, read, record."""

from __future__ import annotations

import pytest
from sqlmodel import select

from models.db import session
from models.inbound import InboundMessage, Submission
from models.settings import Settings
from reportcycle.inbox.collect import collect_mail
from tests.factories import deliver, open_reference_cycle, plant_tokens
from tests.fixtures.eml_cases import CASES, OUT, Case
from tests.fixtures.tokens import TOKENS
from tests.inbox.test_collect import BEFORE_DEADLINE

CONVERTED = {"legacy_doc.eml"}  # a .doc attachment: the collector converts it with LibreOffice


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(
            c,
            id=c.file.removesuffix(".eml"),
            marks=[pytest.mark.libreoffice] if c.file in CONVERTED else [],
        )
        for c in CASES
    ],
)
@pytest.mark.parametrize("raw_bodies", [False, True], ids=["parsed", "bodies-from-raw"])
def test_fixture_reply_gets_its_expected_outcome(
    settings: Settings, case: Case, raw_bodies: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if raw_bodies:  # every body read the way big ones are (mime_scan.skeleton): same outcome
        monkeypatch.setattr("reportcycle.inbox.mime_scan.BIG_PART", 1)
    open_reference_cycle()
    plant_tokens(TOKENS)
    deliver(settings.inbox_maildir, (OUT / case.file).read_bytes())
    report = collect_mail(BEFORE_DEADLINE)
    assert report.outcomes == {case.status: 1}
    with session() as db:
        inbound = db.exec(select(InboundMessage)).one()
        submissions = db.exec(select(Submission)).all()
    assert (inbound.status, inbound.reason) == (case.status, case.reason), inbound.explanation
    if case.status in ("accepted", "needs_review"):
        (submission,) = submissions
        text = " ".join(b.get("text", "") for bs in submission.sections.values() for b in bs)
        for expected in case.body_contains:
            assert expected.removeprefix("- ") in text  # a "- " line is kept as a bullet
        if case.form is not None and case.form.indicators:
            read = {k: v["raw"] for k, v in submission.indicators.items() if v["raw"]}
            assert read == dict(case.form.indicators)
    else:
        assert submissions == []
    if case.status == "rejected":
        assert inbound.explanation  # the sender is told what to fix


def test_tcvn3_form_comes_back_as_unicode_vietnamese(settings: Settings) -> None:
    open_reference_cycle()
    plant_tokens(TOKENS)
    deliver(settings.inbox_maildir, (OUT / "tcvn3_form.eml").read_bytes())
    collect_mail(BEFORE_DEADLINE)
    with session() as db:
        submission = db.exec(select(Submission)).one()
    text = " ".join(b["text"] for b in submission.sections["3b"])
    assert "Hội nhập và phát triển" in text
    assert "trước" in text or "nước" in text
    assert any("TCVN3" in w for w in submission.warnings)
