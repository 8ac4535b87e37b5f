"""Teardown: only the sync named syncName writing to our destination is deleted; confirmation is required."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from lambdas.classification import Action, ExistingSync, decide_teardown
from lambdas.errors import InvalidInput
from lambdas.models import Destination, Mode, OnConflict, RunParameters, Status, TargetItem
from lambdas.teardown import reconcile_teardown, require_confirmation

BUCKET = "acme-inventory"
PREFIX = "default"
SYNC = "org-inventory"
RUN = RunParameters(
    "exec-1", Mode.TEARDOWN, SYNC, Destination(BUCKET, "us-east-1", PREFIX), OnConflict.REPORT, 900, "OrgSyncMemberRole"
)
ITEM = TargetItem("200000000001", "prod-a", "/Workloads/Prod", "eu-west-1", RUN)
LIST_PARAMS = {"MaxResults": 50}


def raw(name: str = SYNC, bucket: str = BUCKET, prefix: str = PREFIX, organization: bool = True) -> dict[str, Any]:
    dest: dict[str, Any] = {"BucketName": bucket, "Prefix": prefix, "SyncFormat": "JsonSerDe", "Region": "us-east-1"}
    if organization:
        dest["DestinationDataSharing"] = {"DestinationDataSharingType": "Organization"}
    return {"SyncName": name, "SyncType": "SyncToDestination", "S3Destination": dest}


def ssm_with(*items: dict[str, Any]) -> tuple[Any, Stubber]:
    ssm = boto3.client("ssm", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(ssm)
    stubber.add_response("list_resource_data_sync", {"ResourceDataSyncItems": list(items)}, LIST_PARAMS)
    stubber.add_response(
        "list_resource_data_sync", {"ResourceDataSyncItems": []}, {**LIST_PARAMS, "SyncType": "SyncFromSource"}
    )
    return ssm, stubber


def test_ours_is_deleted_by_name_and_nothing_else() -> None:
    # GIVEN ours between two foreign syncs, one of them writing to our very bucket and prefix
    ssm, stubber = ssm_with(
        raw(name="InspectorResourceDataSync-do-not-delete", bucket="i"), raw(), raw("team", organization=False)
    )
    # THEN exactly one delete, of our name (the stubber fails on any other call or parameter)
    stubber.add_response("delete_resource_data_sync", {}, {"SyncName": SYNC})
    with stubber:
        reconciled = reconcile_teardown(ssm, ITEM)
    stubber.assert_no_pending_responses()
    assert reconciled.status is Status.DELETED
    assert "data in the bucket stays" in reconciled.detail


def test_our_name_pointing_elsewhere_is_not_ours_and_kept() -> None:
    ssm, stubber = ssm_with(raw(bucket="someone-else"))
    with stubber:
        reconciled = reconcile_teardown(ssm, ITEM)
    stubber.assert_no_pending_responses()
    assert reconciled.status is Status.NOT_OURS
    assert "s3://someone-else/default" in reconciled.detail
    assert isinstance(reconciled.existingSync, dict) and reconciled.existingSync["bucket"] == "someone-else"


def test_same_bucket_other_prefix_is_not_ours() -> None:
    syncs = [ExistingSync.from_item(raw(prefix="other-team"))]
    decision = decide_teardown(syncs, SYNC, BUCKET, PREFIX)
    assert (decision.status, decision.action) == (Status.NOT_OURS, Action.NONE)


def test_ours_without_organization_sharing_is_still_ours_by_destination() -> None:
    decision = decide_teardown([ExistingSync.from_item(raw(organization=False))], SYNC, BUCKET, PREFIX)
    assert (decision.status, decision.action) == (Status.DELETED, Action.DELETE)


def test_no_sync_of_our_name_is_not_found() -> None:
    ssm, stubber = ssm_with(raw(name="their-sync"))
    with stubber:
        assert reconcile_teardown(ssm, ITEM).status is Status.NOT_FOUND
    stubber.assert_no_pending_responses()


def test_sync_gone_between_list_and_delete_is_not_found() -> None:
    ssm, stubber = ssm_with(raw())
    stubber.add_client_error("delete_resource_data_sync", "ResourceDataSyncNotFoundException", "not found")
    with stubber:
        assert reconcile_teardown(ssm, ITEM).status is Status.NOT_FOUND


def test_denied_delete_is_access_denied() -> None:
    ssm, stubber = ssm_with(raw())
    stubber.add_client_error("delete_resource_data_sync", "AccessDeniedException", "no ssm:DeleteResourceDataSync")
    with stubber:
        reconciled = reconcile_teardown(ssm, ITEM)
    assert reconciled.status is Status.ACCESS_DENIED
    assert "ssm:DeleteResourceDataSync" in reconciled.detail


def test_other_delete_errors_propagate_for_retry_and_catch() -> None:
    ssm, stubber = ssm_with(raw())
    stubber.add_client_error("delete_resource_data_sync", "ResourceDataSyncInvalidConfigurationException", "odd")
    with stubber, pytest.raises(Exception, match="ResourceDataSyncInvalidConfigurationException"):
        reconcile_teardown(ssm, ITEM)


@pytest.mark.parametrize("confirm", [None, "", "yes", "TEARDOWN", True])
def test_teardown_without_exact_confirmation_is_refused_naming_the_field(confirm: Any) -> None:
    data: dict[str, Any] = {"mode": "teardown", "targets": ["r-ab12"]}
    if confirm is not None:
        data["confirm"] = confirm
    with pytest.raises(InvalidInput, match=r'^confirm: .* must be "teardown"'):
        require_confirmation(data)


@pytest.mark.parametrize("mode", ["rollout", "verify", None])
def test_other_modes_need_no_confirmation(mode: str | None) -> None:
    data: dict[str, Any] = {"targets": ["r-ab12"]} if mode is None else {"mode": mode, "targets": ["r-ab12"]}
    require_confirmation(data)  # does not raise
    with pytest.raises(InvalidInput):
        require_confirmation({**data, "mode": "teardown"})
