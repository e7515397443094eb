"""Rich renderings for the CLI."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table

from reportcycle.clock import VN_TZ
from reportcycle.regime.schema import Regime

REPLY_STYLE = {"accepted": "green", "needs_review": "yellow", "rejected": "red"}
STATUS_STYLE = {"sent": "green", "failed": "red", "uncertain": "yellow", "queued": "cyan"}


def regime_summary(console: Console, regime: Regime) -> None:
    console.print(f"[bold]{regime.code}[/bold] — {regime.name}", highlight=False)
    console.print(
        f"period: {regime.period.value}; window starts on day {regime.window.start_day};"
        f" units reply {regime.deadline.working_days} working days after "
        f"{regime.deadline.anchor}",
        highlight=False,
    )
    sections = Table("section", "title", "written by", title="Outline")
    for s in regime.all_sections():
        sections.add_row(s.code, s.title, "—" if s.subsections else s.written_by)
    console.print(sections)
    units = Table("unit", "name", "sections", "indicators", title=f"{len(regime.units)} units")
    for u in regime.units:
        units.add_row(u.code, u.name, ", ".join(u.sections), ", ".join(u.indicators))
    console.print(units)
    console.print(
        f"{len(regime.indicators)} indicators, {len(regime.reminders)} reminder steps, "
        f"{len(regime.recipients)} recipients; signer: {regime.signer.name}",
        highlight=False,
    )


def status_table(console: Console, data: dict[str, Any]) -> None:
    cycle = data["cycle"]
    console.print(
        f"[bold]{cycle['code']}[/bold] ({cycle['status']}) — window "
        f"{cycle['window_start']} → {cycle['window_end']}, deadline {cycle['deadline']}",
        highlight=False,
    )
    table = Table("unit", "name", "request", "sent at", "reply", "received", "versions", "problem")
    for unit in data["units"]:
        req, reply = unit["request"], unit["reply"]
        style = STATUS_STYLE.get(req["status"], "")
        outcome = reply["outcome"] or "—"
        if reply["late"]:
            outcome += " (late)"
        table.add_row(
            unit["unit"],
            unit["name"],
            f"[{style}]{req['status']}[/{style}]" if style else req["status"],
            _local(req["sent_at"]),
            f"[{REPLY_STYLE.get(reply['outcome'] or '', '')}]{outcome}[/]"
            if reply["outcome"]
            else outcome,
            _local(reply["last_received_at"]),
            str(reply["versions"] or ""),
            req["error"] or ("missing: " + ", ".join(reply["missing"]) if reply["missing"] else ""),
        )
    console.print(table)
    totals = data["totals"]
    console.print(
        f"units {totals['units']}: requests sent {totals['sent']}, failed {totals['failed']}; "
        f"replies received {totals['received']}, counted {totals['counted']}, "
        f"late {totals['late']}, waiting for review {totals['needs_review']}; "
        f"reporting rate {totals['reporting_rate']:.0%}, on-time rate {totals['on_time_rate']:.0%}",
        highlight=False,
    )
    report = data.get("report")
    if report:
        number = f" {report['number']}" if report["number"] else ""
        console.print(
            f"report: v{report['version']} {report['kind']}{number} ({report['status']}): "
            f"{report['path']}",
            highlight=False,
        )
        if report["pdf_path"]:
            console.print(_signed_line(report), highlight=False)
    for child in data.get("children", []):
        console.print(_child_line(child), highlight=False)


def _child_line(child: dict[str, Any]) -> str:
    totals, report = child["totals"], child["report"]
    shown = "no draft yet"
    if report:
        shown = f"{report['kind']} {report['number'] or ''} ({report['status']})".replace("  ", " ")
    return (
        f"lower cycle {child['cycle']} (unit {child['unit']}): {child['status']}, deadline "
        f"{child['deadline']}, counted {totals['counted']}/{totals['units']}, late "
        f"{totals['late']}; report: {shown}"
    )


def _signed_line(report: dict[str, Any]) -> str:
    if report.get("signed"):
        return f"PDF digitally signed by {report['signed_by']}: {report['pdf_path']}"
    return f"PDF NOT digitally signed (no REPORTCYCLE_SIGNING_KEY configured): {report['pdf_path']}"


def comparison_table(console: Console, data: dict[str, Any]) -> None:
    """Each unit now and what it was in the earlier cycle (its predecessors, names of then)."""
    table = Table("unit", "name", "counted", f"in {data['earlier']}", "counted then")
    for line in data["units"]:
        then = ", ".join(f"{e['unit']} ({e['name']})" for e in line["earlier"]) or "new"
        counted_then = ("yes" if line["earlier_counted"] else "no") if line["earlier"] else "—"
        table.add_row(
            line["unit"], line["name"], "yes" if line["counted"] else "no", then, counted_then
        )
    console.print(table)
    for row in data["ended"]:
        console.print(f"ended since: {row['unit']} ({row['name']})", highlight=False)
    totals = data["totals"]
    console.print(
        f"reporting rate {totals['reporting_rate']:.0%} now, "
        f"{totals['earlier_reporting_rate']:.0%} in {data['earlier']}; today's units that "
        f"existed then ({totals['with_history']}) reported then in full: "
        f"{totals['earlier_rate_of_today_units']:.0%}",
        highlight=False,
    )


def review_table(console: Console, rows: list[dict[str, Any]]) -> None:
    if not rows:
        console.print("Nothing waits for review.")
        return
    table = Table("id", "msg", "cycle", "unit", "from", "kind", "why", "missing")
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
        "Decide with `reportcycle review accept ID` or `reportcycle review reject ID "
        "--note …`; retry a failed message with `reportcycle review retry MSG`."
    )


def _local(iso: str | None) -> str:
    """ "17/06/2024 08:00" in Vietnam time, as a coordinator reads it."""
    if not iso:
        return ""
    return datetime.fromisoformat(iso).astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M")
