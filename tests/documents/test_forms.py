"""Forms: build once, stamp per unit, fill, read back (DESIGN §5)."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import unicodedata
import zipfile
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import docx
import pytest
from lxml import etree

from reportcycle.clock import VN_TZ
from reportcycle.documents.blocks import Paragraph, Table
from reportcycle.documents.form_build import (
    build_form_template,
    form_filename,
    stamp_form,
)
from reportcycle.documents.form_fill import fill_form
from reportcycle.documents.form_read import parse_number_vi, read_form
from reportcycle.documents.package import FormError
from reportcycle.regime.loading import load_regime
from reportcycle.regime.schema import Regime
from tests.factories import zip_of

REGIME_FILE = Path(__file__).resolve().parents[2] / "regimes" / "dong-nai-ttdn-6-thang.yaml"
PERIOD = "6 tháng đầu năm 2024"
DEADLINE = "ngày 21 tháng 6 năm 2024"
CREATED = datetime(2024, 6, 17, 8, 0, tzinfo=VN_TZ)  # the request's creation, not the wall clock
CUSTOM_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/custom-properties}"
DPTTH_NAME = "Đài Phát thanh – Truyền hình Đồng Nai"


@pytest.fixture(scope="module")
def regime() -> Regime:
    return load_regime(REGIME_FILE).regime


def template_for(regime: Regime, unit_code: str) -> bytes:
    unit = next(u for u in regime.units if u.code == unit_code)
    return build_form_template(
        regime,
        section_codes=unit.sections,
        indicator_codes=unit.indicators,
        period_label=PERIOD,
        deadline_text=DEADLINE,
        title_vars={"next_period": "6 tháng cuối năm 2024"},
        created=CREATED,
    )


def stamped(template: bytes, unit_name: str = DPTTH_NAME, token: str = "tok-DPTTH-1") -> bytes:
    return stamp_form(
        template,
        token=token,
        unit_code="DPTTH",
        unit_name=unit_name,
        reply_address="baocao.ttdn@example.org",
        cycle_code="dong-nai-ttdn-6-thang-2024-H1",
    )


@pytest.fixture(scope="module")
def dptth_form(regime: Regime) -> bytes:
    return stamped(template_for(regime, "DPTTH"))


@pytest.fixture(scope="module")
def sngv_form(regime: Regime) -> bytes:
    return stamp_form(
        template_for(regime, "SNGV"),
        token="tok-SNGV-1",
        unit_code="SNGV",
        unit_name="Sở Ngoại vụ",
        reply_address="baocao.ttdn@example.org",
        cycle_code="dong-nai-ttdn-6-thang-2024-H1",
    )


def document_text(data: bytes) -> str:
    doc = docx.Document(io.BytesIO(data))
    cells = [c.text for t in doc.tables for row in t.rows for c in row.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def custom_properties(data: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        root = etree.fromstring(zf.read("docProps/custom.xml"))
    return {p.get("name"): p[0].text for p in root.iter(f"{CUSTOM_NS}property")}


def rewrite_member(data: bytes, name: str, new: bytes | None) -> bytes:
    """A copy of a zip with one member replaced (or removed when new is None)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename != name:
                dst.writestr(info, src.read(info), zipfile.ZIP_DEFLATED)
            elif new is not None:
                dst.writestr(info, new, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def member(data: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read(name)


SNGV_SECTIONS: dict[str, list[str | list[list[str]]]] = {
    "2": [
        "Đã ban hành các văn bản sau:",
        "- Kế hoạch số 12/KH-UBND ngày 15/01/2024 về thông tin đối ngoại",
        "- Công văn số 345/UBND-THNC ngày 20/02/2024",
        [["Số văn bản", "Ngày", "Trích yếu"], ["12/KH-UBND", "15/01/2024", "Kế hoạch TTĐN"]],
        "Các văn bản được triển khai đầy đủ.",
    ],
    "3b": ["- Phát hành 4 số bản tin đối ngoại"],
}


# --- template and stamping ------------------------------------------------------------------


def test_stamped_form_opens_with_only_the_units_sections_and_indicators(dptth_form: bytes) -> None:
    text = document_text(dptth_form)
    assert "Mục 3b. Công tác truyền thông" in text
    for other in ("Mục 2.", "Mục 3a.", "Mục 3c.", "Mục 1.", "Mục 4."):
        assert other not in text
    for code in ("trang_mxh", "nguoi_theo_doi_facebook", "nguoi_dang_ky_youtube"):
        assert code in text
    for code in ("an_pham", "lop_tap_huan", "giao_ban_bao_chi", "doanh_nghiep_hoi_cho"):
        assert code not in text
    parsed = read_form(dptth_form)
    assert list(parsed.sections) == ["3b"]
    assert list(parsed.indicators) == [
        "trang_mxh",
        "nguoi_theo_doi_facebook",
        "nguoi_dang_ky_youtube",
    ]


def test_stamped_form_shows_title_report_unit_deadline_and_reply_address(dptth_form: bytes) -> None:
    text = document_text(dptth_form)
    assert "PHIẾU CUNG CẤP THÔNG TIN" in text
    assert "Kết quả triển khai công tác thông tin đối ngoại 6 tháng đầu năm 2024" in text
    assert f"Đơn vị: {DPTTH_NAME}" in text
    assert f"Hạn gửi: {DEADLINE}" in text
    assert "baocao.ttdn@example.org" in text
    assert "@@RC_" not in text
    section = docx.Document(io.BytesIO(dptth_form)).sections[0]
    assert section.page_width is not None
    assert section.page_height is not None
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)  # A4
    assert b"Times New Roman" in member(dptth_form, "word/styles.xml")


def test_stamped_form_custom_and_core_properties_hold_token_unit_and_cycle(
    dptth_form: bytes,
) -> None:
    assert custom_properties(dptth_form) == {
        "reportcycle_token": "tok-DPTTH-1",
        "reportcycle_unit": "DPTTH",
        "reportcycle_cycle": "dong-nai-ttdn-6-thang-2024-H1",
        "reportcycle_form_version": "1",
    }
    core = docx.Document(io.BytesIO(dptth_form)).core_properties
    assert core.title.startswith("Phiếu cung cấp thông tin - Kết quả triển khai")
    assert core.subject == f"{DPTTH_NAME} - dong-nai-ttdn-6-thang-2024-H1"
    content_types = member(dptth_form, "[Content_Types].xml")
    assert b"application/vnd.openxmlformats-officedocument.custom-properties+xml" in content_types
    assert b"relationships/custom-properties" in member(dptth_form, "_rels/.rels")


def test_stamping_escapes_xml_special_characters_in_unit_names(regime: Regime) -> None:
    data = stamped(template_for(regime, "DPTTH"), unit_name='A & B <x> "q"', token="t&<>")
    assert 'Đơn vị: A & B <x> "q"' in document_text(data)
    assert docx.Document(io.BytesIO(data)).core_properties.subject.startswith('A & B <x> "q"')
    assert custom_properties(data)["reportcycle_token"] == "t&<>"
    assert read_form(data).token == "t&<>"


def test_stamping_rewrites_only_the_members_with_placeholders(
    dptth_form: bytes, regime: Regime
) -> None:
    template = template_for(regime, "DPTTH")
    with zipfile.ZipFile(io.BytesIO(template)) as a, zipfile.ZipFile(io.BytesIO(dptth_form)) as b:
        assert b.testzip() is None
        assert a.namelist() == b.namelist()
        changed = {n for n in a.namelist() if a.read(n) != b.read(n)}
    assert changed == {"word/document.xml", "docProps/core.xml", "docProps/custom.xml"}


def test_stamping_refuses_a_file_without_placeholders(dptth_form: bytes) -> None:
    with pytest.raises(ValueError, match="placeholder"):
        stamped(dptth_form)


def test_template_substitutes_period_and_title_vars_in_section_titles(regime: Regime) -> None:
    data = build_form_template(
        regime,
        section_codes=["4"],
        indicator_codes=[],
        period_label=PERIOD,
        deadline_text=DEADLINE,
        title_vars={"next_period": "6 tháng cuối năm 2024"},
        created=CREATED,
    )
    assert "Mục 4. Phương hướng, nhiệm vụ 6 tháng cuối năm 2024" in document_text(stamped(data))


def test_template_rejects_codes_the_regime_does_not_have(regime: Regime) -> None:
    def build(sections: list[str], indicators: list[str]) -> bytes:
        return build_form_template(
            regime,
            section_codes=sections,
            indicator_codes=indicators,
            period_label=PERIOD,
            deadline_text=DEADLINE,
            created=CREATED,
        )

    with pytest.raises(ValueError, match=r"\['3'\]"):  # "3" has subsections: not assignable
        build(["3"], [])
    with pytest.raises(ValueError, match="khong_co"):
        build(["3b"], ["khong_co"])


def test_form_filename_is_nfc_and_drops_characters_illegal_in_file_names() -> None:
    assert form_filename("Sở Ngoại vụ", "2024-H1") == (
        "Phiếu cung cấp thông tin - Sở Ngoại vụ - 2024-H1.docx"
    )
    name = form_filename(unicodedata.normalize("NFD", 'Sở A/B: "C"?'), "2024-H1")
    assert name == unicodedata.normalize("NFC", name)
    assert not set('/\\:*?"<>|') & set(name)
    assert name == "Phiếu cung cấp thông tin - Sở A B C - 2024-H1.docx"


# --- fill and read --------------------------------------------------------------------------


def test_fill_then_read_returns_paragraphs_bullets_nested_table_and_values(
    sngv_form: bytes,
) -> None:
    filled = fill_form(
        sngv_form,
        sections=SNGV_SECTIONS,
        indicators={"lop_tap_huan": "212.000", "an_pham": "13.350"},
    )
    parsed = read_form(filled)
    assert parsed.sections["2"] == [
        Paragraph("Đã ban hành các văn bản sau:", "para"),
        Paragraph("Kế hoạch số 12/KH-UBND ngày 15/01/2024 về thông tin đối ngoại", "bullet"),
        Paragraph("Công văn số 345/UBND-THNC ngày 20/02/2024", "bullet"),
        Table([["Số văn bản", "Ngày", "Trích yếu"], ["12/KH-UBND", "15/01/2024", "Kế hoạch TTĐN"]]),
        Paragraph("Các văn bản được triển khai đầy đủ.", "para"),
    ]
    assert parsed.sections["3a"] == []
    assert parsed.sections["3b"] == [Paragraph("Phát hành 4 số bản tin đối ngoại", "bullet")]
    assert parsed.indicators["lop_tap_huan"].value == 212000
    assert parsed.indicators["an_pham"].value == 13350
    assert parsed.indicators["an_pham"].raw == "13.350"
    assert (parsed.token, parsed.unit_code) == ("tok-SNGV-1", "SNGV")
    assert parsed.cycle_code == "dong-nai-ttdn-6-thang-2024-H1"
    assert parsed.warnings == []


def test_filled_form_writes_real_paragraphs_and_a_nested_table(sngv_form: bytes) -> None:
    filled = fill_form(sngv_form, sections=SNGV_SECTIONS, indicators={})
    doc = docx.Document(io.BytesIO(filled))
    cell = next(t for t in doc.tables if t.cell(0, 0).text.startswith("Mục 2.")).rows[-1].cells[0]
    assert [p.style.name for p in cell.paragraphs[:3] if p.style is not None] == [
        "Normal",
        "List Bullet",
        "List Bullet",
    ]
    assert len(cell.tables) == 1


def test_read_form_returns_nfc_text_for_nfd_input(dptth_form: bytes) -> None:
    text = "Tuyên truyền về biển, đảo Việt Nam"
    filled = fill_form(
        dptth_form,
        sections={"3b": [unicodedata.normalize("NFD", f"- {text}")]},
        indicators={"trang_mxh": unicodedata.normalize("NFD", "5 trang")},
    )
    parsed = read_form(filled)
    assert parsed.sections["3b"] == [Paragraph(text, "bullet")]
    assert parsed.indicators["trang_mxh"].value == 5


def test_read_form_of_an_unfilled_form_has_empty_sections_and_missing_values(
    dptth_form: bytes,
) -> None:
    parsed = read_form(dptth_form)
    assert parsed.sections == {"3b": []}
    assert all(
        v.value is None and v.problem is None and v.raw == "" for v in parsed.indicators.values()
    )


def test_read_form_treats_typed_markers_as_bullets_and_collapses_whitespace(
    dptth_form: bytes,
) -> None:
    lines = ["• Một", "+   Hai", "* Ba", "  Bốn   năm  ", "-5 độ", "-"]
    parsed = read_form(fill_form(dptth_form, sections={"3b": lines}, indicators={}))
    assert parsed.sections["3b"] == [
        Paragraph("Một", "bullet"),
        Paragraph("Hai", "bullet"),
        Paragraph("Ba", "bullet"),
        Paragraph("Bốn năm", "para"),
        Paragraph("-5 độ", "para"),
    ]


def test_read_form_detects_numbered_list_style(dptth_form: bytes) -> None:
    doc = docx.Document(io.BytesIO(dptth_form))
    cell = doc.tables[0].rows[-1].cells[0]
    cell.paragraphs[0].text = "Bước một"
    cell.paragraphs[0].style = "List Number"
    out = io.BytesIO()
    doc.save(out)
    assert read_form(out.getvalue()).sections["3b"] == [Paragraph("Bước một", "numbered")]


def test_read_form_matches_sections_by_code_despite_edited_nfd_header(dptth_form: bytes) -> None:
    xml = member(dptth_form, "word/document.xml").decode()
    edited = unicodedata.normalize("NFD", "MỤC   3b .  Truyền thông (đã sửa)")
    xml = xml.replace("Mục 3b. Công tác truyền thông", edited)
    assert edited in xml
    parsed = read_form(rewrite_member(dptth_form, "word/document.xml", xml.encode()))
    assert list(parsed.sections) == ["3b"]


def test_read_form_reports_an_unreadable_indicator_value_as_a_problem(dptth_form: bytes) -> None:
    filled = fill_form(
        dptth_form,
        sections={},
        indicators={"trang_mxh": "khoảng 200", "nguoi_dang_ky_youtube": "1.5"},
    )
    parsed = read_form(filled)
    assert parsed.indicators["trang_mxh"].value is None
    assert parsed.indicators["trang_mxh"].raw == "khoảng 200"
    assert parsed.indicators["trang_mxh"].problem
    assert "thousands" in (parsed.indicators["nguoi_dang_ky_youtube"].problem or "")


def test_read_form_falls_back_to_the_document_text_without_custom_properties(
    dptth_form: bytes,
) -> None:
    parsed = read_form(rewrite_member(dptth_form, "docProps/custom.xml", None))
    assert parsed.token == "tok-DPTTH-1"
    assert parsed.unit_code == "DPTTH"
    assert parsed.cycle_code == "dong-nai-ttdn-6-thang-2024-H1"
    assert parsed.warnings


# --- numbers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("212.000", 212000), ("13.350", 13350), ("1.234.567", 1234567), ("16", 16),
        ("12,5", Decimal("12.5")), ("1.234,5", Decimal("1234.5")), ("16 doanh nghiệp", 16),
        ("  05 ", 5), ("\u00a07\u00a0", 7), ("0", 0), ("45,5%", Decimal("45.5")),
    ],
)  # fmt: skip
def test_parse_number_vi_reads_vietnamese_notation(text: str, expected: int | Decimal) -> None:
    value = parse_number_vi(text)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize("text", ["abc", "", "   ", "1,2,3", "1.5", "1.23", "1234.567", "12 và 3"])
