"""TCVN3 and VNI: tables, round trips, detection without false positives, DOCX fonts."""

from __future__ import annotations

import io
import shutil
import subprocess
import unicodedata

import docx
import pytest

from reportcycle.documents import legacy_encodings
from reportcycle.documents.legacy_encodings import LETTERS, TCVN3, VNI, detect_legacy, to_unicode
from reportcycle.vietnamese import nfc
from tests.factories import zip_of

REFERENCE_SENTENCES = [
    "Thực hiện văn bản số 2608/CV/BTGTU ngày 10/6/2024 của Ban Tuyên giáo Tỉnh ủy",
    "Đài Phát thanh – Truyền hình Đồng Nai",
    "Sở Văn hóa, Thể thao và Du lịch",
    "Liên hiệp các tổ chức hữu nghị tỉnh",
    "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
    "Độc lập - Tự do - Hạnh phúc",
]
# Every letter of the tables inside a syllable ("tán", "tằn" …), lower case then capitals.
ALL_LETTERS = " ".join(f"t{c}n" for c in LETTERS[:-1]) + " đa đi"
ALL_CAPITALS = ALL_LETTERS.upper()
REPORT_PARAGRAPH = (
    "Trong 6 tháng đầu năm 2024, tình hình thế giới tiếp tục diễn biến nhanh, phức tạp, khó "
    "lường, chứa đựng nhiều yếu tố bất ngờ khó dự báo. Hòa bình, hợp tác, liên kết để phát "
    "triển vẫn là xu thế lớn, nhưng cạnh tranh chiến lược giữa các nước lớn tiếp tục gia tăng "
    "với hình thái đa dạng. Báo Đồng Nai có 212.000 người theo dõi; xung đột Nga - Ukraine, "
    "dải Gaza leo thang (ĐN), Đắk Lắk, Kon Tum."
)
_TCVN3_REVERSE = {u: code for code, u in TCVN3.items()}
_VNI_REVERSE = {u: seq for seq, u in VNI.items()}


def to_tcvn3(text: str, *, abc: bool = False) -> str:
    """Unicode → TCVN3 seen as Latin-1. abc=True writes what the ABC fonts store: a toned
    capital as its lowercase code (the ".VnTimeH" fonts draw it as a capital)."""
    out = []
    for c in nfc(text):
        toned_capital = abc and c.isupper() and c.lower() in LETTERS and c not in "ĂÂÊÔƠƯĐ"
        out.append(_TCVN3_REVERSE[c.lower()] if toned_capital else _TCVN3_REVERSE.get(c, c))
    return "".join(out)


def to_vni(text: str) -> str:
    return "".join(_VNI_REVERSE.get(c, c) for c in nfc(text))


def test_tables_map_all_134_letters_each() -> None:
    assert len(LETTERS) == len(set(LETTERS)) == 67
    assert sorted(TCVN3.values()) == sorted(VNI.values()) == sorted(LETTERS + LETTERS.upper())
    assert len(TCVN3) == len(VNI) == 134
    assert all(len(k) == 1 for k in TCVN3)
    assert all(1 <= len(k) <= 2 for k in VNI)


def test_letters_are_in_vowel_then_tone_order() -> None:
    expected = []
    for base in "aăâeêioôơuưy":
        if base not in "aeiouy":
            expected.append(base)
        # sắc, huyền, hỏi, ngã, nặng
        expected += [
            unicodedata.normalize("NFC", base + t) for t in "\u0301\u0300\u0309\u0303\u0323"
        ]
    assert LETTERS == "".join(expected) + "đ"


@pytest.mark.skipif(shutil.which("iconv") is None, reason="glibc iconv not installed")
def test_tcvn3_table_matches_glibc_tcvn5712() -> None:
    letters = LETTERS + LETTERS.upper()
    result = subprocess.run(
        ["iconv", "-f", "UTF-8", "-t", "TCVN5712-1"],
        input=letters.encode(),
        capture_output=True,
        check=True,
    )
    assert result.stdout.decode("latin-1") == to_tcvn3(letters)


@pytest.mark.parametrize(
    ("legacy_text", "encoding", "expected"),
    [
        ("ViÖt Nam", "tcvn3", "Việt Nam"),
        ("§¶ng Céng s¶n ViÖt Nam", "tcvn3", "Đảng Cộng sản Việt Nam"),
        ("Uû ban nh©n d©n tØnh §ång Nai", "tcvn3", "Uỷ ban nhân dân tỉnh Đồng Nai"),
        ("®Þa ph\xad¬ng", "tcvn3", "địa phương"),
        ("Vieät Nam", "vni", "Việt Nam"),
        ("Ñoàng Nai", "vni", "Đồng Nai"),
        ("ñöôïc tænh", "vni", "được tỉnh"),
        ("COÄNG HOØA", "vni", "CỘNG HÒA"),
    ],
)
def test_hand_written_samples_decode(
    legacy_text: str, encoding: legacy_encodings.Encoding, expected: str
) -> None:
    assert to_unicode(legacy_text, encoding) == expected


@pytest.mark.parametrize("text", [*REFERENCE_SENTENCES, ALL_LETTERS, ALL_CAPITALS])
@pytest.mark.parametrize("encoding", ["tcvn3", "vni"])
def test_round_trip_detects_and_restores(text: str, encoding: legacy_encodings.Encoding) -> None:
    garbled = to_tcvn3(text) if encoding == "tcvn3" else to_vni(text)
    assert garbled != text
    assert detect_legacy(garbled) == encoding
    back = to_unicode(garbled, encoding)
    assert back == text
    assert unicodedata.is_normalized("NFC", back)


