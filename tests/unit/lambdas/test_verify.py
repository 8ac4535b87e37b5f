"""Verify mode's classification of one account-region, over ListResourceDataSync-shaped items."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from lambdas.models import ATTENTION_STATUSES, Mode, Outcome, Status, Verification
from lambdas.verify import (
    SYNC_QUOTA,
    Finding,
    apply_marker,
    classify_syncs,
    classify_verify,
    destination_matches,
    list_syncs,
)

BUCKET = "acme-inventory"
PREFIX = "default"
SYNC = "org-inventory"


def item(
    name: str = SYNC,
    bucket: str = BUCKET,
    prefix: str | None = PREFIX,
    organization: bool = True,
    last_status: str | None = "Successful",
    message: str | None = None,
) -> dict[str, Any]:
    dest: dict[str, Any] = {"BucketName": bucket, "SyncFormat": "JsonSerDe", "Region": "us-east-1"}
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


def verify(syncs: list[dict[str, Any]], marker: bool | None = True) -> Finding:
    return classify_verify(syncs, sync_name=SYNC, bucket=BUCKET, prefix=PREFIX, marker_present=marker)


@pytest.mark.parametrize("last_status", ["Successful", "InProgress", None])
def test_ours_healthy_with_marker_is_in_sync_and_verified(last_status: str | None) -> None:
    # GIVEN our sync, same destination, a healthy LastStatus, and the marker in the bucket
    finding = verify([item(last_status=last_status)], marker=True)
    # THEN it is IN_SYNC and VERIFIED, needing no attention
    assert (finding.status, finding.verification) == (Status.IN_SYNC, Verification.VERIFIED)
    outcome = Outcome("1" * 12, "a", "/", "us-east-1", finding.status, finding.verification, mode=Mode.VERIFY)
    assert not outcome.needs_attention


def test_ours_healthy_without_marker_is_pending_and_needs_attention() -> None:
    finding = verify([item()], marker=False)
    assert (finding.status, finding.verification) == (Status.IN_SYNC, Verification.PENDING)
    assert "test.json" in finding.detail
    outcome = Outcome("1" * 12, "a", "/", "us-east-1", finding.status, finding.verification, mode=Mode.VERIFY)
    assert outcome.needs_attention


def test_no_sync_and_a_free_slot_is_missing() -> None:
    foreign_non_org = [item(name=f"team-{i}", bucket="team-bucket", organization=False) for i in range(SYNC_QUOTA - 1)]
    finding = verify(foreign_non_org, marker=False)
    assert finding.status is Status.MISSING
    assert finding.verification is Verification.NOT_CHECKED


def test_ours_pointing_elsewhere_is_drifted_naming_both_destinations() -> None:
    finding = verify([item(bucket="old-bucket", prefix="legacy")])
    assert finding.status is Status.DRIFTED
    assert "s3://old-bucket/legacy" in finding.detail and f"s3://{BUCKET}/{PREFIX}" in finding.detail
    assert finding.existingSync == {
        "name": SYNC,
        "bucket": "old-bucket",
        "prefix": "legacy",
        "organization": True,
        "lastStatus": "Successful",
    }


def test_ours_without_organization_sharing_is_drifted() -> None:
    finding = verify([item(organization=False)])
    assert finding.status is Status.DRIFTED
    assert "DestinationDataSharing" in finding.detail


def test_ours_failing_is_unhealthy_with_the_status_message() -> None:
    message = "S3 write failed for bucket acme-inventory"
    finding = verify([item(last_status="Failed", message=message)], marker=True)
    assert finding.status is Status.UNHEALTHY
    assert message in finding.detail
    # the marker does not rescue a failing sync
    assert finding.verification is Verification.NOT_CHECKED


def test_another_organization_sync_is_a_conflict_naming_it() -> None:
    inspector = item(name="InspectorResourceDataSync-do-not-delete", bucket="inspector-bucket", prefix=None)
    finding = verify([inspector])
    assert finding.status is Status.CONFLICT
    assert isinstance(finding.existingSync, dict)
    assert finding.existingSync["name"] == "InspectorResourceDataSync-do-not-delete"


def test_five_foreign_syncs_is_quota_exceeded_listing_them() -> None:
    syncs = [item(name=f"team-{i}", bucket="team-bucket", organization=False) for i in range(SYNC_QUOTA)]
    finding = verify(syncs)
    assert finding.status is Status.QUOTA_EXCEEDED
    assert isinstance(finding.existingSync, list)
    assert [s["name"] for s in finding.existingSync] == [f"team-{i}" for i in range(SYNC_QUOTA)]


def test_full_quota_with_an_organization_sync_reports_the_conflict_first() -> None:
    syncs = [item(name=f"team-{i}", bucket="team-bucket", organization=False) for i in range(SYNC_QUOTA - 1)]
    syncs.append(item(name="license-manager", bucket="lm-bucket"))
    assert verify(syncs).status is Status.CONFLICT


def test_ours_among_five_is_still_judged_as_ours() -> None:
    syncs = [item(name=f"team-{i}", bucket="team-bucket", organization=False) for i in range(SYNC_QUOTA - 1)]
    syncs.append(item())
    assert verify(syncs).status is Status.IN_SYNC


def test_prefix_is_compared_without_slashes_and_absent_prefix_is_empty() -> None:
    assert destination_matches(item(prefix="/default/"), bucket=BUCKET, prefix="default")
    assert destination_matches(item(prefix=None), bucket=BUCKET, prefix="")
    assert not destination_matches(item(prefix=None), bucket=BUCKET, prefix="default")
    assert not destination_matches(item(prefix="default/sub"), bucket=BUCKET, prefix="default")


def test_marker_is_only_applied_to_in_sync() -> None:
    for status in (Status.MISSING, Status.DRIFTED, Status.UNHEALTHY, Status.CONFLICT):
        assert apply_marker(Finding(status), True).verification is Verification.NOT_CHECKED
    assert apply_marker(Finding(Status.IN_SYNC), None).verification is Verification.NOT_CHECKED


def test_every_verify_status_but_in_sync_needs_attention() -> None:
    # The model's rule, restated for the statuses verify produces.
    produced = {Status.MISSING, Status.DRIFTED, Status.UNHEALTHY, Status.CONFLICT, Status.QUOTA_EXCEEDED}
    assert produced <= ATTENTION_STATUSES[Mode.VERIFY]
    assert Status.IN_SYNC not in ATTENTION_STATUSES[Mode.VERIFY]


def test_classify_syncs_alone_leaves_verification_unchecked() -> None:
    finding = classify_syncs([item()], sync_name=SYNC, bucket=BUCKET, prefix=PREFIX)
    assert (finding.status, finding.verification) == (Status.IN_SYNC, Verification.NOT_CHECKED)


def test_list_syncs_follows_next_token_and_only_lists() -> None:
    # GIVEN a real SSM client whose responses are stubbed against botocore's service model
    ssm = boto3.client("ssm", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(ssm)
    first, second = item(name="a", organization=False), item()
    stubber.add_response(
        "list_resource_data_sync",
        {"ResourceDataSyncItems": [first], "NextToken": "t1"},
        {"SyncType": "SyncToDestination", "MaxResults": 50},
    )
    stubber.add_response(
        "list_resource_data_sync",
        {"ResourceDataSyncItems": [second]},
        {"SyncType": "SyncToDestination", "MaxResults": 50, "NextToken": "t1"},
    )
    # WHEN listing
    with stubber:
        listed = list_syncs(ssm)
    # THEN both pages are read, and no other call was made (the stubber refuses unexpected calls)
    assert [s["SyncName"] for s in listed] == ["a", SYNC]
    stubber.assert_no_pending_responses()
