"""Document conversion with LibreOffice headless: legacy .doc/.odt/.rtf replies to .docx, and
anything Writer opens to PDF.

Each call gets its own temporary directory holding the input under a fixed name (never the
sender's filename), the output folder, HOME and a fresh LibreOffice profile. A profile is
what makes two soffice processes share one instance (the second hands its job to the first
and exits) or refuse to start while another holds the lock; separate profiles let calls run
at the same time. A fresh profile costs ~0.3 s of a ~1.5 s conversion on this machine, less
than the care a shared, copied one would need.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import Literal

Target = Literal["docx", "pdf", "doc"]
_FILTERS: dict[str, str] = {
    # LibreOffice's filter names; the docx one keeps Word 2007+ XML rather than its own
    # "Office Open XML Text" variant, which older Word versions open less reliably.
    "docx": "docx:MS Word 2007 XML",
    "pdf": "pdf:writer_pdf_Export",
    "doc": "doc:MS Word 97",  # legacy Word, to make the replies old offices still send
}
_SUFFIX = re.compile(r"\.[a-z0-9]{1,10}")
_ADVICE = (
    "ask the unit to open the file in Word or LibreOffice, save it as .docx and send it again "
    "/ đề nghị đơn vị mở tệp bằng Word hoặc LibreOffice, lưu dạng .docx rồi gửi lại"
)


class ConversionError(ValueError):
    """LibreOffice could not convert a document. The message says what failed, LibreOffice's
    exit code and last words, and what to do."""

    def __init__(self, message: str, *, returncode: int | None = None, output: str = "") -> None:
        self.returncode, self.output = returncode, output
        super().__init__(message)


def soffice_path() -> str | None:
    """The LibreOffice executable on PATH, or None."""
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert(data: bytes, *, source_suffix: str, target: Target, timeout: float = 120) -> bytes:
    """Convert a document's bytes (`source_suffix` like ".doc" tells LibreOffice what it is) to
    DOCX or PDF and return the result's bytes. Raises ConversionError."""
    suffix = _checked_suffix(source_suffix)
    if target not in _FILTERS:
        raise ValueError(f"unknown target {target!r}: use 'docx' or 'pdf'")
    if not data:  # LibreOffice would "convert" it into an empty document
        raise ConversionError(f"the {suffix} file is empty (0 bytes); {_ADVICE}")
    executable = soffice_path()
    if executable is None:
        raise ConversionError(
            "LibreOffice (soffice) is not installed, so .doc/.odt files cannot be read: "
            "install the Debian package libreoffice-writer-nogui (make system-deps)"
        )
    with tempfile.TemporaryDirectory(prefix="reportcycle-convert-") as tmp:
        root = Path(tmp)
        source, outdir = root / f"input{suffix}", root / "out"
        source.write_bytes(data)
        command = [
            executable, "--headless", "--norestore", "--nolockcheck",
            f"-env:UserInstallation={(root / 'profile').as_uri()}",
            "--convert-to", _FILTERS[target], "--outdir", str(outdir), str(source),
        ]  # fmt: skip
        returncode, output = _run(command, root, timeout, what=f"{suffix} to {target}")
        result = outdir / f"input.{target}"
        if returncode != 0 or not result.is_file() or result.stat().st_size == 0:
            problem = "failed" if returncode != 0 else "produced no output"
            raise ConversionError(
                f"LibreOffice {problem} converting the {suffix} file to {target} "
                f"(exit code {returncode}){_tail(output)}; {_ADVICE}",
                returncode=returncode,
                output=output,
            )
        return result.read_bytes()


def _checked_suffix(source_suffix: str) -> str:
    suffix = source_suffix.strip().lower()
    suffix = suffix if suffix.startswith(".") else f".{suffix}"
    if not _SUFFIX.fullmatch(suffix):  # it becomes part of a path: letters and digits only
        raise ValueError(f"bad source suffix {source_suffix!r}: expected e.g. '.doc'")
    return suffix


def _run(command: list[str], root: Path, timeout: float, *, what: str) -> tuple[int, str]:
    """Run soffice in its own process group (it starts oosplash and soffice.bin) so that a
    timeout kills all of it; return the exit code and stdout + stderr."""
    env = dict(os.environ, HOME=str(root), TMPDIR=str(root))
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=root,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_group(process)
        stdout, stderr = process.communicate()
        output = (stdout + stderr).decode("utf-8", "replace")
        raise ConversionError(
            f"LibreOffice did not finish converting the {what} within the timeout of "
            f"{timeout:g} s and was stopped{_tail(output)}; the file may be very large or "
            f"damaged: {_ADVICE}",
            output=output,
        ) from None
    return process.returncode, (stdout + stderr).decode("utf-8", "replace")


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    # The group id is the child's pid, still ours: the child is not reaped yet.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _tail(output: str, lines: int = 5) -> str:
    kept = [line.strip() for line in output.splitlines() if line.strip()]
    # soffice warns about Java on every run; it says nothing about this file
    kept = [line for line in kept if "javaldx" not in line]
    return f": {' | '.join(kept[-lines:])}" if kept else ""
