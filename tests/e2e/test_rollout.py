"""The rollout, end to end on the local engine: the real definition, the real handlers, the emulated AWS.

Every test asserts what happened in the simulated accounts (syncs present, objects in S3) and in the report,
not only how the execution ended.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from lambdas.models import Outcome
from workflow.local.runner import LocalRun
from workflow.local.scenario import Scenario, example_scenario_path, load_scenario
from workflow.runs import list_outcomes

HONG_KONG = "ap-east-1"  # an opt-in region: the one region-disabled has not enabled
HOME_REGIONS = ["ap-northeast-1", "us-east-1"]  # where the example's accounts run their instances
REGIONS = [*HOME_REGIONS, HONG_KONG]
BUCKET = "acme-inventory"

# The example scenario's accounts (workflow/scenarios/example.json).
MANAGEMENT = "100000000001"
PROD_PAYMENTS = "200000000001"
PROD_WEB = "200000000002"
IN_SYNC_ALREADY = "200000000003"
CONFLICT_FOREIGN = "200000000004"
CONFLICT_OWN_NAME = "200000000005"
PROD_DATA_LAKE = "200000000006"
DEV_PAYMENTS = "200000000011"
STAGING_PAYMENTS = "200000000012"
QUOTA_FULL = "200000000013"
MARKER_DELAYED = "200000000014"
MARKER_NEVER = "200000000015"
THROTTLED = "400000000001"
ALICE = "400000000002"
SUSPENDED = "400000000003"
NO_ROLE = "400000000004"
REGION_DISABLED = "400000000005"
BOB = "400000000006"
LOG_ARCHIVE = "300000000001"
SECURITY_TOOLING = "300000000002"
NETWORK_HUB = "500000000001"
SHARED_SERVICES = "500000000002"


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(example_scenario_path())


@pytest.fixture
def local(scenario: Scenario) -> Iterator[LocalRun]:
    with LocalRun(scenario) as run:
        yield run


def every_sync(local: LocalRun) -> dict[tuple[str, str], list[tuple[str, str, str | None]]]:
    """Every account-region's syncs as (name, bucket, prefix), read from the emulated SSM."""
    found = {}
    for account in local.scenario.accounts:
        for region in REGIONS:
            ssm = local.aws.client("ssm", account.id, region) if region not in account.disabled_regions else None
            if ssm is None:
                continue
            items = ssm.list_resource_data_sync()["ResourceDataSyncItems"]
            found[(account.id, region)] = sorted(
                (i["SyncName"], i["S3Destination"]["BucketName"], i["S3Destination"].get("Prefix")) for i in items)
    return found


def sync_created_times(local: LocalRun, where: list[tuple[str, str]]) -> dict[tuple[str, str], list[Any]]:
    """SyncCreatedTime of every sync of each account-region: a sync deleted and created anew would differ."""
    times = {}
    for account_id, region in where:
        ssm = local.aws.client("ssm", account_id, region)
        items = ssm.list_resource_data_sync()["ResourceDataSyncItems"]
        times[(account_id, region)] = sorted((i["SyncName"], i.get("SyncCreatedTime")) for i in items)
    return times


def keys(local: LocalRun, prefix: str) -> list[str]:
    s3 = local.aws.client("s3")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return [obj["Key"] for page in pages for obj in page.get("Contents", [])]


# -- the whole example organization -------------------------------------------------------------------------------


