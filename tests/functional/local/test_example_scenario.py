"""The bundled example scenario (what ``orgsync demo`` runs): every case it names behaves as its README says."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from local_aws_support import NO_RETRIES, error_of, member_client

from workflow.local.aws import LocalAws
from workflow.local.clock import VirtualClock
from workflow.local.inventory import instance_ids
from workflow.local.scenario import Scenario, example_scenario_path, load_scenario

TOKYO = "ap-northeast-1"
VIRGINIA = "us-east-1"
SCENARIO = load_scenario(example_scenario_path())
BUCKET = SCENARIO.aggregator.bucket


def account_id(name: str) -> str:
    return SCENARIO.account_named(name).id


def org_destination(prefix: str = "default") -> dict[str, Any]:
    return {
        "BucketName": BUCKET,
        "Prefix": prefix,
        "SyncFormat": "JsonSerDe",
        "Region": SCENARIO.aggregator.region,
        "DestinationDataSharing": {"DestinationDataSharingType": "Organization"},
    }


@pytest.fixture
def aws(clock: VirtualClock) -> Iterator[LocalAws]:
    with LocalAws(SCENARIO, clock=clock) as local:
        yield local


def member(aws: LocalAws, service: str, name: str, region: str) -> Any:
    """A client with the member role's credentials in the account named ``name`` (no SDK retries)."""
    return member_client(aws, service, account_id(name), region)


def create(aws: LocalAws, name: str, region: str, sync_name: str = "org-inventory") -> None:
    member(aws, "ssm", name, region).create_resource_data_sync(SyncName=sync_name, S3Destination=org_destination())


def marker_exists(aws: LocalAws, name: str) -> bool:
    key = f"default/AWS:InstanceInformation/accountid={account_id(name)}/test.json"
    listing = aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=key)
    return listing.get("KeyCount", 0) == 1


def test_shape_twenty_accounts_nested_ous_two_regions_and_an_opt_in_one_aggregator_in_its_own_account() -> None:
    scenario: Scenario = SCENARIO
    ou_paths = {a.ou_path for a in scenario.accounts}

    assert len(scenario.accounts) >= 20
    assert {"/Workloads/Prod", "/Workloads/NonProd", "/Sandbox", "/Security"} <= ou_paths
    assert scenario.regions == ("ap-east-1", TOKYO, VIRGINIA)
    assert scenario.aggregator.account_id != scenario.organization.management_account_id
    assert scenario.account(scenario.aggregator.account_id).ou_path == "/Security"
    assert scenario.aggregator.bucket_policy == "source-org-id"
    assert sum(1 for a in scenario.accounts if a.instances) >= 5


def test_plain_accounts_get_the_sync_in_both_regions_with_their_instances_inventory(aws: LocalAws) -> None:
    for region in (TOKYO, VIRGINIA):
        create(aws, "prod-payments", region)

    keys = [o["Key"] for o in aws.client("s3").list_objects_v2(Bucket=BUCKET, MaxKeys=1000).get("Contents", [])]
    payments = account_id("prod-payments")
    assert marker_exists(aws, "prod-payments")
    for region, count in ((TOKYO, 3), (VIRGINIA, 2)):
        for instance in instance_ids(payments, region, count):
            assert (
                f"default/AWS:InstanceInformation/accountid={payments}/region={region}/"
                f"resourcetype=ManagedInstanceInventory/{instance}.json" in keys
            )


def test_in_sync_already_has_our_sync_in_both_regions_and_its_marker(aws: LocalAws) -> None:
    for region in (TOKYO, VIRGINIA):
        (item,) = member(aws, "ssm", "in-sync-already", region).list_resource_data_sync()["ResourceDataSyncItems"]
        assert item["SyncName"] == "org-inventory"
        assert item["S3Destination"] == org_destination()
        assert item["LastStatus"] == "Successful"
    assert marker_exists(aws, "in-sync-already")


