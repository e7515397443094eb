"""Vietnamese text helpers: NFC on every way in, number formatting."""

from __future__ import annotations

import unicodedata
from decimal import ROUND_HALF_UP, Decimal
from typing import Any


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def nfc_deep(value: Any) -> Any:
    """NFC-normalise every string inside nested dicts and lists (configuration, JSON)."""
    if isinstance(value, str):
        return nfc(value)
    if isinstance(value, dict):
        return {nfc_deep(k): nfc_deep(v) for k, v in value.items()}
    if isinstance(value, list):
        return [nfc_deep(v) for v in value]
    return value


def format_number_vi(value: int | float | Decimal, decimals: int | None = None) -> str:
    """Vietnamese grouping: "212.000", "13.350", "12,5" (dot for thousands, comma for decimals)."""
    number = Decimal(str(value))
    if decimals is None:
        decimals = max(0, -number.normalize().as_tuple().exponent)  # type: ignore[operator]
    text = f"{number:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def format_percent_vi(value: int | float | Decimal, decimals: int | None = None) -> str:
    """A percentage as the report writes it: "98,5%", "100%" (no space before the sign)."""
    return format_number_vi(value, decimals) + "%"


def format_share_vi(fraction: float | Decimal, decimals: int = 0) -> str:
    """A share (0.125) as a percentage rounded half up, the way people round: "13%", not the
    "12%" of Python's half-to-even; "37,5%" with decimals=1."""
    places = Decimal(1).scaleb(-decimals)
    percent = (Decimal(str(fraction)) * 100).quantize(places, rounding=ROUND_HALF_UP)
    return format_percent_vi(percent, decimals)


def format_measured_vi(value: str, measure: str) -> str:
    """A value with its unit of measure: "212.000 người", but "98,5%" for a percentage."""
    if measure.strip() == "%":
        return f"{value}%"
    return f"{value} {measure}".strip()


def ascii_slug(text: str) -> str:
    """A filename-safe ASCII fallback ("Sở Ngoại vụ" → "so-ngoai-vu")."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    out = "".join(c.lower() if c.isalnum() else "-" for c in bare)
    return "-".join(part for part in out.split("-") if part)


def lower_first(text: str) -> str:
    """ "Kết quả …" → "kết quả …" inside a sentence; "UBND …" stays."""
    if len(text) > 1 and text[0].isupper() and text[1].islower():
        return text[0].lower() + text[1:]
    return text
