"""What the terminal shows a coordinator is Vietnamese: headings, statuses, totals; `--json`
keeps the codes."""

from __future__ import annotations

import json
import re
from datetime import datetime

from rich.console import Console
from sqlmodel import select

from models.db import session
from models.settings import Settings
from models.tables import Cycle, DataRequest
from reportcycle.cli.common import to_json
from reportcycle.cli.views import review_table, status_table
from reportcycle.clock import VN_TZ
from reportcycle.cycle.labels import LABELS, counts, label
from reportcycle.cycle.status import cycle_status
from reportcycle.inbox.collect import collect_mail
from tests.factories import deliver, open_reference_cycle, reply_with_form
from tests.fixtures import reference

CODES = re.compile(r"\b(accepted|needs_review|rejected|sent|queued|failed|uncertain|open)\b")


def _printed(draw: object, *args: object) -> str:
    console = Console(width=220, record=True, color_system=None)
    draw(console, *args)  # type: ignore[operator]
    return console.export_text()


def test_status_table_speaks_vietnamese(settings: Settings) -> None:
    open_reference_cycle()
    with session() as db:
        token = db.exec(select(DataRequest).where(DataRequest.unit_code == "DPTTH")).one().token
    sender = reference.unit_spec("DPTTH").emails[0]
    form = reference.filled_form("DPTTH", token)
    deliver(settings.inbox_maildir, reply_with_form(token=token, sender=sender, form=form))
    collect_mail(datetime(2024, 6, 19, 9, tzinfo=VN_TZ))
    with session() as db:
        data = cycle_status(db, db.exec(select(Cycle)).one())
    out = _printed(status_table, data)
    header = next(line for line in out.splitlines() if "Trả lời" in line)
    for heading in ("Mã", "Đơn vị", "Yêu cầu", "Gửi lúc", "Nhận lúc", "Số lần gửi", "Vấn đề"):
        assert heading in header
    dptth = next(line for line in out.splitlines() if "DPTTH" in line)
    assert "đã gửi" in dptth
    assert "đã nhận" in dptth
    svh = next(line for line in out.splitlines() if "SVHTTDL" in line)
    assert "chưa nhận" in svh
    assert "đang mở" in out
    assert "tỷ lệ báo cáo 13%" in out
    assert not CODES.search(out), CODES.search(out)
    # the data behind it, what `--json` prints, keeps the codes
    assert {u["request"]["status"] for u in data["units"]} == {"sent"}
    assert next(u for u in data["units"] if u["unit"] == "DPTTH")["reply"]["outcome"] == "accepted"
    # `--json` reads back as the same data, one unit to a line, Vietnamese as it is
    printed = to_json(data)
    assert json.loads(printed) == data
    lines = printed.splitlines()
    for unit in data["units"]:
        (line,) = (x for x in lines if f'"unit": "{unit["unit"]}"' in x)
        assert json.loads(line.strip().rstrip(",")) == unit
    assert "\\u" not in printed


def test_review_table_and_labels_in_vietnamese() -> None:
    out = _printed(review_table, [])
    assert out.strip() == "Không có thư nào chờ xem xét."
    assert counts({"accepted": 2, "needs_review": 1}) == "đã nhận: 2, chờ xem xét: 1"
    assert label(None, none="chưa nhận") == "chưa nhận"
    wanted = {
        "accepted": "đã nhận",
        "needs_review": "chờ xem xét",
        "rejected": "bị từ chối",
        "sent": "đã gửi",
        "queued": "chờ gửi",
        "failed": "gửi lỗi",
        "uncertain": "chưa rõ đã gửi",
    }
    assert {code: LABELS[code] for code in wanted} == wanted
