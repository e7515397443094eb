"""Dates as Vietnamese documents write them: "ngày 03 tháng 7 năm 2024", "03/7/2024"."""

from __future__ import annotations

from datetime import date


def month_vi(month: int) -> str:
    # Decree 30/2020: months 1 and 2 take a leading zero, so "1" cannot be turned into "11"/"12".
    return f"{month:02d}" if month < 3 else str(month)


def format_date_vi(d: date) -> str:
    """E.g. "ngày 03 tháng 7 năm 2024", "ngày 05 tháng 01 năm 2020" (Decree 30/2020, Annex I)."""
    return f"ngày {d.day:02d} tháng {month_vi(d.month)} năm {d.year}"


def format_date_short(d: date) -> str:
    """E.g. "10/6/2024", as in "ngày 10/6/2024"."""
    return f"{d.day}/{d.month}/{d.year}"
