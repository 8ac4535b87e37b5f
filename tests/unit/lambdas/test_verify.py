"""Verify mode's classification of one account-region, its read-only reconcile and its one-shot marker check."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from lambdas.classification import SYNC_QUOTA, Action, ExistingSync, classify, decide_verify
from lambdas.models import (
    Destination,
    Mode,
    OnConflict,
    RunParameters,
    Status,
    TargetItem,
    Verification,
)
from lambdas.modes import spec_of
from lambdas.verify import Verdict, apply_marker, check_marker_once, reconcile_verify

BUCKET = "acme-inventory"
PREFIX = "default"
SYNC = "org-inventory"
DEST = Destination(BUCKET, "us-east-1", PREFIX)
ACCOUNT = "200000000001"
RUN = RunParameters("exec-1", Mode.VERIFY, SYNC, DEST, OnConflict.REPORT, 900, "OrgSyncMemberRole")
ITEM = TargetItem(ACCOUNT, "prod-a", "/Workloads/Prod", "eu-west-1", RUN)


def raw(
    name: str = SYNC,
    bucket: str = BUCKET,
    prefix: str | None = PREFIX,
    organization: bool = True,
    last_status: str | None = "Successful",
    message: str | None = None,
    region: str = "us-east-1",
) -> dict[str, Any]:
    """A ResourceDataSyncItem as ListResourceDataSync returns it."""
    dest: dict[str, Any] = {"BucketName": bucket, "SyncFormat": "JsonSerDe", "Region": region}
    if prefix is not None:
        dest["Prefix"] = prefix
    if organization:
        dest["DestinationDataSharing"] = {"DestinationDataSharingType": "Organization"}
    data: dict[str, Any] = {"SyncName": name, "SyncType": "SyncToDestination", "S3Destination": dest}
    if last_status is not None:
        data["LastStatus"] = last_status
    if message is not None:
        data["LastSyncStatusMessage"] = message
    return data


def verify(*items: dict[str, Any]) -> Verdict:
    decision = decide_verify(classify([ExistingSync.from_item(i) for i in items], SYNC, DEST), SYNC, DEST)
    assert decision.action is Action.NONE  # verify never changes anything
    return Verdict(decision.status, decision.detail, decision.existingSync)


def foreign(count: int) -> list[dict[str, Any]]:
    return [raw(name=f"team-{i}", bucket="team-bucket", organization=False) for i in range(count)]


@pytest.mark.parametrize("last_status", ["Successful", "InProgress", None])
def test_ours_healthy_is_in_sync_and_its_marker_verifies_it(last_status: str | None) -> None:
    verdict = verify(raw(last_status=last_status))
    assert verdict.status is Status.IN_SYNC
    assert apply_marker(verdict, True).verification is Verification.VERIFIED
    outcome = ITEM.outcome(verdict.status, verification=Verification.VERIFIED)
    assert not outcome.needs_attention


def test_in_sync_without_marker_is_pending_and_needs_attention() -> None:
    verdict = apply_marker(verify(raw()), False)
    assert (verdict.status, verdict.verification) == (Status.IN_SYNC, Verification.PENDING)
    assert "test.json" in verdict.detail
    assert ITEM.outcome(verdict.status, verification=verdict.verification).needs_attention


def test_no_sync_and_a_free_slot_is_missing() -> None:
    verdict = verify(*foreign(SYNC_QUOTA - 1))
    assert verdict.status is Status.MISSING
    assert apply_marker(verdict, True).verification is Verification.NOT_CHECKED


@pytest.mark.parametrize(
    ("changes", "said"),
    [
        (
            {"bucket": "old-bucket", "prefix": "legacy"},
            "writes to s3://old-bucket/legacy, not s3://acme-inventory/default",
        ),
        ({"organization": False}, "has no DestinationDataSharing=Organization"),
        ({"region": "eu-west-1"}, "names bucket region eu-west-1, not us-east-1"),
    ],
)
def test_ours_pointing_elsewhere_is_drifted_saying_how(changes: dict[str, Any], said: str) -> None:
    verdict = verify(raw(**changes))
    assert verdict.status is Status.DRIFTED
    assert said in verdict.detail
    assert isinstance(verdict.existingSync, dict) and verdict.existingSync["name"] == SYNC


def test_drifted_names_a_holder_of_the_slot_too() -> None:
    verdict = verify(raw(bucket="old-bucket", organization=False), raw(name="InspectorResourceDataSync-do-not-delete"))
    assert verdict.status is Status.DRIFTED
    assert "InspectorResourceDataSync-do-not-delete" in verdict.detail


def test_ours_failing_is_unhealthy_with_the_status_message() -> None:
    message = "S3 write failed for bucket acme-inventory"
    verdict = verify(raw(last_status="Failed", message=message))
    assert verdict.status is Status.UNHEALTHY
    assert message in verdict.detail
    # the marker does not rescue a failing sync
    assert apply_marker(verdict, True).verification is Verification.NOT_CHECKED


def test_another_organization_sync_is_a_conflict_naming_it() -> None:
    verdict = verify(raw(name="InspectorResourceDataSync-do-not-delete", bucket="inspector-bucket", prefix=None))
    assert verdict.status is Status.CONFLICT
    assert isinstance(verdict.existingSync, dict)
    assert verdict.existingSync["name"] == "InspectorResourceDataSync-do-not-delete"


def test_five_foreign_syncs_is_quota_exceeded_listing_them() -> None:
    verdict = verify(*foreign(SYNC_QUOTA))
    assert verdict.status is Status.QUOTA_EXCEEDED
    assert isinstance(verdict.existingSync, list)
    assert [s["name"] for s in verdict.existingSync] == [f"team-{i}" for i in range(SYNC_QUOTA)]


def test_full_quota_with_an_organization_sync_reports_the_conflict_first() -> None:
    assert verify(*foreign(SYNC_QUOTA - 1), raw(name="license-manager", bucket="lm")).status is Status.CONFLICT


def test_ours_among_five_is_still_judged_as_ours() -> None:
    assert verify(*foreign(SYNC_QUOTA - 1), raw()).status is Status.IN_SYNC


def test_every_verify_status_but_in_sync_needs_attention() -> None:
    produced = {Status.MISSING, Status.DRIFTED, Status.UNHEALTHY, Status.CONFLICT, Status.QUOTA_EXCEEDED}
    assert produced <= spec_of(Mode.VERIFY).attention
    assert Status.IN_SYNC not in spec_of(Mode.VERIFY).attention


def ssm_client() -> Any:
    return boto3.client("ssm", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")


def test_reconcile_verify_only_lists_every_page() -> None:
    # GIVEN a real SSM client whose responses are stubbed against botocore's service model
    ssm = ssm_client()
    stubber = Stubber(ssm)
    stubber.add_response(
        "list_resource_data_sync", {"ResourceDataSyncItems": foreign(1), "NextToken": "t1"}, {"MaxResults": 50}
    )
    stubber.add_response(
        "list_resource_data_sync", {"ResourceDataSyncItems": []}, {"MaxResults": 50, "NextToken": "t1"}
    )
    stubber.add_response(
        "list_resource_data_sync", {"ResourceDataSyncItems": []}, {"MaxResults": 50, "SyncType": "SyncFromSource"}
    )
    # WHEN verifying (the stubber raises on any call not queued: no create, no delete)
    with stubber:
        reconciled = reconcile_verify(ssm, ITEM)
    stubber.assert_no_pending_responses()
    # THEN
    assert reconciled.status is Status.MISSING
    assert reconciled.syncCreatedTime is None


@pytest.mark.parametrize(
    ("code", "status"),
    [("AccessDeniedException", Status.ACCESS_DENIED), ("UnrecognizedClientException", Status.REGION_DISABLED)],
)
def test_reconcile_verify_turns_denials_into_statuses(code: str, status: Status) -> None:
    ssm = ssm_client()
    stubber = Stubber(ssm)
    stubber.add_client_error("list_resource_data_sync", code, "no")
    with stubber:
        assert reconcile_verify(ssm, ITEM).status is status


def test_marker_check_is_one_read_and_records_pending_at_once(s3: Any) -> None:
    calls: list[str] = []
    s3.meta.events.register("before-call.s3.*", lambda model, **_: calls.append(model.name))
    outcome = check_marker_once(s3, ITEM, {"status": "IN_SYNC", "detail": "x.", "existingSync": None})
    assert (outcome.status, outcome.verification) == (Status.IN_SYNC, Verification.PENDING)
    assert outcome.mode is Mode.VERIFY and outcome.needs_attention
    assert f"accountid={ACCOUNT}/test.json" in outcome.detail and "bucket policy" in outcome.detail
    # one read of the bucket, no waiting, no write
    assert len(calls) == 1 and calls[0] in {"HeadObject", "ListObjectsV2", "GetObject"}


def test_marker_present_verifies(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/AWS:InstanceInformation/accountid={ACCOUNT}/test.json", Body=b"")
    outcome = check_marker_once(s3, ITEM, {"status": "IN_SYNC", "detail": "x.", "existingSync": None})
    assert outcome.verification is Verification.VERIFIED and not outcome.needs_attention


def test_marker_is_not_looked_at_for_other_statuses(s3: Any) -> None:
    calls: list[str] = []
    s3.meta.events.register("before-call.s3.*", lambda model, **_: calls.append(model.name))
    outcome = check_marker_once(s3, ITEM, {"status": "DRIFTED", "detail": "d", "existingSync": {"name": SYNC}})
    assert (outcome.status, outcome.verification, outcome.existingSync) == (
        Status.DRIFTED,
        Verification.NOT_CHECKED,
        {"name": SYNC},
    )
    assert calls == []
