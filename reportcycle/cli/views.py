"""Rich renderings for the CLI."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console

from reportcycle.cli.grid import Cell, Grid
from reportcycle.clock import VN_TZ
from reportcycle.cycle.labels import NOT_RECEIVED, label
from reportcycle.vietnamese import format_share_vi

if TYPE_CHECKING:
    from reportcycle.regime.schema import Regime

REPLY_STYLE = {"accepted": "green", "needs_review": "yellow", "rejected": "red"}
STATUS_STYLE = {"sent": "green", "failed": "red", "uncertain": "yellow", "queued": "cyan"}


def regime_summary(console: Console, regime: Regime) -> None:
    console.print(f"[bold]{regime.code}[/bold] — {regime.name}", highlight=False)
    console.print(
        f"kỳ: {regime.period.value}; kỳ số liệu bắt đầu ngày {regime.window.start_day};"
        f" đơn vị trả lời {regime.deadline.working_days} ngày làm việc sau "
        f"{regime.deadline.anchor}",
        highlight=False,
    )
    sections = Grid(["Mục", "Tiêu đề", "Người viết"], title="Đề cương", shrink="Tiêu đề")
    for s in regime.all_sections():
        writer = "đơn vị" if s.written_by == "units" else "Văn phòng"
        sections.add_row(s.code, s.title, "—" if s.subsections else writer)
    console.print(sections)
    units = Grid(
        ["Mã", "Đơn vị", "Mục", "Chỉ tiêu"], title=f"{len(regime.units)} đơn vị", shrink="Đơn vị"
    )
    for u in regime.units:
        units.add_row(u.code, u.name, ", ".join(u.sections), ", ".join(u.indicators))
    console.print(units)
    console.print(
        f"{len(regime.indicators)} chỉ tiêu, {len(regime.reminders)} bước nhắc, "
        f"{len(regime.recipients)} nơi nhận; người ký: {regime.signer.name}",
        highlight=False,
    )


def status_table(console: Console, data: dict[str, Any]) -> None:
    cycle = data["cycle"]
    console.print(
        f"[bold]{cycle['code']}[/bold] ({label(cycle['status'])}) — kỳ số liệu "
        f"{cycle['window_start']} → {cycle['window_end']}, hạn gửi {cycle['deadline']}",
        highlight=False,
    )
    table = Grid(
        ["Mã", "Đơn vị", "Yêu cầu", "Gửi lúc", "Trả lời", "Nhận lúc", "Số lần gửi", "Vấn đề"],
        shrink="Đơn vị",
    )
    for unit in data["units"]:
        req, reply = unit["request"], unit["reply"]
        outcome = label(reply["outcome"], none=NOT_RECEIVED)
        if reply["late"]:
            outcome += " (trễ hạn)"
        table.add_row(
            unit["unit"],
            unit["name"],
            _styled(label(req["status"]), STATUS_STYLE.get(req["status"], "")),
            _local(req["sent_at"]),
            _styled(outcome, REPLY_STYLE.get(reply["outcome"] or "", "")),
            _local(reply["last_received_at"]),
            str(reply["versions"] or ""),
            req["error"] or _reply_problem(reply),
        )
    console.print(table)
    totals = data["totals"]
    console.print(
        f"{totals['units']} đơn vị: yêu cầu đã gửi {totals['sent']}, gửi lỗi {totals['failed']}; "
        f"đã nhận trả lời {totals['received']}, đưa vào báo cáo {totals['counted']}, "
        f"trễ hạn {totals['late']}, chờ xem xét {totals['needs_review']}; "
        f"tỷ lệ báo cáo {format_share_vi(totals['reporting_rate'])}, "
        f"đúng hạn {format_share_vi(totals['on_time_rate'])}",
        highlight=False,
    )
    report = data.get("report")
    if report:
        number = f" số {report['number']}" if report["number"] else ""
        console.print(
            f"báo cáo: phiên bản {report['version']}, {label(report['kind'])}{number} "
            f"({label(report['status'])}): {report['path']}",
            highlight=False,
        )
        if report["pdf_path"]:
            console.print(_signed_line(report), highlight=False)
    for child in data.get("children", []):
        console.print(_child_line(child), highlight=False)


def _child_line(child: dict[str, Any]) -> str:
    totals, report = child["totals"], child["report"]
    shown = "chưa có dự thảo"
    if report:
        number = f" số {report['number']}" if report["number"] else ""
        shown = f"{label(report['kind'])}{number} ({label(report['status'])})"
    return (
        f"kỳ cấp dưới {child['cycle']} (đơn vị {child['unit']}): {label(child['status'])}, "
        f"hạn {child['deadline']}, đưa vào báo cáo {totals['counted']}/{totals['units']}, "
        f"trễ hạn {totals['late']}; báo cáo: {shown}"
    )


def _signed_line(report: dict[str, Any]) -> str:
    if report.get("signed"):
        return f"PDF đã ký số bởi {report['signed_by']}: {report['pdf_path']}"
    return f"PDF CHƯA ký số (chưa đặt khóa ký REPORTCYCLE_SIGNING_KEY): {report['pdf_path']}"


def comparison_table(console: Console, data: dict[str, Any]) -> None:
    """Each unit now and what it was in the earlier cycle (its predecessors, names of then)."""
    table = Grid(
        ["Mã", "Đơn vị", "Đưa vào báo cáo", f"Trong kỳ {data['earlier']}", "Khi đó"],
        shrink="Đơn vị",
    )
    for line in data["units"]:
        then = ", ".join(f"{e['unit']} ({e['name']})" for e in line["earlier"]) or "đơn vị mới"
        counted_then = ("có" if line["earlier_counted"] else "không") if line["earlier"] else "—"
        table.add_row(
            line["unit"], line["name"], "có" if line["counted"] else "không", then, counted_then
        )
    console.print(table)
    for row in data["ended"]:
        console.print(f"đã thôi hoạt động: {row['unit']} ({row['name']})", highlight=False)
    totals = data["totals"]
    console.print(
        f"tỷ lệ báo cáo kỳ này {format_share_vi(totals['reporting_rate'])}, kỳ "
        f"{data['earlier']} {format_share_vi(totals['earlier_reporting_rate'])}; các đơn vị "
        f"hiện nay đã có từ kỳ đó ({totals['with_history']}) khi đó báo cáo đủ: "
        f"{format_share_vi(totals['earlier_rate_of_today_units'])}",
        highlight=False,
    )


def _reply_problem(reply: dict[str, Any]) -> str:
    """What is wrong with the unit's reply: missing parts, and refused messages."""
    parts = ["thiếu: " + ", ".join(reply["missing"])] if reply["missing"] else []
    if reply.get("rejected"):
        parts.append(f"{reply['rejected']} thư bị từ chối, xem `review list --rejected`")
    return "; ".join(parts)


def review_table(console: Console, rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print("Không có thư nào chờ xem xét.")
        return
    table = Grid(["Mã", "Thư", "Kỳ", "Đơn vị", "Người gửi", "Loại", "Lý do", "Còn thiếu"])
    for row in rows:
        table.add_row(
            str(row["id"] or "—"),
            str(row["message"]),
            row["cycle"] or "—",
            row["unit"] or "—",
            row["sender"] or "",
            row["kind"],
            "; ".join(row["reasons"]),
            ", ".join(row["missing"]),
        )
    console.print(table)
    console.print(
        "Quyết định bằng `reportcycle review accept MÃ` hoặc `reportcycle review reject MÃ "
        "--note …`; xử lý lại một thư lỗi bằng `reportcycle review retry THƯ`."
    )


def _styled(text: str, style: str) -> Cell:
    return (text, style) if style else text


def _local(iso: str | None) -> str:
    """ "17/06/2024 08:00" in Vietnam time, as a coordinator reads it."""
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M")
