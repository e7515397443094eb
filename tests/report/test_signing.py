"""The final PDF signed as PAdES with a visible stamp, through a real approval (LibreOffice
makes the PDF, pyHanko signs it and its validator checks it against the test key's root)."""

from __future__ import annotations

import io
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader
from rich.console import Console
from sqlmodel import select

from models.db import session
from models.report import IssuedNumber, ReportVersion
from models.settings import Settings, get_settings
from models.tables import Cycle
from reportcycle.cli.views import status_table
from reportcycle.cycle.status import cycle_status
from reportcycle.report import signing
from reportcycle.report.approval import Decision
from reportcycle.report.errors import ConsolidationError
from reportcycle.report.signing_key import make_self_signed
from tests.factories import open_reference_cycle
from tests.report.test_consolidate import APPROVED, _decide, _draft, _reply

PASSPHRASE = "mật-khẩu-thử"


@pytest.fixture
def signing_root(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A self-signed key configured in settings; returns its certificate (the trust root)."""
    key = tmp_path / "keys" / "ubnd.p12"
    pem = make_self_signed(
        key,
        PASSPHRASE,
        name="Võ Tân Đức",
        organisation="Ủy ban nhân dân tỉnh Đồng Nai",
        now=datetime.now(UTC),  # the validator checks the certificate against real time
    )
    monkeypatch.setenv("REPORTCYCLE_SIGNING_KEY", str(key))
    monkeypatch.setenv("REPORTCYCLE_SIGNING_PASSPHRASE", PASSPHRASE)
    get_settings.cache_clear()
    return pem


def _final(settings: Settings) -> ReportVersion:
    open_reference_cycle()
    _reply(settings, "DPTTH", datetime(2024, 6, 19, 9, tzinfo=APPROVED.tzinfo))
    return _decide(settings, _draft(settings), Decision(approve=True, at=APPROVED))


def _validate(pdf: bytes, root: Path) -> PdfSignatureStatus:
    context = ValidationContext(trust_roots=[load_cert_from_pemder(str(root))])
    (signature,) = PdfFileReader(io.BytesIO(pdf)).embedded_signatures
    return validate_pdf_signature(signature, context)


def _report() -> dict[str, object]:
    with session() as db:
        return cycle_status(db, db.exec(select(Cycle)).one())["report"]  # type: ignore[no-any-return]


def _status_text() -> str:
    console = Console(file=io.StringIO(), width=200)
    with session() as db:
        status_table(console, cycle_status(db, db.exec(select(Cycle)).one()))
    return console.file.getvalue()  # type: ignore[attr-defined,no-any-return]


@pytest.mark.libreoffice
def test_an_approved_final_is_signed_and_verifies_with_a_visible_stamp(
    settings: Settings, signing_root: Path
) -> None:
    final = _final(get_settings())
    assert final.pdf is not None

    status = _validate(final.pdf, signing_root)
    assert status.bottom_line, status.pretty_print_details()
    assert status.intact
    assert status.valid
    assert status.trusted
    assert status.coverage.name == "ENTIRE_FILE"
    if keep := os.environ.get("KEEP_SIGNED_PDF"):
        Path(keep).write_bytes(final.pdf)
    assert Path(final.pdf_path or "").read_bytes() == final.pdf, (
        "the archived PDF is the signed one"
    )

    # the stamp: a widget on the page where the signer's name is, above the name, saying
    # who signed, for which organisation and when
    reader = PdfReader(io.BytesIO(final.pdf))
    page_index, box = signing.signature_box(final.pdf, "Võ Tân Đức")
    page = reader.pages[page_index]
    (widget,) = [a.get_object() for a in page.get("/Annots", []) if a.get_object()["/FT"] == "/Sig"]
    rect = [float(v) for v in widget["/Rect"]]
    assert rect == [float(v) for v in box]
    lines: dict[str, float] = {}
    page.extract_text(visitor_text=lambda t, cm, tm, *_: lines.setdefault(t.strip(), tm[5]))
    assert lines["Võ Tân Đức"] < rect[1] < rect[3] < lines["Q. CHỦ TỊCH"], (
        "the stamp sits in the blank lines between the signer's title and name"
    )
    appearance = widget["/AP"]["/N"].get_object()
    assert appearance.get_data(), "the stamp has a visible appearance"
    signature = PdfFileReader(io.BytesIO(final.pdf)).embedded_signatures[0]
    assert signature.sig_object["/Name"] == "Võ Tân Đức"
    assert "Ủy ban nhân dân tỉnh Đồng Nai" in signature.sig_object["/Reason"]

    report = _report()
    assert (report["signed"], report["signed_by"]) == (True, "Võ Tân Đức")
    assert "PDF đã ký số bởi Võ Tân Đức" in _status_text()


@pytest.mark.libreoffice
def test_an_edited_signed_pdf_fails_verification(settings: Settings, signing_root: Path) -> None:
    pdf = _final(get_settings()).pdf
    assert pdf is not None

    # one byte changed inside the signed range (the binary comment on line 2)
    second_line = pdf.index(b"\n") + 2
    flipped = bytearray(pdf)
    flipped[second_line] ^= 0x01
    tampered = _validate(bytes(flipped), signing_root)
    assert not tampered.intact
    assert not tampered.bottom_line

    # an incremental update after signing that rewrites the page text
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    page_ref = writer.root["/Pages"]["/Kids"][0]
    page = page_ref.get_object()
    from pyhanko.pdf_utils.generic import StreamObject

    page[pdf_name("/Contents")] = writer.add_object(
        StreamObject(stream_data=b"BT /F1 12 Tf 72 720 Td (Sua noi dung) Tj ET")
    )
    writer.update_container(page)
    edited = io.BytesIO()
    writer.write(edited)
    status = _validate(edited.getvalue(), signing_root)
    assert status.intact, "the signed revision itself is untouched …"
    assert status.coverage.name != "ENTIRE_FILE"
    assert not status.bottom_line, "… but the edit after it is not allowed"


@pytest.mark.libreoffice
def test_without_a_key_the_final_is_unsigned_and_status_says_so(settings: Settings) -> None:
    final = _final(settings)
    assert final.pdf is not None
    assert PdfFileReader(io.BytesIO(final.pdf)).embedded_signatures == []
    report = _report()
    assert (report["signed"], report["signed_by"]) == (False, None)
    assert "PDF CHƯA ký số (chưa đặt khóa ký REPORTCYCLE_SIGNING_KEY)" in _status_text()


def test_a_missing_key_file_is_refused_naming_the_setting(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPORTCYCLE_SIGNING_KEY", str(tmp_path / "khong-co.p12"))
    get_settings.cache_clear()
    open_reference_cycle()
    draft = _draft(get_settings())
    with pytest.raises(
        ConsolidationError, match=r"REPORTCYCLE_SIGNING_KEY=.*khong-co.p12: no such"
    ):
        _decide(get_settings(), draft, Decision(approve=True, at=APPROVED))
    with session() as db:
        assert db.get(ReportVersion, draft.id).status == "awaiting"  # type: ignore[union-attr]
        assert db.exec(select(IssuedNumber)).all() == [], "no number taken for it"


def test_a_wrong_passphrase_is_refused_naming_the_setting(
    settings: Settings, signing_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPORTCYCLE_SIGNING_PASSPHRASE", "sai")
    get_settings.cache_clear()
    with pytest.raises(
        signing.SigningError, match="cannot be opened with REPORTCYCLE_SIGNING_PASSPHRASE"
    ):
        signing.check_key(get_settings())
