"""Shared fixtures: a fresh home and database per test, on SQLite and (when configured)
PostgreSQL; a real SMTP sink; a Prefect test harness for flow tests."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from models import db as dbmod
from models.settings import Settings, get_settings

POSTGRES_URL = os.environ.get("REPORTCYCLE_TEST_POSTGRES_URL")
BACKENDS = [
    "sqlite",
    *([pytest.param("postgresql", marks=pytest.mark.postgres)] if POSTGRES_URL else []),
]
REPO = Path(__file__).resolve().parents[1]
REFERENCE_REGIME = REPO / "regimes" / "dong-nai-ttdn-6-thang.yaml"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh REPORTCYCLE_HOME; settings re-read from the environment."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("REPORTCYCLE_HOME", str(home))
    monkeypatch.setenv("REPORTCYCLE_ENVIRONMENT", "test")
    monkeypatch.delenv("REPORTCYCLE_DATABASE_URL", raising=False)
    monkeypatch.delenv("REPORTCYCLE_SMTP_URL", raising=False)
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


def _fresh_postgres_database(base_url: str) -> str:
    name = f"rc_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(base_url).set(database=name).render_as_string(hide_password=False)


def _drop_postgres_database(base_url: str, url: str) -> None:
    name = make_url(url).database
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(
    request: pytest.FixtureRequest, home: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A migrated, empty database for this test, on each configured backend."""
    if request.param == "postgresql":
        assert POSTGRES_URL is not None
        url = _fresh_postgres_database(POSTGRES_URL)
    else:
        url = f"sqlite:///{home / 'reportcycle.db'}"
    monkeypatch.setenv("REPORTCYCLE_DATABASE_URL", url)
    get_settings.cache_clear()
    dbmod.get_engine.cache_clear()
    dbmod.migrate(url)
    yield url
    dbmod.get_engine(url).dispose()
    dbmod.get_engine.cache_clear()
    if request.param == "postgresql":
        assert POSTGRES_URL is not None
        _drop_postgres_database(POSTGRES_URL, url)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return get_settings()


@pytest.fixture(scope="session")
def prefect_server() -> Iterator[str]:
    """One Prefect test server for the session; yields its API URL (for subprocesses too)."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        url = PREFECT_API_URL.value()
        assert url, "the Prefect test harness did not set an API URL"
        yield url


@pytest.fixture
def prefect(prefect_server: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PREFECT_API_URL", prefect_server)
    return prefect_server


@pytest.fixture(scope="session")
def ui_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Prefect server with its UI (tests/prefect_ui_server.py); yields its base URL."""
    from tests.prefect_ui_server import ui_server as start

    with start(tmp_path_factory.mktemp("prefect-ui")) as url:
        yield url


@pytest.fixture(scope="session")
def demo_runs(
    ui_server: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[subprocess.CompletedProcess[str]]]:
    """`reportcycle demo` run twice on one home against the UI server, as `make demo` runs it
    (a process of its own each time); the home and both runs."""
    from tests.factories import run_cli

    home = tmp_path_factory.mktemp("demo") / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REPORTCYCLE_", "PREFECT_"))}
    command = ["demo", "--home", str(home), "--prefect-url", f"{ui_server}/api"]
    runs = [run_cli(*command, env=env, timeout=600) for _ in range(2)]
    return home, runs


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that needs the Prefect server is slow: the server takes ~20 s to start."""
    for item in items:
        if {"prefect", "prefect_server", "ui_server"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
