"""Column types shared by the tables."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, String, type_coerce
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp on every backend.

    PostgreSQL keeps the zone; SQLite keeps none, so values are stored in UTC and come back
    aware. A naive datetime is refused: it would silently mean "whatever zone the server is in".
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given for a timezone-aware column")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        aware: datetime = value.astimezone(UTC)
        return aware


def json_as_text(column: Any) -> Any:
    """A JSON column read as its stored text, for `JsonOnce` to decode (SQLite; PostgreSQL's
    driver hands json back decoded whatever the type says)."""
    return type_coerce(column, String).label(column.key)


class JsonOnce:
    """Decodes each distinct JSON text once: a cycle's 5,000 requests share a handful of section
    lists, and decoding each row's copy was a third of `status`. Rows share the values it
    returns: read them, do not change them."""

    def __init__(self) -> None:
        self._seen: dict[str, Any] = {}

    def __call__(self, value: Any) -> Any:
        if not isinstance(value, str):
            return value  # decoded already (PostgreSQL)
        if value not in self._seen:
            self._seen[value] = json.loads(value)
        return self._seen[value]