def test_foreign_organization_sync_holds_the_only_organization_slot(aws: LocalAws) -> None:
    ssm = member(aws, "ssm", "conflict-foreign-org-sync", TOKYO)

    with pytest.raises(ClientError) as excinfo:
        ssm.create_resource_data_sync(SyncName="org-inventory", S3Destination=org_destination())

    (existing,) = ssm.list_resource_data_sync()["ResourceDataSyncItems"]
    assert existing["SyncName"] == "acme-legacy-inventory"
    assert existing["S3Destination"]["DestinationDataSharing"] == {"DestinationDataSharingType": "Organization"}
    assert error_of(excinfo)[0] == "ResourceDataSyncCountExceededException"
    create(aws, "conflict-foreign-org-sync", VIRGINIA)  # the other region is free


def test_own_named_sync_points_elsewhere(aws: LocalAws) -> None:
    ssm = member(aws, "ssm", "conflict-own-name-elsewhere", VIRGINIA)

    with pytest.raises(ClientError) as excinfo:
        ssm.create_resource_data_sync(SyncName="org-inventory", S3Destination=org_destination())

    (existing,) = ssm.list_resource_data_sync()["ResourceDataSyncItems"]
    assert error_of(excinfo) == (
        "ResourceDataSyncAlreadyExistsException",
        "Resource data sync org-inventory already exists.",
    )
    assert existing["S3Destination"]["BucketName"] == "acme-old-inventory"
    assert existing["LastStatus"] == "Failed"
    ssm.delete_resource_data_sync(SyncName="org-inventory")  # what onConflict=replace does
    ssm.create_resource_data_sync(SyncName="org-inventory", S3Destination=org_destination())


def test_quota_full_in_tokyo(aws: LocalAws) -> None:
    ssm = member(aws, "ssm", "quota-full", TOKYO)

    with pytest.raises(ClientError) as excinfo:
        ssm.create_resource_data_sync(SyncName="org-inventory", S3Destination=org_destination())

    names = [i["SyncName"] for i in ssm.list_resource_data_sync()["ResourceDataSyncItems"]]
    assert error_of(excinfo) == (
        "ResourceDataSyncCountExceededException",
        "The number of resource data syncs in this account and Region has reached the maximum (5).",
    )
    assert len(names) == 5 and "InspectorResourceDataSync-do-not-delete" in names
    create(aws, "quota-full", VIRGINIA)


def test_suspended_account_is_suspended_in_organizations(aws: LocalAws) -> None:
    organizations = aws.client("organizations", SCENARIO.organization.management_account_id)

    sandbox = organizations.list_accounts_for_parent(ParentId=aws.ou_id("/Sandbox"))["Accounts"]

    suspended = next(a for a in sandbox if a["Name"] == "suspended-sandbox")
    assert (suspended["Status"], suspended["State"]) == ("SUSPENDED", "SUSPENDED")
    assert all(a["Status"] == "ACTIVE" for a in sandbox if a["Name"] != "suspended-sandbox")


def test_missing_member_role_is_access_denied(aws: LocalAws) -> None:
    with pytest.raises(ClientError) as excinfo:
        member(aws, "ssm", "missing-member-role", TOKYO)

    code, message = error_of(excinfo)
    assert code == "AccessDenied"
    assert message.endswith(f"arn:aws:iam::{account_id('missing-member-role')}:role/OrgSyncMemberRole")


def test_delayed_marker_and_a_marker_that_never_comes_within_900_seconds(aws: LocalAws, clock: VirtualClock) -> None:
    create(aws, "marker-delayed", TOKYO)
    create(aws, "marker-never", TOKYO)

    clock.advance(299)
    assert not marker_exists(aws, "marker-delayed")
    clock.advance(1)
    assert marker_exists(aws, "marker-delayed")
    clock.advance(600)  # 900 s after creation: orgsync's default marker timeout
    assert not marker_exists(aws, "marker-never")
    (item,) = member(aws, "ssm", "marker-never", TOKYO).list_resource_data_sync()["ResourceDataSyncItems"]
    assert item["LastStatus"] == "InProgress"
    clock.advance(2700)
    assert marker_exists(aws, "marker-never")


