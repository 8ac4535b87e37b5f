"""Teardown: only the sync named syncName writing to our destination is deleted; confirmation is required."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from lambdas.errors import InvalidInput
from lambdas.models import Status
from lambdas.teardown import decide_teardown, require_confirmation, teardown_sync

BUCKET = "acme-inventory"
PREFIX = "default"
SYNC = "org-inventory"
LIST_PARAMS = {"SyncType": "SyncToDestination", "MaxResults": 50}


def item(name: str = SYNC, bucket: str = BUCKET, prefix: str = PREFIX) -> dict[str, Any]:
    return {
        "SyncName": name,
        "SyncType": "SyncToDestination",
        "S3Destination": {
            "BucketName": bucket,
            "Prefix": prefix,
            "SyncFormat": "JsonSerDe",
            "Region": "us-east-1",
            "DestinationDataSharing": {"DestinationDataSharingType": "Organization"},
        },
    }


def ssm_client() -> Any:
    return boto3.client("ssm", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")


def test_ours_is_deleted_by_name_and_nothing_else() -> None:
    # GIVEN ours and two foreign syncs
    ssm = ssm_client()
    stubber = Stubber(ssm)
    stubber.add_response(
        "list_resource_data_sync",
        {
            "ResourceDataSyncItems": [
                item(name="InspectorResourceDataSync-do-not-delete", bucket="i"),
                item(),
                item("x"),
            ]
        },
        LIST_PARAMS,
    )
    # THEN exactly one delete, of our name (the stubber fails on any other call or parameter)
    stubber.add_response("delete_resource_data_sync", {}, {"SyncName": SYNC, "SyncType": "SyncToDestination"})
    with stubber:
        finding = teardown_sync(ssm, sync_name=SYNC, bucket=BUCKET, prefix=PREFIX)
    stubber.assert_no_pending_responses()
    assert finding.status is Status.DELETED


def test_our_name_pointing_elsewhere_is_not_ours_and_kept() -> None:
    ssm = ssm_client()
    stubber = Stubber(ssm)
    stubber.add_response(
        "list_resource_data_sync", {"ResourceDataSyncItems": [item(bucket="someone-else")]}, LIST_PARAMS
    )
    with stubber:
        finding = teardown_sync(ssm, sync_name=SYNC, bucket=BUCKET, prefix=PREFIX)
    stubber.assert_no_pending_responses()
    assert finding.status is Status.NOT_OURS
    assert "someone-else" in finding.detail
    assert isinstance(finding.existingSync, dict) and finding.existingSync["bucket"] == "someone-else"


def test_same_bucket_other_prefix_is_not_ours() -> None:
    decision = decide_teardown([item(prefix="other-team")], sync_name=SYNC, bucket=BUCKET, prefix=PREFIX)
    assert (decision.finding.status, decision.delete) == (Status.NOT_OURS, False)


def test_no_sync_of_our_name_is_not_found_even_with_foreign_syncs_on_our_bucket() -> None:
    # A foreign sync writing to our very bucket and prefix is still not ours: the name decides first.
    ssm = ssm_client()
    stubber = Stubber(ssm)
    stubber.add_response("list_resource_data_sync", {"ResourceDataSyncItems": [item(name="their-sync")]}, LIST_PARAMS)
    with stubber:
        finding = teardown_sync(ssm, sync_name=SYNC, bucket=BUCKET, prefix=PREFIX)
    stubber.assert_no_pending_responses()
    assert finding.status is Status.NOT_FOUND


def test_sync_gone_between_list_and_delete_is_not_found() -> None:
    ssm = ssm_client()
    stubber = Stubber(ssm)
    stubber.add_response("list_resource_data_sync", {"ResourceDataSyncItems": [item()]}, LIST_PARAMS)
    stubber.add_client_error(
        "delete_resource_data_sync", "ResourceDataSyncNotFoundException", "Sync org-inventory not found"
    )
    with stubber:
        finding = teardown_sync(ssm, sync_name=SYNC, bucket=BUCKET, prefix=PREFIX)
    assert finding.status is Status.NOT_FOUND


def test_other_delete_errors_propagate_for_retry_and_catch() -> None:
    ssm = ssm_client()
    stubber = Stubber(ssm)
    stubber.add_response("list_resource_data_sync", {"ResourceDataSyncItems": [item()]}, LIST_PARAMS)
    stubber.add_client_error("delete_resource_data_sync", "InternalServerError", "boom")
    with stubber, pytest.raises(Exception, match="InternalServerError"):
        teardown_sync(ssm, sync_name=SYNC, bucket=BUCKET, prefix=PREFIX)


@pytest.mark.parametrize("confirm", [None, "", "yes", "TEARDOWN", True])
def test_teardown_without_exact_confirmation_is_refused_naming_the_field(confirm: Any) -> None:
    data: dict[str, Any] = {"mode": "teardown", "targets": ["r-ab12"]}
    if confirm is not None:
        data["confirm"] = confirm
    with pytest.raises(InvalidInput, match=r'^confirm: a teardown requires "confirm": "teardown"'):
        require_confirmation(data)


@pytest.mark.parametrize("mode", ["rollout", "verify", None])
def test_other_modes_need_no_confirmation(mode: str | None) -> None:
    data: dict[str, Any] = {"targets": ["r-ab12"]} if mode is None else {"mode": mode, "targets": ["r-ab12"]}
    require_confirmation(data)  # does not raise
    with pytest.raises(InvalidInput):
        require_confirmation({**data, "mode": "teardown"})
