"""The reference report, reproduced: the Đồng Nai cycle run open → collect → consolidate →
approve from the command line, on contributions written as each unit of the reference report
would have sent them (tests/fixtures/reference.py), and the final report checked against the
report of 03/7/2024 (`../shared/reference/000_c83b8a27752a8264.txt`)."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from docx import Document
from sqlmodel import select

from models.db import session
from models.report import ReportKind, ReportVersion
from models.settings import Settings
from models.tables import DataRequest
from tests.cli.test_cli import OPEN
from tests.factories import attachments, deliver, maildir_messages, reply_with_form
from tests.factories import run_cli as run
from tests.fixtures import reference

pytestmark = [pytest.mark.slow, pytest.mark.libreoffice, pytest.mark.usefixtures("prefect")]

CODE = "dong-nai-ttdn-6-thang-2024-H1"
HEADINGS = [
    "1. Bối cảnh, tình hình",
    "2. Công tác chỉ đạo, triển khai thực hiện",
    "3. Kết quả thực hiện",
    "a) Đào tạo, tập huấn, bồi dưỡng kiến thức đối ngoại, thông tin đối ngoại",
    "b) Công tác truyền thông",
    "c) Công tác tuyên truyền thông tin đối ngoại được thực hiện thông qua các hình thức khác",
    "4. Phương hướng, nhiệm vụ 6 tháng cuối năm 2024",
]
# Section 3's facts and figures, as the reference report states them.
FACTS_3 = [
    "212.000",
    "13.350",
    "16 doanh nghiệp",
    "03 trang mạng xã hội",
    "05 trang mạng xã hội",
    "http://noidung.ttxtdldongnai.vn",
    "ecdn.vn",
    "Bản tin đối ngoại Đồng Nai",
    "Hữu nghị Đồng Nai - song ngữ",
    "Công nghiệp và thương mại",
    "brochure tiềm năng đầu tư Đồng Nai",
    "Zalo báo chí Đồng Nai",
    "Svannakhet lần thứ 4 năm 2024",
    "Bunpimay",
    "Chol Chnam Thmay",
    "Triển lãm giao lưu ảnh đẹp các nước ASEAN",
    "Hội nhập và phát triển",
]


def body_lines(docx: bytes) -> list[str]:
    """Every paragraph's text in document order, table cells included (header, signature)."""
    document = Document(io.BytesIO(docx))
    lines: list[str] = []
    for element in document.element.body.iter():
        if element.tag.endswith("}p"):
            text = "".join(t.text or "" for t in element.iter() if t.tag.endswith("}t"))
            if text.strip():
                lines.append(text.strip())
    return lines


def section_text(lines: list[str], start: str, end: str) -> str:
    return " ".join(lines[lines.index(start) + 1 : lines.index(end)])


@pytest.fixture
def collected(settings: Settings, tmp_path: Path) -> Iterator[Path]:
    """The reference cycle opened, every unit's reply collected, sections 1 and 4 set."""
    done = run(*OPEN)
    assert done.returncode == 0, done.stderr
    with session() as db:
        tokens = {r.unit_code: r.token for r in db.exec(select(DataRequest)).all()}
    for unit in reference.UNITS:
        deliver(
            settings.inbox_maildir,
            reply_with_form(
                token=tokens[unit],
                sender=reference.unit_spec(unit).emails[0],
                form=reference.filled_form(unit, tokens[unit]),
            ),
        )
    done = run("collect", "--now", "2024-06-20T10:00")
    assert done.returncode == 0, done.stderr
    assert "đã nhận: 8" in done.stdout
    for section, paragraphs in reference.SECRETARIAT_TEXTS.items():
        text = tmp_path / f"muc-{section}.txt"
        text.write_text("\n".join(paragraphs) + "\n", encoding="utf-8")
        done = run("cycle", "set-text", CODE, section, str(text))
        assert done.returncode == 0, done.stderr
    return tmp_path


def _versions(kind: ReportKind) -> list[ReportVersion]:
    with session() as db:
        return list(db.exec(select(ReportVersion).where(ReportVersion.kind == kind)).all())


