"""The final PDF signed as PAdES (Decree 30 e-documents carry the organisation's digital
signature), with a visible stamp over the signature block: signer, organisation, time.

The key is a PKCS#12 file named in settings (REPORTCYCLE_SIGNING_KEY, its passphrase in
REPORTCYCLE_SIGNING_PASSPHRASE). Without one the final is issued unsigned and `status` says
so. pyHanko does the signing; pypdf finds where the signer's name is printed, so that the
stamp sits in the blank lines above it, where the handwritten signature and seal would go.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from models.settings import Settings
from reportcycle.clock import VN_TZ
from reportcycle.report.errors import ConsolidationError

if TYPE_CHECKING:
    from pyhanko.sign.signers import SimpleSigner
    from pypdf import PageObject

# Liberation Serif 2.x: the report's own face, with Vietnamese (.ci/system-deps.sh installs it).
STAMP_FONT = Path("/usr/share/fonts/truetype/liberation2/LiberationSerif-Regular.ttf")
FIELD_NAME = "ChuKySo"
STAMP_WIDTH, STAMP_HEIGHT = 220.0, 58.0  # points: the four blank lines above the name
STAMP_TEXT = "Ký bởi: %(signer)s\nCơ quan: %(org)s\nThời gian: %(signed_at)s"


class SigningError(ConsolidationError):
    """The signing key cannot be used; the message names the setting to fix."""


@dataclass(frozen=True)
class Stamp:
    signer: str  # the person, "Võ Tân Đức"
    organisation: str  # "Ủy ban nhân dân tỉnh Đồng Nai"
    at: datetime


def configured(settings: Settings) -> bool:
    return settings.signing_key is not None


def check_key(settings: Settings) -> None:
    """Refuse a key file that is missing or a passphrase that does not open it, before a
    number is taken for a final that could not be signed."""
    if settings.signing_key is not None:
        _load(settings)


def sign_final(pdf: bytes, stamp: Stamp, *, settings: Settings) -> bytes:
    """`pdf` signed with the configured key, or unchanged when no key is configured."""
    if settings.signing_key is None:
        return pdf
    from pyhanko import stamp as stamps
    from pyhanko.pdf_utils.font.opentype import GlyphAccumulatorFactory
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.text import TextBoxStyle
    from pyhanko.sign import fields, signers

    signer = _load(settings)
    # fontTools says it drops the font's FFTM table on every subset: nothing to tell a user
    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)
    page, box = signature_box(pdf, stamp.signer)
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    fields.append_signature_field(writer, fields.SigFieldSpec(FIELD_NAME, on_page=page, box=box))
    style = stamps.TextStampStyle(
        stamp_text=STAMP_TEXT,
        border_width=1,
        text_box_style=TextBoxStyle(font=GlyphAccumulatorFactory(str(STAMP_FONT)), font_size=9),
    )
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        subfilter=fields.SigSeedSubFilter.PADES,
        name=stamp.signer,
        reason=f"Ký số văn bản điện tử của {stamp.organisation}",
        location=None,
    )
    out = signers.PdfSigner(meta, signer=signer, stamp_style=style).sign_pdf(
        writer,
        appearance_text_params={
            "org": stamp.organisation,
            "signed_at": stamp.at.astimezone(VN_TZ).strftime("%H:%M ngày %d/%m/%Y"),
        },
    )
    return bytes(out.getbuffer())


def signed_by(pdf: bytes | None) -> str | None:
    """The common name in the certificate of the PDF's first signature, or None if unsigned."""
    if not pdf:
        return None
    from pyhanko.pdf_utils.reader import PdfFileReader

    signatures = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures
    if not signatures:
        return None
    return str(signatures[0].signer_cert.subject.native.get("common_name", "?"))


def signature_box(pdf: bytes, name: str) -> tuple[int, tuple[int, int, int, int]]:
    """(page index, box) of the stamp: centred over the last place the signer's name is
    printed, in the blank lines above it."""
    from pypdf import PdfReader

    pages = PdfReader(io.BytesIO(pdf)).pages
    for index in range(len(pages) - 1, -1, -1):
        found = _printed_at(pages[index], name)
        if found:
            x, y = found[-1]
            centre = x + len(name) * 3.4  # half the name's width at 14 pt, roughly
            left, bottom = centre - STAMP_WIDTH / 2, y + 14  # clear of the name's capitals
            return index, (
                round(left),
                round(bottom),
                round(left + STAMP_WIDTH),
                round(bottom + STAMP_HEIGHT),
            )
    raise SigningError(
        f"the signer's name {name!r} is not printed in the final PDF, so the signature stamp "
        "has no place; check `signer.name` in the regime file"
    )


def _printed_at(page: PageObject, name: str) -> list[tuple[float, float]]:
    """Page-space origins of the text runs on `page` that contain `name`."""
    found: list[tuple[float, float]] = []

    def visit(text: str, cm: list[float], tm: list[float], *_: object) -> None:
        if name in text:
            x, y = tm[4], tm[5]
            found.append((cm[0] * x + cm[2] * y + cm[4], cm[1] * x + cm[3] * y + cm[5]))

    page.extract_text(visitor_text=visit)
    return found


def _load(settings: Settings) -> SimpleSigner:
    from cryptography.hazmat.primitives.serialization import pkcs12
    from pyhanko.sign import signers

    path = settings.signing_key
    assert path is not None
    if not path.is_file():
        raise SigningError(
            f"REPORTCYCLE_SIGNING_KEY={path}: no such file; set it to the PKCS#12 (.p12) file "
            "of the organisation's signing key, or unset it to issue finals unsigned"
        )
    passphrase = settings.signing_passphrase.encode() if settings.signing_passphrase else None
    try:
        pkcs12.load_key_and_certificates(path.read_bytes(), passphrase)
    except ValueError as exc:
        raise SigningError(
            f"REPORTCYCLE_SIGNING_KEY={path} cannot be opened with "
            "REPORTCYCLE_SIGNING_PASSPHRASE (wrong passphrase, or not a PKCS#12 file): "
            f"{exc}; set the passphrase the key was exported with"
        ) from exc
    signer = signers.SimpleSigner.load_pkcs12(path, passphrase=passphrase)
    if signer is None:
        raise SigningError(f"REPORTCYCLE_SIGNING_KEY={path}: pyHanko could not load the key")
    return signer
