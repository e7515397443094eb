"""Benchmark (not a test): ingest N filled DOCX replies from a Maildir.

    .venv/bin/python bench/collect.py --units 1000

Opens a cycle of N synthetic units, drops one filled form per unit in the inbox, then times
`collect` (store, match, read the form, record, queue the receipt) and the sending of the
receipts. Target on the 2-core reference machine: >= 100 replies/s for collect. CPU time and
the load average are printed too: on a shared machine the wall time alone says little.
"""

from __future__ import annotations

import argparse
import mailbox
import os
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.open_cycle import synthetic_regime  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--units", type=int, default=1000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="rc-bench-collect-"))
    os.environ["REPORTCYCLE_HOME"] = str(work / "home")
    regime_path = synthetic_regime(args.units, work / "regime.yaml")

    from models.db import migrate, session
    from models.settings import get_settings
    from reportcycle.clock import VN_TZ
    from reportcycle.cycle import opening, request_emails
    from reportcycle.inbox.collect import collect_mail
    from reportcycle.outbox.sending import send_outbox
    from reportcycle.regime.loading import load_regime

    now = datetime(2024, 6, 19, 9, tzinfo=VN_TZ)
    settings = get_settings()
    migrate()
    with session() as db:
        opened = opening.open_cycle(
            db, loaded=load_regime(regime_path), period_code="2024-H1", request=None, now=now
        )
        request_emails.queue_request_emails(
            db, cycle_id=opened.cycle_id, now=now, settings=settings
        )
        db.commit()
    start = time.perf_counter()
    count = fill_inbox(opened.cycle_id, settings.inbox_maildir)
    print(f"setup: {count} replies written in {time.perf_counter() - start:.1f} s")

    start, cpu = time.perf_counter(), time.process_time()
    report = collect_mail(now)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(
        f"collect: {report.fetched} read, {report.stored} stored, outcomes {report.outcomes}"
        f" in {seconds:.2f} s -> {report.fetched / seconds:.0f} replies/s"
        f" (CPU {cpu:.2f} s -> {report.fetched / cpu:.0f} replies/CPU-s; load {_load()})"
    )
    start = time.perf_counter()
    sent = send_outbox(now)
    print(
        f"send: {sent.sent} messages (requests and receipts) in {time.perf_counter() - start:.2f} s"
    )


def _load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def fill_inbox(cycle_id: int, inbox: Path) -> int:
    """One filled form per unit: each distinct assignment filled once (python-docx, ~50 ms),
    then stamped for each unit as the system stamps its forms."""
    from sqlmodel import select

    from models.db import session
    from models.settings import get_settings
    from models.tables import DataRequest
    from reportcycle.cycle.request_emails import form_template, stamp_for
    from reportcycle.documents.form_fill import fill_form
    from tests.factories import reply_with_form

    inbox.parent.mkdir(parents=True, exist_ok=True)
    box = mailbox.Maildir(inbox, create=True)
    filled: dict[tuple[tuple[str, ...], tuple[str, ...]], bytes] = {}
    settings = get_settings()
    with session() as db:
        rows = db.exec(select(DataRequest).where(DataRequest.cycle_id == cycle_id)).all()
        for request in rows:
            assert request.id is not None
            key = (tuple(request.section_codes), tuple(request.indicator_codes))
            if key not in filled:
                template = form_template(db, request_id=request.id, settings=settings)
                sections: dict[str, list[str | list[list[str]]]] = {
                    code: [
                        f"Nội dung mục {code} của đơn vị.",
                        "- Một việc đã làm;",
                        "- Một việc khác.",
                    ]
                    for code in request.section_codes
                }
                values = dict.fromkeys(request.indicator_codes, "1.234")
                filled[key] = fill_form(template, sections=sections, indicators=values)
            form = stamp_for(db, request_id=request.id, template=filled[key], settings=settings)
            box.add(reply_with_form(token=request.token, sender=request.to_addresses[0], form=form))
    return len(rows)


if __name__ == "__main__":
    main()
