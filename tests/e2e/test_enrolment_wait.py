"""Enrolment waits for the member role, bounded, on the local engine's simulated timeline.

The account is moved into a target OU without the member role; the member-role StackSet "deploys" it a while
later (a virtual-clock callback, as StackSets would minutes after the move). The enrolment waiter
(``workflow.enrolment_definition``) runs orgsync's real state machine with the real handlers against the
emulated organization, and the account ends in a definite status: CREATED once the role is there, or, if it
never comes, the last run's ACCESS_DENIED after a bounded number of runs and of simulated minutes.
"""

from __future__ import annotations

import datetime as _datetime
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_sfn

from infra.constructs.schedule import schedule_input
from lambdas.enrolment import enrolment_input, execution_name
from lambdas.models import Mode
from lambdas.settings import Settings
from workflow.enrolment_definition import ROLLOUT_STATE_MACHINE_SUBSTITUTION_KEY, WAITS, build_enrolment_definition
from workflow.local.aws import MEMBER_ROLE_NAME
from workflow.local.runner import LocalRun
from workflow.local.scenario import parse_scenario

MANAGEMENT = "100000000001"
STAYING = "210000000001"
NEWCOMER = "220000000001"
BUCKET = "enrol-inventory"
REGIONS = ["us-east-1", "eu-west-1"]

SCENARIO: dict[str, Any] = {
    "organization": {
        "managementAccount": {"id": MANAGEMENT, "name": "management"},
        "ous": [
            {"name": "Prod", "accounts": [{"name": "prod", "id": STAYING}]},
            {"name": "Sandbox", "accounts": [{"name": "newcomer", "id": NEWCOMER, "memberRole": False}]},
        ],
    },
    "aggregator": {"accountId": MANAGEMENT, "bucket": BUCKET, "region": "us-east-1", "prefix": "default"},
}
DEPLOYED = Settings(
    destination_bucket=BUCKET,
    destination_region="us-east-1",
    default_targets=("/Prod",),
    default_regions=tuple(REGIONS),
)


def _pascal_parameters(self: Any, parameters: dict[str, Any], *args: Any, **kwargs: Any) -> None:
    for key in list(parameters):
        parameters[key[0].lower() + key[1:]] = parameters.pop(key)


def _pascal_response(self: Any, response: Any, *args: Any, **kwargs: Any) -> None:
    if isinstance(response, dict):
        for key in list(response):
            value = response.pop(key)
            if isinstance(value, _datetime.datetime):
                value = int(value.timestamp() * 1000)
            response[key[0].upper() + key[1:]] = value


