"""LibreOffice conversion: .doc/.odt to .docx with the text intact, PDF, failures, timeout."""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import docx
import pytest

from reportcycle.documents import convert as convert_module
from reportcycle.documents.convert import ConversionError, convert

PARAGRAPHS = [
    "Thực hiện văn bản số 2608/CV/BTGTU ngày 10/6/2024 của Ban Tuyên giáo Tỉnh ủy",
    "Đài Phát thanh – Truyền hình Đồng Nai",
    "Sở Văn hóa, Thể thao và Du lịch",
    "Liên hiệp các tổ chức hữu nghị tỉnh: 212.000 người theo dõi",
]
needs_soffice = pytest.mark.skipif(
    shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed"
)


def _docx_bytes() -> bytes:
    document = docx.Document()
    for text in PARAGRAPHS:
        document.add_paragraph(text)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _soffice_save_as(source: Path, target_format: str, workdir: Path) -> bytes:
    """Make a legacy file the way a unit's office suite would, independently of convert()."""
    result = subprocess.run(
        [
            *("soffice", "--headless", f"-env:UserInstallation={(workdir / 'p').as_uri()}"),
            *("--convert-to", target_format, "--outdir", str(workdir / "out"), str(source)),
        ],
        capture_output=True,
        timeout=240,
        check=True,
    )
    produced = workdir / "out" / f"{source.stem}.{target_format}"
    assert produced.is_file(), result.stdout + result.stderr
    return produced.read_bytes()


@pytest.fixture(scope="module")
def legacy_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    workdir = tmp_path_factory.mktemp("legacy-files")
    source = workdir / "Báo cáo đơn vị.docx"
    source.write_bytes(_docx_bytes())
    return {fmt: _soffice_save_as(source, fmt, workdir) for fmt in ("doc", "odt")}


def _paragraphs(docx_bytes: bytes) -> list[str]:
    texts = [p.text for p in docx.Document(io.BytesIO(docx_bytes)).paragraphs]
    return [t for t in texts if t.strip()]


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point tempfile at an empty folder, to see what convert() leaves behind."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _processes_mentioning(text: str) -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text.encode() in cmdline.read_bytes():
                found.append(cmdline.parent.name)
        except OSError:  # the process ended while we looked
            continue
    return found


@pytest.mark.libreoffice
@pytest.mark.parametrize("suffix", [".doc", ".odt"])
def test_legacy_file_converts_to_docx_with_text_intact(
    legacy_files: dict[str, bytes], suffix: str, private_tmp: Path
) -> None:
    converted = convert(legacy_files[suffix[1:]], source_suffix=suffix, target="docx")
    paragraphs = _paragraphs(converted)
    assert paragraphs == PARAGRAPHS
    assert all(unicodedata.is_normalized("NFC", p) for p in paragraphs)
    assert list(private_tmp.iterdir()) == []  # the temporary folder is gone


@pytest.mark.libreoffice
def test_doc_converts_to_pdf(legacy_files: dict[str, bytes]) -> None:
    assert convert(legacy_files["doc"], source_suffix="doc", target="pdf").startswith(b"%PDF")


@pytest.mark.libreoffice
def test_two_conversions_at_once_do_not_clash(legacy_files: dict[str, bytes]) -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        jobs = [
            pool.submit(convert, legacy_files["doc"], source_suffix=".doc", target="docx"),
            pool.submit(convert, legacy_files["odt"], source_suffix=".odt", target="docx"),
        ]
        results = [job.result(timeout=300) for job in jobs]
    assert [_paragraphs(r) for r in results] == [PARAGRAPHS, PARAGRAPHS]


@pytest.mark.libreoffice
@needs_soffice
@pytest.mark.parametrize(
    ("data", "suffix"),
    [
        (b"\x00\x01\xff\xfe binary garbage \x00" * 100, ".doc"),
        (_docx_bytes()[:600], ".docx"),  # a truncated zip
        (b"PK\x03\x04" + b"\x00" * 64, ".odt"),
    ],
    ids=["binary-garbage", "truncated-docx", "broken-odt"],
)
def test_unreadable_file_raises_conversion_error(data: bytes, suffix: str) -> None:
    # soffice exits 0 here and only prints "source file could not be loaded": the missing
    # output is what tells.
    with pytest.raises(ConversionError, match="could not be loaded") as caught:
        convert(data, source_suffix=suffix, target="docx")
    assert caught.value.returncode == 0
    assert "save it as .docx" in str(caught.value)


@pytest.mark.libreoffice
@needs_soffice
def test_plain_text_named_doc_is_imported_as_text() -> None:
    # Documented behaviour, not a wish: LibreOffice falls back to its text filter for
    # anything that is not binary, so such "garbage" converts; the form reader rejects it.
    converted = convert(b"hello from a mail client", source_suffix=".doc", target="docx")
    assert _paragraphs(converted) == ["hello from a mail client"]


def test_empty_file_is_refused_before_libreoffice_runs() -> None:
    # LibreOffice would turn 0 bytes into an empty document.
    with pytest.raises(ConversionError, match="empty"):
        convert(b"", source_suffix=".doc", target="docx")


@pytest.mark.libreoffice
def test_timeout_kills_libreoffice_and_says_so(
    legacy_files: dict[str, bytes], private_tmp: Path
) -> None:
    with pytest.raises(ConversionError, match="timeout of 0.01 s"):
        convert(legacy_files["doc"], source_suffix=".doc", target="docx", timeout=0.01)
    assert list(private_tmp.iterdir()) == []
    assert _processes_mentioning(str(private_tmp)) == []


def test_missing_soffice_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(convert_module.shutil, "which", lambda name: None)
    assert convert_module.soffice_path() is None
    with pytest.raises(ConversionError, match="libreoffice-writer-nogui"):
        convert(b"data", source_suffix=".doc", target="docx")


@pytest.mark.parametrize("suffix", ["../../etc/x", ".d/oc", "", ".toolongsuffix1"])
def test_suffix_must_be_a_plain_extension(suffix: str) -> None:
    with pytest.raises(ValueError, match="suffix"):
        convert(b"data", source_suffix=suffix, target="docx")
