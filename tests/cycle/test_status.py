"""Status reads what it shows, not the emails' bytes: a unit's 30 MB reply costs it nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import event

from models.db import get_engine, session
from models.settings import Settings
from reportcycle.clock import VN_TZ
from reportcycle.cycle.request_emails import sync_request_status
from reportcycle.cycle.status import cycle_status
from reportcycle.inbox.collect import collect_mail
from reportcycle.lookup import find_cycle
from tests.factories import deliver, open_reference_cycle
from tests.inbox.test_collect import _dptth_reply

AT = datetime(2024, 6, 19, 10, tzinfo=VN_TZ)


@contextmanager
def _statements() -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(str(args[2]).lower())  # (conn, cursor, statement, …)

    engine = get_engine(None)  # the engine `session()` uses: lru_cache keys by the call
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _reads_raw(statement: str) -> bool:
    head = statement.split(" from ", 1)[0]
    return statement.startswith("select") and any(
        f"{table}.raw" in head for table in ("outboundmessage", "inboundmessage")
    )


def test_status_and_request_sync_load_no_email_bytes(settings: Settings) -> None:
    cycle_id = open_reference_cycle()
    deliver(settings.inbox_maildir, _dptth_reply())
    collect_mail(AT)
    with _statements() as seen, session() as db:
        status = cycle_status(db, find_cycle(db, str(cycle_id)))
        sync_request_status(db, cycle_id=cycle_id, now=AT)
    assert len(status["units"]) == 8
    assert {u["request"]["status"] for u in status["units"]} == {"sent"}
    (dptth,) = [u for u in status["units"] if u["unit"] == "DPTTH"]
    assert dptth["reply"]["outcome"] == "accepted"
    assert [m["outcome"] for m in dptth["messages"]] == ["accepted"]
    selects = [s for s in seen if s.lstrip().startswith("select")]
    assert selects, "no query was seen: the listener is not on the session's engine"
    assert not [s for s in selects if _reads_raw(s)], "status loaded the emails' bytes"
