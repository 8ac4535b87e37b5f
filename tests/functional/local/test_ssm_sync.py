"""The emulated resource data sync APIs through boto3: AWS's rules, error codes and messages, marker and inventory."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError
from local_aws_support import AGGREGATOR, BUCKET, FULL, PROD, REGION, SLOW, destination, error_of, small_scenario

from workflow.local.aws import LocalAws
from workflow.local.clock import VirtualClock
from workflow.local.inventory import instance_ids

START = datetime(2026, 1, 1, tzinfo=UTC)
MARKER = f"default/AWS:InstanceInformation/accountid={PROD}/test.json"


def keys(aws: LocalAws) -> list[str]:
    listing = aws.client("s3").list_objects_v2(Bucket=BUCKET)
    return [item["Key"] for item in listing.get("Contents", [])]


def test_create_writes_marker_and_inventory_and_lists_the_real_item_shape(aws: LocalAws) -> None:
    ssm = aws.client("ssm", PROD, REGION)

    assert (
        ssm.create_resource_data_sync(SyncName="org-inventory", S3Destination=destination())["ResponseMetadata"][
            "HTTPStatusCode"
        ]
        == 200
    )
    (item,) = ssm.list_resource_data_sync()["ResourceDataSyncItems"]

    assert item["SyncName"] == "org-inventory"
    assert item["SyncType"] == "SyncToDestination"
    assert item["S3Destination"] == destination()
    assert item["LastStatus"] == "Successful"
    for field in ("SyncCreatedTime", "SyncLastModifiedTime", "LastSyncTime", "LastSuccessfulSyncTime"):
        assert item[field] == START, field
    assert "LastSyncStatusMessage" not in item
    stored = keys(aws)
    assert MARKER in stored
    for instance_id in instance_ids(PROD, REGION, 2):
        for type_name in ("AWS:InstanceInformation", "AWS:Application", "AWS:Network", "AWS:Tag"):
            assert (
                f"default/{type_name}/accountid={PROD}/region={REGION}/resourcetype=ManagedInstanceInventory/"
                f"{instance_id}.json" in stored
            )
    info_key = (
        f"default/AWS:InstanceInformation/accountid={PROD}/region={REGION}/resourcetype=ManagedInstanceInventory/"
        f"{instance_ids(PROD, REGION, 2)[0]}.json"
    )
    body = aws.client("s3").get_object(Bucket=BUCKET, Key=info_key)["Body"].read().decode()
    assert json.loads(body.splitlines()[0])["InstanceStatus"] == "Active"


def test_marker_comes_after_the_accounts_delay_of_simulated_time(aws: LocalAws, clock: VirtualClock) -> None:
    ssm = aws.client("ssm", SLOW, REGION)
    marker = f"default/AWS:InstanceInformation/accountid={SLOW}/test.json"

    ssm.create_resource_data_sync(SyncName="org-inventory", S3Destination=destination())
    (item,) = ssm.list_resource_data_sync()["ResourceDataSyncItems"]
    assert item["LastStatus"] == "InProgress"
    assert "LastSuccessfulSyncTime" not in item
    assert marker not in keys(aws)

    clock.advance(119)
    assert marker not in keys(aws)
    clock.advance(1)

    (item,) = ssm.list_resource_data_sync()["ResourceDataSyncItems"]
    assert marker in keys(aws)
    assert item["LastStatus"] == "Successful"
    assert item["LastSuccessfulSyncTime"] == START + timedelta(seconds=120)
    assert item["SyncCreatedTime"] == START


def test_deleting_before_the_marker_means_no_marker_and_deleting_after_keeps_objects(
    aws: LocalAws, clock: VirtualClock
) -> None:
    slow = aws.client("ssm", SLOW, REGION)
    slow.create_resource_data_sync(SyncName="org-inventory", S3Destination=destination())
    slow.delete_resource_data_sync(SyncName="org-inventory")
    clock.advance(600)
    assert f"default/AWS:InstanceInformation/accountid={SLOW}/test.json" not in keys(aws)

    prod = aws.client("ssm", PROD, REGION)
    prod.create_resource_data_sync(SyncName="org-inventory", S3Destination=destination())
    before = keys(aws)
    prod.delete_resource_data_sync(SyncName="org-inventory")

    assert keys(aws) == before
    assert prod.list_resource_data_sync()["ResourceDataSyncItems"] == []


def test_name_is_unique_per_account_region(aws: LocalAws) -> None:
    ssm = aws.client("ssm", PROD, REGION)
    ssm.create_resource_data_sync(SyncName="org-inventory", S3Destination=destination())
    aws.client("ssm", PROD, "eu-west-1").create_resource_data_sync(
        SyncName="org-inventory", S3Destination=destination()
    )  # another region: allowed

    with pytest.raises(ClientError) as excinfo:
        ssm.create_resource_data_sync(SyncName="org-inventory", S3Destination=destination(organization=False))

    assert error_of(excinfo) == (
        "ResourceDataSyncAlreadyExistsException",
        "Resource data sync org-inventory already exists.",
    )
    assert excinfo.value.response["SyncName"] == "org-inventory"


def test_at_most_five_syncs_per_account_region(aws: LocalAws) -> None:
    ssm = aws.client("ssm", FULL, REGION)

    with pytest.raises(ClientError) as excinfo:
        ssm.create_resource_data_sync(SyncName="org-inventory", S3Destination=destination())

    assert error_of(excinfo) == (
        "ResourceDataSyncCountExceededException",
        "The number of resource data syncs in this account and Region has reached the maximum (5).",
    )
    assert aws.client("ssm", FULL, "eu-west-1").create_resource_data_sync(
        SyncName="org-inventory", S3Destination=destination()
    )


def test_at_most_one_organization_sync_per_account_region(aws: LocalAws) -> None:
    ssm = aws.client("ssm", PROD, REGION)
    ssm.create_resource_data_sync(SyncName="first", S3Destination=destination())
    ssm.create_resource_data_sync(SyncName="plain", S3Destination=destination(organization=False))

    with pytest.raises(ClientError) as excinfo:
        ssm.create_resource_data_sync(SyncName="second", S3Destination=destination())

    assert error_of(excinfo) == (
        "ResourceDataSyncCountExceededException",
        "Only one resource data sync with DestinationDataSharingType Organization is allowed per account and Region.",
    )
    assert aws.sync_names(PROD, REGION) == ["first", "plain"]


@pytest.mark.parametrize(
    ("changes", "code", "message"),
    [
        (
            {"SyncFormat": "Parquet"},
            "ValidationException",
            "1 validation error detected: Value 'Parquet' at 's3Destination.syncFormat' failed to satisfy constraint: "
            "Member must satisfy enum value set: [JsonSerDe]",
        ),
        (
            {"Region": "mars-east-1"},
            "ResourceDataSyncInvalidConfigurationException",
            "The S3 destination Region mars-east-1 is not valid.",
        ),
        (
            {"AWSKMSKeyARN": "arn:aws:kms:us-east-1:300000000001:alias/inventory"},
            "ResourceDataSyncInvalidConfigurationException",
            "The AWSKMSKeyARN arn:aws:kms:us-east-1:300000000001:alias/inventory is not a valid KMS key ARN.",
        ),
        (
            {"AWSKMSKeyARN": "arn:aws:kms:eu-west-1:300000000001:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
            "ResourceDataSyncInvalidConfigurationException",
            "The KMS key arn:aws:kms:eu-west-1:300000000001:key/1234abcd-12ab-34cd-56ef-1234567890ab must be in the "
            "Region of the destination bucket (us-east-1).",
        ),
        (
            {"DestinationDataSharing": {"DestinationDataSharingType": "Account"}},
            "ResourceDataSyncInvalidConfigurationException",
            "DestinationDataSharingType Account is not supported. Only Organization is supported.",
        ),
        (
            {"Prefix": "p" * 257},
            "ValidationException",
            f"1 validation error detected: Value '{'p' * 257}' at 's3Destination.prefix' failed to satisfy "
            "constraint: Member must have length less than or equal to 256",
        ),
        (
            {"BucketName": "no-such-bucket"},
            "ResourceDataSyncInvalidConfigurationException",
            "S3 write failed for bucket no-such-bucket: NoSuchBucket (The specified bucket does not exist)",
        ),
        (
            {"Region": "eu-west-1"},
            "ResourceDataSyncInvalidConfigurationException",
            f"S3 write failed for bucket {BUCKET}: PermanentRedirect (the bucket is in us-east-1, not eu-west-1)",
        ),
        (
            {"Prefix": "other"},
            "ResourceDataSyncInvalidConfigurationException",
            f"S3 write failed for bucket {BUCKET}: Access Denied (no statement allows ssm.amazonaws.com s3:PutObject "
            f"on arn:aws:s3:::{BUCKET}/other/AWS:InstanceInformation/accountid={PROD}/test.json)",
        ),
    ],
)
def test_destination_is_validated(aws: LocalAws, changes: dict[str, Any], code: str, message: str) -> None:
    ssm = aws.client("ssm", PROD, REGION)

    with pytest.raises(ClientError) as excinfo:
        ssm.create_resource_data_sync(SyncName="org-inventory", S3Destination=destination(**changes))

    assert error_of(excinfo) == (code, message)
    assert aws.sync_names(PROD, REGION) == []


def test_valid_kms_key_in_the_bucket_region_is_accepted(aws: LocalAws) -> None:
    key = "arn:aws:kms:us-east-1:300000000001:key/1234abcd-12ab-34cd-56ef-1234567890ab"

    aws.client("ssm", PROD, REGION).create_resource_data_sync(
        SyncName="org-inventory", S3Destination=destination(AWSKMSKeyARN=key)
    )

    (item,) = aws.client("ssm", PROD, REGION).list_resource_data_sync()["ResourceDataSyncItems"]
    assert item["S3Destination"]["AWSKMSKeyARN"] == key


def test_sync_name_longer_than_64_characters_is_refused(aws: LocalAws) -> None:
    name = "n" * 65
    with pytest.raises(ClientError) as excinfo:
        aws.client("ssm", PROD, REGION).create_resource_data_sync(SyncName=name, S3Destination=destination())

    assert error_of(excinfo) == (
        "ValidationException",
        f"1 validation error detected: Value '{name}' at 'syncName' failed to satisfy constraint: "
        "Member must have length less than or equal to 64",
    )


def test_sync_type_rules(aws: LocalAws) -> None:
    ssm = aws.client("ssm", PROD, REGION)
    source = {"SourceType": "SingleAccountMultiRegions", "SourceRegions": [REGION]}

    with pytest.raises(ClientError) as missing_destination:
        ssm.create_resource_data_sync(SyncName="a", SyncType="SyncToDestination")
    with pytest.raises(ClientError) as bad_type:
        ssm.create_resource_data_sync(SyncName="a", SyncType="SyncSideways", S3Destination=destination())
    ssm.create_resource_data_sync(SyncName="explorer", SyncType="SyncFromSource", SyncSource=source)
    ssm.create_resource_data_sync(SyncName="org-inventory", S3Destination=destination())

    assert error_of(missing_destination) == (
        "ResourceDataSyncInvalidConfigurationException",
        "S3Destination is required when SyncType is SyncToDestination.",
    )
    assert error_of(bad_type)[0] == "ResourceDataSyncInvalidConfigurationException"
    only_destination = ssm.list_resource_data_sync(SyncType="SyncToDestination")["ResourceDataSyncItems"]
    only_source = ssm.list_resource_data_sync(SyncType="SyncFromSource")["ResourceDataSyncItems"]
    assert [i["SyncName"] for i in only_destination] == ["org-inventory"]
    assert [(i["SyncName"], i["SyncSource"]["SourceType"]) for i in only_source] == [
        ("explorer", "SingleAccountMultiRegions")
    ]
    with pytest.raises(ClientError) as wrong_type:
        ssm.delete_resource_data_sync(SyncName="explorer", SyncType="SyncToDestination")
    assert error_of(wrong_type) == (
        "ResourceDataSyncNotFoundException",
        "Resource data sync explorer of type SyncToDestination is not found.",
    )
    ssm.delete_resource_data_sync(SyncName="explorer", SyncType="SyncFromSource")
    assert aws.sync_names(PROD, REGION) == ["org-inventory"]


def test_delete_unknown_sync(aws: LocalAws) -> None:
    with pytest.raises(ClientError) as excinfo:
        aws.client("ssm", PROD, REGION).delete_resource_data_sync(SyncName="nope")

    assert error_of(excinfo) == (
        "ResourceDataSyncNotFoundException",
        "Resource data sync nope of type SyncToDestination is not found.",
    )
    assert excinfo.value.response["SyncName"] == "nope"


def test_list_is_paginated_and_rejects_foreign_tokens(aws: LocalAws) -> None:
    ssm = aws.client("ssm", FULL, REGION)

    first = ssm.list_resource_data_sync(MaxResults=2)
    second = ssm.list_resource_data_sync(MaxResults=2, NextToken=first["NextToken"])
    third = ssm.list_resource_data_sync(MaxResults=2, NextToken=second["NextToken"])
    paged = [
        i["SyncName"]
        for page in ssm.get_paginator("list_resource_data_sync").paginate(PaginationConfig={"PageSize": 1})
        for i in page["ResourceDataSyncItems"]
    ]

    assert [len(p["ResourceDataSyncItems"]) for p in (first, second, third)] == [2, 2, 1]
    assert "NextToken" not in third
    assert paged == [f"other-{i}" for i in range(5)]
    with pytest.raises(ClientError) as bad_token:
        ssm.list_resource_data_sync(NextToken="not-a-token")
    assert error_of(bad_token) == ("InvalidNextToken", "The specified token isn't valid.")
    with pytest.raises(ClientError) as too_many:
        ssm.list_resource_data_sync(MaxResults=51)
    assert error_of(too_many) == (
        "ValidationException",
        "1 validation error detected: Value '51' at 'maxResults' failed to satisfy constraint: "
        "Member must have value less than or equal to 50",
    )


def test_existing_syncs_are_there_from_the_start_and_count_toward_the_quota(aws: LocalAws) -> None:
    items = aws.client("ssm", FULL, REGION).list_resource_data_sync()["ResourceDataSyncItems"]

    assert [i["SyncName"] for i in items] == [f"other-{i}" for i in range(5)]
    assert all(i["LastStatus"] == "Successful" and i["SyncCreatedTime"] < START for i in items)
    assert all(i["S3Destination"]["BucketName"] == "elsewhere" for i in items)
    assert all("DestinationDataSharing" not in i["S3Destination"] for i in items)


def test_existing_sync_to_the_aggregator_bucket_has_written_its_marker() -> None:
    data_changes = {
        "aggregator": {"accountId": AGGREGATOR, "bucket": BUCKET, "region": REGION, "prefix": "default"},
    }
    scenario = small_scenario(**data_changes)
    prod = scenario.account(PROD)
    seeded = prod.__class__(
        **{
            **prod.__dict__,
            "existing_syncs": (
                scenario.account(FULL)
                .existing_syncs[0]
                .__class__(
                    region=REGION,
                    name="org-inventory",
                    organization=True,
                    bucket=BUCKET,
                    bucket_region=REGION,
                    prefix="default",
                    last_status="Failed",
                    last_status_message="S3 write failed",
                ),
            ),
        }
    )
    scenario = scenario.__class__(
        **{**scenario.__dict__, "accounts": tuple(seeded if a.id == PROD else a for a in scenario.accounts)}
    )

    with LocalAws(scenario) as aws:
        (item,) = aws.client("ssm", PROD, REGION).list_resource_data_sync()["ResourceDataSyncItems"]
        stored = keys(aws)

    assert (item["LastStatus"], item["LastSyncStatusMessage"]) == ("Failed", "S3 write failed")
    assert "LastSuccessfulSyncTime" not in item
    assert item["S3Destination"]["DestinationDataSharing"] == {"DestinationDataSharingType": "Organization"}
    assert MARKER in stored


@pytest.mark.parametrize("kind", ["source-org-id", "request-object-tag"])
def test_both_documented_policy_kinds_let_the_organization_write(kind: str) -> None:
    aggregator = {"accountId": AGGREGATOR, "bucket": BUCKET, "region": REGION, "bucketPolicy": kind}
    with LocalAws(small_scenario(aggregator=aggregator)) as aws:
        aws.client("ssm", PROD, REGION).create_resource_data_sync(SyncName="s", S3Destination=destination())
        stored = keys(aws)

    assert MARKER in stored


def test_no_bucket_policy_means_s3_write_failed() -> None:
    aggregator = {"accountId": AGGREGATOR, "bucket": BUCKET, "region": REGION, "bucketPolicy": "none"}
    with LocalAws(small_scenario(aggregator=aggregator)) as aws, pytest.raises(ClientError) as excinfo:
        aws.client("ssm", PROD, REGION).create_resource_data_sync(SyncName="s", S3Destination=destination())

    assert error_of(excinfo) == (
        "ResourceDataSyncInvalidConfigurationException",
        f"S3 write failed for bucket {BUCKET}: Access Denied (no statement allows ssm.amazonaws.com "
        f"s3:GetBucketAcl on arn:aws:s3:::{BUCKET})",
    )


def test_the_real_policy_document_is_evaluated_deny_included(aws: LocalAws) -> None:
    s3 = aws.client("s3")
    policy = json.loads(s3.get_bucket_policy(Bucket=BUCKET)["Policy"])
    policy["Statement"].append(
        {
            "Sid": "NoProd",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:PutObject",
            "Resource": f"arn:aws:s3:::{BUCKET}/*/accountid={PROD}/*",
        }
    )
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(policy))

    with pytest.raises(ClientError) as excinfo:
        aws.client("ssm", PROD, REGION).create_resource_data_sync(SyncName="s", S3Destination=destination())
    aws.client("ssm", SLOW, REGION).create_resource_data_sync(SyncName="s", S3Destination=destination())

    assert error_of(excinfo) == (
        "ResourceDataSyncInvalidConfigurationException",
        f"S3 write failed for bucket {BUCKET}: Access Denied (statement NoProd denies ssm.amazonaws.com "
        f"s3:PutObject on arn:aws:s3:::{BUCKET}/{MARKER})",
    )


def test_wrong_organization_in_the_policy_means_s3_write_failed(aws: LocalAws) -> None:
    s3 = aws.client("s3")
    policy = s3.get_bucket_policy(Bucket=BUCKET)["Policy"].replace(aws.organization_id, "o-someoneelse")
    s3.put_bucket_policy(Bucket=BUCKET, Policy=policy)

    with pytest.raises(ClientError) as excinfo:
        aws.client("ssm", PROD, REGION).create_resource_data_sync(SyncName="s", S3Destination=destination())

    assert error_of(excinfo)[0] == "ResourceDataSyncInvalidConfigurationException"
    assert error_of(excinfo)[1].startswith(f"S3 write failed for bucket {BUCKET}: Access Denied")


def test_policy_change_propagates_after_its_window_of_simulated_time() -> None:
    aggregator = {"accountId": AGGREGATOR, "bucket": BUCKET, "region": REGION, "bucketPolicy": "none"}
    clock = VirtualClock(start=START)
    with LocalAws(small_scenario(aggregator=aggregator), clock=clock) as aws:
        ssm = aws.client("ssm", PROD, REGION)
        aws.set_bucket_policy("source-org-id", propagation_seconds=60)
        assert "SSMBucketDelivery" in aws.client("s3").get_bucket_policy(Bucket=BUCKET)["Policy"]

        with pytest.raises(ClientError) as during:
            ssm.create_resource_data_sync(SyncName="s", S3Destination=destination())
        clock.advance(60)
        ssm.create_resource_data_sync(SyncName="s", S3Destination=destination())

        aws.set_bucket_policy("none")
        with pytest.raises(ClientError) as after_removal:
            aws.client("ssm", SLOW, REGION).create_resource_data_sync(SyncName="s", S3Destination=destination())

    assert error_of(during)[1].startswith(f"S3 write failed for bucket {BUCKET}:")
    assert error_of(after_removal)[0] == "ResourceDataSyncInvalidConfigurationException"


def test_objects_ssm_writes_carry_the_simulated_time(aws: LocalAws, clock: VirtualClock) -> None:
    clock.advance(3600)
    aws.client("ssm", SLOW, REGION).create_resource_data_sync(SyncName="s", S3Destination=destination())
    clock.advance(120)

    head = aws.client("s3").head_object(
        Bucket=BUCKET, Key=f"default/AWS:InstanceInformation/accountid={SLOW}/test.json"
    )

    assert head["LastModified"] == START + timedelta(seconds=3720)