@pytest.fixture
def step_functions_integration() -> Iterator[None]:
    """The optimized Step Functions integration as AWS documents it, which moto 5.2.5's copy leaves unfinished.

    AWS takes the request in the API's PascalCase (``StateMachineArn``, ``Input``, ``Name``) and returns the
    DescribeExecution response in PascalCase with epoch-millisecond dates (``ExecutionArn``, ``Status``,
    ``Output``, ``Error``, ``Cause``); a failed run fails the task with ``States.TaskFailed`` whose cause is that
    response as JSON. moto's copy of LocalStack's interpreter keeps the failure but stubs both conversions out
    (``_normalise_parameters``/``_normalise_response`` do nothing), so the request reaches botocore in the wrong
    case. This puts the conversions back for the test's duration.
    """
    cls = state_task_service_sfn.StateTaskServiceSfn
    original = cls._normalise_parameters

    def parameters(self: Any, params: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        original(self, params, *args, **kwargs)  # Input as a JSON string, as the API takes it
        _pascal_parameters(self, params)

    with (
        mock.patch.object(cls, "_normalise_parameters", parameters),
        mock.patch.object(cls, "_normalise_response", _pascal_response),
    ):
        yield


@pytest.fixture
def local(step_functions_integration: None) -> Iterator[LocalRun]:
    with LocalRun(parse_scenario(SCENARIO, "enrolment-wait")) as run:
        yield run


def enrol(local: LocalRun, role_after_seconds: float | None, destination: str = "/Prod") -> dict[str, Any]:
    """Move the newcomer to ``destination``; StackSets gives it the member role ``role_after_seconds`` later
    (never with None); run the enrolment waiter on the enrolment function's input; return what happened."""
    local.aws.move_account(NEWCOMER, destination)
    if role_after_seconds is not None:
        local.clock.call_later(
            role_after_seconds,
            lambda: local.aws._seeder.create_role(NEWCOMER, MEMBER_ROLE_NAME, "orgsync member role (StackSets, late)"),
        )
    event = {
        "id": "7bf73129-1428-4cd3-a780-95db273d1602",
        "source": "aws.organizations",
        "detail": {"eventName": "MoveAccount", "requestParameters": {"accountId": NEWCOMER}},
    }
    execution_input = enrolment_input(event, DEPLOYED)
    assert execution_input is not None
    execution_input["regions"] = REGIONS  # the deployed default regions (the local engine has no layer)
    waiter = local.engine.create_state_machine(
        "orgsync-enrolment",
        build_enrolment_definition(),
        substitutions={ROLLOUT_STATE_MACHINE_SUBSTITUTION_KEY: local.state_machine_arn},
    )
    result = local.engine.run(waiter, execution_input, name=execution_name(event, NEWCOMER), timeout=300)
    client = local.engine.session.client("stepfunctions")
    runs = sorted(
        (e["name"], e["status"]) for e in client.list_executions(stateMachineArn=local.state_machine_arn)["executions"]
    )
    return {
        "result": result,
        "runs": runs,
        "waits": list(local.engine.wait_sleeps),
        "outcomes": {(o.accountId, o.region): str(o.status) for o in local.outcomes(runs[-1][0])},
    }


def test_an_account_whose_role_arrives_late_is_enrolled_on_a_later_run(local: LocalRun) -> None:
    # GIVEN StackSets deploys the member role 6 minutes after the move (after the first run, at 2 minutes)
    happened = enrol(local, role_after_seconds=360)
    # THEN the first run found no role, the waiter waited again, and the second run created the syncs
    assert happened["result"].status == "SUCCEEDED"
    name = "enrol-220000000001-7bf73129-1428-4cd3-a780-95db273d1602"
    assert happened["runs"] == [(f"{name}-0", "FAILED"), (f"{name}-1", "SUCCEEDED")]
    assert happened["waits"] == [WAITS[0], WAITS[1]]
    assert happened["outcomes"] == {(NEWCOMER, r): "CREATED" for r in REGIONS}
    assert sorted(local.aws.sync_names(NEWCOMER, r) for r in REGIONS) == [["org-inventory"], ["org-inventory"]]


def test_an_account_whose_role_never_arrives_ends_access_denied_after_a_bounded_wait(local: LocalRun) -> None:
    happened = enrol(local, role_after_seconds=None)
    # THEN every allowed run was made, and no more: the waits are the bounded schedule (67 minutes)
    assert [status for _, status in happened["runs"]] == ["FAILED"] * len(WAITS)
    assert happened["waits"] == list(WAITS)
    assert sum(WAITS) == 4020
    # AND the waiter ends with the last run's error and cause: a definite ACCESS_DENIED, with its report
    result = happened["result"]
    assert (result.status, result.error) == ("FAILED", "RolloutIncomplete")
    assert '"ACCESS_DENIED": 2' in (result.cause or "")
    assert happened["outcomes"] == {(NEWCOMER, r): "ACCESS_DENIED" for r in REGIONS}
    assert all(local.aws.sync_names(NEWCOMER, r) == [] for r in REGIONS)


def test_an_account_moved_outside_the_targets_is_skipped_without_waiting_again(local: LocalRun) -> None:
    happened = enrol(local, role_after_seconds=None, destination="/Sandbox")
    assert happened["result"].status == "SUCCEEDED"
    assert [status for _, status in happened["runs"]] == ["SUCCEEDED"]
    assert happened["waits"] == [WAITS[0]]
    assert happened["outcomes"] == {(NEWCOMER, r): "SKIPPED" for r in REGIONS}


# -- what the scheduled verify says about an account the enrolment gave up on ---------------------------------------


def scheduled_verify(local: LocalRun) -> dict[str, Any]:
    """The scheduled run (its input as the deployed schedule builds it, verify by default); returns its report."""
    result = local.run(schedule_input(Mode.VERIFY, DEPLOYED.default_targets, REGIONS))
    assert result.report is not None, result.cause
    return result.report


def results_of(report: dict[str, Any], account: str) -> dict[str, dict[str, Any]]:
    return {r["region"]: r for r in report["results"] if r["accountId"] == account}


def test_a_scheduled_verify_says_the_member_role_is_not_deployed_where_enrolment_gave_up(local: LocalRun) -> None:
    # GIVEN an enrolment that gave up: the member role never came
    happened = enrol(local, role_after_seconds=None)
    assert happened["outcomes"] == {(NEWCOMER, r): "ACCESS_DENIED" for r in REGIONS}
    # WHEN the scheduled verify runs
    report = scheduled_verify(local)
    # THEN the newcomer is ACCESS_DENIED in each region, and the detail says what happened and where to look
    for region, result in results_of(report, NEWCOMER).items():
        assert result["status"] == "ACCESS_DENIED", region
        assert f"The member role {MEMBER_ROLE_NAME} is not deployed in account {NEWCOMER}" in result["detail"]
        assert f"check the member-role StackSet's instance for account {NEWCOMER}" in result["detail"]
    assert sorted(results_of(report, NEWCOMER)) == sorted(REGIONS)
    # AND the coverage counts it as not delivering, for that cause
    coverage = {a["accountId"]: a for a in report["coverage"]["accounts"]}
    assert NEWCOMER in report["coverage"]["notCovered"]
    assert {r["status"] for r in coverage[NEWCOMER]["regionsNotDelivering"]} == {"ACCESS_DENIED"}


def test_a_scheduled_verify_says_an_account_whose_role_came_too_late_is_not_enrolled_yet(local: LocalRun) -> None:
    # GIVEN the member role arrives ten minutes after the enrolment gave up (its last run found none)
    late = sum(WAITS) + 4 * 60 + 600
    happened = enrol(local, role_after_seconds=late)
    assert happened["outcomes"] == {(NEWCOMER, r): "ACCESS_DENIED" for r in REGIONS}
    local.clock.advance(late)  # past the role's arrival
    # WHEN the scheduled verify runs
    report = scheduled_verify(local)
    # THEN the newcomer is MISSING in each region, told apart from an account that delivered before: nothing of it
    # reached the bucket, it is not enrolled yet, and the next rollout or its enrolment creates the syncs
    for region, result in results_of(report, NEWCOMER).items():
        assert result["status"] == "MISSING", region
        assert f"Account {NEWCOMER} is not enrolled yet" in result["detail"]
        assert "The next rollout, or the account's enrolment, creates its syncs." in result["detail"]
    assert sorted(results_of(report, NEWCOMER)) == sorted(REGIONS)