@pytest.mark.parametrize("text", [*REFERENCE_SENTENCES, ALL_CAPITALS, REPORT_PARAGRAPH])
def test_abc_capitals_come_back_from_context(text: str) -> None:
    garbled = to_tcvn3(text, abc=True)
    assert detect_legacy(garbled) == "tcvn3"
    assert to_unicode(garbled, "tcvn3") == text


def test_abc_toned_capital_starting_a_word_cannot_be_told_from_lowercase() -> None:
    # "Ủy" and "ủy" are the same bytes in the ABC fonts; only an all-capitals context helps.
    assert to_unicode(to_tcvn3("Ủy ban", abc=True), "tcvn3") == "ủy ban"
    assert to_unicode(to_tcvn3("ỦY BAN", abc=True), "tcvn3") == "ỦY BAN"


def test_whole_paragraph_round_trips_in_both_encodings() -> None:
    assert to_unicode(to_tcvn3(REPORT_PARAGRAPH), "tcvn3") == REPORT_PARAGRAPH
    assert to_unicode(to_vni(REPORT_PARAGRAPH), "vni") == REPORT_PARAGRAPH
    assert detect_legacy(to_vni(REPORT_PARAGRAPH)) == "vni"


def test_nfd_input_is_detected_and_returned_as_nfc() -> None:
    garbled = to_vni("Sở Văn hóa, Thể thao và Du lịch")
    assert detect_legacy(unicodedata.normalize("NFD", garbled)) == "vni"
    assert to_unicode(unicodedata.normalize("NFD", garbled), "vni") == nfc(
        "Sở Văn hóa, Thể thao và Du lịch"
    )


@pytest.mark.parametrize(
    "text",
    [
        REPORT_PARAGRAPH,
        unicodedata.normalize("NFD", REPORT_PARAGRAPH),
        *REFERENCE_SENTENCES,
        "Please find attached the report of the Department of Foreign Affairs for June.",
        "café, été, naïve",
        "Je ne sais pas où il est, ni où elle va; le café était déjà froid, très naïf.",
        "Noël à la crème brûlée, façade, cœur, maïs, Müller, Straße, Bär, año, señor",
        "so.ngoaivu@dongnai.gov.vn; ubnd@dongnai.gov.vn, Sở TT&TT <sotttt@dongnai.gov.vn>",
        "Điện thoại: 0251.3822.xxx – Fax: 0251.3823 (§ 3, ± 5%, 30°C, «trích dẫn»)",
        "",
    ],
)
def test_no_false_positives(text: str) -> None:
    assert detect_legacy(text) is None


def test_short_strings_need_every_accented_word_to_vote() -> None:
    assert detect_legacy("ViÖt Nam") is None  # one word: could be a coincidence
    assert detect_legacy("§µi Ph¸t thanh") == "tcvn3"
    assert detect_legacy("Ñaøi Phaùt thanh") == "vni"
    assert detect_legacy("où où où") is None


def test_a_stray_legacy_word_in_unicode_text_is_not_enough() -> None:
    text = REPORT_PARAGRAPH + " " + to_tcvn3("Việt Nam tỉnh")
    assert detect_legacy(text) is None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (".VnTime", "tcvn3"),
        (".VnTimeH", "tcvn3"),
        (".VnArial", "tcvn3"),
        (".VnCentury Schoolbook", "tcvn3"),
        ("VnTime", "tcvn3"),
        ("VNI-Times", "vni"),
        ("VNI-Helve", "vni"),
        ("vni times", "vni"),
        ("Times New Roman", None),
        ("Arial", None),
        ("", None),
    ],
)
def test_font_encoding(name: str, expected: str | None) -> None:
    assert legacy_encodings.font_encoding(name) == expected


def _docx_with_fonts() -> bytes:
    document = docx.Document()
    document.styles["Normal"].font.name = "VNI-Times"
    run = document.add_paragraph().add_run("Uû ban nh©n d©n")
    run.font.name = ".VnTime"
    document.add_paragraph().add_run("Unicode").font.name = "Times New Roman"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_fonts_in_docx_reads_document_and_styles() -> None:
    data = _docx_with_fonts()
    assert {".VnTime", "VNI-Times", "Times New Roman"} <= legacy_encodings.fonts_in_docx(data)
    assert legacy_encodings.legacy_fonts_in_docx(data) == {".VnTime", "VNI-Times"}


def test_fonts_in_docx_does_not_resolve_entities() -> None:
    xml = (
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/hostname">]>'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        b'<w:body><w:p><w:r><w:rPr><w:rFonts w:ascii=".VnTime"/></w:rPr><w:t>&x;</w:t>'
        b"</w:r></w:p></w:body></w:document>"
    )
    assert legacy_encodings.legacy_fonts_in_docx(zip_of({"word/document.xml": xml})) == {".VnTime"}


def test_fonts_in_docx_refuses_oversized_parts_and_non_zips() -> None:
    bomb = zip_of({"word/document.xml": b" " * (legacy_encodings.MAX_PART_BYTES + 1)})
    assert len(bomb) < 1_000_000
    with pytest.raises(ValueError, match="over"):
        legacy_encodings.fonts_in_docx(bomb)
    with pytest.raises(ValueError, match="not a DOCX"):
        legacy_encodings.fonts_in_docx(b"not a zip")
    with pytest.raises(ValueError, match="not well-formed"):
        legacy_encodings.fonts_in_docx(zip_of({"word/styles.xml": b"<w:styles"}))
