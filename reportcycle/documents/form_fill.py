"""Filling a form as a unit would in Word: used by the demo's units and by the tests."""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence

import docx
from docx.table import _Cell

from reportcycle.documents.form_build import INDICATOR_HEADER, SECTION_HEADER
from reportcycle.documents.package import clean_text

# --- filling (simulated units, demo) --------------------------------------------------------


def fill_form(
    form: bytes,
    *,
    sections: Mapping[str, Sequence[str | Sequence[Sequence[str]]]],
    indicators: Mapping[str, str],
    italic: Sequence[str] = (),
) -> bytes:
    """Fill a form as a unit would in Word: paragraphs ("- " → List Bullet style) and nested
    tables (a sequence of rows) in each section's content cell, values in the indicator table;
    the `italic` phrases (titles of programmes, articles) set in italics where they occur."""
    doc = docx.Document(io.BytesIO(form))
    content: dict[str, _Cell] = {}
    values: dict[str, _Cell] = {}
    for table in doc.tables:
        header = [clean_text(c.text) for c in table.rows[0].cells]
        match = SECTION_HEADER.match(header[0])
        if match:
            content[match.group(1)] = table.rows[-1].cells[0]
        elif tuple(header) == INDICATOR_HEADER:
            values.update({clean_text(r.cells[0].text): r.cells[-1] for r in table.rows[1:]})
    for kind, targets, wanted in (
        ("section", content, sections),
        ("indicator", values, indicators),
    ):
        if set(wanted) - set(targets):
            raise ValueError(f"{kind}s {sorted(set(wanted) - set(targets))} not in this form")
    for code, items in sections.items():
        _fill_cell(content[code], items, italic)
    for code, value in indicators.items():
        values[code].text = value
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _fill_cell(
    cell: _Cell, items: Sequence[str | Sequence[Sequence[str]]], italic: Sequence[str]
) -> None:
    fresh = None if any(p.text for p in cell.paragraphs) else cell.paragraphs[0]
    # a capturing group: split() returns text, phrase, text, phrase, …
    pattern = re.compile("(" + "|".join(map(re.escape, italic)) + ")") if italic else None
    for item in items:
        if isinstance(item, str):
            paragraph = fresh if fresh is not None else cell.add_paragraph()
            text = item[2:] if item.startswith("- ") else item
            for index, part in enumerate(pattern.split(text) if pattern else [text]):
                if part:
                    paragraph.add_run(part).italic = True if index % 2 else None
            if item.startswith("- "):
                paragraph.style = "List Bullet"
        else:
            rows = [list(row) for row in item]
            table = cell.add_table(len(rows), max(len(row) for row in rows))
            table.style = "Table Grid"
            for row, texts in zip(table.rows, rows, strict=True):
                for target, text in zip(row.cells, texts, strict=False):
                    target.text = text
        fresh = None
