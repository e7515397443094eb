"""Merging the units' contributions into the outline (pure functions, no database).

A section's content is every counted contribution's blocks, in the regime's unit order, lists
and tables kept. A paragraph two units both sent (equal after NFC and whitespace
normalisation) appears once, attributed to both. Paragraphs that are almost the same are kept
and flagged for the secretariat. Indicators are aggregated as the regime says.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from difflib import SequenceMatcher
from typing import Any

from reportcycle.regime.schema import Aggregate, Indicator
from reportcycle.report.context import Block, Para, TableBlock
from reportcycle.report.rates import mean_value, rate_value
from reportcycle.vietnamese import format_number_vi, format_percent_vi, nfc

NEAR_DUPLICATE = 0.9  # SequenceMatcher ratio from which two paragraphs are "almost the same"
_SHINGLE = 3  # words per shingle in the candidate index
_COMMON_SHINGLE = 50  # a shingle in more paragraphs than this tells nothing; not indexed
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class UnitContribution:
    """The counted version of one unit's reply, as stored (Submission.sections/indicators)."""

    unit_code: str
    unit_name: str
    sections: Mapping[str, Sequence[Mapping[str, Any]]]
    indicators: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    received_at: datetime | None = None  # of the counted version; "latest" indicators use it


@dataclass(frozen=True)
class MergeNote:
    """Something the secretariat must look at, for the draft's review notes."""

    section: str
    text: str


def normalise(text: str) -> str:
    return _SPACES.sub(" ", nfc(text)).strip()


def merge_section(
    code: str, contributions: Sequence[UnitContribution]
) -> tuple[list[Block], list[MergeNote]]:
    """The blocks of section `code` from every contribution, in the order given."""
    blocks: list[Block] = []
    notes: list[MergeNote] = []
    seen: dict[str, int] = {}  # normalised text -> index in blocks
    for contribution in contributions:
        for raw in contribution.sections.get(code, ()):
            if raw.get("type") == "table":
                rows = tuple(tuple(normalise(c) for c in row) for row in raw.get("rows", ()))
                if rows:
                    blocks.append(
                        TableBlock(
                            header=rows[0],
                            rows=rows[1:],
                            caption=f"Bảng số liệu của {contribution.unit_name}",
                            sources=(contribution.unit_name,),
                        )
                    )
                continue
            text = normalise(str(raw.get("text", "")))
            if not text:
                continue
            bullet = raw.get("style") in ("bullet", "numbered")
            at = seen.get(text)
            if at is not None:
                first = blocks[at]
                assert isinstance(first, Para)
                if contribution.unit_name not in first.sources:
                    blocks[at] = Para(
                        first.text,
                        first.bullet,
                        (*first.sources, contribution.unit_name),
                        first.flag,
                    )
                continue
            seen[text] = len(blocks)
            blocks.append(
                Para(
                    f"- {text}" if bullet else text,
                    bullet=bullet,
                    sources=(contribution.unit_name,),
                    spans=_spans(raw, text),
                )
            )
    return _flag_near_duplicates(code, blocks, notes)


def _spans(raw: Mapping[str, Any], text: str) -> tuple[tuple[str, str], ...]:
    """The unit's italic and bold runs (stored since forms keep them), if they still spell the
    paragraph's text; () for older rows and for text changed since it was read."""
    spans = tuple((normalise_run(str(t)), str(m)) for t, m in raw.get("spans") or ())
    return spans if "".join(t for t, _ in spans) == text else ()


def normalise_run(text: str) -> str:
    """A run's text as `normalise` leaves it inside a paragraph: NFC, whitespace runs one space."""
    return _SPACES.sub(" ", nfc(text))


def _flag_near_duplicates(
    code: str, blocks: list[Block], notes: list[MergeNote]
) -> tuple[list[Block], list[MergeNote]]:
    """Flag each paragraph almost equal to an earlier one. Candidates come from an index of
    word shingles, so a section of thousands of paragraphs is not compared pair by pair."""
    paragraphs = [(i, b) for i, b in enumerate(blocks) if isinstance(b, Para)]
    shingles = {i: _shingles(p.text) for i, p in paragraphs}
    frequency = Counter(s for found in shingles.values() for s in found)
    # Only the shingles few paragraphs share are indexed and counted: units' paragraphs share
    # many phrases ("thông tin đối ngoại"), and a pair alike only in those is not a candidate.
    rare = {
        i: {s for s in found if frequency[s] <= _COMMON_SHINGLE} for i, found in shingles.items()
    }
    index: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i, _ in paragraphs:
        candidates: Counter[int] = Counter()
        for s in rare[i]:
            candidates.update(index[s])
            index[s].append(i)
        for j, shared in candidates.most_common(3):
            if shared * 2 < min(len(rare[i]), len(rare[j])):
                break
            this, earlier = blocks[i], blocks[j]
            assert isinstance(this, Para)
            assert isinstance(earlier, Para)
            matcher = SequenceMatcher(None, earlier.text, this.text, autojunk=False)
            # The two upper bounds first (linear): the full ratio is quadratic in the length.
            if (
                matcher.real_quick_ratio() < NEAR_DUPLICATE
                or matcher.quick_ratio() < NEAR_DUPLICATE
            ):
                continue
            ratio = matcher.ratio()
            if ratio >= NEAR_DUPLICATE:
                who = ", ".join(earlier.sources)
                flag = f"Gần trùng ({ratio:.0%}) với đoạn của {who}; cần giữ một đoạn."
                blocks[i] = Para(this.text, this.bullet, this.sources, flag)
                notes.append(
                    MergeNote(
                        code,
                        f"Mục {code}: đoạn của {', '.join(this.sources)} gần trùng ({ratio:.0%}) "
                        f"với đoạn của {who}: “{_excerpt(this.text)}”.",
                    )
                )
                break
    return blocks, notes


