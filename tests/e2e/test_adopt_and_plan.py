"""Meeting organizations where they are, end to end on the local engine (issue 10).

An organization migrating from the StackSet-with-custom-resource setup already has an organization-based sync
named ``org-sync`` writing to the central bucket: orgsync reports it EQUIVALENT (green, marker checked) and never
touches it, unless told to adopt it; then rollout, verify and teardown treat it as orgsync's. A plan reports
what a rollout would do and report, with no write.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from call_recording import CallRecorder, writes

from lambdas.adoption import ADOPTIONS_PREFIX
from workflow.local.runner import LocalRun
from workflow.local.scenario import Scenario, parse_scenario
from workflow.runs import ExecutionResult

BUCKET = "migrating-inventory"
PREFIX = "default"
SYNC = "org-inventory"
LEGACY = "org-sync"
REGIONS = ["us-east-1", "eu-west-1"]

MANAGEMENT = "100000000001"
MIGRATED = "210000000001"  # org-sync -> our bucket and prefix: EQUIVALENT
MIGRATED_TOO = "210000000002"  # the same
OTHER_PREFIX = "210000000003"  # org-sync -> our bucket, another prefix: CONFLICT (it holds the slot)
OUR_NAME_ELSEWHERE = "210000000004"  # org-inventory -> another prefix: CONFLICT
FRESH = "210000000005"  # nothing yet: CREATED
QUOTA = "210000000006"  # five syncs in us-east-1, two AWS-managed: QUOTA_EXCEEDED there; eu-west-1 is free

EXAMPLE = Path(__file__).resolve().parents[2] / "workflow" / "scenarios" / "example.json"
EXAMPLE_INPUT = Path(__file__).resolve().parents[2] / "docs" / "examples" / "rollout-input.json"


def legacy(region: str, prefix: str = PREFIX, name: str = LEGACY) -> dict[str, Any]:
    return {"region": region, "name": name, "organization": True, "bucket": BUCKET, "bucketRegion": "us-east-1",
            "prefix": prefix}


SCENARIO: dict[str, Any] = {
    "organization": {
        "managementAccount": {"id": MANAGEMENT, "name": "management"},
        "ous": [
            {
                "name": "Workloads",
                "accounts": [
                    {"name": "migrated", "id": MIGRATED, "existingSyncs": [legacy(r) for r in REGIONS]},
                    {"name": "migrated-too", "id": MIGRATED_TOO, "existingSyncs": [legacy(r) for r in REGIONS]},
                    {"name": "other-prefix", "id": OTHER_PREFIX,
                     "existingSyncs": [legacy(r, prefix="legacy") for r in REGIONS]},
                    {"name": "our-name-elsewhere", "id": OUR_NAME_ELSEWHERE,
                     "existingSyncs": [legacy(r, prefix="legacy", name=SYNC) for r in REGIONS]},
                    {"name": "fresh", "id": FRESH},
                    {
                        "name": "quota",
                        "id": QUOTA,
                        "existingSyncs": [
                            {"region": "us-east-1", "name": name, "bucket": f"b-{i}", "bucketRegion": "us-east-1"}
                            for i, name in enumerate([
                                "InspectorResourceDataSync-do-not-delete",
                                "license-manager-resource-data-sync-for-cross-account-discovery",
                                "team-a", "team-b", "team-c",
                            ])
                        ],
                    },
                ],
            }
        ],
    },
    "aggregator": {"accountId": MANAGEMENT, "bucket": BUCKET, "region": "us-east-1", "prefix": PREFIX},
}


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return parse_scenario(SCENARIO, "migrating")


@pytest.fixture
def local(scenario: Scenario) -> Iterator[LocalRun]:
    with LocalRun(scenario) as run:
        yield run


def run(local: LocalRun, **execution_input: Any) -> ExecutionResult:
    return local.run({"targets": ["/Workloads"], "regions": REGIONS, "syncName": SYNC, **execution_input})


def syncs_of(local: LocalRun, account_id: str) -> dict[tuple[str, str], str]:
    """(region, sync name) -> its S3 destination, as the emulated SSM holds them (no API call)."""
    return {
        (region, name): str(sync.s3_destination)
        for (account, region), backend in local.aws.syncs.items()
        if account == account_id
        for name, sync in backend.syncs.items()
    }


def adoption_keys(local: LocalRun) -> list[str]:
    listed = local.aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix=f"{ADOPTIONS_PREFIX}/")
    return sorted(o["Key"] for o in listed.get("Contents", []))


def test_an_equivalent_sync_is_green_and_never_touched_even_with_replace(local: LocalRun) -> None:
    before = {account: syncs_of(local, account) for account in (MIGRATED, MIGRATED_TOO, OTHER_PREFIX)}

    # WHEN rolling out with onConflict=replace (which replaces only a sync of orgsync's own name)
    result = run(local, onConflict="replace")

    # THEN the equivalent syncs are EQUIVALENT, verified by their marker, and named in the detail
    for account in (MIGRATED, MIGRATED_TOO):
        for region in REGIONS:
            outcome = result.result(account, region)
            assert (outcome["status"], outcome["verification"], outcome["needsAttention"]) == (
                "EQUIVALENT", "VERIFIED", False)
            assert f"{LEGACY} already writes to exactly s3://{BUCKET}/{PREFIX}" in outcome["detail"]
            assert outcome["existingSync"]["name"] == LEGACY
    # a sync of that name to another prefix holds the slot: CONFLICT; ours elsewhere is replaced as asked
    assert {result.statuses()[(OTHER_PREFIX, r)] for r in REGIONS} == {"CONFLICT"}
    assert {result.statuses()[(OUR_NAME_ELSEWHERE, r)] for r in REGIONS} == {"REPLACED"}
    assert {result.statuses()[(FRESH, r)] for r in REGIONS} == {"CREATED"}
    # AWS-managed syncs are named, and the user's own are the ones offered for removal
    quota = result.result(QUOTA, "us-east-1")
    assert quota["status"] == "QUOTA_EXCEEDED"
    assert "InspectorResourceDataSync-do-not-delete (AWS-managed: Amazon Inspector)" in quota["detail"]
    assert quota["detail"].endswith("Yours to remove, if no longer needed: team-a, team-b, team-c; never the "
                                    "AWS-managed ones.")
    # AND nothing of the equivalent or conflicting syncs changed, and nothing was adopted
    assert {account: syncs_of(local, account) for account in before} == before
    assert adoption_keys(local) == []


def test_verify_shows_per_account_which_regions_deliver_and_why_not(local: LocalRun) -> None:
    # GIVEN a rollout: the quota account gets our sync in eu-west-1 only (us-east-1 is full)
    rollout = run(local)
    assert (rollout.statuses()[(QUOTA, "us-east-1")], rollout.statuses()[(QUOTA, "eu-west-1")]) == (
        "QUOTA_EXCEEDED", "CREATED")
    # WHEN verifying
    verified = run(local, mode="verify")
    assert verified.report is not None
    coverage = verified.report["coverage"]
    accounts = {a["accountId"]: a for a in coverage["accounts"]}
    # THEN the quota account is covered (its marker is there) but only partly, and the cause is named
    assert QUOTA in coverage["covered"] and QUOTA in coverage["partlyCovered"]
    assert accounts[QUOTA]["deliveringRegions"] == ["eu-west-1"]
    assert accounts[QUOTA]["regionsNotDelivering"] == [
        {"region": "us-east-1", "status": "QUOTA_EXCEEDED", "cause": "the quota of five syncs is full (QUOTA_EXCEEDED)"}
    ]
    # an equivalent sync delivers; a conflicting one does not, with its cause
    assert accounts[MIGRATED]["deliveringRegions"] == sorted(REGIONS)
    assert [r["status"] for r in accounts[OTHER_PREFIX]["regionsNotDelivering"]] == ["CONFLICT", "CONFLICT"]
    assert accounts[OTHER_PREFIX]["regionsNotDelivering"][0]["cause"].startswith("a conflict")


def test_adopt_then_verify_then_teardown_treat_the_adopted_sync_as_ours(local: LocalRun) -> None:
    # GIVEN a rollout that adopts the equivalent syncs
    adopted = run(local, adopt=True)
    assert {adopted.statuses()[(a, r)] for a in (MIGRATED, MIGRATED_TOO) for r in REGIONS} == {"ADOPTED"}
    assert adopted.result(MIGRATED, "us-east-1")["verification"] == "VERIFIED"
    assert adoption_keys(local) == sorted(
        f"{ADOPTIONS_PREFIX}/{PREFIX}/{a}/{r}/{LEGACY}.json" for a in (MIGRATED, MIGRATED_TOO) for r in REGIONS
    )
    assert syncs_of(local, MIGRATED).keys() == {(r, LEGACY) for r in REGIONS}  # nothing changed in the account

    # WHEN a later rollout runs without "adopt", THEN the adopted sync is ours, in place (no second sync)
    later = run(local)
    assert {later.statuses()[(MIGRATED, r)] for r in REGIONS} == {"IN_SYNC"}
    assert f"(adopted {LEGACY})" in later.result(MIGRATED, "eu-west-1")["detail"]
    assert syncs_of(local, MIGRATED).keys() == {(r, LEGACY) for r in REGIONS}

    # AND verify sees it as ours, verified
    verified = run(local, mode="verify", targets=[MIGRATED])
    assert {(o["status"], o["verification"]) for o in verified.report["results"]} == {("IN_SYNC", "VERIFIED")}

    # AND teardown without confirm is refused; with it, the adopted sync is deleted and its record removed
    refused = run(local, mode="teardown", targets=[MIGRATED])
    assert refused.error == "InvalidInput"
    torn = run(local, mode="teardown", confirm="teardown", targets=[MIGRATED])
    assert {torn.statuses()[(MIGRATED, r)] for r in REGIONS} == {"DELETED"}
    assert syncs_of(local, MIGRATED) == {}
    assert adoption_keys(local) == sorted(f"{ADOPTIONS_PREFIX}/{PREFIX}/{MIGRATED_TOO}/{r}/{LEGACY}.json"
                                          for r in REGIONS)


def test_teardown_keeps_an_equivalent_sync_that_was_not_adopted(local: LocalRun) -> None:
    before = syncs_of(local, MIGRATED)
    torn = run(local, mode="teardown", confirm="teardown", targets=[MIGRATED])
    assert {torn.statuses()[(MIGRATED, r)] for r in REGIONS} == {"NOT_FOUND"}
    assert "did not adopt it, so it was kept" in torn.result(MIGRATED, "us-east-1")["detail"]
    assert syncs_of(local, MIGRATED) == before


def test_a_plan_lists_what_the_following_rollout_reports_and_writes_nothing() -> None:
    """Over the bundled example: the plan's status of every account-region is the rollout's, with no write."""
    import json

    execution_input = json.loads(EXAMPLE_INPUT.read_text())
    with LocalRun(EXAMPLE) as local:
        bucket = local.scenario.aggregator.bucket
        def all_syncs() -> dict[tuple[str, str], list[str]]:
            return {key: sorted(backend.syncs) for key, backend in local.aws.syncs.items() if backend.syncs}

        syncs_before = all_syncs()
        with CallRecorder() as recorder:
            plan = local.run({**execution_input, "mode": "plan"})
        # the plan execution succeeds whatever it finds
        assert (plan.status, plan.error) == ("SUCCEEDED", None)
        assert any(c.api == "ssm:ListResourceDataSync" for c in recorder.calls)
        assert writes(recorder.calls, bucket) == []
        assert all_syncs() == syncs_before

        rollout = local.run(execution_input)

    assert plan.report is not None and rollout.report is not None
    planned = {(o["accountId"], o["region"]): o for o in plan.report["results"]}
    done = {(o["accountId"], o["region"]): o for o in rollout.report["results"]}
    assert planned.keys() == done.keys()
    assert {key: o["status"] for key, o in planned.items()} == {key: o["status"] for key, o in done.items()}
    # the action matches what the rollout did, and the counts by action head the summary
    action_of = {"CREATED": "CREATE", "REPLACED": "REPLACE"}
    assert {key: o["plannedAction"] for key, o in planned.items()} == {
        key: action_of.get(o["status"], "NONE") for key, o in done.items()
    }
    by_action = plan.report["summary"]["byPlannedAction"]
    assert next(iter(plan.report["summary"])) == "byPlannedAction"
    assert sum(by_action.values()) == len(planned) and by_action["CREATE"] == sum(
        o["status"] == "CREATED" for o in done.values())