def test_example_scenario_covers_every_status_and_verification(local: LocalRun) -> None:
    # WHEN rolling out to the whole organization in its two regions and the opt-in one
    result = local.run({"targets": ["/"], "regions": REGIONS})

    # THEN the execution is red with RolloutIncomplete, and its cause holds the summary and the report's location
    assert (result.status, result.error) == ("FAILED", "RolloutIncomplete")
    cause = json.loads(result.cause or "")
    assert cause["reportLocation"] == f"s3://{BUCKET}/orgsync/reports/{result.execution_name}/report.json"
    assert cause["summary"] == result.report["summary"]  # type: ignore[index]

    statuses = result.statuses()
    expected = {account: "CREATED" for account in (
        MANAGEMENT, PROD_PAYMENTS, PROD_WEB, PROD_DATA_LAKE, DEV_PAYMENTS, STAGING_PAYMENTS, MARKER_DELAYED,
        MARKER_NEVER, THROTTLED, ALICE, BOB, LOG_ARCHIVE, SECURITY_TOOLING, NETWORK_HUB, SHARED_SERVICES)}
    want = {(account, region): status for account, status in expected.items() for region in REGIONS}
    want.update({
        (IN_SYNC_ALREADY, "ap-northeast-1"): "IN_SYNC", (IN_SYNC_ALREADY, "us-east-1"): "IN_SYNC",
        (CONFLICT_FOREIGN, "ap-northeast-1"): "CONFLICT", (CONFLICT_FOREIGN, "us-east-1"): "CREATED",
        (CONFLICT_OWN_NAME, "ap-northeast-1"): "CREATED", (CONFLICT_OWN_NAME, "us-east-1"): "CONFLICT",
        (QUOTA_FULL, "ap-northeast-1"): "QUOTA_EXCEEDED", (QUOTA_FULL, "us-east-1"): "CREATED",
        (SUSPENDED, "ap-northeast-1"): "SKIPPED", (SUSPENDED, "us-east-1"): "SKIPPED",
        (NO_ROLE, "ap-northeast-1"): "ACCESS_DENIED", (NO_ROLE, "us-east-1"): "ACCESS_DENIED",
        (REGION_DISABLED, "ap-northeast-1"): "CREATED", (REGION_DISABLED, "us-east-1"): "CREATED",
        (IN_SYNC_ALREADY, HONG_KONG): "CREATED", (CONFLICT_FOREIGN, HONG_KONG): "CREATED",
        (CONFLICT_OWN_NAME, HONG_KONG): "CREATED", (QUOTA_FULL, HONG_KONG): "CREATED",
        (SUSPENDED, HONG_KONG): "SKIPPED", (NO_ROLE, HONG_KONG): "ACCESS_DENIED",
        (REGION_DISABLED, HONG_KONG): "REGION_DISABLED",
    })
    assert statuses == want

    # verification: VERIFIED where ours is in place, PENDING where the marker never came, NOT_CHECKED elsewhere
    verification = {key: result.result(*key)["verification"] for key in statuses}
    assert verification[(MARKER_NEVER, "us-east-1")] == "PENDING"
    assert verification[(MARKER_NEVER, "ap-northeast-1")] == "PENDING"
    assert verification[(MARKER_DELAYED, "ap-northeast-1")] == "VERIFIED"
    assert verification[(IN_SYNC_ALREADY, "us-east-1")] == "VERIFIED"
    assert verification[(QUOTA_FULL, "ap-northeast-1")] == "NOT_CHECKED"
    assert all(verification[k] == "VERIFIED" for k, s in statuses.items()
               if s in ("CREATED", "IN_SYNC") and k[0] != MARKER_NEVER)

    summary = result.report["summary"]  # type: ignore[index]
    assert summary == {
        "total": 66,
        "byStatus": {"ACCESS_DENIED": 3, "CONFLICT": 2, "CREATED": 54, "IN_SYNC": 2, "QUOTA_EXCEEDED": 1,
                     "REGION_DISABLED": 1, "SKIPPED": 3},
        # CONFLICT 2 + QUOTA_EXCEEDED 1 + ACCESS_DENIED 3 + REGION_DISABLED 1 + PENDING 3
        "verified": 53, "pending": 3, "needsAttention": 10,
    }

    # the details name what is there and what to do
    foreign = result.result(CONFLICT_FOREIGN, "ap-northeast-1")
    assert foreign["existingSync"]["name"] == "acme-legacy-inventory"
    assert foreign["existingSync"]["bucket"] == "acme-legacy-inventory" and foreign["needsAttention"]
    quota = result.result(QUOTA_FULL, "ap-northeast-1")
    assert len(quota["existingSync"]) == 5 and "quota is 5" in quota["detail"]
    denied = result.result(NO_ROLE, "us-east-1")
    assert f"arn:aws:iam::{NO_ROLE}:role/OrgSyncMemberRole" in denied["detail"]
    assert denied["action"].startswith("Deploy the member role")
    assert "not enabled" in result.result(REGION_DISABLED, HONG_KONG)["detail"]
    assert "SUSPENDED" in result.result(SUSPENDED, "us-east-1")["detail"]
    pending = result.result(MARKER_NEVER, "us-east-1")
    assert pending["status"] == "CREATED" and pending["needsAttention"] and "bucket policy" in pending["detail"]

    # AND the syncs are really there, and nothing of anyone else's was touched
    syncs = every_sync(local)
    ours = ("org-inventory", BUCKET, "default")
    assert all(ours in syncs[key] for key, status in statuses.items() if status in ("CREATED", "IN_SYNC"))
    assert syncs[(CONFLICT_FOREIGN, "ap-northeast-1")] == [("acme-legacy-inventory", "acme-legacy-inventory", "legacy")]
    assert syncs[(CONFLICT_OWN_NAME, "us-east-1")] == [("org-inventory", "acme-old-inventory", "default")]
    assert len(syncs[(QUOTA_FULL, "ap-northeast-1")]) == 5 and ours not in syncs[(QUOTA_FULL, "ap-northeast-1")]
    assert syncs[(SUSPENDED, "us-east-1")] == [] and syncs[(NO_ROLE, "us-east-1")] == []

    # AND the outcome records (one per batch of accounts, one for the SKIPPED) plus the report are in the bucket,
    # outside the SSM prefix, and hold every account-region once
    records = keys(local, f"orgsync/reports/{result.execution_name}/results/")
    assert f"orgsync/reports/{result.execution_name}/results/skipped.json" in records
    recorded = [(o.accountId, o.region) for o in list_outcomes(local.aws.client("s3"), BUCKET, result.execution_name)]
    assert len(recorded) == len(set(recorded)) == 66
    assert f"orgsync/reports/{result.execution_name}/report.json" in keys(local, "orgsync/reports/")
    assert keys(local, f"default/AWS:InstanceInformation/accountid={PROD_PAYMENTS}/test.json")

    # AND the parent's history stays small (the Distributed Map's children are separate executions): 47 events
    # here (resolve, claim, canary, the Map, release, summarize; retries add some), whatever the organization's size
    assert len(local.history(result.execution_arn)) <= 50