def test_parse_number_vi_rejects_what_it_cannot_read_unambiguously(text: str) -> None:
    with pytest.raises(ValueError, match="."):
        parse_number_vi(text)


def test_parse_number_vi_explains_the_dot_and_comma_convention() -> None:
    with pytest.raises(ValueError, match="hàng nghìn") as caught:
        parse_number_vi("1.5")
    assert '"." groups thousands' in str(caught.value)
    assert '"," marks decimals' in str(caught.value)


# --- rejections -----------------------------------------------------------------------------


def test_read_form_rejects_a_file_that_is_not_a_zip() -> None:
    with pytest.raises(FormError, match="docx") as caught:
        read_form(b"%PDF-1.7 not a word file")
    assert caught.value.reason == "not_docx"
    assert isinstance(caught.value, ValueError)


def test_read_form_rejects_ole_files_as_encrypted_or_legacy_doc() -> None:
    with pytest.raises(FormError, match="mật khẩu") as caught:
        read_form(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512)
    assert caught.value.reason == "encrypted"
    assert "password" in str(caught.value)


def test_read_form_rejects_macro_enabled_documents(dptth_form: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(dptth_form)) as src:
        with_macro = zip_of(
            {**{n: src.read(n) for n in src.namelist()}, "word/vbaProject.bin": b"x"}
        )
    with pytest.raises(FormError, match="macro") as caught:
        read_form(with_macro)
    assert caught.value.reason == "macro"
    types = member(dptth_form, "[Content_Types].xml").replace(
        b"wordprocessingml.document.main+xml", b"ms-word.document.macroEnabled.main+xml"
    )
    with pytest.raises(FormError, match="macro"):
        read_form(rewrite_member(dptth_form, "[Content_Types].xml", types))


