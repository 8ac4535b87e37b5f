"""Overlapping runs on the local engine: two executions that write never act on the same account-region at once.

Executions run concurrently on the local engine (moto's interpreter runs each on its own threads). To make the
overlap certain rather than a matter of timing, the first execution's ``Reconcile accounts`` is held (a real wait in
the test's stand-in, which then runs the real handler) until the second has shown what it does about it. Every
``Reconcile accounts`` invocation is recorded with its real start and end, so the tests check the property itself:
for an account-region both runs target, their invocations never overlap in time.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest

from lambdas import handlers, leases
from lambdas.batch import Batch
from lambdas.errors import AccountRegionsBusy
from lambdas.leases import CLOSED_GRACE_SECONDS, LEASE_SECONDS, LEASES_KEY
from lambdas.models import RunParameters, TargetItem
from workflow.definition import PROCESS, RELEASE, WAIT_FOR_HOLDER
from workflow.functions import RECONCILE_SYNC
from workflow.local.runner import LocalRun
from workflow.local.scenario import parse_scenario
from workflow.runs import ExecutionResult

MANAGEMENT = "100000000001"
PROD_A = "210000000001"
PROD_B = "210000000002"
BUCKET = "overlap-inventory"
REGIONS = ["us-east-1", "eu-west-1"]
SCENARIO: dict[str, Any] = {
    "organization": {
        "managementAccount": {"id": MANAGEMENT, "name": "management"},
        "ous": [{"name": "Prod", "accounts": [{"name": "prod-a", "id": PROD_A}, {"name": "prod-b", "id": PROD_B}]}],
    },
    "aggregator": {"accountId": MANAGEMENT, "bucket": BUCKET, "region": "us-east-1", "prefix": "default"},
}
#: A real-time bound for each wait of the test (the runs themselves take a few seconds).
REAL_TIMEOUT = 240.0


@dataclass(frozen=True)
class Reconciled:
    """One ``Reconcile accounts`` invocation: whose, where, and when it ran (real monotonic seconds)."""

    execution: str
    accountId: str
    region: str
    started: float
    ended: float


class HeldReconcile:
    """``Reconcile accounts`` (the real handler, one batch of accounts per call), recorded per account-region, and held
    for the executions named in :meth:`hold`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.calls: list[Reconciled] = []
        self._held: dict[str, threading.Event] = {}
        self._entered: dict[str, threading.Event] = {}
        self.in_flight = 0

    def hold(self, execution: str) -> None:
        self._held[execution], self._entered[execution] = threading.Event(), threading.Event()

    def wait_entered(self, execution: str) -> None:
        assert self._entered[execution].wait(REAL_TIMEOUT), f"{execution} never reached Reconcile accounts"

    def let_go(self, execution: str) -> None:
        self._held[execution].set()

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        pending = Batch.from_event(event)
        execution = pending.run.executionName
        started = time.monotonic()
        with self._lock:
            self.in_flight += 1
        if execution in self._held:
            self._entered[execution].set()
            assert self._held[execution].wait(REAL_TIMEOUT)
        try:
            return handlers.reconcile_sync(event, context)
        finally:
            with self._lock:
                ended = time.monotonic()
                self.calls.extend(
                    Reconciled(execution, entry["accountId"], entry["region"], started, ended)
                    for entry in pending.toReconcile
                )
                self.in_flight -= 1

    def wait_until_idle(self) -> None:
        deadline = time.monotonic() + REAL_TIMEOUT
        while self.in_flight and time.monotonic() < deadline:
            time.sleep(0.05)
        assert self.in_flight == 0

    def of(self, execution: str) -> list[Reconciled]:
        with self._lock:
            return [call for call in self.calls if call.execution == execution]


@pytest.fixture
def local() -> Iterator[LocalRun]:
    with LocalRun(parse_scenario(SCENARIO, "overlapping-runs")) as run:
        yield run


