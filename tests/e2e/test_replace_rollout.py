"""Replace, end to end on the local engine, with the create after the delete failing: the account-region is never
left worse off, and the report says what happened.

The example organization's ``conflict-own-name-elsewhere`` account has our sync in us-east-1 writing to
``s3://acme-old-inventory/default``; a rollout with ``onConflict=replace`` deletes it and creates it anew.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from lambdas.sync import RECREATE_WAITS
from workflow.local.runner import LocalRun
from workflow.local.scenario import Scenario, example_scenario_path, load_scenario

ACCOUNT = "200000000005"
ACCOUNT_NAME = "conflict-own-name-elsewhere"
AGGREGATOR = "300000000001"
REGION = "us-east-1"
BUCKET = "acme-inventory"
OLD_BUCKET = "acme-old-inventory"
REQUEST = {"targets": [ACCOUNT], "regions": [REGION], "onConflict": "replace", "markerTimeoutSeconds": 60}
#: Every create of the new sync fails, its first attempt and each one after a wait.
CREATE_ATTEMPTS = len(RECREATE_WAITS) + 1


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(example_scenario_path())


@pytest.fixture
def local(scenario: Scenario) -> Iterator[LocalRun]:
    with LocalRun(scenario) as run:
        yield run


def the_old_bucket_exists(local: LocalRun) -> None:
    """Make the previous destination a working one: the bucket, with the policy SSM needs (as acme-inventory's)."""
    s3 = local.aws.client("s3", AGGREGATOR, REGION)
    s3.create_bucket(Bucket=OLD_BUCKET)
    policy = local.aws.client("s3", AGGREGATOR).get_bucket_policy(Bucket=BUCKET)["Policy"]
    s3.put_bucket_policy(Bucket=OLD_BUCKET, Policy=policy.replace(BUCKET, OLD_BUCKET))


def s3_write_failed_on_the_new_create(local: LocalRun, times: int) -> None:
    local.aws.add_fault(
        "ssm:CreateResourceDataSync", "ResourceDataSyncInvalidConfigurationException", times=times,
        account=ACCOUNT_NAME, region=REGION, message=f"S3 write failed for bucket {BUCKET}: Access Denied",
    )


def syncs(local: LocalRun) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = local.aws.client("ssm", ACCOUNT, REGION).list_resource_data_sync()[
        "ResourceDataSyncItems"]
    return items


def test_a_create_that_keeps_failing_restores_the_previous_sync_and_reports_restored(local: LocalRun) -> None:
    # GIVEN the previous destination works, and SSM cannot write to the new one for longer than the create's waits
    the_old_bucket_exists(local)
    before = syncs(local)
    s3_write_failed_on_the_new_create(local, CREATE_ATTEMPTS)

    # WHEN rolling out with onConflict=replace
    result = local.run(REQUEST)

    # THEN the account-region has our previous sync again, exactly as it was
    [restored] = syncs(local)
    assert restored["SyncName"] == "org-inventory"
    assert restored["S3Destination"] == before[0]["S3Destination"]
    assert restored["S3Destination"]["DestinationDataSharing"] == {"DestinationDataSharingType": "Organization"}
    assert [left for fault, left in local.aws.faults.remaining() if fault.account == ACCOUNT_NAME] == [0]
    # AND the report says RESTORED, needing attention, with both destinations
    outcome = result.result(ACCOUNT, REGION)
    assert (outcome["status"], outcome["verification"], outcome["needsAttention"]) == ("RESTORED", "NOT_CHECKED", True)
    assert f"s3://{OLD_BUCKET}/default" in outcome["detail"] and f"s3://{BUCKET}/default" in outcome["detail"]
    assert "S3 write failed" in outcome["detail"]
    assert [(s["replace"], s["bucket"]) for s in outcome["existingSync"]] == [
        ("restored", OLD_BUCKET), ("wanted", BUCKET)]
    assert (result.status, result.error) == ("FAILED", "RolloutIncomplete")
    assert json.loads(result.cause or "{}")["summary"]["byStatus"] == {"RESTORED": 1}


def test_a_restore_that_fails_too_is_reported_restore_failed(local: LocalRun) -> None:
    # GIVEN the previous destination's bucket no longer exists (SSM cannot write there either)
    s3_write_failed_on_the_new_create(local, CREATE_ATTEMPTS)

    result = local.run(REQUEST)

    # THEN nothing of ours is left, and the report says so explicitly, naming both failures and the deleted sync
    assert syncs(local) == []
    outcome = result.result(ACCOUNT, REGION)
    assert (outcome["status"], outcome["needsAttention"]) == ("RESTORE_FAILED", True)
    assert f"S3 write failed for bucket {OLD_BUCKET}" in outcome["detail"]
    assert f"S3 write failed for bucket {BUCKET}" in outcome["detail"]
    assert [(s["replace"], s["bucket"]) for s in outcome["existingSync"]] == [
        ("deleted, not restored", OLD_BUCKET), ("wanted", BUCKET)]


def test_a_create_failure_that_passes_is_still_reported_as_a_replacement(local: LocalRun) -> None:
    # GIVEN S3 write failed twice on the new sync's create, right after the delete
    s3_write_failed_on_the_new_create(local, 2)

    result = local.run(REQUEST)

    # THEN the replace completed, and it is reported as one (not as a creation), proven by a fresh marker
    [replaced] = syncs(local)
    assert replaced["S3Destination"]["BucketName"] == BUCKET
    outcome = result.result(ACCOUNT, REGION)
    assert (outcome["status"], outcome["verification"]) == ("REPLACED", "VERIFIED")
    assert outcome["existingSync"]["bucket"] == OLD_BUCKET
    assert result.succeeded