def test_throttled_sandbox_is_throttled_in_virginia_four_times(aws: LocalAws) -> None:
    ssm = member(aws, "ssm", "throttled-sandbox", VIRGINIA)
    codes = []
    for _ in range(5):
        try:
            ssm.create_resource_data_sync(SyncName="org-inventory", S3Destination=org_destination())
            codes.append("created")
        except ClientError as exc:
            codes.append(exc.response["Error"]["Code"])

    assert codes == ["ThrottlingException"] * 4 + ["created"]
    create(aws, "throttled-sandbox", TOKYO)  # only Virginia is throttled


def test_organizations_throttles_the_first_list_accounts_for_parent(aws: LocalAws) -> None:
    organizations = boto3.client(
        "organizations", config=NO_RETRIES, **aws.credentials(SCENARIO.organization.management_account_id)
    )

    with pytest.raises(ClientError) as excinfo:
        organizations.list_accounts_for_parent(ParentId=aws.root_id)

    assert error_of(excinfo)[0] == "TooManyRequestsException"
    assert organizations.list_accounts_for_parent(ParentId=aws.root_id)["Accounts"][0]["Name"] == "management"


def test_region_disabled_account_cannot_call_the_opt_in_region(aws: LocalAws) -> None:
    with pytest.raises(ClientError) as excinfo:
        member(aws, "ssm", "region-disabled", "ap-east-1").list_resource_data_sync()

    assert error_of(excinfo) == (
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    )
    create(aws, "region-disabled", TOKYO)
    create(aws, "region-disabled", VIRGINIA)


def inventory_types(aws: LocalAws, name: str, region: str) -> dict[str, set[str]]:
    """Node id -> the inventory types SSM wrote for it in ``region``."""
    prefix = "default/"
    found: dict[str, set[str]] = {}
    paginator = aws.client("s3").get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=BUCKET, Prefix=prefix):
        for item in page.get("Contents", []):
            parts = item["Key"].split("/")
            if f"accountid={account_id(name)}" in parts and f"region={region}" in parts:
                found.setdefault(parts[-1].removesuffix(".json"), set()).add(parts[1])
    return found


def test_dev_payments_lists_its_nodes_and_the_terminated_one_keeps_its_files(aws: LocalAws) -> None:
    create(aws, "dev-payments", TOKYO)

    found = inventory_types(aws, "dev-payments", TOKYO)
    terminated = "i-0a1b2c3d4e5f6073a"
    key = (
        f"default/AWS:InstanceInformation/accountid={account_id('dev-payments')}/region={TOKYO}/"
        f"resourcetype=ManagedInstanceInventory/{terminated}.json"
    )
    body = aws.client("s3").get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()

    assert set(found) == {"i-0a1b2c3d4e5f60718", "i-0a1b2c3d4e5f60729", terminated}
    assert "AWS:WindowsUpdate" in found[terminated] and "AWS:Application" in found["i-0a1b2c3d4e5f60718"]
    assert json.loads(body)["InstanceStatus"] == "Terminated"


def test_security_tooling_collects_only_in_tokyo(aws: LocalAws) -> None:
    for region in (TOKYO, VIRGINIA):
        create(aws, "security-tooling", region)

    tokyo, virginia = (
        inventory_types(aws, "security-tooling", TOKYO),
        inventory_types(aws, "security-tooling", VIRGINIA),
    )

    assert len(tokyo) == 2 and all("AWS:Application" in types for types in tokyo.values())
    assert len(virginia) == 1 and list(virginia.values()) == [{"AWS:InstanceInformation", "AWS:Tag"}]