def test_reference_report_is_reproduced_from_the_units_forms(
    collected: Path, settings: Settings, prefect: str
) -> None:
    done = run("consolidate", CODE, "--now", "2024-07-01T09:00", prefect=prefect)
    assert done.returncode == 0, done.stderr
    assert "có phần của 8/8 đơn vị" in done.stdout
    assert "chờ quyết định" in done.stdout

    done = run("approve", CODE, "--now", "2024-07-03T09:00", "--by", "Võ Tân Đức", prefect=prefect)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "báo cáo số 01/BC-UBND đã phát hành" in done.stdout

    [final] = _versions(ReportKind.FINAL)
    lines = body_lines(final.docx)
    assert "Số: 01/BC-UBND" in lines
    assert "Đồng Nai, ngày 03 tháng 7 năm 2024" in lines
    assert lines.index("BÁO CÁO") + 1 == lines.index(
        "Kết quả triển khai công tác thông tin đối ngoại 6 tháng đầu năm 2024"
    )
    assert [line for line in lines if line in HEADINGS] == HEADINGS, "sections in the order"
    assert reference.OPENING_SENTENCE in lines
    assert reference.CLOSING_SENTENCE in lines
    assert lines.index(reference.OPENING_SENTENCE) < lines.index(HEADINGS[0])
    assert lines.index(reference.CLOSING_SENTENCE) > lines.index(HEADINGS[-1])

    for section, start, end in (("1", 0, 1), ("4", 6, None)):
        text = section_text(
            lines, HEADINGS[start], HEADINGS[end] if end else reference.CLOSING_SENTENCE
        )
        for paragraph in reference.SECRETARIAT_TEXTS[section]:
            assert paragraph in text, f"section {section}: {paragraph[:60]}"
    section_2 = section_text(lines, HEADINGS[1], HEADINGS[2])
    for paragraph in reference.assemble("2"):
        assert paragraph in section_2, paragraph[:60]
    section_3 = section_text(lines, HEADINGS[2], HEADINGS[6])
    for fact in FACTS_3:
        assert fact in section_3, fact
    figures = set(re.findall(r"\d+(?:\.\d{3})+", " ".join(reference.assemble("3b"))))
    assert figures == {"212.000", "13.350"}
    # every unit paragraph of section 3 is in the report, word for word
    for code in ("3a", "3b", "3c"):
        for paragraph in reference.merged_in_unit_order(code):
            assert paragraph.removeprefix("- ") in section_3, paragraph[:60]

    recipients = lines[lines.index("Nơi nhận:") + 1 : lines.index("Nơi nhận:") + 6]
    assert recipients == [
        "- Ban Tuyên giáo Tỉnh ủy;",
        "- Q. Chủ tịch, các Phó Chủ tịch UBND tỉnh;",
        "- Chánh, Phó Chánh Văn phòng (THNC);",
        "- Sở Thông tin và Truyền thông;",
        "- Lưu: VT, THNC.",
    ]
    for line in ("TM. ỦY BAN NHÂN DÂN", "Q. CHỦ TỊCH", "Võ Tân Đức"):
        assert line in lines
    assert (
        lines.index("Võ Tân Đức") > lines.index("Q. CHỦ TỊCH") > lines.index("TM. ỦY BAN NHÂN DÂN")
    )

    # a final a secretariat signs: no attribution, no review notes, no draft label
    names = zipfile.ZipFile(io.BytesIO(final.docx)).namelist()
    assert "word/comments.xml" not in names
    assert not any("DỰ THẢO" in line or "GHI CHÚ RÀ SOÁT" in line for line in lines)

    # the files of the archive, and the distribution to every recipient with an address
    assert final.path
    assert Path(final.path).read_bytes() == final.docx
    assert final.pdf_path
    assert Path(final.pdf_path).read_bytes()[:5] == b"%PDF-"
    sent = [m for m in maildir_messages(settings.sent_maildir) if "01/BC-UBND" in m["Subject"]]
    assert sorted(m["To"] for m in sent) == [
        "bantuyengiao@example.org",
        "lanhdao.ubnd@example.org",
        "sotttt@example.org",
        "vanphong.ubnd@example.org",
    ]
    for message in sent:
        files = dict(attachments(message))
        assert files["bao-cao-01-bc-ubnd-2024-H1.pdf"] == final.pdf
        assert files["bao-cao-01-bc-ubnd-2024-H1.docx"] == final.docx


def test_the_secretariats_edited_draft_is_issued_word_for_word(
    collected: Path, prefect: str
) -> None:
    """The secretariat rearranges the merged paragraphs of 3b as the report has them, in the
    draft it downloaded, and approves with that file: the final is the report's 3b exactly."""
    done = run("consolidate", CODE, "--now", "2024-07-01T09:00", prefect=prefect)
    assert done.returncode == 0, done.stderr
    [draft] = _versions(ReportKind.DRAFT)
    edited = collected / "bao-cao-da-sua.docx"
    edited.write_bytes(_rearranged_3b(draft.docx))

    done = run(
        "approve", CODE, "--edited", str(edited), "--now", "2024-07-03T09:00", prefect=prefect
    )
    assert done.returncode == 0, done.stdout + done.stderr
    [final] = _versions(ReportKind.FINAL)
    lines = body_lines(final.docx)
    start, end = lines.index(HEADINGS[4]) + 1, lines.index(HEADINGS[5])
    assert lines[start:end] == reference.assemble("3b")
    assert "Số: 01/BC-UBND" in lines
    assert "Đồng Nai, ngày 03 tháng 7 năm 2024" in lines
    assert "word/comments.xml" not in zipfile.ZipFile(io.BytesIO(final.docx)).namelist()
    [kept] = _versions(ReportKind.EDITED)
    assert kept.docx == edited.read_bytes()


def _rearranged_3b(draft: bytes) -> bytes:
    """What the secretariat does in Word: replace 3b's paragraphs (and the indicator table)
    by the report's own, keeping the first paragraph's formatting."""
    document = Document(io.BytesIO(draft))
    paragraphs = document.paragraphs
    texts = [p.text.strip() for p in paragraphs]
    start, end = texts.index(HEADINGS[4]) + 1, texts.index(HEADINGS[5])
    body = document.element.body
    template = paragraphs[start]
    for element in list(body)[list(body).index(template._p) : list(body).index(paragraphs[end]._p)]:
        if element is not template._p:
            body.remove(element)
    for text in reversed(reference.assemble("3b")):
        copy = Document(io.BytesIO(draft)).paragraphs[start]._p
        template._p.addnext(copy)
        for run_ in copy.iter():
            if run_.tag.endswith("}t"):
                run_.text = ""
        first = next(t for t in copy.iter() if t.tag.endswith("}t"))
        first.text = text
    body.remove(template._p)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()