def test_read_form_rejects_a_member_declared_larger_than_the_limit() -> None:
    data = bytearray(zip_of({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<x/>"}))
    central = data.rfind(b"PK\x01\x02")  # the last central directory entry: word/document.xml
    struct.pack_into("<L", data, central + 24, 60 * 2**20)  # its declared uncompressed size
    with pytest.raises(FormError) as caught:
        read_form(bytes(data))
    assert caught.value.reason == "too_large"


def test_read_form_rejects_a_highly_compressed_member() -> None:
    bomb = zip_of({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"\0" * 8 * 2**20})
    assert len(bomb) < 100_000
    with pytest.raises(FormError) as caught:
        read_form(bomb)
    assert caught.value.reason == "too_large"
    with pytest.raises(FormError):
        read_form(bomb, max_uncompressed=2**20)


def test_read_form_rejects_a_docx_that_is_not_our_form() -> None:
    doc = docx.Document()
    doc.add_paragraph("Báo cáo tự soạn")
    doc.add_table(rows=2, cols=2).cell(0, 0).text = "Nội dung"
    out = io.BytesIO()
    doc.save(out)
    with pytest.raises(FormError, match="Mục") as caught:
        read_form(out.getvalue())
    assert caught.value.reason == "not_form"


def test_read_form_refuses_xml_with_a_doctype(dptth_form: bytes) -> None:
    xml = member(dptth_form, "word/document.xml")
    evil = xml.replace(b"?>", b'?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>', 1)
    with pytest.raises(FormError) as caught:
        read_form(rewrite_member(dptth_form, "word/document.xml", evil))
    assert caught.value.reason == "not_docx"


# --- LibreOffice ----------------------------------------------------------------------------


def soffice_convert(source: Path, target_format: str, outdir: Path, profile: Path) -> Path:
    """Convert with headless LibreOffice, using its own profile so parallel runs don't clash."""
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    outdir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            *("soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless"),
            *("--convert-to", target_format, "--outdir", str(outdir), str(source)),
        ],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    converted = outdir / (source.stem + "." + target_format.split(":")[0])
    assert converted.exists(), result.stdout + result.stderr
    return converted


@pytest.mark.libreoffice
def test_stamped_form_converts_to_pdf_with_libreoffice(dptth_form: bytes, tmp_path: Path) -> None:
    source = tmp_path / "phieu.docx"
    source.write_bytes(dptth_form)
    pdf = soffice_convert(source, "pdf", tmp_path / "pdf", tmp_path / "lo-profile")
    assert pdf.read_bytes().startswith(b"%PDF")


@pytest.mark.libreoffice
def test_filled_form_resaved_by_libreoffice_reads_back_the_same(
    sngv_form: bytes, tmp_path: Path
) -> None:
    filled = fill_form(
        sngv_form, sections=SNGV_SECTIONS, indicators={"lop_tap_huan": "212.000", "an_pham": "12,5"}
    )
    source = tmp_path / "phieu.docx"
    source.write_bytes(filled)
    profile = tmp_path / "lo-profile"
    resaved = soffice_convert(source, "docx:MS Word 2007 XML", tmp_path / "out", profile)
    assert resaved.read_bytes() != filled
    before, after = read_form(filled), read_form(resaved.read_bytes())
    assert after.sections == before.sections
    assert after.indicators == before.indicators
    assert (after.token, after.unit_code, after.cycle_code) == (
        "tok-SNGV-1",
        "SNGV",
        before.cycle_code,
    )
    assert custom_properties(resaved.read_bytes())["reportcycle_token"] == "tok-SNGV-1"
    assert after.warnings == []


def test_form_is_dated_when_its_request_was_made_not_when_it_is_rendered(regime: Regime) -> None:
    doc = docx.Document(io.BytesIO(template_for(regime, "STTTT")))
    assert doc.core_properties.created == CREATED  # 01:00 UTC, written as such
    assert doc.core_properties.modified == CREATED