@pytest.fixture
def reconcile(local: LocalRun) -> HeldReconcile:
    held = HeldReconcile()
    local.engine.register_handler(local.function_arns[RECONCILE_SYNC.substitution_key], held)
    return held


def without_time(answer: dict[str, Any]) -> dict[str, Any]:
    """A claim's answer without ``claimedAt`` (the claim's moment, checked on its own)."""
    assert "claimedAt" not in answer or datetime.fromisoformat(answer["claimedAt"])
    return {key: value for key, value in answer.items() if key != "claimedAt"}


def rollout(targets: list[str], **extra: Any) -> dict[str, Any]:
    return {"targets": targets, "regions": REGIONS, "markerTimeoutSeconds": 300, **extra}


def lease_table(local: LocalRun) -> list[dict[str, Any]]:
    body = local.aws.client("s3").get_object(Bucket=BUCKET, Key=LEASES_KEY)["Body"].read()
    return list(json.loads(body)["leases"])


def holders(local: LocalRun) -> list[str]:
    return [lease["executionArn"].rsplit(":", 1)[-1] for lease in lease_table(local)]


def entered(local: LocalRun, arn: str, state: str) -> list[dict[str, Any]]:
    """The history events of ``arn`` entering ``state`` so far."""
    return [
        event
        for event in local.history(arn)
        if event["type"].endswith("StateEntered") and event.get("stateEnteredEventDetails", {}).get("name") == state
    ]


def wait_until_entered(local: LocalRun, arn: str, state: str) -> dict[str, Any]:
    deadline = time.monotonic() + REAL_TIMEOUT
    while time.monotonic() < deadline:
        events = entered(local, arn, state)
        if events:
            return events[0]
        time.sleep(0.05)
    raise AssertionError(f"{arn} never entered {state}")


def finish(local: LocalRun, arn: str) -> ExecutionResult:
    return local.wait(arn, arn.rsplit(":", 1)[-1], timeout=REAL_TIMEOUT)


def claim_answers(local: LocalRun, arn: str) -> list[dict[str, Any]]:
    """What each ``Claim account-regions`` invocation of ``arn`` answered (its Lambda output)."""
    return [
        json.loads(event["lambdaFunctionSucceededEventDetails"]["output"])
        for event in local.history(arn)
        if event["type"] == "LambdaFunctionSucceeded"
        and "claimed" in event["lambdaFunctionSucceededEventDetails"].get("output", "")
    ]


def assert_never_at_once(first: list[Reconciled], second: list[Reconciled]) -> None:
    """No account-region of both lists was reconciled by both at overlapping times; and both did act."""
    assert first and second
    for a in first:
        for b in second:
            if (a.accountId, a.region) == (b.accountId, b.region):
                assert a.ended <= b.started or b.ended <= a.started, (a, b)


def test_a_second_rollout_waits_for_the_first_then_proceeds(local: LocalRun, reconcile: HeldReconcile) -> None:
    # GIVEN a rollout of prod-a, held in its Map: it holds prod-a's account-regions
    reconcile.hold("first")
    first, _ = local.start(rollout([PROD_A]), name="first")
    reconcile.wait_entered("first")
    assert holders(local) == ["first"]

    # WHEN a rollout of the whole OU (prod-a and prod-b) starts meanwhile
    second, _ = local.start(rollout(["/Prod"], busyWaitSeconds=43_200), name="second")
    wait_until_entered(local, second, WAIT_FOR_HOLDER)
    # THEN it waits, having been told which execution holds which account-region, and acts nowhere yet
    busy = claim_answers(local, second)[0]
    assert busy["claimed"] is False and busy["busyWith"] == first
    assert (
        f"2 of this run's 4 account-regions (such as {PROD_A} eu-west-1) are held by execution {first}"
        in busy["detail"]
    )
    assert reconcile.of("second") == []

    # WHEN the first ends
    reconcile.let_go("first")
    first_result, second_result = finish(local, first), finish(local, second)
    # THEN the second proceeded once the first had released, and both runs did their work
    assert first_result.status == "SUCCEEDED", first_result.cause
    assert second_result.status == "SUCCEEDED", second_result.cause
    assert without_time(claim_answers(local, second)[-1]) == {"claimed": True, "accountRegions": 4}
    # The first's release frees the account-regions before it goes on to Summarize and ends, so the second may
    # enter its Map before the first has stopped: the bound is the first's entering its release.
    assert (
        wait_until_entered(local, second, PROCESS)["timestamp"]
        >= wait_until_entered(local, first, RELEASE)["timestamp"]
    )
    assert second_result.statuses() == {
        **{(PROD_A, region): "IN_SYNC" for region in REGIONS},
        **{(PROD_B, region): "CREATED" for region in REGIONS},
    }
    assert_never_at_once(reconcile.of("first"), reconcile.of("second"))
    assert lease_table(local) == []