def test_throttling_is_absorbed(local: LocalRun) -> None:
    # GIVEN the scenario's faults: CreateResourceDataSync throttled 3 times for throttled-sandbox in us-east-1,
    # and Organizations' ListAccountsForParent throttled once; plus ListResourceDataSync throttled well beyond
    # what the Lambda's own backoff absorbs, so that the batch's retry of that account-region takes over
    local.aws.add_fault("ssm:ListResourceDataSync", "ThrottlingException", times=16, account="sandbox-alice",
                        region="us-east-1", message="Rate exceeded")
    result = local.run({"targets": ["/Sandbox"], "regions": ["us-east-1"]})
    assert result.statuses()[(THROTTLED, "us-east-1")] == "CREATED"
    assert result.statuses()[(ALICE, "us-east-1")] == "CREATED"
    assert result.result(ALICE, "us-east-1")["verification"] == "VERIFIED"
    assert ("org-inventory", BUCKET, "default") in every_sync(local)[(ALICE, "us-east-1")]
    assert all(remaining == 0 for _, remaining in local.aws.faults.remaining())
    # the batch came back for that account-region alone, after its backoff (waits on the virtual clock, bounded
    # by the transient policy's MaxDelaySeconds), as the state-level Retry did for an item before batching
    assert local.engine.wait_sleeps and max(local.engine.wait_sleeps) <= 60


