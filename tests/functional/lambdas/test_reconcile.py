"""Reconcile sync against the SSM emulation (LocalAws), without the engine: every classification and error path."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lambdas import aws as lambda_aws
from lambdas import clock, sync
from lambdas.errors import S3WriteFailed, Throttled
from lambdas.models import Destination, Mode, OnConflict, RunParameters, Status, TargetItem
from workflow.local.aws import LocalAws
from workflow.local.scenario import example_scenario_path, load_scenario

BUCKET = "acme-inventory"
DEST = Destination(BUCKET, "ap-northeast-1", "default")


@pytest.fixture
def local_aws() -> Iterator[LocalAws]:
    lambda_aws.clear_credentials_cache()
    with LocalAws(load_scenario(example_scenario_path())) as emulated:
        previous = clock.use(emulated.clock)
        try:
            yield emulated
        finally:
            clock.use(previous)
            lambda_aws.clear_credentials_cache()


def item(account_id: str, region: str = "ap-northeast-1", on_conflict: OnConflict = OnConflict.REPORT) -> TargetItem:
    run = RunParameters("exec-f", Mode.ROLLOUT, "org-inventory", DEST, on_conflict, 900, "OrgSyncMemberRole")
    return TargetItem(account_id, "acct", "/", region, run)


def member_ssm(target: TargetItem) -> Any:
    """The member SSM client ReconcileSync makes, with the process's (the aggregator's) credentials."""
    return sync.member_ssm(lambda_aws.ClientProvider.from_environment(), target)


def listing(local_aws: LocalAws, account_id: str, region: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = local_aws.client("ssm", account_id, region).list_resource_data_sync()[
        "ResourceDataSyncItems"]
    return items


def test_created_is_an_organization_sync_to_the_destination(local_aws: LocalAws) -> None:
    result = sync.reconcile(item("200000000001"), member_ssm)
    assert result.status is Status.CREATED and result.syncCreatedTime is not None
    [created] = listing(local_aws, "200000000001", "ap-northeast-1")
    assert created["SyncName"] == "org-inventory"
    assert created["S3Destination"] == {
        "BucketName": BUCKET, "Prefix": "default", "SyncFormat": "JsonSerDe", "Region": "ap-northeast-1",
        "DestinationDataSharing": {"DestinationDataSharingType": "Organization"}}


def test_in_sync_changes_nothing(local_aws: LocalAws) -> None:
    before = listing(local_aws, "200000000003", "us-east-1")
    assert sync.reconcile(item("200000000003", "us-east-1"), member_ssm).status is Status.IN_SYNC
    assert listing(local_aws, "200000000003", "us-east-1") == before


def test_foreign_organization_sync_is_a_conflict_even_with_replace(local_aws: LocalAws) -> None:
    result = sync.reconcile(item("200000000004", on_conflict=OnConflict.REPLACE), member_ssm)
    assert result.status is Status.CONFLICT
    assert result.existingSync == {"name": "acme-legacy-inventory", "bucket": "acme-legacy-inventory",
                                   "prefix": "legacy", "region": "ap-northeast-1", "organizationShared": True}
    assert [s["SyncName"] for s in listing(local_aws, "200000000004", "ap-northeast-1")] == ["acme-legacy-inventory"]


def test_ours_elsewhere_is_a_conflict_in_report_mode_and_replaced_in_replace_mode(local_aws: LocalAws) -> None:
    reported = sync.reconcile(item("200000000005", "us-east-1"), member_ssm)
    assert reported.status is Status.CONFLICT
    assert listing(local_aws, "200000000005", "us-east-1")[0]["S3Destination"]["BucketName"] == "acme-old-inventory"

    replaced = sync.reconcile(item("200000000005", "us-east-1", OnConflict.REPLACE), member_ssm)
    assert replaced.status is Status.REPLACED
    assert isinstance(replaced.existingSync, dict) and replaced.existingSync["bucket"] == "acme-old-inventory"
    [now] = listing(local_aws, "200000000005", "us-east-1")
    assert now["S3Destination"]["BucketName"] == BUCKET


def test_replace_is_not_attempted_when_another_organization_sync_would_block_it(local_aws: LocalAws) -> None:
    # GIVEN ours without organization sharing and a foreign organization sync holding the slot
    account_id = local_aws.add_account("/Sandbox", "blocked", existingSyncs=[
        {"region": "ap-northeast-1", "name": "org-inventory", "bucket": "elsewhere-bucket",
         "bucketRegion": "ap-northeast-1"},
        {"region": "ap-northeast-1", "name": "LicenseManager", "organization": True, "bucket": "lm-bucket",
         "bucketRegion": "ap-northeast-1"},
    ])
    result = sync.reconcile(item(account_id, on_conflict=OnConflict.REPLACE), member_ssm)
    assert result.status is Status.CONFLICT and "replacing ours would not succeed" in result.detail
    assert {s["SyncName"] for s in listing(local_aws, account_id, "ap-northeast-1")} == {
        "org-inventory", "LicenseManager"}


def test_five_syncs_is_quota_exceeded_listing_them(local_aws: LocalAws) -> None:
    result = sync.reconcile(item("200000000013"), member_ssm)
    assert result.status is Status.QUOTA_EXCEEDED
    assert isinstance(result.existingSync, list) and len(result.existingSync) == 5
    assert len(listing(local_aws, "200000000013", "ap-northeast-1")) == 5


def test_missing_member_role_is_access_denied_naming_the_role(local_aws: LocalAws) -> None:
    result = sync.reconcile(item("400000000004"), member_ssm)
    assert result.status is Status.ACCESS_DENIED
    assert "arn:aws:iam::400000000004:role/OrgSyncMemberRole" in result.detail


def test_denied_call_is_access_denied_naming_the_action(local_aws: LocalAws) -> None:
    local_aws.add_fault("ssm:ListResourceDataSync", "AccessDeniedException", account="prod-web",
                        message="not authorized to perform: ssm:ListResourceDataSync")
    result = sync.reconcile(item("200000000002"), member_ssm)
    assert result.status is Status.ACCESS_DENIED and "ssm:ListResourceDataSync" in result.detail


def test_disabled_region_is_region_disabled(local_aws: LocalAws) -> None:
    result = sync.reconcile(item("400000000005", "ap-east-1"), member_ssm)
    assert result.status is Status.REGION_DISABLED and "UnrecognizedClientException" in result.detail


def test_a_race_on_create_is_settled_by_listing_again(local_aws: LocalAws) -> None:
    class RacingSsm:
        """Another run creates the same sync between our listing and our create."""

        def __init__(self, real: Any) -> None:
            self.real = real

        def __getattr__(self, name: str) -> Any:
            return getattr(self.real, name)

        def create_resource_data_sync(self, **kwargs: Any) -> Any:
            self.real.create_resource_data_sync(**kwargs)
            return self.real.create_resource_data_sync(**kwargs)  # ours now fails: AlreadyExists

    result = sync.reconcile(item("200000000002"), lambda i: RacingSsm(member_ssm(i)))
    assert result.status is Status.IN_SYNC and "created concurrently" in result.detail


def test_an_account_reuses_one_assumed_role_across_its_regions(local_aws: LocalAws) -> None:
    first = member_ssm(item("200000000001", "ap-northeast-1"))
    second = member_ssm(item("200000000001", "us-east-1"))
    assert lambda_aws.cached_credentials_count() == 1
    assert first._request_signer._credentials.access_key == second._request_signer._credentials.access_key
    member_ssm(item("200000000002", "us-east-1"))
    assert lambda_aws.cached_credentials_count() == 2


def test_persistent_throttling_raises_throttled_for_the_state_retry(local_aws: LocalAws) -> None:
    local_aws.add_fault("ssm:ListResourceDataSync", "ThrottlingException", times=50, account="prod-web")
    with pytest.raises(Throttled, match="ssm:ListResourceDataSync in 200000000002 ap-northeast-1 throttled"):
        sync.reconcile(item("200000000002"), member_ssm)


def test_s3_write_failed_is_raised_for_the_state_retry(local_aws: LocalAws) -> None:
    local_aws.set_bucket_policy("none")
    with pytest.raises(S3WriteFailed, match="S3 write failed for bucket acme-inventory"):
        sync.reconcile(item("200000000002"), member_ssm)
    assert listing(local_aws, "200000000002", "ap-northeast-1") == []


def test_the_emulation_answers_a_second_organization_sync_with_an_error_we_never_rely_on(local_aws: LocalAws) -> None:
    # The error code of a second organization sync is unknown on AWS: classification must come from the listing.
    ssm = local_aws.client("ssm", "200000000004", "ap-northeast-1")
    with pytest.raises(ClientError):
        ssm.create_resource_data_sync(SyncName="org-inventory", S3Destination=sync.s3_destination(DEST))
    assert sync.reconcile(item("200000000004"), member_ssm).status is Status.CONFLICT


@pytest.mark.parametrize(
    ("name", "constraint"),
    [
        ("orgsync-exec#1", "Member must satisfy regular expression pattern: [\\w+=,.@-]*"),
        ("orgsync-" + "x" * 57, "Member must have length less than or equal to 64"),
    ],
)
def test_the_local_sts_refuses_session_names_as_aws_does(local_aws: LocalAws, name: str, constraint: str) -> None:
    sts = lambda_aws.ClientProvider.from_environment().client("sts")
    with pytest.raises(ClientError) as raised:
        sts.assume_role(RoleArn="arn:aws:iam::200000000001:role/OrgSyncMemberRole", RoleSessionName=name)
    assert raised.value.response["Error"]["Code"] == "ValidationError"
    assert raised.value.response["Error"]["Message"] == (
        f"1 validation error detected: Value '{name}' at 'roleSessionName' failed to satisfy constraint: {constraint}"
    )


def test_an_execution_name_sts_would_refuse_still_assumes_the_member_role(local_aws: LocalAws) -> None:
    # GIVEN an execution name of 80 characters that STS would refuse in a session name ("#", "é", spaces are not
    # all Step Functions refuses)
    name = "déploiement#" + "x" * 68
    run = RunParameters(name, Mode.ROLLOUT, "org-inventory", DEST, OnConflict.REPORT, 900, "OrgSyncMemberRole")
    # WHEN ReconcileSync runs for it
    result = sync.reconcile(TargetItem("200000000001", "acct", "/", "ap-northeast-1", run), member_ssm)
    # THEN the member role was assumed (a valid session name, traceable to the execution) and the sync created
    assert result.status is Status.CREATED
    assert lambda_aws.session_name(name).startswith("orgsync-d-ploiement-xxx")


def test_a_validation_error_from_sts_is_not_reported_as_access_denied(local_aws: LocalAws) -> None:
    sts = lambda_aws.ClientProvider.from_environment().client("sts")
    with pytest.raises(lambda_aws.AwsCallFailed) as raised:
        lambda_aws.assume_role(sts, "arn:aws:iam::200000000001:role/OrgSyncMemberRole", "bad name")
    assert not isinstance(raised.value, lambda_aws.AccessDenied)
    assert raised.value.code == "ValidationError" and "roleSessionName" in str(raised.value)
