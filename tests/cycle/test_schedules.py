"""When the flows run: cron specs in Vietnam time, the deployments built from them, prefect.yaml
kept in step, and what a Prefect server makes of them."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterDeploymentId
from prefect.client.schemas.schedules import CronSchedule
from prefect.client.schemas.sorting import FlowRunSort
from prefect.deployments.runner import RunnerDeployment
from prefect.flow_engine import run_flow
from prefect.states import Scheduled, State

from flows.open_cycle import OpenCycleResult
from flows.serve import build_deployments, open_current_cycle
from models.settings import Settings
from reportcycle.calendar.periods import PeriodKind, period_containing
from reportcycle.clock import VN_TZ
from reportcycle.cycle.schedules import (
    TIMEZONE,
    DeploymentSpec,
    current_period_code,
    deployment_specs,
    next_fire_times,
    open_cron,
)
from reportcycle.regime.loading import load_regime
from tests.conftest import REFERENCE_REGIME, REPO
from tests.factories import maildir_messages

SEVEN_HOURS = timedelta(hours=7)


def _spec(name: str) -> DeploymentSpec:
    return next(s for s in deployment_specs([REFERENCE_REGIME]) if s.name == name)


def test_half_year_cycle_opens_at_0800_vietnam_on_10_june_then_10_december() -> None:
    spec = _spec("open-dong-nai-ttdn-6-thang")
    assert (spec.cron, spec.timezone) == ("0 8 10 6,12 *", "Asia/Ho_Chi_Minh")

    fires = next_fire_times(spec.cron, spec.timezone, datetime(2024, 1, 1, tzinfo=VN_TZ), 2)

    assert fires == [
        datetime(2024, 6, 10, 8, 0, tzinfo=VN_TZ),
        datetime(2024, 12, 10, 8, 0, tzinfo=VN_TZ),
    ]
    assert [f.utcoffset() for f in fires] == [SEVEN_HOURS, SEVEN_HOURS]
    assert [f.astimezone(UTC) for f in fires] == [
        datetime(2024, 6, 10, 1, 0, tzinfo=UTC),
        datetime(2024, 12, 10, 1, 0, tzinfo=UTC),
    ]


@pytest.mark.parametrize(
    ("kind", "months"),
    [
        (PeriodKind.MONTH, list(range(1, 13))),
        (PeriodKind.QUARTER, [3, 6, 9, 12]),
        (PeriodKind.HALF_YEAR, [6, 12]),
        (PeriodKind.NINE_MONTH, [9]),
        (PeriodKind.YEAR, [12]),
    ],
)
def test_each_period_kind_opens_once_per_period_on_the_10th_of_its_last_month(
    kind: PeriodKind, months: list[int]
) -> None:
    regime = load_regime(REFERENCE_REGIME).regime.model_copy(update={"period": kind})
    start = datetime(2024, 1, 1, tzinfo=VN_TZ)
    fires = next_fire_times(open_cron(regime), TIMEZONE, start, len(months) + 1)

    in_2024 = [f for f in fires if f.year == 2024]
    assert [(f.month, f.day, f.time()) for f in in_2024] == [(m, 10, time(8)) for m in months]
    periods = [period_containing(kind, f.date()) for f in in_2024]
    assert [p.last_month for p in periods] == months  # each opening is its own period's


def test_chaser_fires_at_0800_monday_to_saturday_and_never_on_sunday() -> None:
    spec = _spec("chase-late-units")
    sunday_night = datetime(2024, 6, 9, 23, 0, tzinfo=VN_TZ)  # Sunday 9 June 2024

    fires = next_fire_times(spec.cron, spec.timezone, sunday_night, 7)

    assert [f.date() for f in fires] == [
        *(date(2024, 6, d) for d in range(10, 16)),  # Monday 10 .. Saturday 15
        date(2024, 6, 17),  # Sunday 16 is skipped
    ]
    assert [f.isoweekday() for f in fires] == [1, 2, 3, 4, 5, 6, 1]
    assert {(f.time(), f.utcoffset()) for f in fires} == {(time(8), SEVEN_HOURS)}


def test_collector_fires_every_five_minutes() -> None:
    spec = _spec("collect-submissions")
    fires = next_fire_times(spec.cron, spec.timezone, datetime(2024, 6, 10, 8, 2, tzinfo=VN_TZ), 4)
    assert [f.time() for f in fires] == [time(8, 5), time(8, 10), time(8, 15), time(8, 20)]


def test_next_fire_times_are_strictly_after_the_given_time() -> None:
    at_fire = datetime(2024, 6, 10, 1, 0, tzinfo=UTC)  # 08:00 in Vietnam, a firing instant
    (fire,) = next_fire_times("0 8 10 6,12 *", TIMEZONE, at_fire, 1)
    assert fire == datetime(2024, 12, 10, 8, 0, tzinfo=VN_TZ)


def test_next_fire_times_refuses_a_naive_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        next_fire_times("0 8 * * *", TIMEZONE, datetime(2024, 1, 1), 1)  # noqa: DTZ001


def test_every_deployment_runs_alone() -> None:
    specs = deployment_specs([REFERENCE_REGIME])
    assert [s.name for s in specs] == [
        "open-dong-nai-ttdn-6-thang",
        "collect-submissions",
        "chase-late-units",
    ]
    assert {s.concurrency_limit for s in specs} == {1}
    assert {s.timezone for s in specs} == {TIMEZONE}
    opening = specs[0]
    assert Path(opening.parameters["regime_path"]).is_absolute()
    assert Path(opening.parameters["regime_path"]) == REFERENCE_REGIME.resolve()


def test_two_regime_files_with_one_code_are_refused(tmp_path: Path) -> None:
    copy = tmp_path / "copy.yaml"
    copy.write_bytes(REFERENCE_REGIME.read_bytes())
    with pytest.raises(ValueError, match="dong-nai-ttdn-6-thang"):
        deployment_specs([REFERENCE_REGIME, copy])


def test_built_deployments_carry_cron_timezone_and_a_limit_of_one() -> None:
    specs = deployment_specs([REFERENCE_REGIME])
    deployments = build_deployments([REFERENCE_REGIME])

    assert [d.name for d in deployments] == [s.name for s in specs]
    assert [d.flow_name for d in deployments] == [
        "open-current-cycle",
        "collect-submissions",
        "chase-late-units",
    ]
    for deployment, spec in zip(deployments, specs, strict=True):
        (schedule,) = deployment.schedules or []
        assert schedule.active
        assert isinstance(schedule.schedule, CronSchedule)
        assert schedule.schedule.cron == spec.cron
        assert schedule.schedule.timezone == "Asia/Ho_Chi_Minh"
        assert deployment.concurrency_limit == 1
        assert deployment.concurrency_options is not None
        assert deployment.concurrency_options.collision_strategy.value == spec.collision_strategy
        assert deployment.parameters == spec.parameters
        assert deployment.tags == list(spec.tags)
        assert deployment.description == spec.description
        assert deployment.entrypoint == spec.flow_import_path.replace(":", ".")
        assert deployment.paused is False
        assert deployment.work_pool_name is None  # served from the `reportcycle serve` process


def test_prefect_yaml_declares_the_same_deployments_for_the_work_pool() -> None:
    config: dict[str, Any] = yaml.safe_load((REPO / "prefect.yaml").read_text(encoding="utf-8"))
    specs = {s.name: s for s in deployment_specs([REFERENCE_REGIME])}

    assert config["name"] == "reportcycle"
    assert str(config["prefect-version"]).startswith("3.")
    ((step, inputs),) = (item for pull in config["pull"] for item in pull.items())
    assert step == "prefect.deployments.steps.set_working_directory"
    assert "$REPORTCYCLE_CHECKOUT" in inputs["directory"]

    declared = {d["name"]: d for d in config["deployments"]}
    on_demand = declared.pop("consolidate-report")  # no schedule: started by the CLI
    assert on_demand["entrypoint"] == "flows/consolidate_report.py:consolidate_report"
    assert "schedules" not in on_demand
    assert declared.keys() == specs.keys()
    for name, deployment in declared.items():
        spec = specs[name]
        assert deployment["entrypoint"] == spec.entrypoint
        assert (REPO / spec.entrypoint.split(":")[0]).is_file()
        assert deployment["schedules"] == [{"cron": spec.cron, "timezone": spec.timezone}]
        assert deployment["concurrency_limit"] == {
            "limit": spec.concurrency_limit,
            "collision_strategy": spec.collision_strategy,
        }
        assert deployment["work_pool"]["name"] == "reportcycle"
        assert deployment["tags"] == list(spec.tags)
        assert " ".join(deployment["description"].split()) == spec.description
        assert _by_file_name(deployment["parameters"]) == _by_file_name(spec.parameters)
    # relative to the checkout the pull step moves into
    assert (REPO / declared["open-dong-nai-ttdn-6-thang"]["parameters"]["regime_path"]).is_file()


def _apply_opening() -> tuple[RunnerDeployment, UUID]:
    """Register the reference regime's opening deployment with the test server."""
    (deployment,) = [d for d in build_deployments([REFERENCE_REGIME]) if d.name.startswith("open")]
    deployment_id = deployment.apply()
    assert isinstance(deployment_id, UUID)  # apply() is sync here, typed as maybe-async
    return deployment, deployment_id


