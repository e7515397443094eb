"""When each flow runs (DESIGN §2): the deployments as plain data, in Vietnam time.

`flows/serve.py` turns these specs into Prefect deployments for `reportcycle serve`, and
`prefect.yaml` declares the same ones for a work pool; `tests/test_schedules.py` keeps the two in
step. Nothing here needs a Prefect server.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from reportcycle.calendar.periods import PeriodKind, period_containing
from reportcycle.clock import VN_TZ, aware
from reportcycle.regime.loading import load_regime
from reportcycle.regime.schema import Regime

TIMEZONE: Final = "Asia/Ho_Chi_Minh"

# 08:00 on the 10th of the period's last month: the reference request (2608/CV/BTGTU) came on
# 10/6, four days before the Decree 09 window closes on the 14th.
OPEN_CRONS: Final[dict[PeriodKind, str]] = {
    PeriodKind.MONTH: "0 8 10 * *",
    PeriodKind.QUARTER: "0 8 10 3,6,9,12 *",
    PeriodKind.HALF_YEAR: "0 8 10 6,12 *",
    PeriodKind.NINE_MONTH: "0 8 10 9 *",
    PeriodKind.YEAR: "0 8 10 12 *",
}
COLLECT_CRON: Final = "*/5 * * * *"
# Saturdays too: a make-up working Saturday needs its reminders; the flow itself skips days off.
CHASE_CRON: Final = "0 8 * * 1-6"

# What a run does when the previous one of the same deployment still holds the slot.
CollisionStrategy = Literal["ENQUEUE", "CANCEL_NEW"]


@dataclass(frozen=True)
class DeploymentSpec:
    """One deployment: which flow, when (cron in `timezone`), with which parameters."""

    name: str
    flow_import_path: str  # "flows.collect_submissions:collect_submissions"
    cron: str
    timezone: str
    parameters: dict[str, Any]
    description: str
    concurrency_limit: int = 1
    tags: tuple[str, ...] = ()
    # ENQUEUE: an opening must never be dropped. CANCEL_NEW: a poller whose previous run is
    # still busy has nothing to add, and queueing would pile runs up after a stop.
    collision_strategy: CollisionStrategy = "ENQUEUE"

    @property
    def entrypoint(self) -> str:
        """The file form a worker loads: "flows/collect_submissions.py:collect_submissions"."""
        module, function = self.flow_import_path.split(":")
        return f"{module.replace('.', '/')}.py:{function}"


def open_cron(regime: Regime) -> str:
    """When cycles of `regime` open: 08:00 (Vietnam) on the 10th of each period's last month."""
    return OPEN_CRONS[regime.period]


def current_period_code(regime: Regime, at: datetime) -> str:
    """The code of the regime's period that contains `at`'s day in Vietnam (naive = Vietnam)."""
    return period_containing(regime.period, aware(at).astimezone(VN_TZ).date()).code


def deployment_specs(regime_paths: Sequence[Path]) -> list[DeploymentSpec]:
    """An opening deployment per regime, then the collector and the chaser shared by all."""
    specs = [_open_spec(Path(p)) for p in regime_paths]
    names = [s.name for s in specs]
    if duplicated := sorted({n for n in names if names.count(n) > 1}):
        raise ValueError(f"two regime files share the code of {', '.join(duplicated)}")
    specs.append(
        DeploymentSpec(
            name="collect-submissions",
            flow_import_path="flows.collect_submissions:collect_submissions",
            cron=COLLECT_CRON,
            timezone=TIMEZONE,
            parameters={},
            description="Read new replies, match and acknowledge them (every 5 minutes).",
            tags=("reportcycle", "collect"),
            collision_strategy="CANCEL_NEW",
        )
    )
    specs.append(
        DeploymentSpec(
            name="chase-late-units",
            flow_import_path="flows.chase_late_units:chase_late_units",
            cron=CHASE_CRON,
            timezone=TIMEZONE,
            parameters={},
            description="Queue due reminders and escalations; 08:00 Monday–Saturday, "
            "the flow skips days that are not working days.",
            tags=("reportcycle", "chase"),
            collision_strategy="CANCEL_NEW",
        )
    )
    return specs


def _open_spec(path: Path) -> DeploymentSpec:
    regime = load_regime(path).regime  # validates: a broken file fails here, not at 08:00
    return DeploymentSpec(
        name=f"open-{regime.code}",
        flow_import_path="flows.serve:open_current_cycle",
        cron=open_cron(regime),
        timezone=TIMEZONE,
        # Absolute: the runner's working directory is not the secretariat's.
        parameters={"regime_path": str(path.resolve())},
        description=f"Open the cycle of the current {regime.period.value.replace('_', '-')} "
        f"period: {regime.name}",
        tags=("reportcycle", "open", regime.code),
    )


def next_fire_times(cron: str, timezone: str, after: datetime, count: int) -> list[datetime]:
    """The next `count` times strictly after `after` at which Prefect's scheduler fires `cron`.

    Computed by the server's own CronSchedule (its vendored croniter plus its time-zone
    handling), so what this returns is what the scheduler creates.
    """
    if after.tzinfo is None:
        raise ValueError(f"`after` must be timezone-aware, got naive {after!r}")
    # Imported here: the server schemas cost ~1.5 s on top of Prefect, and only this needs them.
    from prefect.server.schemas.schedules import CronSchedule
    from prefect.utilities.asyncutils import run_coro_as_sync

    schedule = CronSchedule(cron=cron, timezone=timezone)
    # get_dates returns times at or after `start`: ask for one more and drop `after` itself.
    found: list[datetime] = run_coro_as_sync(schedule.get_dates(n=count + 1, start=after))
    zone = ZoneInfo(timezone)
    times = [datetime.fromtimestamp(d.timestamp(), zone) for d in found]
    return [t for t in times if t > after][:count]