# -- idempotency, replace vs report, success -------------------------------------------------------------------


def test_second_rollout_finds_in_sync_and_changes_nothing(local: LocalRun) -> None:
    request = {"targets": ["/Workloads/Prod", "/Infrastructure"], "regions": REGIONS}
    first = local.run(request)
    before = every_sync(local)
    created_times = sync_created_times(local, list(first.statuses()))
    second = local.run(request)

    became = {key: (status, second.statuses()[key]) for key, status in first.statuses().items()}
    assert {key for key, (a, _) in became.items() if a == "CREATED"}  # something was created the first time
    for key, (was, now) in became.items():
        assert now == ("IN_SYNC" if was in ("CREATED", "IN_SYNC") else was), key
        if was == "CREATED":
            assert second.result(*key)["verification"] == "VERIFIED"
    assert every_sync(local) == before
    assert sync_created_times(local, list(first.statuses())) == created_times


def test_replace_recreates_only_our_sync_name(local: LocalRun) -> None:
    request = {"targets": [CONFLICT_OWN_NAME, CONFLICT_FOREIGN], "regions": REGIONS, "onConflict": "replace"}
    result = local.run(request)
    replaced = result.result(CONFLICT_OWN_NAME, "us-east-1")
    assert (replaced["status"], replaced["verification"]) == ("REPLACED", "VERIFIED")
    assert replaced["existingSync"]["bucket"] == "acme-old-inventory"
    # a sync with another name is never touched, whatever onConflict says
    assert result.statuses()[(CONFLICT_FOREIGN, "ap-northeast-1")] == "CONFLICT"
    syncs = every_sync(local)
    assert syncs[(CONFLICT_OWN_NAME, "us-east-1")] == [("org-inventory", BUCKET, "default")]
    assert syncs[(CONFLICT_FOREIGN, "ap-northeast-1")] == [("acme-legacy-inventory", "acme-legacy-inventory", "legacy")]
    assert result.report["summary"]["needsAttention"] == 1  # type: ignore[index]


def test_report_mode_leaves_our_misdirected_sync_alone(local: LocalRun) -> None:
    result = local.run({"targets": [CONFLICT_OWN_NAME], "regions": ["us-east-1"]})
    conflict = result.result(CONFLICT_OWN_NAME, "us-east-1")
    assert conflict["status"] == "CONFLICT" and "onConflict is report" in conflict["detail"]
    assert conflict["existingSync"]["bucket"] == "acme-old-inventory"
    assert every_sync(local)[(CONFLICT_OWN_NAME, "us-east-1")] == [("org-inventory", "acme-old-inventory", "default")]


def test_clean_targets_succeed_with_the_summary_in_the_output(local: LocalRun) -> None:
    progress: list[tuple[int, int | None]] = []

    def on_progress(outcomes: list[Outcome], expected: int | None) -> None:
        progress.append((len(outcomes), expected))

    result = local.run({"targets": ["/Infrastructure", "/Security"], "regions": HOME_REGIONS}, on_progress=on_progress)
    assert result.status == "SUCCEEDED", result.cause
    assert result.output["summary"]["needsAttention"] == 0  # type: ignore[index]
    assert result.output["summary"]["byStatus"] == {"CREATED": 8}  # type: ignore[index]
    assert result.output["reportLocation"].endswith(f"/orgsync/reports/{result.execution_name}/report.json")  # type: ignore[index]
    assert len(result.output["results"]) == 8 and result.output["resultsTruncated"] is False  # type: ignore[index]
    assert progress and progress[-1] == (8, 8)
    assert [n for n, _ in progress] == sorted(n for n, _ in progress)


# -- the marker ------------------------------------------------------------------------------------------------


