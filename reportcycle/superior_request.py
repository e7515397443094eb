"""The superior body's document that asks for a report (e.g. 2608/CV/BTGTU of 10/6/2024)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, field_validator

from reportcycle.calendar.dates import format_date_short
from reportcycle.vietnamese import nfc


class SuperiorRequest(BaseModel):
    """The superior body's document that asked for the report (e.g. 2608/CV/BTGTU)."""

    model_config = ConfigDict(frozen=True)

    ref: str
    date: date
    sender: str

    @field_validator("ref", "sender")
    @classmethod
    def _clean(cls, value: str) -> str:
        value = nfc(value).strip()
        if not value:
            raise ValueError("must not be empty")
        return value

    def sentence(self) -> str:
        """ "văn bản số 2608/CV/BTGTU ngày 10/6/2024 của Ban Tuyên giáo Tỉnh ủy"."""
        return f"văn bản số {self.ref} ngày {format_date_short(self.date)} của {self.sender}"
