"""`regime check` on a lineage that makes no sense: each error at its file, line and field."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from reportcycle.regime.loading import RegimeError, load_regime
from tests.fixtures.lineage import regime_2025_data, write_regime


def _issues(tmp_path: Path, data: dict[str, object]) -> list[str]:
    path = write_regime(tmp_path / "regime.yaml", data)
    with pytest.raises(RegimeError) as caught:
        load_regime(path)
    return [str(i) for i in caught.value.issues]


def _line_of(path: Path, text: str, after: str = "") -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if after in line) if after else 0
    return next(i for i, line in enumerate(lines) if i >= start and text in line) + 1


def test_the_2025_lineage_loads(tmp_path: Path) -> None:
    regime = load_regime(write_regime(tmp_path / "r.yaml", regime_2025_data())).regime
    units = {u.code: u for u in regime.units}
    assert units["BPTTH"].predecessors() == ("DPTTH", "BDN")
    assert units["STC"].predecessors() == ("SKHDT",)
    assert units["SDTTG"].predecessors() == ()
    assert regime.dissolved == ("SNGV",)


def test_a_unit_replaced_twice_is_an_error_at_the_second_place(tmp_path: Path) -> None:
    data = copy.deepcopy(regime_2025_data())
    data["units"][1]["replaces"] = ["STTTT", "BDN"]  # BDN already went into BPTTH
    issues = _issues(tmp_path, data)
    line = _line_of(tmp_path / "regime.yaml", "- BDN", after="code: SKHCN")
    assert issues == [
        f"{tmp_path / 'regime.yaml'}:{line}: units[1].replaces[1]: unit BDN is replaced twice, "
        "by BPTTH and by SKHCN; a unit has one successor: keep it in one unit's "
        "`replaces`/`renamed_from`"
    ]


def test_a_cycle_in_the_lineage_is_an_error(tmp_path: Path) -> None:
    data = copy.deepcopy(regime_2025_data())
    data["units"][2]["renamed_from"] = "SDTTG"  # STC was SDTTG …
    data["units"][3]["renamed_from"] = "STC"  # … and SDTTG was STC
    issues = _issues(tmp_path, data)
    line = _line_of(tmp_path / "regime.yaml", "renamed_from: SDTTG")
    assert issues == [
        f"{tmp_path / 'regime.yaml'}:{line}: units[2].renamed_from: a cycle in the lineage: "
        "STC → SDTTG → STC; break it"
    ]


def test_a_predecessor_still_listed_or_dissolved_and_replaced_is_an_error(tmp_path: Path) -> None:
    data = copy.deepcopy(regime_2025_data())
    data["units"][0]["replaces"] = ["DPTTH", "BDN", "SCT"]  # SCT is still a unit
    data["dissolved"] = ["SNGV", "DPTTH"]
    issues = _issues(tmp_path, data)
    assert len(issues) == 2
    assert "units[0].replaces[2]: unit SCT is still a unit of this regime" in issues[0]
    assert issues[1].endswith(
        "dissolved[1]: unit DPTTH is dissolved but also replaced by BPTTH; it is one or the other"
    )
    line = _line_of(tmp_path / "regime.yaml", "- DPTTH", after="dissolved:")
    assert issues[1].startswith(f"{tmp_path / 'regime.yaml'}:{line}:")


def test_a_unit_cannot_be_its_own_predecessor(tmp_path: Path) -> None:
    data = copy.deepcopy(regime_2025_data())
    data["units"][2]["renamed_from"] = "STC"
    (issue,) = _issues(tmp_path, data)
    assert issue.endswith(
        "units[2].renamed_from: unit STC names itself as its predecessor; remove it"
    )
