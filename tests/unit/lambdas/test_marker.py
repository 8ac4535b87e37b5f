"""The marker check on moto S3: verified, fresh vs stale, not yet written (retry), PENDING at the deadline."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lambdas import clock
from lambdas.errors import MarkerNotYetWritten
from lambdas.marker import check_and_record, check_marker, failure_outcome, marker_key, record_failure
from lambdas.models import Destination, Mode, OnConflict, RunParameters, Status, TargetItem, Verification
from workflow.local.clock import VirtualClock

BUCKET = "acme-inventory"
RUN = RunParameters("exec-1", Mode.ROLLOUT, "org-inventory", Destination(BUCKET, "us-east-1", "default"),
                    OnConflict.REPORT, 900, "OrgSyncMemberRole")
ITEM = TargetItem("200000000001", "prod-a", "/Workloads/Prod", "us-east-1", RUN)
KEY = "default/AWS:InstanceInformation/accountid=200000000001/test.json"


@pytest.fixture
def virtual_clock() -> Iterator[VirtualClock]:
    # Starts at the real time: moto's S3 stamps LastModified with the wall clock.
    virtual = VirtualClock(start=datetime.now(UTC))
    previous = clock.use(virtual)
    yield virtual
    clock.use(previous)


def reconciled(status: Status, created: datetime | None, started: datetime) -> dict[str, Any]:
    return {"status": str(status), "detail": "d.", "existingSync": None,
            "syncCreatedTime": created.isoformat() if created else None, "reconciledAt": started.isoformat()}


def test_marker_key_has_no_region() -> None:
    assert marker_key("default", "200000000001") == KEY


def test_created_sync_with_a_fresh_marker_is_verified(s3: Any, virtual_clock: VirtualClock) -> None:
    now = virtual_clock.now()
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"{}")
    outcome = check_marker(s3, ITEM, reconciled(Status.CREATED, now, now))
    assert (outcome.status, outcome.verification) == (Status.CREATED, Verification.VERIFIED)


def test_stale_marker_does_not_verify_a_new_sync(s3: Any, virtual_clock: VirtualClock) -> None:
    # GIVEN a marker written long before the sync was created (a previous sync's)
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"{}")
    created = virtual_clock.now() + timedelta(hours=1)
    virtual_clock.advance(3600)
    with pytest.raises(MarkerNotYetWritten, match="older marker"):
        check_marker(s3, ITEM, reconciled(Status.REPLACED, created, created))


def test_in_sync_accepts_any_marker(s3: Any, virtual_clock: VirtualClock) -> None:
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"{}")
    virtual_clock.advance(7200)
    now = virtual_clock.now()
    outcome = check_marker(s3, ITEM, reconciled(Status.IN_SYNC, None, now))
    assert outcome.verification is Verification.VERIFIED


def test_absent_marker_before_the_deadline_asks_for_a_retry(s3: Any, virtual_clock: VirtualClock) -> None:
    now = virtual_clock.now()
    virtual_clock.advance(899)
    with pytest.raises(MarkerNotYetWritten, match="absent"):
        check_marker(s3, ITEM, reconciled(Status.CREATED, now, now))


def test_absent_marker_at_the_deadline_is_pending_with_the_bucket_policy_hint(s3: Any,
                                                                             virtual_clock: VirtualClock) -> None:
    now = virtual_clock.now()
    virtual_clock.advance(900)
    outcome = check_marker(s3, ITEM, reconciled(Status.CREATED, now, now))
    assert (outcome.status, outcome.verification) == (Status.CREATED, Verification.PENDING)
    assert "markerTimeoutSeconds=900" in outcome.detail and "bucket policy" in outcome.detail
    assert outcome.needs_attention


@pytest.mark.parametrize("status", [Status.CONFLICT, Status.QUOTA_EXCEEDED, Status.ACCESS_DENIED,
                                    Status.REGION_DISABLED, Status.FAILED])
def test_no_sync_of_ours_is_not_checked(s3: Any, virtual_clock: VirtualClock, status: Status) -> None:
    outcome = check_marker(s3, ITEM, reconciled(status, None, virtual_clock.now()))
    assert (outcome.status, outcome.verification) == (status, Verification.NOT_CHECKED)


def test_check_and_record_writes_the_outcome_record(s3: Any, virtual_clock: VirtualClock) -> None:
    now = virtual_clock.now()
    s3.put_object(Bucket=BUCKET, Key=KEY, Body=b"{}")
    returned = check_and_record(s3, {**ITEM.to_dict(), "reconcile": reconciled(Status.CREATED, now, now)})
    record_key = "orgsync/reports/exec-1/results/200000000001/us-east-1.json"
    [stored] = json.loads(s3.get_object(Bucket=BUCKET, Key=record_key)["Body"].read())
    assert stored == returned
    assert (stored["status"], stored["verification"]) == ("CREATED", "VERIFIED")
    assert stored["ouPath"] == "/Workloads/Prod"


def test_s3_write_failed_points_at_the_bucket_policy() -> None:
    cause = json.dumps({"errorType": "S3WriteFailed", "errorMessage": "S3 write failed for bucket acme-inventory"})
    outcome = failure_outcome(ITEM, {"Error": "S3WriteFailed", "Cause": cause}, None)
    assert outcome.status is Status.FAILED
    assert "S3 write failed for bucket acme-inventory" in outcome.detail
    assert "bucket policy of acme-inventory" in outcome.detail


def test_marker_retries_running_out_is_pending_not_failed() -> None:
    started = datetime(2026, 1, 1, tzinfo=UTC)
    outcome = failure_outcome(ITEM, {"Error": "MarkerNotYetWritten", "Cause": "{}"},
                              reconciled(Status.CREATED, started, started))
    assert (outcome.status, outcome.verification) == (Status.CREATED, Verification.PENDING)


def test_record_failure_names_the_error_and_writes_the_record(s3: Any) -> None:
    event = {**ITEM.to_dict(), "error": {"Error": "AwsCallFailed", "Cause": json.dumps(
        {"errorType": "AwsCallFailed", "errorMessage": "ssm:ListResourceDataSync failed (InternalServerError)"})}}
    returned = record_failure(s3, event)
    assert returned["status"] == "FAILED"
    assert "AwsCallFailed while reconciling the sync: ssm:ListResourceDataSync failed" in returned["detail"]
    record_key = "orgsync/reports/exec-1/results/200000000001/us-east-1.json"
    assert [o["status"] for o in json.loads(s3.get_object(Bucket=BUCKET, Key=record_key)["Body"].read())] == ["FAILED"]
