"""A small read-only HTTP server for the report files (HOME/reports/<cycle>/<file>), so the
Prefect UI's report artifact can link the DOCX and PDF: browsers refuse file:// links from an
http page. GET and HEAD of files under the folder only: no listing, nothing outside it."""

from __future__ import annotations

import threading
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

from models.settings import Settings

_MISSING = "Không có tệp báo cáo này / no such report file"
CONTENT_TYPES = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".pdf": "application/pdf",
}


class _ReportFiles(SimpleHTTPRequestHandler):
    extensions_map = {**SimpleHTTPRequestHandler.extensions_map, **CONTENT_TYPES}

    def send_head(self):  # type: ignore[no-untyped-def]
        root = Path(self.directory).resolve()
        relative = unquote(urlsplit(self.path).path).lstrip("/")
        parts = relative.split("/")
        if not relative or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
            self.send_error(HTTPStatus.NOT_FOUND, "Not Found", _MISSING)
            return None
        target = (root / relative).resolve()
        if not target.is_relative_to(root) or not target.is_file():
            self.send_error(HTTPStatus.NOT_FOUND, "Not Found", _MISSING)
            return None
        return super().send_head()

    def list_directory(self, path):  # type: ignore[no-untyped-def]
        self.send_error(HTTPStatus.NOT_FOUND, "Not Found", _MISSING)
        return None

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        return  # quiet: the coordinator's terminal is for the flows


def reports_root(settings: Settings) -> Path:
    return settings.home / "reports"


def make_server(root: Path, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    """The server (not yet serving) on host:port; port 0 picks a free one."""
    root.mkdir(parents=True, exist_ok=True)
    handler = partial(_ReportFiles, directory=str(root.resolve()))
    return ThreadingHTTPServer((host, port), handler)


def serve_in_background(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="report-files", daemon=True)
    thread.start()
    return thread


def file_url(settings: Settings, path: str | Path) -> str | None:
    """http://…/<cycle>/<file> of a report file under HOME/reports, when REPORTCYCLE_REPORTS_URL
    is set; None otherwise (or for a file elsewhere)."""
    if not settings.reports_url:
        return None
    try:
        relative = Path(path).resolve().relative_to(reports_root(settings).resolve())
    except ValueError:
        return None
    return f"{settings.reports_url.rstrip('/')}/{quote(relative.as_posix())}"


def serve_for(settings: Settings) -> ThreadingHTTPServer | None:
    """Start, in the background, the server REPORTCYCLE_REPORTS_URL names, if it names this
    machine (http://127.0.0.1:PORT or http://localhost:PORT); None otherwise."""
    if not settings.reports_url:
        return None
    parts = urlsplit(settings.reports_url)
    if parts.scheme != "http" or parts.hostname not in ("127.0.0.1", "localhost"):
        return None
    server = make_server(reports_root(settings), parts.hostname, parts.port or 80)
    serve_in_background(server)
    return server
