"""The steps of `reportcycle demo`, day by day (imported once settings and Prefect point at the
demo's home and server: see demo.py)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from rich.console import Console
from sqlmodel import select

from flows.chase_late_units import chase_late_units
from flows.collect_submissions import collect_submissions
from flows.consolidate_report import Approval, resume, start
from flows.open_cycle import open_cycle
from models.db import session
from models.settings import get_settings
from models.tables import DataRequest
from reportcycle.cycle.labels import NOT_RECEIVED, label
from reportcycle.cycle.status import cycle_status
from reportcycle.demo.timeline import at, days, progress_bar, rate
from reportcycle.demo.units import HOW, REGIME_FILE, SCENARIO, Request, build_reply, send_all
from reportcycle.inbox import review
from reportcycle.lookup import calendar_for, find_cycle
from reportcycle.outbox.local_server import LocalMailServer
from reportcycle.outbox.sending import send_outbox
from reportcycle.regime.loading import load_regime
from reportcycle.report import drafts, signing
from reportcycle.report.texts import read_text_file, set_text
from reportcycle.superior_request import SuperiorRequest
from reportcycle.vietnamese import format_share_vi

WEEKDAYS = ["Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ Nhật"]
CONSOLIDATE_DAY, APPROVE_DAY = date(2024, 7, 1), date(2024, 7, 3)
SIGNER = "Võ Tân Đức"


class Scenario:
    def __init__(self, console: Console) -> None:
        self.out = console
        self.regime = load_regime(REGIME_FILE).regime
        self.calendar = calendar_for(self.regime)
        self.code = ""
        self.reminders: dict[str, list[str]] = {}  # unit -> "21/06 (lần 2)" …
        self.run_ids: dict[str, UUID] = {}
        self.final: Any = None

    def say(self, day: date, text: str) -> None:
        self.out.print(f"{WEEKDAYS[day.weekday()]} {day:%d/%m/%Y} — {text}", highlight=False)

    def run(self, *, approve: bool) -> None:
        inbox = LocalMailServer(get_settings().inbox_maildir)  # the units' side of the mail
        inbox.start()
        try:
            with progress_bar() as bar:
                task = bar.add_task("kỳ báo cáo 2024-H1", total=len(days()))
                for day in days():
                    bar.update(task, description=f"{WEEKDAYS[day.weekday()]} {day:%d/%m/%Y}")
                    if self.calendar.is_working_day(day):
                        self.one_day(day, inbox, approve=approve)
                    elif replies := [r for r in SCENARIO if r.day == day]:
                        # mail comes on days off too, and the collector runs every 5 minutes
                        self.deliver(day, replies, inbox)
                        self.collect(day, [r.unit for r in replies])
                    bar.advance(task)
        finally:
            inbox.stop()

    def one_day(self, day: date, inbox: LocalMailServer, *, approve: bool) -> None:
        if day == days()[0]:
            self.open(day)
        else:
            self.chase(day)
        replies = [r for r in SCENARIO if r.day == day]
        if replies:
            self.deliver(day, replies, inbox)
        self.collect(day, [r.unit for r in replies])
        self.review(day)
        if day == CONSOLIDATE_DAY:
            self.consolidate(day)
        if day == APPROVE_DAY and approve:
            self.approve(day)

    def open(self, day: date) -> None:
        request = SuperiorRequest(
            ref="2608/CV/BTGTU", date=date(2024, 6, 10), sender="Ban Tuyên giáo Tỉnh ủy"
        )
        result = open_cycle(str(REGIME_FILE), "2024-H1", request, at(day, 8))
        self.code = result.cycle_code
        self.say(
            day,
            f"mở kỳ báo cáo {result.cycle_code} (theo văn bản 2608/CV/BTGTU ngày 10/6/2024 của "
            f"Ban Tuyên giáo Tỉnh ủy): {result.sent} yêu cầu đã gửi, {result.failed} lỗi.",
        )

    def chase(self, day: date) -> None:
        result = chase_late_units(at(day, 8))
        steps = self.regime.reminders
        for unit, rung in result.reminders.items():
            self.reminders.setdefault(unit, []).append(f"{day:%d/%m} (lần {rung})")
        if result.reminders:
            listed = ", ".join(
                f"{unit} (lần {rung}{', báo lãnh đạo' if steps[rung - 1].escalate else ''})"
                for unit, rung in result.reminders.items()
            )
            self.say(day, f"08:00 nhắc nhở {len(result.reminders)} đơn vị: {listed}.")

    def requests(self) -> dict[str, Request]:
        with session() as db:
            cycle = find_cycle(db, self.code)
            status = {u["unit"]: u for u in cycle_status(db, cycle)["units"]}
            rows = db.exec(select(DataRequest).where(DataRequest.cycle_id == cycle.id)).all()
            settings = get_settings()
            return {
                r.unit_code: Request(
                    token=r.token,
                    reply_to=f"{settings.reply_local_part}+{r.token}@{settings.reply_domain}",
                    message_id=status[r.unit_code]["request"]["message_id"],
                )
                for r in rows
            }

    def deliver(self, day: date, replies: list[Any], inbox: LocalMailServer) -> None:
        requests = self.requests()
        mails = []
        for reply in replies:
            request = requests[reply.unit]
            sender, raw = build_reply(reply, request, at(day, 8, 45))
            mails.append((sender, request.reply_to, raw))
        send_all(inbox.host, inbox.port, mails)
        listed = "; ".join(f"{r.unit} ({HOW[r.kind]})" for r in replies)
        self.say(day, f"{len(replies)} thư đến hộp thư qua SMTP: {listed}.")

    def collect(self, day: date, expected: list[str]) -> None:
        result = collect_submissions(at(day, 9))
        if not result.fetched:
            return
        with session() as db:
            units = {u["unit"]: u for u in cycle_status(db, find_cycle(db, self.code))["units"]}
        outcomes = ", ".join(
            f"{unit}: {label(units[unit]['reply']['outcome'], none=NOT_RECEIVED)}"
            f"{' (trễ hạn)' if units[unit]['reply']['late'] else ''}"
            for unit in expected
        )
        self.say(
            day,
            f"09:00 thu nhận {result.fetched} thư — {outcomes}; "
            f"{result.replies_sent} biên nhận/thư trả lời đã gửi.",
        )

    def review(self, day: date) -> None:
        with session() as db:
            pending = review.pending_reviews(db, self.code)
            for item in pending:
                note = "Văn phòng đã kiểm tra nội dung và gọi điện xác nhận với đơn vị"
                review.decide(
                    db,
                    submission_id=item["id"],
                    accept=True,
                    note=note,
                    actor="Văn phòng (demo)",
                    settings=get_settings(),
                    now=at(day, 9, 30),
                )
                self.say(
                    day,
                    f"09:30 rà soát thư của {item['unit']} từ {item['sender']} "
                    f"({'; '.join(item['reasons'])}) → chấp nhận: {note}.",
                )
            db.commit()
        if pending:
            send_outbox(at(day, 9, 30))

    def set_texts(self, day: date) -> None:
        folder = get_settings().home / "van-phong"
        folder.mkdir(exist_ok=True)
        texts = _reference().SECRETARIAT_TEXTS
        with session() as db:
            cycle = find_cycle(db, self.code)
            for section, paragraphs in texts.items():
                path = folder / f"muc-{section}.txt"
                path.write_text("\n".join(paragraphs) + "\n", encoding="utf-8")
                set_text(
                    db,
                    cycle,
                    section,
                    read_text_file(path),
                    source_name=path.name,
                    now=at(day, 8, 30),
                    actor="Văn phòng (demo)",
                )
            db.commit()
        self.say(day, f"08:30 Văn phòng viết mục {', '.join(texts)} ({folder}).")

    def consolidate(self, day: date) -> None:
        self.set_texts(day)
        run_id, state = start(self.code, at(day, 9))
        self.run_ids["consolidate"] = run_id
        with session() as db:
            draft = drafts.latest_draft(db, find_cycle(db, self.code))
        if draft is None or draft.flow_run_id != str(run_id):
            raise RuntimeError(f"flow run {run_id} ended {state.name} without a draft")
        summary = draft.summary
        self.say(
            day,
            f"09:00 tổng hợp dự thảo {draft.version}: {summary['counted']}/{summary['units']} "
            f"đơn vị; lượt chạy {state.name}, chờ phê duyệt. {draft.path}",
        )
        for note in summary["review_notes"]:
            self.out.print(f"    ghi chú rà soát: {note}", highlight=False)

    def approve(self, day: date) -> None:
        answer = Approval(decided_at=at(day, 9), decided_by=SIGNER, comment="Đồng ý ban hành")
        state = resume(self.run_ids["consolidate"], answer)
        with session() as db:
            self.final = drafts.final_of(db, find_cycle(db, self.code))
        if self.final is None:
            raise RuntimeError(f"the consolidate run ended {state.name}: {state.message}")
        self.say(
            day,
            f"09:00 {SIGNER} phê duyệt (Resume, như nút trong Prefect UI): báo cáo số "
            f"{self.final.number_text} đã ban hành; lượt chạy {state.name}.",
        )

    def finish(self, ui: str, *, approve: bool) -> None:
        with session() as db:
            status = cycle_status(db, find_cycle(db, self.code))
        self.out.print("")
        for unit in status["units"]:
            reply = unit["reply"]
            received = _day(reply["first_received_at"]) if reply["received"] else "không trả lời"
            reminded = ", ".join(self.reminders.get(unit["unit"], [])) or "—"
            self.out.print(
                f"  {unit['unit']:<8} {label(reply['outcome'], none=NOT_RECEIVED):<13} "
                f"{received:<14}"
                f"{'trễ hạn' if reply['counted_late'] else '':<8} nhắc: {reminded}",
                highlight=False,
            )
        totals = status["totals"]
        on_time = round(totals["on_time_rate"] * totals["units"])
        self.out.print(
            f"Tỷ lệ báo cáo: {rate(totals, 'reporting_rate', 'counted')}; "
            f"đúng hạn: {format_share_vi(totals['on_time_rate'])} ({on_time}/{totals['units']})",
            highlight=False,
        )
        if self.final is not None:
            self.out.print(f"Báo cáo số {self.final.number_text}:", highlight=False)
            self.out.print(f"  DOCX: {self.final.path}\n  PDF:  {self.final.pdf_path}")
            signed = "ký số" if signing.signed_by(self.final.pdf) else "CHƯA ký số"
            self.out.print(f"  PDF {signed} (digitally signed: {signed == 'ký số'})")
        elif not approve:
            self.out.print(
                f"the draft waits for approval: Resume in the UI, or `REPORTCYCLE_HOME="
                f"{get_settings().home} PREFECT_API_URL={ui}/api reportcycle approve {self.code}`",
                highlight=False,
            )
        self.out.print(f"Các lượt chạy: {ui}/runs", highlight=False)
        if "consolidate" in self.run_ids:
            self.out.print(
                f"Lượt chạy consolidate-report: {ui}/runs/flow-run/{self.run_ids['consolidate']}",
                highlight=False,
            )


def _day(value: str) -> str:
    from reportcycle.clock import VN_TZ

    return f"{datetime.fromisoformat(value).astimezone(VN_TZ):%d/%m %H:%M}"


def _reference() -> Any:
    from reportcycle.demo.units import reference_data

    return reference_data()
