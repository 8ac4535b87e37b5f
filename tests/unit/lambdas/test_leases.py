"""The lease table (lambdas.leases) against moto's S3 conditional writes, with Step Functions' answers stood in.

What a claim decides depends on what ``DescribeExecution`` says of the holder; the stand-in answers as the API
does (``status``, ``stopDate``; ``ExecutionDoesNotExist`` for an unknown ARN). The table is real S3 (moto 5.2.5
honours ``If-None-Match: *`` and ``If-Match`` on PutObject with 412 PreconditionFailed).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lambdas import leases
from lambdas.errors import AccountRegionsBusy
from lambdas.leases import BUSY_POLL_SECONDS, CLOSED_GRACE_SECONDS, LEASE_SECONDS, LEASES_KEY, claim, release
from lambdas.models import Destination, Mode, OnConflict, RunParameters, TargetItem, WhenBusy
from workflow.functions import CHECK_MARKER, RECONCILE_SYNC, RECORD_FAILURE
from workflow.local.clock import VirtualClock

#: The bucket the lambdas conftest creates (tests/unit/lambdas/conftest.py); a module named conftest is ambiguous
#: across the suite's directories, so it is not imported.
INVENTORY_BUCKET = "acme-inventory"
ARN = "arn:aws:states:us-east-1:300000000001:execution:orgsync:"
ONE, TWO = "200000000001", "200000000002"


def without_time(answer: dict[str, Any]) -> dict[str, Any]:
    """A claim's answer without ``claimedAt`` (the claim's moment, checked on its own)."""
    assert "claimedAt" not in answer or datetime.fromisoformat(answer["claimedAt"])
    return {key: value for key, value in answer.items() if key != "claimedAt"}


def run(name: str, mode: Mode = Mode.ROLLOUT, when_busy: WhenBusy = WhenBusy.WAIT, wait: int = 3600) -> RunParameters:
    destination = Destination(INVENTORY_BUCKET, "us-east-1", "default")
    return RunParameters(
        name,
        mode,
        "org-inventory",
        destination,
        OnConflict.REPORT,
        60,
        "OrgSyncMemberRole",
        whenBusy=when_busy,
        busyWaitSeconds=wait,
    )


def items(parameters: RunParameters, *account_regions: tuple[str, str]) -> list[TargetItem]:
    return [TargetItem(account, "a", "/", region, parameters) for account, region in account_regions]


class StepFunctions:
    """DescribeExecution as the API answers it, for the executions given (any other does not exist)."""

    def __init__(self) -> None:
        self.executions: dict[str, dict[str, Any]] = {}
        self.described: list[str] = []

    def running(self, name: str) -> None:
        self.executions[ARN + name] = {"status": "RUNNING"}

    def stopped(self, name: str, status: str, at: datetime) -> None:
        self.executions[ARN + name] = {"status": status, "stopDate": at}

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        self.described.append(executionArn)
        if executionArn not in self.executions:
            error = {"Code": "ExecutionDoesNotExist", "Message": f"Execution Does Not Exist: '{executionArn}'"}
            raise ClientError({"Error": error}, "DescribeExecution")
        return {"executionArn": executionArn, **self.executions[executionArn]}


def take(s3: Any, sfn: StepFunctions, name: str, *where: tuple[str, str], **options: Any) -> dict[str, Any]:
    parameters = run(name, **options)
    return claim(s3, sfn, parameters, items(parameters, *where), ARN + name, leases.clock.now())


def table(s3: Any) -> list[dict[str, Any]]:
    return list(json.loads(s3.get_object(Bucket=INVENTORY_BUCKET, Key=LEASES_KEY)["Body"].read())["leases"])


def test_the_first_claim_creates_the_table_and_an_overlapping_run_is_told_who_holds_what(
    s3: Any, virtual_clock: VirtualClock
) -> None:
    sfn = StepFunctions()
    first = take(s3, sfn, "first", (ONE, "us-east-1"), (ONE, "eu-west-1"))
    assert without_time(first) == {"claimed": True, "accountRegions": 2} and "claimedAt" in first
    sfn.running("first")
    [lease] = table(s3)
    assert lease["executionArn"] == ARN + "first" and lease["mode"] == "rollout"
    assert lease["accountRegions"] == {ONE: ["eu-west-1", "us-east-1"]}
    assert datetime.fromisoformat(lease["expiresAt"]) - datetime.fromisoformat(lease["acquiredAt"]) == timedelta(
        seconds=LEASE_SECONDS
    )

    answer = take(s3, sfn, "second", (ONE, "us-east-1"), (TWO, "us-east-1"))

    assert answer["claimed"] is False and answer["busyWith"] == ARN + "first"
    assert answer["waitSeconds"] == BUSY_POLL_SECONDS
    assert answer["detail"].startswith(
        f"1 of this run's 2 account-regions (such as {ONE} us-east-1) are held by execution {ARN}first (rollout, "
    )
    assert "), which is still running; waiting (0 s of busyWaitSeconds 3600)" in answer["detail"]
    assert [lease["executionArn"] for lease in table(s3)] == [ARN + "first"]


def test_other_account_regions_of_the_same_account_are_free(s3: Any, virtual_clock: VirtualClock) -> None:
    sfn = StepFunctions()
    take(s3, sfn, "first", (ONE, "us-east-1"))
    sfn.running("first")
    assert take(s3, sfn, "second", (ONE, "eu-west-1"), (TWO, "us-east-1"))["claimed"] is True
    assert [lease["executionArn"] for lease in table(s3)] == [ARN + "first", ARN + "second"]
    # a lease that shares nothing is not even looked up
    assert sfn.described == []


def test_a_read_only_run_neither_reads_nor_writes_the_table(virtual_clock: VirtualClock) -> None:
    class NoS3:
        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"a read-only run called s3.{name}")

    for mode in (Mode.VERIFY, Mode.PLAN):
        parameters = run("read-only", mode)
        answer = claim(
            NoS3(), StepFunctions(), parameters, items(parameters, (ONE, "us-east-1")), ARN + "r", virtual_clock.now()
        )
        assert without_time(answer) == {"claimed": True, "accountRegions": 0}
        assert release(NoS3(), parameters, ARN + "r") == {"released": False}


def test_when_busy_fail_raises_at_once_and_wait_raises_once_busy_wait_seconds_have_passed(
    s3: Any, virtual_clock: VirtualClock
) -> None:
    sfn = StepFunctions()
    take(s3, sfn, "first", (ONE, "us-east-1"))
    sfn.running("first")
    with pytest.raises(AccountRegionsBusy, match=f'held by execution {ARN}first .*; whenBusy is "fail"'):
        take(s3, sfn, "second", (ONE, "us-east-1"), when_busy=WhenBusy.FAIL)

    parameters = run("third", wait=600)
    started = virtual_clock.now()
    where = items(parameters, (ONE, "us-east-1"))
    assert claim(s3, sfn, parameters, where, ARN + "third", started)["waitSeconds"] == 60
    virtual_clock.advance(570)
    assert claim(s3, sfn, parameters, where, ARN + "third", started)["waitSeconds"] == 30  # never past the bound
    virtual_clock.advance(30)
    with pytest.raises(AccountRegionsBusy, match="waited 600 s, busyWaitSeconds is 600"):
        claim(s3, sfn, parameters, where, ARN + "third", started)


def test_a_closed_execution_holds_for_the_grace_after_its_stop_then_its_lease_is_dropped(
    s3: Any, virtual_clock: VirtualClock
) -> None:
    sfn = StepFunctions()
    take(s3, sfn, "stopped", (ONE, "us-east-1"))
    sfn.stopped("stopped", "ABORTED", virtual_clock.now())
    virtual_clock.advance(CLOSED_GRACE_SECONDS - 1)
    held = take(s3, sfn, "next", (ONE, "us-east-1"))
    assert held["claimed"] is False
    assert f"{ARN}stopped (rollout, since " in held["detail"] and "which ended ABORTED at " in held["detail"]
    virtual_clock.advance(1)
    assert take(s3, sfn, "next", (ONE, "us-east-1"))["claimed"] is True
    assert [lease["executionArn"] for lease in table(s3)] == [ARN + "next"]


def test_a_running_execution_keeps_its_lease_past_expiry_and_an_unknown_one_loses_it_there(
    s3: Any, virtual_clock: VirtualClock
) -> None:
    sfn = StepFunctions()
    take(s3, sfn, "long", (ONE, "us-east-1"))
    take(s3, sfn, "crashed", (TWO, "us-east-1"))
    sfn.running("long")
    virtual_clock.advance(LEASE_SECONDS - 1)
    unknown = take(s3, sfn, "next", (TWO, "us-east-1"))
    assert unknown["busyWith"] == ARN + "crashed"
    assert "which Step Functions does not know" in unknown["detail"] and LEASES_KEY in unknown["detail"]
    virtual_clock.advance(1)
    assert take(s3, sfn, "next", (ONE, "us-east-1"))["busyWith"] == ARN + "long"  # still running: still holds
    assert take(s3, sfn, "next", (TWO, "us-east-1"))["claimed"] is True  # unknown and expired: free
    # the expired lease of another account-region is dropped with the write; the running one's is kept
    assert [lease["executionArn"] for lease in table(s3)] == [ARN + "long", ARN + "next"]


class RacingS3:
    """S3 where another execution's claim lands between this claim's read and its conditional write, once."""

    def __init__(self, s3: Any, racer: Any) -> None:
        self._s3, self._racer, self.puts = s3, racer, 0

    def put_object(self, **kwargs: Any) -> Any:
        self.puts += 1
        if self.puts == 1:
            self._racer()
        return self._s3.put_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s3, name)


@pytest.mark.parametrize("racer_where", [(ONE, "us-east-1"), (TWO, "us-east-1")], ids=["same", "other"])
def test_a_claim_that_loses_the_conditional_write_reads_again_and_sees_the_winner(
    s3: Any, virtual_clock: VirtualClock, racer_where: tuple[str, str]
) -> None:
    sfn = StepFunctions()
    sfn.running("racer")
    racing = RacingS3(s3, lambda: take(s3, sfn, "racer", racer_where))

    answer = take(racing, sfn, "mine", (ONE, "us-east-1"))

    # S3 refused the write made against the version read before the racer's (If-None-Match: * on no table); the
    # claim read again: held by the racer, it waits; else it wrote once more, against the racer's version
    same = racer_where[0] == ONE
    assert racing.puts == (1 if same else 2)
    if same:
        assert answer["claimed"] is False and answer["busyWith"] == ARN + "racer"
        assert [lease["executionArn"] for lease in table(s3)] == [ARN + "racer"]
    else:
        assert answer["claimed"] is True
        assert [lease["executionArn"] for lease in table(s3)] == [ARN + "racer", ARN + "mine"]


def test_release_removes_only_its_own_lease_and_twice_is_nothing(s3: Any, virtual_clock: VirtualClock) -> None:
    sfn = StepFunctions()
    take(s3, sfn, "first", (ONE, "us-east-1"))
    take(s3, sfn, "second", (TWO, "us-east-1"))
    etag = s3.head_object(Bucket=INVENTORY_BUCKET, Key=LEASES_KEY)["ETag"]
    assert release(s3, run("first"), ARN + "first") == {"released": True}
    assert [lease["executionArn"] for lease in table(s3)] == [ARN + "second"]
    assert release(s3, run("first"), ARN + "first") == {"released": False}
    assert s3.head_object(Bucket=INVENTORY_BUCKET, Key=LEASES_KEY)["ETag"] != etag


def test_the_grace_covers_every_task_of_an_account_region_in_flight() -> None:
    # StopExecution does not stop a Lambda invocation in flight: it may act until its own timeout
    assert max(f.timeout_seconds for f in (RECONCILE_SYNC, CHECK_MARKER, RECORD_FAILURE)) <= CLOSED_GRACE_SECONDS
