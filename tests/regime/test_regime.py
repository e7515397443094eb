"""Regime files: the reference scenario loads; errors name the file, the line and the field."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
import yaml

from reportcycle.regime.loading import RegimeError, load_regime
from tests.conftest import REFERENCE_REGIME


def _write(tmp_path: Path, data: dict[str, object] | str) -> Path:
    path = tmp_path / "regime.yaml"
    text = data if isinstance(data, str) else yaml.safe_dump(data, allow_unicode=True)
    path.write_text(text, encoding="utf-8")
    return path


def _reference_data() -> dict[str, object]:
    return yaml.safe_load(REFERENCE_REGIME.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_reference_regime_has_the_reports_outline_units_and_signer() -> None:
    regime = load_regime(REFERENCE_REGIME).regime
    assert [s.code for s in regime.leaf_sections()] == ["1", "2", "3a", "3b", "3c", "4"]
    assert regime.section("3").title == "Kết quả thực hiện"
    names = [u.name for u in regime.units]
    for expected in (
        "Sở Ngoại vụ",
        "Sở Thông tin và Truyền thông",
        "Đài Phát thanh – Truyền hình Đồng Nai",
        "Báo Đồng Nai",
        "Sở Văn hóa, Thể thao và Du lịch",
        "Sở Công Thương",
        "Liên hiệp các tổ chức hữu nghị tỉnh",
        "Sở Kế hoạch và Đầu tư",
    ):
        assert expected in names
    assert regime.requester is not None
    assert regime.requester.name == "Ban Tuyên giáo Tỉnh ủy"
    assert regime.signer.name == "Võ Tân Đức"
    assert [r.name for r in regime.recipients][0] == "Ban Tuyên giáo Tỉnh ủy"
    assert all(e.endswith("@example.org") for u in regime.units for e in u.emails)
    assert {"nguoi_theo_doi_facebook", "nguoi_dang_ky_youtube", "doanh_nghiep_hoi_cho"} <= {
        i.code for i in regime.indicators
    }


def test_unknown_field_is_reported_with_file_line_and_field(tmp_path: Path) -> None:
    text = REFERENCE_REGIME.read_text(encoding="utf-8").replace(
        "    head_email: giamdoc.sotttt@example.org",
        "    head_email: giamdoc.sotttt@example.org\n    fax: 0251",
    )
    path = _write(tmp_path, text)
    with pytest.raises(RegimeError) as caught:
        load_regime(path)
    (issue,) = caught.value.issues
    expected_line = text.splitlines().index("    fax: 0251") + 1
    assert issue.path == str(path)
    assert issue.line == expected_line
    assert issue.field == "units[1].fax"
    assert "unknown field" in issue.message
    assert str(issue).startswith(f"{path}:{expected_line}: units[1].fax:")


def test_every_error_is_reported_at_once(tmp_path: Path) -> None:
    data = _reference_data()
    del data["signer"]
    data["period"] = "fortnight"
    data["units"][0]["emails"] = ["not-an-address"]  # type: ignore[index]
    with pytest.raises(RegimeError) as caught:
        load_regime(_write(tmp_path, data))
    fields = {i.field for i in caught.value.issues}
    assert {"signer", "period", "units[0].emails[0]"} <= fields
    by_field = {i.field: i for i in caught.value.issues}
    assert "required" in by_field["signer"].message
    assert "'fortnight'" in by_field["period"].message
    assert all(i.line is not None for i in caught.value.issues)


def test_unit_assigned_an_unknown_section_names_the_known_ones(tmp_path: Path) -> None:
    data = _reference_data()
    data["units"][2]["sections"] = ["3d"]  # type: ignore[index]
    with pytest.raises(RegimeError) as caught:
        load_regime(_write(tmp_path, data))
    (issue,) = caught.value.issues
    assert issue.field == "units[2].sections[0]"
    assert "unknown section '3d'" in issue.message
    assert "'3b'" in issue.message


def test_section_nobody_answers_is_an_error(tmp_path: Path) -> None:
    data = _reference_data()
    for unit in data["units"]:  # type: ignore[attr-defined]
        unit["sections"] = [s for s in unit["sections"] if s != "3a"]
        unit.setdefault("indicators", [])
        if not unit["sections"] and not unit["indicators"]:
            unit["sections"] = ["3b"]
    with pytest.raises(RegimeError, match=r"section 3a .* no unit answers it"):
        load_regime(_write(tmp_path, data))


def test_a_lead_unit_must_answer_the_section_it_leads(tmp_path: Path) -> None:
    data = _reference_data()
    data["sections"][0]["lead_unit"] = "SNGV"  # type: ignore[index]
    with pytest.raises(RegimeError, match=r"section 1 names lead_unit 'SNGV', which is not a unit"):
        load_regime(_write(tmp_path, data))
    data["units"][0]["sections"].insert(0, "1")  # type: ignore[index]
    assert load_regime(_write(tmp_path, data)).regime.section("1").lead_unit == "SNGV"


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "code: x\nname: [unclosed\nperiod: half_year\n")
    with pytest.raises(RegimeError) as caught:
        load_regime(path)
    (issue,) = caught.value.issues
    assert issue.field == "(syntax)"
    assert issue.line is not None
    assert issue.line >= 2


def test_decomposed_vietnamese_is_normalised_to_nfc(tmp_path: Path) -> None:
    text = unicodedata.normalize("NFD", REFERENCE_REGIME.read_text(encoding="utf-8"))
    regime = load_regime(_write(tmp_path, text)).regime
    assert regime.units[0].name == "Sở Ngoại vụ"
    assert unicodedata.is_normalized("NFC", regime.units[0].name)


SECOND_REGIME = REFERENCE_REGIME.parent / "binh-dinh-cchc-quy.yaml"


def _second(tmp_path: Path, old: str, new: str) -> list[str]:
    text = SECOND_REGIME.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "binh-dinh.yaml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(RegimeError) as caught:
        load_regime(path)
    return [str(i) for i in caught.value.issues]


def test_the_second_regime_loads_with_dotted_sections_rates_and_text() -> None:
    regime = load_regime(SECOND_REGIME).regime
    assert len(regime.units) == 14
    assert [s.code for s in regime.sections] == ["1", "2", "3", "4", "5"]
    assert "2.1" in [s.code for s in regime.leaf_sections()]
    rate = regime.indicator("ty_le_dung_han")
    assert (rate.aggregate, rate.numerator, rate.denominator, rate.is_percentage) == (
        "rate",
        "hs_dung_han",
        "hs_tiep_nhan",
        True,
    )
    assert regime.indicator("tu_danh_gia").value_type == "text"
    assert next(u for u in regime.units if u.code == "STC").emails == (
        "sotaichinh@example.org",
        "sokhdt@example.org",
    )


def test_a_sum_of_percentages_is_refused(tmp_path: Path) -> None:
    (issue,) = _second(tmp_path, "    aggregate: mean\n", "    aggregate: sum\n")
    assert ":99: indicators[4].aggregate: indicator 'ty_le_truc_tuyen' is a percentage" in issue
    assert "use `aggregate: rate`" in issue


def test_a_rate_needs_a_known_numerator_and_denominator(tmp_path: Path) -> None:
    issues = _second(tmp_path, "    numerator: hs_dung_han\n", "    numerator: hs_dung_han_x\n")
    assert issues == [
        f"{tmp_path / 'binh-dinh.yaml'}:92: indicators[3].numerator: unknown indicator "
        "'hs_dung_han_x'; expected one of ['hs_dung_han', 'hs_tiep_nhan', 'tu_danh_gia', "
        "'ty_le_truc_tuyen', 'vb_qppl']"
    ]
    (issue,) = _second(tmp_path, "    denominator: hs_tiep_nhan\n", "")
    assert "`aggregate: rate` needs `denominator:`" in issue


def test_a_bad_email_is_one_plain_error_without_a_regex(tmp_path: Path) -> None:
    (issue,) = _second(tmp_path, "[sotuphap@example.org]", "[sotuphap@example]")
    assert issue.endswith(
        ":118: units[1].emails[0]: not an email address; expected name@domain, "
        "e.g. sotuphap@binhdinh.gov.vn (got 'sotuphap@example')"
    )
    assert "^[" not in issue
