"""The report files over HTTP, read-only: what the artifact links to, fetched for real."""

from __future__ import annotations

import http.client
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from flows.consolidate_report import report_file_line
from models.settings import Settings, get_settings
from reportcycle.report.files_server import file_url, make_server, serve_for, serve_in_background


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Path, int]]:
    root = tmp_path / "reports"
    (root / "dong-nai-2024-H1").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("không được đọc")
    server = make_server(root)
    serve_in_background(server)
    try:
        yield root, server.server_port
    finally:
        server.shutdown()
        server.server_close()


def _get(port: int, path: str) -> tuple[int, bytes, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path)  # sent as written: no client-side normalising of ".."
    answer = connection.getresponse()
    body = answer.read()
    connection.close()
    return answer.status, body, answer.getheader("Content-Type") or ""


def test_a_report_file_is_served_with_its_type(served: tuple[Path, int]) -> None:
    root, port = served
    pdf = root / "dong-nai-2024-H1" / "bao-cao-01-bc-ubnd-2024-H1.pdf"
    pdf.write_bytes("%PDF-1.7 thử".encode())
    url = f"http://127.0.0.1:{port}/dong-nai-2024-H1/{pdf.name}"
    with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - our own server
        assert answer.read() == pdf.read_bytes()
        assert answer.headers["Content-Type"] == "application/pdf"
    docx = pdf.with_suffix(".docx")
    docx.write_bytes(b"PK")
    status, _, kind = _get(port, f"/dong-nai-2024-H1/{docx.name}")
    assert status == 200
    assert kind.startswith("application/vnd.openxmlformats-officedocument.wordprocessingml")


@pytest.mark.parametrize(
    "path",
    [
        "/../secret.txt",
        "/dong-nai-2024-H1/../../secret.txt",
        "/%2e%2e/secret.txt",
        "/dong-nai-2024-H1/",  # no listings
        "/",
        "/dong-nai-2024-H1/missing.pdf",
    ],
)
def test_nothing_outside_the_files_and_no_listing(served: tuple[Path, int], path: str) -> None:
    _, port = served
    status, body, _ = _get(port, path)
    assert status == 404
    assert "không được đọc".encode() not in body


def test_only_reading(served: tuple[Path, int]) -> None:
    _, port = served
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("PUT", "/dong-nai-2024-H1/x.pdf", body=b"x")
    assert connection.getresponse().status == 501
    connection.close()


def test_artifact_links_the_files_over_http_when_the_url_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REPORTCYCLE_HOME", str(tmp_path))
    monkeypatch.delenv("REPORTCYCLE_REPORTS_URL", raising=False)
    get_settings.cache_clear()
    path = tmp_path / "reports" / "dong-nai-2024-H1" / "bao cáo.pdf"
    assert "file://" not in report_file_line("PDF", str(path))
    assert str(path) in report_file_line("PDF", str(path))
    monkeypatch.setenv("REPORTCYCLE_REPORTS_URL", "http://127.0.0.1:8766/")
    get_settings.cache_clear()
    settings: Settings = get_settings()
    url = "http://127.0.0.1:8766/dong-nai-2024-H1/bao%20c%C3%A1o.pdf"
    assert file_url(settings, path) == url
    assert report_file_line("PDF", str(path)) == f"- PDF: [bao cáo.pdf]({url})"
    assert file_url(settings, tmp_path / "elsewhere.pdf") is None
    get_settings.cache_clear()


def test_serve_starts_the_server_the_url_names_on_this_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    probe = make_server(tmp_path / "probe")  # a free port, given back at once
    port = probe.server_port
    probe.server_close()
    monkeypatch.setenv("REPORTCYCLE_HOME", str(tmp_path))
    monkeypatch.setenv("REPORTCYCLE_REPORTS_URL", f"http://127.0.0.1:{port}")
    get_settings.cache_clear()
    report = tmp_path / "reports" / "ky-1" / "bao-cao.pdf"
    report.parent.mkdir(parents=True)
    report.write_bytes(b"%PDF-1.7")
    server = serve_for(get_settings())
    assert server is not None
    try:
        url = file_url(get_settings(), report)
        assert url == f"http://127.0.0.1:{port}/ky-1/bao-cao.pdf"
        with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 - our own server
            assert answer.read() == b"%PDF-1.7"
    finally:
        server.shutdown()
        server.server_close()
    monkeypatch.setenv("REPORTCYCLE_REPORTS_URL", "https://files.example.org/bao-cao")
    get_settings.cache_clear()
    assert serve_for(get_settings()) is None  # served by someone else: only linked
    get_settings.cache_clear()
