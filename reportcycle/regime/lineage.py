"""A regime file's lineage checked for sense: which unit became which between cycles
(`renamed_from`, `replaces`, `dissolved`). On the raw data, so that these errors come with the
field errors, each at its own line."""

from __future__ import annotations

from typing import Any

Problem = tuple[tuple[Any, ...], str]


def _edges(units: list[Any]) -> list[tuple[str, str, tuple[Any, ...]]]:
    """(successor, predecessor, where) for every predecessor named, in file order."""
    out: list[tuple[str, str, tuple[Any, ...]]] = []
    for u, unit in enumerate(units):
        if not isinstance(unit, dict):
            continue
        code = str(unit.get("code"))
        if unit.get("renamed_from") is not None:
            out.append((code, str(unit["renamed_from"]), ("units", u, "renamed_from")))
        replaces = unit.get("replaces")
        for k, old in enumerate(replaces if isinstance(replaces, list) else []):
            out.append((code, str(old), ("units", u, "replaces", k)))
    return out


def lineage_problems(units: list[Any], dissolved: list[Any]) -> list[Problem]:
    current = [str(u.get("code")) for u in units if isinstance(u, dict)]
    edges = _edges(units)
    graph: dict[str, list[str]] = {}
    for new, old, _ in edges:
        graph.setdefault(new, []).append(old)
    problems: list[Problem] = []
    taken: dict[str, str] = {}  # predecessor -> the unit that replaced it first
    loops: set[frozenset[str]] = set()  # each cycle said once, at its first edge
    for new, old, where in edges:
        if old == new:
            problems.append((where, f"unit {new} names itself as its predecessor; remove it"))
        elif old in taken:
            problems.append(
                (
                    where,
                    f"unit {old} is replaced twice, by {taken[old]} and by {new}; a unit has one "
                    "successor: keep it in one unit's `replaces`/`renamed_from`",
                )
            )
        elif (loop := _loop(graph, new, old)) is not None:
            if frozenset(loop) not in loops:
                loops.add(frozenset(loop))
                problems.append((where, f"a cycle in the lineage: {' → '.join(loop)}; break it"))
        elif old in current:
            problems.append(
                (
                    where,
                    f"unit {old} is still a unit of this regime; a unit renamed or merged into "
                    f"{new} is no longer listed: remove {old} from `units` or from here",
                )
            )
        taken.setdefault(old, new)
    for k, code in enumerate(dissolved):
        if str(code) in current:
            problems.append(
                (("dissolved", k), f"unit {code} is dissolved but still listed in `units`")
            )
        elif str(code) in taken:
            problems.append(
                (
                    ("dissolved", k),
                    f"unit {code} is dissolved but also replaced by {taken[str(code)]}; "
                    "it is one or the other",
                )
            )
    return problems


def _loop(graph: dict[str, list[str]], new: str, old: str) -> list[str] | None:
    """The path new → old → … → new, if following predecessors from `old` comes back."""
    seen = {new}
    stack = [(old, [new, old])]
    while stack:
        node, path = stack.pop()
        for nxt in graph.get(node, []):
            if nxt == new:
                return [*path, new]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None
