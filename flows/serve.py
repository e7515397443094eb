"""`reportcycle serve`: every deployment of `reportcycle.schedules`, served from one process.

Also the flow behind each regime's opening deployment, `open-current-cycle`: a deployment's
parameters are fixed, so the period to open is computed when the run starts.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import Flow, flow, serve
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import RunnerDeployment
from prefect.runtime import flow_run
from prefect.schedules import Cron
from prefect.types.entrypoint import EntrypointType

from flows import heartbeat
from flows.open_cycle import OpenCycleResult, open_cycle
from reportcycle.clock import VN_TZ, resolve_now
from reportcycle.cycle.schedules import DeploymentSpec, current_period_code, deployment_specs
from reportcycle.regime.loading import load_regime

heartbeat.install()  # no 1 s wait for the heartbeat thread at the end of each run

# Prefect's serve() pauses its deployments when it stops, and pausing deletes their scheduled
# runs: an opening due while the process was down (a reboot on 10/12) would never happen. Left
# active, missed runs wait as Late and start when serve is back; open-current-cycle still opens
# the period of its scheduled day, and the pollers' CANCEL_NEW drops the redundant ones.
PAUSE_ON_SHUTDOWN = False


def _open_run_name() -> str:
    return f"open {Path(flow_run.parameters['regime_path']).stem}"


@flow(name="open-current-cycle", flow_run_name=_open_run_name, log_prints=True)
def open_current_cycle(regime_path: str, now: datetime | None = None) -> OpenCycleResult:
    """Open the cycle of the regime's period containing the run's day (Vietnam time)."""
    regime = load_regime(regime_path).regime
    period = current_period_code(regime, now or _scheduled_start())
    return open_cycle(regime_path, period, None, resolve_now(now))


def _scheduled_start() -> datetime:
    """When this run was due, not when it started: a run of 10/12 that only starts in January
    (the machine was off) must still open the second half-year, not the first."""
    due = flow_run.scheduled_start_time  # the current time outside a flow run
    return datetime.fromtimestamp(due.timestamp(), VN_TZ)


def build_deployments(regime_paths: Sequence[Path]) -> list[RunnerDeployment]:
    """The deployments of `deployment_specs`, built locally (registering needs a server)."""
    return [_to_deployment(spec) for spec in deployment_specs(regime_paths)]


def serve_all(regime_paths: Sequence[Path], *, limit: int = 4) -> None:
    """Register every deployment and run their flows here until stopped (blocks).

    `limit` caps the flow runs this process runs at once; without it serve() has no cap.
    """
    from flows.consolidate_report import deployment as consolidate_deployment

    serve(
        *build_deployments(regime_paths),
        # No schedule: `reportcycle consolidate` starts its runs; served here so that a run
        # resumed with the Prefect UI's Resume button is picked up and finished.
        consolidate_deployment(),
        limit=limit,
        pause_on_shutdown=PAUSE_ON_SHUTDOWN,
    )


def _to_deployment(spec: DeploymentSpec) -> RunnerDeployment:
    deployment = _load_flow(spec.flow_import_path).to_deployment(
        name=spec.name,
        schedules=[Cron(spec.cron, timezone=spec.timezone)],
        parameters=spec.parameters,
        concurrency_limit=ConcurrencyLimitConfig(
            limit=spec.concurrency_limit,
            collision_strategy=ConcurrencyLimitStrategy(spec.collision_strategy),
        ),
        tags=list(spec.tags),
        description=spec.description,
        # "flows.collect_submissions.collect_submissions": runs import the installed package,
        # whatever directory `reportcycle serve` was started from.
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    # to_deployment is sync or async by the caller's context; typed as either.
    if not isinstance(deployment, RunnerDeployment):
        raise TypeError(f"build_deployments was called from a running event loop ({spec.name})")
    return deployment


def _load_flow(import_path: str) -> Flow[..., Any]:
    """Import "package.module:function" when needed, so one flow module that fails to import
    names itself instead of breaking this module's import."""
    module_name, attribute = import_path.split(":")
    found = getattr(importlib.import_module(module_name), attribute)
    if not isinstance(found, Flow):
        raise TypeError(f"{import_path} is not a Prefect flow")
    return found