def test_delayed_marker_is_verified_through_retries_and_a_missing_one_is_pending(local: LocalRun) -> None:
    result = local.run({"targets": [MARKER_DELAYED, MARKER_NEVER], "regions": ["ap-northeast-1"],
                        "markerTimeoutSeconds": 600})
    delayed = result.result(MARKER_DELAYED, "ap-northeast-1")
    never = result.result(MARKER_NEVER, "ap-northeast-1")
    assert (delayed["status"], delayed["verification"]) == ("CREATED", "VERIFIED")
    assert (never["status"], never["verification"]) == ("CREATED", "PENDING")
    assert "markerTimeoutSeconds=600" in never["detail"]
    # the waits happened as the batch's Wait for markers on the virtual clock: past the marker delay and the timeout
    assert local.clock.elapsed >= 600
    assert len(local.engine.wait_sleeps) >= 5
    marker = f"default/AWS:InstanceInformation/accountid={MARKER_DELAYED}/test.json"
    assert keys(local, marker) == [marker]
    assert keys(local, f"default/AWS:InstanceInformation/accountid={MARKER_NEVER}/") == []
    assert (result.status, result.error) == ("FAILED", "RolloutIncomplete")


# -- S3 write failed ---------------------------------------------------------------------------------------------


def test_s3_write_failed_right_after_a_policy_change_is_retried_then_created(local: LocalRun) -> None:
    # GIVEN a bucket policy just fixed: SSM still sees the old (missing) one for 40 simulated seconds
    local.aws.set_bucket_policy("none")
    local.aws.set_bucket_policy("source-org-id", propagation_seconds=40)
    result = local.run({"targets": [PROD_WEB], "regions": ["ap-northeast-1"]})
    outcome = result.result(PROD_WEB, "ap-northeast-1")
    assert (outcome["status"], outcome["verification"]) == ("CREATED", "VERIFIED")
    assert result.succeeded
    # the only account-region is the canary: its Reconcile canary came back after the state machine's backoff
    assert local.clock.elapsed >= 40 and local.engine.retry_sleeps


def test_s3_write_failed_that_persists_is_failed_pointing_at_the_bucket_policy(local: LocalRun) -> None:
    local.aws.set_bucket_policy("none")
    # "canary": false: the per-account-region path (the destination check and the canary: tests/e2e/test_canary.py)
    result = local.run({"targets": [PROD_WEB], "regions": ["ap-northeast-1"], "canary": False})
    outcome = result.result(PROD_WEB, "ap-northeast-1")
    assert outcome["status"] == "FAILED"
    assert "S3 write failed" in outcome["detail"] and "bucket policy of acme-inventory" in outcome["detail"]
    assert every_sync(local)[(PROD_WEB, "ap-northeast-1")] == []
    assert (result.status, result.error) == ("FAILED", "RolloutIncomplete")


def test_unexplained_create_error_is_listed_again_then_failed_with_the_aws_error(local: LocalRun) -> None:
    local.aws.add_fault("ssm:CreateResourceDataSync", "ResourceDataSyncInvalidConfigurationException",
                        account="prod-web", message="The destination configuration is invalid.")
    result = local.run({"targets": [PROD_WEB], "regions": ["ap-northeast-1"]})
    outcome = result.result(PROD_WEB, "ap-northeast-1")
    assert outcome["status"] == "FAILED"
    assert "ResourceDataSyncInvalidConfigurationException: The destination configuration is invalid." in (
        outcome["detail"])
    assert "Listing the syncs again did not explain it" in outcome["detail"]


def test_only_skipped_accounts_run_an_empty_map_and_succeed(local: LocalRun) -> None:
    result = local.run({"targets": [SUSPENDED, PROD_WEB], "regions": HOME_REGIONS, "excludeAccounts": [PROD_WEB]})
    assert result.status == "SUCCEEDED", result.cause
    assert set(result.statuses().values()) == {"SKIPPED"} and len(result.statuses()) == 4
    assert result.result(PROD_WEB, "us-east-1")["detail"] == "Excluded by excludeAccounts."
    assert every_sync(local)[(PROD_WEB, "us-east-1")] == []