def _by_file_name(parameters: dict[str, Any]) -> dict[str, Any]:
    return {k: Path(v).name if k == "regime_path" else v for k, v in parameters.items()}


def test_the_period_to_open_is_the_one_containing_the_day_in_vietnam() -> None:
    regime = load_regime(REFERENCE_REGIME).regime
    assert current_period_code(regime, datetime(2024, 6, 10, 8, 0, tzinfo=VN_TZ)) == "2024-H1"
    assert current_period_code(regime, datetime(2024, 12, 10, 1, 0, tzinfo=UTC)) == "2024-H2"
    # 30 June 23:30 UTC is already 1 July in Vietnam: the second half-year
    assert current_period_code(regime, datetime(2024, 6, 30, 17, 30, tzinfo=UTC)) == "2024-H2"
    assert current_period_code(regime, datetime(2024, 6, 30, 16, 30, tzinfo=UTC)) == "2024-H1"


def test_the_server_schedules_the_opening_at_0800_vietnam_time(prefect: str) -> None:
    deployment, deployment_id = _apply_opening()

    with get_client(sync_client=True) as client:
        (stored,) = client.read_deployment_schedules(deployment_id)
        assert isinstance(stored.schedule, CronSchedule)
        assert stored.schedule.cron == "0 8 10 6,12 *"
        assert stored.schedule.timezone == "Asia/Ho_Chi_Minh"
        read = client.read_deployment(deployment_id)
        assert read.global_concurrency_limit is not None
        assert read.global_concurrency_limit.limit == 1
        # What the scheduler service does every few seconds, for a fixed 2024 window.
        response = client.request(
            "POST",
            "/deployments/{id}/schedule",
            path_params={"id": deployment_id},
            json={
                "start_time": "2024-01-01T00:00:00+07:00",
                "end_time": "2025-01-01T00:00:00+07:00",
                "max_runs": 2,
            },
        )
        response.raise_for_status()
        runs = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(
                deployment_id=FlowRunFilterDeploymentId(any_=[deployment_id])
            ),
            sort=FlowRunSort.EXPECTED_START_TIME_ASC,
        )
    scheduled = [r for r in runs if r.auto_scheduled]
    assert [r.expected_start_time.astimezone(UTC) for r in scheduled if r.expected_start_time] == [
        datetime(2024, 6, 10, 1, 0, tzinfo=UTC),
        datetime(2024, 12, 10, 1, 0, tzinfo=UTC),
    ]
    assert [r.parameters for r in scheduled] == [deployment.parameters] * 2


@pytest.mark.slow
def test_a_late_opening_run_opens_the_period_it_was_scheduled_for(
    settings: Settings, prefect: str
) -> None:
    _, deployment_id = _apply_opening()
    with get_client(sync_client=True) as client:  # due on 10/12/2024, run only now
        due: State[Any] = Scheduled(scheduled_time=datetime(2024, 12, 10, 1, 0, tzinfo=UTC))
        flow_run = client.create_flow_run_from_deployment(deployment_id, state=due)

    # What the runner's subprocess does with a run it picked up, here in this process.
    result = run_flow(open_current_cycle, flow_run=flow_run, parameters=flow_run.parameters)

    assert isinstance(result, OpenCycleResult)
    assert result.cycle_code == "dong-nai-ttdn-6-thang-2024-H2"  # not the period of today
    assert result.created
    assert result.sent == len(load_regime(REFERENCE_REGIME).regime.units)
    assert len(maildir_messages(settings.sent_maildir)) == result.sent