def _shingles(text: str) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.casefold())
    if len(words) < _SHINGLE:
        return {tuple(words)} if words else set()
    return {tuple(words[k : k + _SHINGLE]) for k in range(len(words) - _SHINGLE + 1)}


def _excerpt(text: str, words: int = 12) -> str:
    parts = text.removeprefix("- ").split()
    return " ".join(parts[:words]) + ("…" if len(parts) > words else "")


# --- indicators ------------------------------------------------------------------------------

INDICATOR_HEADER = ("STT", "Chỉ tiêu", "Đơn vị tính", "Số liệu", "Đơn vị báo cáo")

_Given = tuple[UnitContribution, Mapping[str, Any]]  # a unit and the value it gave
_Row = tuple[str, ...]


def indicator_table(
    indicators: Sequence[Indicator], contributions: Sequence[UnitContribution]
) -> tuple[TableBlock | None, list[MergeNote]]:
    """One table for the indicators of a section: a sum as one row with its total, a list as
    one row per unit that gave a value (in the order given), the latest as the value of the
    unit whose counted reply arrived last."""
    rows: list[_Row] = []
    notes: list[MergeNote] = []
    sources: list[str] = []
    for number, indicator in enumerate(indicators, start=1):
        given = _given_values(indicator, contributions)
        notes.extend(_unreadable_notes(indicator, given))
        usable = [(c, v) for c, v in given if not v.get("problem")]
        sources.extend(c.unit_name for c, _ in usable if c.unit_name not in sources)
        if indicator.aggregate in (Aggregate.MEAN, Aggregate.RATE):
            rows.append(computed_row(number, indicator, usable, contributions))
            continue
        indicator_rows, indicator_notes = _indicator_rows(number, indicator, usable)
        rows.extend(indicator_rows)
        notes.extend(indicator_notes)
    if not rows:
        return None, notes
    table = TableBlock(INDICATOR_HEADER, tuple(rows), None, tuple(sources), kind="indicators")
    return table, notes


def _given_values(indicator: Indicator, contributions: Sequence[UnitContribution]) -> list[_Given]:
    """Every contribution that gave a value for `indicator`, in the order given."""
    return [
        (c, c.indicators[indicator.code])
        for c in contributions
        if indicator.code in c.indicators and _has_value(c.indicators[indicator.code])
    ]


def _unreadable_notes(indicator: Indicator, given: Sequence[_Given]) -> list[MergeNote]:
    return [
        MergeNote(
            indicator.section,
            f"Chỉ tiêu “{indicator.label}” của {c.unit_name}: “{value.get('raw')}” "
            f"không đọc được ({value['problem']}); không tính vào bảng.",
        )
        for c, value in given
        if value.get("problem")
    ]


def _indicator_rows(
    number: int, indicator: Indicator, usable: Sequence[_Given]
) -> tuple[list[_Row], list[MergeNote]]:
    """The rows of one indicator, aggregated as the regime says."""
    label = (str(number), indicator.label, indicator.measure)
    if not usable:
        return [(*label, "chưa có số liệu", "")], []
    if indicator.aggregate == Aggregate.SUM:
        total, skipped = _sum(indicator, usable)
        notes = [
            MergeNote(
                indicator.section,
                f"Chỉ tiêu “{indicator.label}” của {c.unit_name} không phải là số; "
                "không cộng vào tổng.",
            )
            for c in skipped
        ]
        return [(*label, total, f"{len(usable)} đơn vị")], notes
    if indicator.aggregate == Aggregate.LATEST:
        c, v = max(usable, key=_arrival)
        return [(*label, _shown(indicator, v), c.unit_name)], []
    # A list: the label only on the first unit's row, so the rows read as one indicator.
    blank = ("", "", "")
    return [
        (*(label if k == 0 else blank), _shown(indicator, v), c.unit_name)
        for k, (c, v) in enumerate(usable)
    ], []


def _arrival(item: _Given) -> float:
    received = item[0].received_at
    return received.timestamp() if received else float("-inf")


def _has_value(value: Mapping[str, Any]) -> bool:
    return value.get("value") is not None or bool(value.get("raw"))


def _number(value: Mapping[str, Any]) -> Decimal | None:
    raw = value.get("value")
    if raw is None or isinstance(raw, bool):
        return None
    try:
        return Decimal(str(raw))
    except InvalidOperation:
        return None


def _shown(indicator: Indicator, value: Mapping[str, Any]) -> str:
    number = _number(value)
    if indicator.value_type == "text" or number is None:
        return normalise(str(value.get("raw") or value.get("value") or ""))
    return format_percent_vi(number) if indicator.is_percentage else format_number_vi(number)


def computed_row(
    number: int,
    indicator: Indicator,
    usable: Sequence[_Given],
    contributions: Sequence[UnitContribution],
) -> _Row:
    """The one row of a mean or a rate: the value and how many units it is computed over."""
    if indicator.aggregate == Aggregate.RATE:
        value, counted = rate_value(indicator, contributions)
    else:
        value, counted = mean_value(indicator, [v for _, v in usable])
    label = (str(number), indicator.label, indicator.measure)
    if not counted:
        return (*label, "chưa có số liệu", "")
    shown = value + "%" if indicator.is_percentage else value
    return (*label, shown, f"{counted} đơn vị")


def _sum(indicator: Indicator, usable: Sequence[_Given]) -> tuple[str, list[UnitContribution]]:
    total = Decimal(0)
    skipped = []
    for c, v in usable:
        number = _number(v)
        if number is None:
            skipped.append(c)
        else:
            total += number
    return format_number_vi(total), skipped
