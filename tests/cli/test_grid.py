"""The CLI's tables: columns line up in terminal cells, Vietnamese included; a terminal too
narrow shortens only the named column, and piped output keeps every character."""

from __future__ import annotations

import io
import unicodedata

from rich.cells import cell_len
from rich.console import Console

from reportcycle.cli.grid import Grid

NAMES = ["Sở Ngoại vụ", "Đài Phát thanh – Truyền hình Đồng Nai", "Báo Đồng Nai"]


def _grid() -> Grid:
    grid = Grid(["Mã", "Đơn vị", "Trả lời", "Vấn đề"], shrink="Đơn vị")
    for i, name in enumerate(NAMES):
        grid.add_row(f"U{i}", name, ("đã nhận", "green") if i else "chưa nhận", "thiếu: 3b" * i)
    return grid


def _drawn(*, width: int, terminal: bool) -> list[str]:
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=terminal, color_system=None)
    console.print(_grid(), soft_wrap=True)
    return buffer.getvalue().splitlines()


def test_columns_line_up_in_cells() -> None:
    lines = _drawn(width=200, terminal=False)
    assert lines[0].split() == ["Mã", "Đơn", "vị", "Trả", "lời", "Vấn", "đề"]
    assert set(lines[1].replace("  ", "")) == {"─"}
    starts = [line.index("chưa nhận" if "chưa" in line else "đã nhận") for line in lines[2:]]
    reply_at = {cell_len(line[:at]) for line, at in zip(lines[2:], starts, strict=True)}
    assert len(reply_at) == 1, lines  # "chưa nhận" and "đã nhận" padded alike
    for name, line in zip(NAMES, lines[2:], strict=True):
        assert name in line  # piped output: nothing shortened
    assert lines[3].endswith("thiếu: 3b")
    assert not lines[2].endswith(" ")


def test_a_narrow_terminal_shortens_only_the_names() -> None:
    lines = _drawn(width=40, terminal=True)
    body = lines[2:]
    assert "Đài Phát" in body[1]
    assert "…" in body[1]
    assert all(cell_len(line) <= 40 for line in body[:2]), body
    assert "chưa nhận" in body[0]
    assert "đã nhận" in body[1]


def test_decomposed_text_is_measured_as_it_is_shown() -> None:
    grid = Grid(["Mã", "Tên"])
    grid.add_row(unicodedata.normalize("NFD", "Sở"), "x")
    grid.add_row("Ab", "y")
    console = Console(file=io.StringIO(), width=80, color_system=None)
    console.print(grid)
    first, second = console.file.getvalue().splitlines()[2:]  # type: ignore[attr-defined]
    assert cell_len(first[: first.index("x")]) == cell_len(second[: second.index("y")])
