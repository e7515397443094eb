"""`reportcycle demo`: the reference scenario end to end, in simulated time, against a Prefect
server (started here and left running if none answers).

The Đồng Nai half-year cycle opens on 17/6/2024; simulated units answer by real email on
different days (demo_units.SCENARIO); the collect and chase flows run day by day; the
secretariat accepts what waits for review, writes sections 1 and 4, consolidates on 1/7 and
approves on 3/7 through the same resume path as the Prefect UI's Resume button.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from reportcycle.cli.common import fail, out

DEFAULT_API = "http://127.0.0.1:4200/api"
PREFECT_STATE = Path("var/prefect")


def demo_command(
    home: Annotated[Path, typer.Option(help="the demo's home, made afresh")] = Path("var/demo"),
    approve: Annotated[
        bool, typer.Option("--approve/--no-approve", help="approve the draft as the UI would")
    ] = True,
    prefect_url: Annotated[str, typer.Option(help="the Prefect API")] = DEFAULT_API,
) -> None:
    """The reference scenario end to end in simulated time (17/6 → 3/7/2024): open, replies by
    email, collect and chase day by day, review, consolidate, approve."""
    started = time.monotonic()
    _fresh_home(home)
    _ensure_server(prefect_url)
    _configure(home, prefect_url)
    from reportcycle.demo.scenario import Scenario

    _quiet_prefect_console()
    scenario = Scenario(out)
    scenario.run(approve=approve)
    ui = prefect_url.removesuffix("/").removesuffix("/api")
    scenario.finish(ui, approve=approve)
    out.print(
        f"thư mục demo: {home.resolve()}; {time.monotonic() - started:.0f} giây.", highlight=False
    )
    if prefect_url == DEFAULT_API:
        out.print(f"Prefect UI: {ui} — dừng bằng `make demo-stop`", highlight=False)


def _fresh_home(home: Path) -> None:
    if not home.exists():
        return
    previous = home.with_name(home.name + ".previous")
    if previous.exists():
        shutil.rmtree(previous)
    home.rename(previous)
    out.print(f"thư mục demo trước đã chuyển sang {previous} (thay bản cũ hơn, nếu có).")


def _healthy(api: str) -> bool:
    import urllib.request  # 0.1 s: not for every command's start

    try:
        with urllib.request.urlopen(api.rstrip("/") + "/health", timeout=2) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def _ensure_server(api: str) -> None:
    """Use the server at `api`; start the default one, detached, if nothing answers there."""
    if _healthy(api):
        out.print(f"Prefect server: {api} đang chạy; dùng server này.", highlight=False)
        return
    if api != DEFAULT_API:
        raise fail(
            f"không có Prefect server nào trả lời tại {api}; hãy khởi động nó, "
            "hoặc bỏ --prefect-url"
        )
    PREFECT_STATE.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "PREFECT_HOME": str(PREFECT_STATE.resolve()),
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    env.pop("PREFECT_API_URL", None)
    command = [str(Path(sys.executable).with_name("prefect")), "server", "start"]
    command += ["--host", "127.0.0.1", "--port", "4200"]
    log = PREFECT_STATE / "server.log"
    with log.open("ab") as sink:
        server = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # outlives the demo, and Ctrl+C in it
        )
    (PREFECT_STATE / "server.pid").write_text(f"{server.pid}\n")
    with out.status(f"đang khởi động Prefect server (nhật ký: {log}) …"):
        deadline = time.monotonic() + 90
        while not _healthy(api):
            if server.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-2000:]
                raise fail(f"Prefect server không khởi động được; cuối tệp {log}:\n{tail}")
            time.sleep(0.5)
    out.print(f"Prefect server đã khởi động (pid {server.pid}), dữ liệu trong {PREFECT_STATE}/.")


def _configure(home: Path, api: str) -> None:
    """Settings for this process before anything reads them: the demo's own home, database,
    embedded mail server and Maildir inbox (never a relay from .env), and the Prefect API."""
    home = home.resolve()
    home.mkdir(parents=True)
    os.environ.update(
        {
            "REPORTCYCLE_HOME": str(home),
            "REPORTCYCLE_DATABASE_URL": f"sqlite:///{home / 'reportcycle.db'}",
            "PREFECT_API_URL": api,
        }
    )
    for name in ("REPORTCYCLE_SMTP_URL", "REPORTCYCLE_INBOX_URL"):
        os.environ.pop(name, None)
    _signing_key(home)
    # Imported only now, so that Prefect's settings (read at import) see PREFECT_API_URL.
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from models import db
    from models.settings import get_settings

    temporary_settings(updates={PREFECT_API_URL: api}).__enter__()  # for the process's life
    get_settings.cache_clear()
    if get_settings().smtp_url or get_settings().inbox_url:
        raise fail(
            "demo chỉ gửi thư qua máy chủ SMTP nhúng và Maildir của nó: hãy bỏ "
            "REPORTCYCLE_SMTP_URL / REPORTCYCLE_INBOX_URL khỏi .env rồi chạy lại"
        )
    db.get_engine.cache_clear()
    db.migrate()


def _signing_key(home: Path) -> None:
    """A self-signed test key for the regime's signer, so that the demo's final is signed."""
    from datetime import UTC, datetime

    from reportcycle.demo.units import REGIME_FILE
    from reportcycle.regime.loading import load_regime
    from reportcycle.report.signing_key import make_self_signed

    regime = load_regime(REGIME_FILE).regime
    key, passphrase = home / "khoa-ky-so" / "khoa-thu.p12", "demo-khong-dung-that"
    pem = make_self_signed(
        key,
        passphrase,
        name=regime.signer.name,
        organisation=regime.issuer.name,
        now=datetime.now(UTC),  # a certificate is valid from the real time it was made
    )
    os.environ["REPORTCYCLE_SIGNING_KEY"] = str(key)
    os.environ["REPORTCYCLE_SIGNING_PASSPHRASE"] = passphrase
    out.print(f"a self-signed test signing key: {key} (its certificate: {pem}).", highlight=False)


def _quiet_prefect_console() -> None:
    """Flow and task logs still go to the UI; the terminal shows the demo's own lines."""
    import logging

    from prefect.logging.handlers import PrefectConsoleHandler

    for logger in [logging.getLogger(), *logging.Logger.manager.loggerDict.values()]:
        for handler in getattr(logger, "handlers", []):
            if isinstance(handler, PrefectConsoleHandler):
                handler.setLevel(logging.WARNING)


def register(app: typer.Typer) -> None:
    app.command("demo")(demo_command)