def test_when_busy_fail_ends_at_once_with_the_error_naming_the_running_execution(
    local: LocalRun, reconcile: HeldReconcile
) -> None:
    reconcile.hold("first")
    first, _ = local.start(rollout([PROD_A]), name="first")
    reconcile.wait_entered("first")

    # WHEN a teardown of prod-a that may not wait starts meanwhile
    second, _ = local.start(rollout([PROD_A], mode="teardown", confirm="teardown", whenBusy="fail"), name="second")
    failed = finish(local, second)

    # THEN it fails with AccountRegionsBusy naming the running rollout, before touching any account-region
    assert (failed.status, failed.error) == ("FAILED", AccountRegionsBusy.__name__)
    message = failed.cause_message() or ""
    assert f"held by execution {first} (rollout, since " in message and 'whenBusy is "fail"' in message
    assert entered(local, second, PROCESS) == [] and reconcile.of("second") == []
    assert holders(local) == ["first"]
    reconcile.let_go("first")
    assert finish(local, first).status == "SUCCEEDED"
    assert local.aws.sync_names(PROD_A, "us-east-1") == ["org-inventory"]


def test_runs_of_other_account_regions_and_read_only_runs_do_not_wait(
    local: LocalRun, reconcile: HeldReconcile
) -> None:
    # GIVEN a rollout of prod-a held in its Map (it holds prod-a's account-regions), and a verify of prod-a held too
    # (without its canary, which would otherwise have created prod-a's first sync before the Map)
    reconcile.hold("rollout-a")
    rollout_a, _ = local.start(rollout([PROD_A], canary=False), name="rollout-a")
    reconcile.wait_entered("rollout-a")
    reconcile.hold("verify-a")
    verify_a, _ = local.start(rollout([PROD_A], mode="verify"), name="verify-a")
    reconcile.wait_entered("verify-a")

    # WHEN a one-account rollout of prod-b (an enrolment's input), another verify and a plan of prod-a run meanwhile
    enrol_b = local.run(rollout([PROD_B], within=["/Prod"]), name="enrol-b", timeout=REAL_TIMEOUT)
    verify_again = local.run(rollout([PROD_A], mode="verify"), name="verify-again", timeout=REAL_TIMEOUT)
    plan = local.run(rollout(["/Prod"], mode="plan"), name="plan", timeout=REAL_TIMEOUT)

    # THEN each ran to its end without waiting, while the rollout of prod-a still held its account-regions
    assert holders(local) == ["rollout-a"]
    assert enrol_b.status == "SUCCEEDED", enrol_b.cause
    assert enrol_b.statuses() == {(PROD_B, region): "CREATED" for region in REGIONS}
    assert verify_again.statuses() == {(PROD_A, region): "MISSING" for region in REGIONS}
    assert plan.status == "SUCCEEDED"
    for run in (enrol_b, verify_again, plan):
        assert entered(local, run.execution_arn, WAIT_FOR_HOLDER) == []
    # AND the read-only runs claimed nothing (nor did the held verify)
    assert [answer["accountRegions"] for answer in claim_answers(local, verify_again.execution_arn)] == [0]
    reconcile.let_go("rollout-a")
    reconcile.let_go("verify-a")
    assert finish(local, rollout_a).status == "SUCCEEDED"
    assert finish(local, verify_a).status in {"SUCCEEDED", "FAILED"}
    assert entered(local, verify_a, WAIT_FOR_HOLDER) == []
    assert lease_table(local) == []


