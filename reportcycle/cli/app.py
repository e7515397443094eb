"""The `reportcycle` command line: the app, built from each room's command group."""

from __future__ import annotations

import os

import typer

from reportcycle.cli import calendar, cycle, database, inbox, outbox, regime, report, serve
from reportcycle.demo import command as demo

# No telemetry from the temporary Prefect server: these machines have no route out.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
# A flow command with no PREFECT_API_URL starts a temporary server; on a new PREFECT_HOME it
# first creates and migrates its database, which took longer than Prefect's 20 s here, and
# the command then failed with "Timed out while attempting to connect to ephemeral Prefect API".
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


def build_app() -> typer.Typer:
    app = typer.Typer(
        no_args_is_help=True,
        add_completion=False,
        help="Periodic reporting cycles: request, collect, chase, consolidate.",
    )
    for group in (database, regime, calendar, cycle, inbox, outbox, report, serve, demo):
        group.register(app)
    return app


app = build_app()
