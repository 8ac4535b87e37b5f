"""The batch layer over the per-account-region steps: shared AssumeRole and marker listing, one account-region's
error kept to itself, pending markers re-checked alone, a step short of time, and the batch's record."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from lambdas import batch, clock, sync
from lambdas.aws import AccessDenied
from lambdas.batch import Batch, check_markers, reconcile_batch, record_failures
from lambdas.errors import AwsUnavailable, OutOfTime, S3WriteFailed, Throttled
from lambdas.marker import marker_key
from lambdas.models import Destination, Mode, OnConflict, RunParameters, Status, TargetItem, Verification
from lambdas.sync import Reconciled
from workflow.local.clock import VirtualClock

BUCKET = "acme-inventory"
RUN = RunParameters("exec-1", Mode.ROLLOUT, "org-inventory", Destination(BUCKET, "us-east-1", "default"),
                    OnConflict.REPORT, 900, "OrgSyncMemberRole")
REGIONS = ["us-east-1", "eu-west-1", "ap-northeast-1", "eu-central-1"]
A, B = "200000000001", "200000000002"


def child_input(*accounts: str) -> dict[str, Any]:
    """What ItemBatcher gives a child: the run once, the accounts with their regions."""
    items = [{"accountId": account, "accountName": f"acct-{account[-1]}", "ouPath": "/W", "regions": REGIONS}
             for account in accounts]
    return {"BatchInput": {"run": RUN.to_dict()}, "Items": items}


@pytest.fixture(autouse=True)
def virtual_clock() -> Iterator[VirtualClock]:
    virtual = VirtualClock(start=datetime(2026, 1, 1, tzinfo=UTC))
    previous = clock.use(virtual)
    yield virtual
    clock.use(previous)


class Reconciler:
    """Stands in for ``sync.reconcile``: asks the batch for the SSM client, then raises or creates."""

    def __init__(self, errors: dict[tuple[str, str], list[Exception]] | None = None) -> None:
        self.errors = errors or {}
        self.calls: list[tuple[str, str]] = []

    def __call__(self, item: TargetItem, ssm_factory: Any) -> Reconciled:
        self.calls.append((item.accountId, item.region))
        try:
            ssm_factory(item)
        except AccessDenied as exc:
            return Reconciled(Status.ACCESS_DENIED, str(exc), reconciledAt=clock.now())
        queued = self.errors.get((item.accountId, item.region))
        if queued:
            raise queued.pop(0)
        return Reconciled(Status.CREATED, "Created.", syncCreatedTime=clock.now(), reconciledAt=clock.now())


@pytest.fixture
def reconciler(monkeypatch: pytest.MonkeyPatch) -> Reconciler:
    stand_in = Reconciler()
    monkeypatch.setattr(sync, "reconcile", stand_in)
    return stand_in


class S3:
    """The destination bucket as the marker check and the record see it: markers by key, calls counted."""

    def __init__(self, markers: set[str] = frozenset()) -> None:  # type: ignore[assignment]
        self.markers = set(markers)
        self.listings: list[str] = []
        self.puts: dict[str, Any] = {}

    def list_objects_v2(self, Bucket: str, Prefix: str, MaxKeys: int) -> dict[str, Any]:
        self.listings.append(Prefix)
        if Prefix in self.markers:
            return {"Contents": [{"Key": Prefix, "LastModified": clock.now()}]}
        return {}

    def put_object(self, Bucket: str, Key: str, Body: bytes, ContentType: str) -> dict[str, Any]:
        self.puts[Key] = json.loads(Body)
        return {}


def test_the_child_input_is_read_as_every_account_region_to_reconcile() -> None:
    fresh = Batch.from_event(child_input(A, B))
    assert [(e["accountId"], e["region"]) for e in fresh.toReconcile] == [(a, r) for a in (A, B) for r in REGIONS]
    assert fresh.item({"accountId": B, "region": "eu-west-1"}).accountName == "acct-2"
    # and a step's output reads back as the same batch
    assert Batch.from_event(fresh.to_dict()).to_dict() == fresh.to_dict()


def test_an_accounts_regions_share_one_member_client_factory_call_per_account(reconciler: Reconciler) -> None:
    made: list[str] = []
    reconciled = reconcile_batch(Batch.from_event(child_input(A, B)), lambda item: made.append(item.accountId))
    # the factory is asked per account-region; its credentials are cached per account (sync.member_ssm): here the
    # batch only has to ask for each account-region in account order, so a cache hit follows the first call
    assert made == [A] * 4 + [B] * 4
    assert len(reconciled.reconciled) == 8 and not reconciled.toReconcile and reconciled.waitSeconds == 0


def test_a_refused_member_role_is_not_asked_again_for_the_accounts_other_regions(reconciler: Reconciler) -> None:
    asked: list[str] = []

    def member_ssm(item: TargetItem) -> None:
        asked.append(item.accountId)
        if item.accountId == A:
            raise AccessDenied(f"sts:AssumeRole on arn:aws:iam::{A}:role/OrgSyncMemberRole was denied")

    reconciled = reconcile_batch(Batch.from_event(child_input(A, B)), member_ssm)
    assert asked == [A] + [B] * 4
    statuses = {(e["accountId"], e["reconcile"]["status"]) for e in reconciled.reconciled}
    assert statuses == {(A, "ACCESS_DENIED"), (B, "CREATED")}


def test_one_account_regions_error_is_its_own_and_is_tried_again_alone(reconciler: Reconciler) -> None:
    reconciler.errors = {
        (A, "eu-west-1"): [Throttled("ssm:ListResourceDataSync throttled (ThrottlingException)")],
        (A, "ap-northeast-1"): [S3WriteFailed("ssm:CreateResourceDataSync: S3 write failed for bucket")],
        (B, "us-east-1"): [ValueError("a bug")],
    }
    first = reconcile_batch(Batch.from_event(child_input(A, B)), lambda item: None, random.Random(3))
    # the two transient ones wait their turn with their attempt and error; the unexpected one is FAILED at once
    assert [(e["accountId"], e["region"], e["attempts"], e["error"]["Error"]) for e in first.toReconcile] == [
        (A, "eu-west-1", 1, "Throttled"),
        (A, "ap-northeast-1", 1, "S3WriteFailed"),
    ]
    assert [(o.accountId, o.region, o.status) for o in first.outcomes] == [(B, "us-east-1", Status.FAILED)]
    assert "ValueError while reconciling the sync: a bug" in first.outcomes[0].detail
    assert len(first.reconciled) == 5
    assert 1 <= first.waitSeconds <= 5  # the sooner of the two backoffs (2 s and 5 s ceilings), FULL jitter
    assert first.to_dict()["counts"] == {"accounts": 2, "accountRegions": 8, "toReconcile": 2, "pending": 5,
                                         "done": 1, "needsAttention": 1}

    # AND the marker check in between keeps the reconcile's backoff for the state machine's next step
    waited = first.waitSeconds
    assert check_markers(Batch.from_event(first.to_dict()), S3()).waitSeconds == waited

    # WHEN the state machine comes back: only those two are reconciled again
    reconciler.calls.clear()
    second = reconcile_batch(Batch.from_event(first.to_dict()), lambda item: None)
    assert reconciler.calls == [(A, "eu-west-1"), (A, "ap-northeast-1")]
    assert not second.toReconcile and len(second.reconciled) == 7


def test_a_transient_error_past_its_attempts_is_failed_with_the_same_advice(reconciler: Reconciler) -> None:
    attempts = batch.S3_WRITE.max_attempts + 1
    reconciler.errors = {(A, "us-east-1"): [S3WriteFailed("S3 write failed for bucket acme-inventory")] * attempts}
    state = Batch.from_event(child_input(A))
    for _ in range(attempts):
        state = reconcile_batch(Batch.from_event(state.to_dict()), lambda item: None)
    [failed] = state.outcomes
    assert failed.status is Status.FAILED and "bucket policy of acme-inventory" in failed.detail
    assert not state.toReconcile


def test_a_step_short_of_time_returns_what_it_did_and_leaves_the_rest_untried(reconciler: Reconciler) -> None:
    reconciler.errors = {(A, "ap-northeast-1"): [OutOfTime("not started: 20 s left")]}
    state = reconcile_batch(Batch.from_event(child_input(A, B)), lambda item: None)
    assert len(state.reconciled) == 2
    assert [(e["accountId"], e["region"]) for e in state.toReconcile] == [(A, r) for r in REGIONS[2:]] + [
        (B, r) for r in REGIONS
    ]
    assert all("attempts" not in e for e in state.toReconcile) and state.waitSeconds >= 1


def test_markers_are_listed_once_per_account_and_only_pending_ones_are_checked_again(
    reconciler: Reconciler, virtual_clock: VirtualClock
) -> None:
    s3 = S3(markers={marker_key("default", A)})
    reconciled = reconcile_batch(Batch.from_event(child_input(A, B)), lambda item: None)
    first = check_markers(reconciled, s3, random.Random(1))
    # one listing per account, whatever its regions
    assert s3.listings == [marker_key("default", A), marker_key("default", B)]
    assert {(o.accountId, o.verification) for o in first.outcomes} == {(A, Verification.VERIFIED)}
    assert [e["checks"] for e in first.reconciled] == [1] * 4 and 1 <= first.waitSeconds <= 5
    assert not s3.puts  # not finished: nothing recorded yet

    # WHEN SSM has written B's marker and the state machine checks again: only B is listed
    virtual_clock.advance(first.waitSeconds)
    s3.markers.add(marker_key("default", B))
    second = check_markers(Batch.from_event(first.to_dict()), s3)
    assert s3.listings[2:] == [marker_key("default", B)]
    assert len(second.outcomes) == 8 and all(o.verification is Verification.VERIFIED for o in second.outcomes)
    # THEN the batch is finished: its outcomes are recorded once, under its first account
    [(key, record)] = s3.puts.items()
    assert key == f"orgsync/reports/exec-1/results/batches/{A}.json"
    assert sorted((o["accountId"], o["region"]) for o in record) == sorted((a, r) for a in (A, B) for r in REGIONS)
    assert second.to_dict()["statuses"][B]["eu-west-1"] == "CREATED VERIFIED"


def test_a_marker_never_written_is_pending_at_the_deadline(reconciler: Reconciler, virtual_clock: VirtualClock) -> None:
    s3 = S3()
    state = check_markers(reconcile_batch(Batch.from_event(child_input(A)), lambda item: None), s3)
    while state.reconciled:
        virtual_clock.advance(state.waitSeconds)
        state = check_markers(Batch.from_event(state.to_dict()), s3)
    assert all((o.status, o.verification) == (Status.CREATED, Verification.PENDING) for o in state.outcomes)
    assert "markerTimeoutSeconds=900" in state.outcomes[0].detail
    assert virtual_clock.elapsed >= 900


def test_a_marker_listing_that_stays_unavailable_fails_that_account_region_only(reconciler: Reconciler) -> None:
    class Flaky(S3):
        def list_objects_v2(self, Bucket: str, Prefix: str, MaxKeys: int) -> dict[str, Any]:
            if A in Prefix:
                raise AwsUnavailable("s3:ListBucket failed after 3 attempts (InternalError)")
            return super().list_objects_v2(Bucket=Bucket, Prefix=Prefix, MaxKeys=MaxKeys)

    s3 = Flaky(markers={marker_key("default", B)})
    state = check_markers(reconcile_batch(Batch.from_event(child_input(A, B)), lambda item: None), s3)
    for _ in range(batch.TRANSIENT.max_attempts):
        state = check_markers(Batch.from_event(state.to_dict()), s3)
    failed = {o.accountId for o in state.outcomes if o.status is Status.FAILED}
    assert failed == {A} and state.finished
    assert "AwsUnavailable while reconciling the sync" not in state.outcomes[0].detail


@pytest.mark.parametrize(
    "error",
    [
        ReadTimeoutError(endpoint_url="https://acme-inventory.s3.amazonaws.com/"),
        ConnectTimeoutError(endpoint_url="https://acme-inventory.s3.amazonaws.com/"),
        EndpointConnectionError(endpoint_url="https://acme-inventory.s3.amazonaws.com/"),
    ],
    ids=type,
)
def test_a_marker_listing_that_times_out_is_checked_again_not_failed(
    reconciler: Reconciler, virtual_clock: VirtualClock, error: Exception
) -> None:
    # GIVEN A's marker listing outlasts boto's retries once with a connection error or a read timeout (botocore
    # raises these, not a ClientError)
    class TimingOut(S3):
        failing = True

        def list_objects_v2(self, Bucket: str, Prefix: str, MaxKeys: int) -> dict[str, Any]:
            if self.failing:
                raise error
            return super().list_objects_v2(Bucket=Bucket, Prefix=Prefix, MaxKeys=MaxKeys)

    s3 = TimingOut(markers={marker_key("default", A)})
    state = check_markers(reconcile_batch(Batch.from_event(child_input(A)), lambda item: None), s3, random.Random(1))
    s3.failing = False
    # THEN it is AwsUnavailable, retried like AWS's transient faults: the account-region waits, it is not FAILED
    assert not state.outcomes and [e["attempts"] for e in state.reconciled] == [1] * len(REGIONS)
    assert 1 <= state.waitSeconds <= batch.TRANSIENT.ceiling(1)
    virtual_clock.advance(state.waitSeconds)
    state = check_markers(Batch.from_event(state.to_dict()), s3)
    assert state.finished and all(o.verification is Verification.VERIFIED for o in state.outcomes)


def test_record_failures_gives_every_account_region_left_an_outcome_and_records_the_batch(
    reconciler: Reconciler,
) -> None:
    s3 = S3()
    reconciled = reconcile_batch(Batch.from_event(child_input(A)), lambda item: None)
    event = {**reconciled.to_dict(), "error": {"Error": "Lambda.ServiceException", "Cause": "Lambda is unwell"}}
    failed = record_failures(Batch.from_event(event), event["error"], s3)
    assert [o.status for o in failed.outcomes] == [Status.FAILED] * 4
    assert "the sync was CREATED" in failed.outcomes[0].detail
    assert list(s3.puts) == [f"orgsync/reports/exec-1/results/batches/{A}.json"]
    # the first step's own input (before anything was reconciled) works too
    fresh = record_failures(Batch.from_event(child_input(B)), {"Error": "States.Timeout", "Cause": ""}, s3)
    assert "States.Timeout while reconciling the sync" in fresh.outcomes[0].detail