def test_a_stopped_run_frees_its_account_regions_once_its_tasks_in_flight_have_ended(
    local: LocalRun, reconcile: HeldReconcile
) -> None:
    # GIVEN a rollout of prod-a stopped while it holds prod-a (its Reconcile sync in flight, as on AWS, ends later)
    reconcile.hold("stopped")
    stopped, _ = local.start(rollout([PROD_A]), name="stopped")
    reconcile.wait_entered("stopped")
    sfn = local.engine.session.client("stepfunctions")
    sfn.stop_execution(executionArn=stopped)
    reconcile.let_go("stopped")
    assert finish(local, stopped).status == "ABORTED"
    reconcile.wait_until_idle()
    assert reconcile.of("stopped")
    assert holders(local) == ["stopped"]  # it could not release: it was stopped

    # WHEN a rollout of prod-a starts
    after = local.run(rollout([PROD_A]), name="after", timeout=REAL_TIMEOUT)

    # THEN it waited out the grace after the stop, then proceeded and took over prod-a
    assert after.status == "SUCCEEDED", after.cause
    assert entered(local, after.execution_arn, WAIT_FOR_HOLDER)
    stop_date = sfn.describe_execution(executionArn=stopped)["stopDate"]
    map_entered = entered(local, after.execution_arn, PROCESS)[0]["timestamp"]
    assert (map_entered - stop_date).total_seconds() >= CLOSED_GRACE_SECONDS
    assert lease_table(local) == []


def test_a_crashed_runs_lease_expires(local: LocalRun) -> None:
    # GIVEN the lease a run took before its deployment was destroyed (Step Functions no longer knows it)
    account = PROD_A
    crashed = local.state_machine_arn.replace(":stateMachine:", ":execution:") + ":crashed"
    run = RunParameters.from_dict(
        {
            "executionName": "crashed",
            "mode": "rollout",
            "syncName": "org-inventory",
            "markerTimeoutSeconds": 300,
            "destination": {"bucket": BUCKET, "region": "us-east-1", "prefix": "default"},
            "memberRoleName": "OrgSyncMemberRole",
        }
    )
    items = [TargetItem(account, "prod-a", "/Prod", region, run) for region in REGIONS]
    s3, sfn = local.aws.client("s3"), local.engine.session.client("stepfunctions")
    answer = leases.claim(s3, sfn, run, items, crashed, local.now())
    assert without_time(answer) == {"claimed": True, "accountRegions": 2}

    # WHEN a rollout of prod-a starts a day minus a minute later, THEN the lease still holds: it is refused
    local.clock.advance(LEASE_SECONDS - 60)
    refused = local.run(rollout([account], whenBusy="fail"), name="too-soon", timeout=REAL_TIMEOUT)
    assert (refused.status, refused.error) == ("FAILED", AccountRegionsBusy.__name__)
    assert f"held by execution {crashed} (rollout, since " in (refused.cause_message() or "")
    assert "which Step Functions does not know" in (refused.cause_message() or "")

    # WHEN the simulated clock passes the lease's expiry, THEN the next rollout proceeds without waiting
    local.clock.advance(60)
    after = local.run(rollout([account], whenBusy="fail"), name="after-expiry", timeout=REAL_TIMEOUT)
    assert after.status == "SUCCEEDED", after.cause
    assert after.statuses() == {(account, region): "CREATED" for region in REGIONS}
    assert lease_table(local) == []
