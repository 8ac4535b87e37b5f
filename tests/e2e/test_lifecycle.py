"""The lifecycle, end to end on the local engine: verify, enrolment, teardown (issue 6).

The real definition, the real handlers, the emulated organization, SSM and S3. Every test asserts what is in
the simulated accounts and the bucket as well as what the report says. "Verify writes nothing" is proven two
ways: every AWS call of the run is recorded at the emulation's request boundary (nothing but reads, STS and
orgsync's own records under ``orgsync/``), and the complete SSM and S3 state is compared before and after.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from call_recording import READ_PREFIXES, CallRecorder
from call_recording import writes as writes_to
from organizations_events import move_account_event

from lambdas.enrolment import enrolment_input
from lambdas.settings import Settings
from workflow.definition import MAP_RESULTS_PREFIX
from workflow.local.runner import LocalRun
from workflow.local.scenario import Scenario, parse_scenario
from workflow.runs import ExecutionResult

BUCKET = "lifecycle-inventory"
PREFIX = "default"
SYNC = "org-inventory"
REGIONS = ["us-east-1", "eu-south-1"]
PROD = "/Workloads/Prod"

MANAGEMENT = "100000000001"
PROD_A = "210000000001"  # rolled out first: IN_SYNC, VERIFIED
PROD_NEW = "210000000002"  # never rolled out: MISSING
PROD_FAILING = "210000000003"  # our sync, LastStatus Failed: UNHEALTHY
PROD_DRIFTED = "210000000004"  # our name, another bucket: DRIFTED (teardown: NOT_OURS)
PROD_CONFLICT = "210000000005"  # another organization sync: CONFLICT
PROD_QUOTA = "210000000006"  # five syncs in us-east-1: QUOTA_EXCEEDED there, MISSING in eu-south-1
PROD_NO_ROLE = "210000000007"  # no member role: ACCESS_DENIED
PROD_OPT_IN = "210000000008"  # eu-south-1 not enabled: REGION_DISABLED there
PROD_SUSPENDED = "210000000009"  # SUSPENDED: SKIPPED
PROD_NEVER = "210000000010"  # rolled out first, SSM never writes the marker in time: IN_SYNC, PENDING
SANDBOX_OLD = "220000000001"  # not targeted, but its data is in the bucket (an old sync of ours)

def writes(calls: list[Any]) -> list[str]:
    return writes_to(calls, BUCKET)


FAILED_MESSAGE = "S3 write failed for bucket lifecycle-inventory: Access Denied"


def account(name: str, account_id: str, **fields: Any) -> dict[str, Any]:
    return {"name": name, "id": account_id, **fields}


def ours(region: str, **fields: Any) -> dict[str, Any]:
    return {
        "region": region,
        "name": SYNC,
        "organization": True,
        "bucket": BUCKET,
        "bucketRegion": "us-east-1",
        "prefix": PREFIX,
        **fields,
    }


SCENARIO: dict[str, Any] = {
    "organization": {
        "managementAccount": {"id": MANAGEMENT, "name": "management"},
        "ous": [
            {
                "name": "Workloads",
                "ous": [
                    {
                        "name": "Prod",
                        "accounts": [
                            account("prod-a", PROD_A, instances={"us-east-1": 2, "eu-south-1": 1}),
                            account("prod-new", PROD_NEW),
                            account(
                                "prod-failing",
                                PROD_FAILING,
                                existingSyncs=[
                                    ours(r, lastStatus="Failed", lastStatusMessage=FAILED_MESSAGE) for r in REGIONS
                                ],
                            ),
                            account(
                                "prod-drifted",
                                PROD_DRIFTED,
                                existingSyncs=[ours(r, bucket="old-inventory", prefix="legacy") for r in REGIONS],
                            ),
                            account(
                                "prod-conflict",
                                PROD_CONFLICT,
                                existingSyncs=[
                                    {
                                        "region": r,
                                        "name": "InspectorResourceDataSync-do-not-delete",
                                        "organization": True,
                                        "bucket": "inspector-inventory",
                                        "bucketRegion": "us-east-1",
                                    }
                                    for r in REGIONS
                                ],
                            ),
                            account(
                                "prod-quota",
                                PROD_QUOTA,
                                existingSyncs=[
                                    {
                                        "region": "us-east-1",
                                        "name": f"team-{i}",
                                        "bucket": f"team-{i}-inventory",
                                        "bucketRegion": "us-east-1",
                                    }
                                    for i in range(5)
                                ],
                            ),
                            account("prod-no-role", PROD_NO_ROLE, memberRole=False),
                            account("prod-opt-in", PROD_OPT_IN, disabledRegions=["eu-south-1"]),
                            account("prod-suspended", PROD_SUSPENDED, state="SUSPENDED"),
                            account("prod-never", PROD_NEVER, markerDelaySeconds=3600),
                        ],
                    }
                ],
            },
            {
                "name": "Sandbox",
                "accounts": [
                    account("sandbox-old", SANDBOX_OLD, instances={"us-east-1": 1}, existingSyncs=[ours("us-east-1")]),
                ],
            },
        ],
    },
    "aggregator": {"accountId": MANAGEMENT, "bucket": BUCKET, "region": "us-east-1", "prefix": PREFIX},
}


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return parse_scenario(SCENARIO, "lifecycle")


@pytest.fixture
def local(scenario: Scenario) -> Iterator[LocalRun]:
    with LocalRun(scenario) as run:
        yield run


def run(local: LocalRun, **execution_input: Any) -> ExecutionResult:
    return local.run({"regions": REGIONS, **execution_input})


# -- what is in the simulated AWS ------------------------------------------------------------------------------


def sync_state(local: LocalRun) -> dict[tuple[str, str], list[tuple[str, str, str, str]]]:
    """Every sync of every account-region as the emulated SSM holds it (read from its backends, no API call)."""
    state = {}
    for (account_id, region), backend in local.aws.syncs.items():
        state[(account_id, region)] = sorted(
            (
                name,
                json.dumps(sync.s3_destination, sort_keys=True),
                str(sync.created_time),
                str(sync.last_modified_time),
            )
            for name, sync in backend.syncs.items()
        )
    return {key: value for key, value in state.items() if value}


def objects(local: LocalRun, prefix: str = "") -> dict[str, tuple[str, str]]:
    """Every object of the aggregator bucket under ``prefix``: key -> (ETag, LastModified)."""
    s3 = local.aws.client("s3")
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        for obj in page.get("Contents", []):
            found[obj["Key"]] = (obj["ETag"], str(obj["LastModified"]))
    return found


def data_objects(local: LocalRun) -> dict[str, tuple[str, str]]:
    """The bucket's objects that are not orgsync's own records: SSM's markers and inventory."""
    return {key: value for key, value in objects(local).items() if not key.startswith("orgsync/")}


# -- verify ------------------------------------------------------------------------------------------------------


def test_the_call_recorder_sees_a_rollouts_writes(local: LocalRun) -> None:
    # A negative control: the same recording during a rollout finds its creates, so an empty list means something.
    with CallRecorder() as recorder:
        run(local, targets=[PROD_NEW])
    assert sorted(w for w in writes(recorder.calls)) == sorted(
        f"ssm:CreateResourceDataSync by {PROD_NEW} in {r}" for r in REGIONS
    )


def test_verify_classifies_every_status_and_writes_nothing(local: LocalRun) -> None:
    # GIVEN a first rollout of two accounts (prod-never's marker does not come within 60 s)
    first = run(local, targets=[PROD_A, PROD_NEVER], markerTimeoutSeconds=60)
    assert set(first.statuses().values()) == {"CREATED"}
    syncs_before, data_before = sync_state(local), data_objects(local)
    own_records_before = objects(local, "orgsync/")

    # WHEN verifying the whole Prod OU, with every AWS call recorded
    with CallRecorder() as recorder:
        result = run(local, mode="verify", targets=[PROD])

    # THEN each account-region has its verify status
    assert (result.status, result.error) == ("FAILED", "VerificationFailed")
    want = {
        PROD_A: ("IN_SYNC", "IN_SYNC"),
        PROD_NEW: ("MISSING", "MISSING"),
        PROD_FAILING: ("UNHEALTHY", "UNHEALTHY"),
        PROD_DRIFTED: ("DRIFTED", "DRIFTED"),
        PROD_CONFLICT: ("CONFLICT", "CONFLICT"),
        PROD_QUOTA: ("QUOTA_EXCEEDED", "MISSING"),
        PROD_NO_ROLE: ("ACCESS_DENIED", "ACCESS_DENIED"),
        PROD_OPT_IN: ("MISSING", "REGION_DISABLED"),
        PROD_SUSPENDED: ("SKIPPED", "SKIPPED"),
        PROD_NEVER: ("IN_SYNC", "IN_SYNC"),
    }
    assert result.statuses() == {
        (acct, region): statuses[i] for acct, statuses in want.items() for i, region in enumerate(REGIONS)
    }
    # the marker decides VERIFIED or PENDING for a healthy sync of ours; nothing else is checked
    assert result.result(PROD_A, "us-east-1")["verification"] == "VERIFIED"
    assert result.result(PROD_NEVER, "us-east-1")["verification"] == "PENDING"
    assert result.result(PROD_NEW, "us-east-1")["verification"] == "NOT_CHECKED"
    # details an operator can act on
    assert FAILED_MESSAGE in result.result(PROD_FAILING, "eu-south-1")["detail"]
    assert "s3://old-inventory/legacy" in result.result(PROD_DRIFTED, "us-east-1")["detail"]
    assert (
        result.result(PROD_CONFLICT, "us-east-1")["existingSync"]["name"] == "InspectorResourceDataSync-do-not-delete"
    )
    assert len(result.result(PROD_QUOTA, "us-east-1")["existingSync"]) == 5
    assert "OrgSyncMemberRole" in result.result(PROD_NO_ROLE, "us-east-1")["detail"]
    # needsAttention is everything but IN_SYNC (verified) and SKIPPED
    report = result.report
    assert report is not None and report["mode"] == "verify"
    results = report["results"]
    assert (
        report["summary"]["needsAttention"]
        == sum(r["status"] not in {"IN_SYNC", "SKIPPED"} or r["verification"] == "PENDING" for r in results)
        == 16
    )
    cause = json.loads(result.cause or "{}")
    assert cause["summary"]["needsAttention"] == 16

    # AND verify wrote nothing: no call that could change anything, except orgsync's own records ...
    assert recorder.calls, "the recorder saw the run"
    assert any(c.api == "ssm:ListResourceDataSync" for c in recorder.calls)
    assert writes(recorder.calls) == []
    # ... and the organization's syncs and the bucket's data are exactly as they were
    assert sync_state(local) == syncs_before
    assert data_objects(local) == data_before
    new_records = set(objects(local, "orgsync/")) - set(own_records_before)
    # orgsync's own records of this run, and the Distributed Map's ResultWriter output (per Map Run)
    map_results = {key for key in new_records if key.startswith(f"{MAP_RESULTS_PREFIX}/")}
    run_records = new_records - map_results
    assert run_records and all(key.startswith("orgsync/") and result.execution_name in key for key in run_records)
    assert all(re.fullmatch(r"manifest\.json|(SUCCEEDED|FAILED|PENDING)_\d+\.json", key.rsplit("/", 1)[1])
               for key in map_results)


def test_verify_report_carries_the_coverage(local: LocalRun) -> None:
    # GIVEN prod-a rolled out (its inventory lands in the bucket) and a stale leftover of a terminated node
    run(local, targets=[PROD_A])
    s3 = local.aws.client("s3")
    gone = f"accountid={PROD_A}/region=us-east-1/resourcetype=ManagedInstanceInventory/i-0deadbeefdeadbeef0.json"
    s3.put_object(
        Bucket=BUCKET,
        Key=f"{PREFIX}/AWS:InstanceInformation/{gone}",
        Body=json.dumps({"InstanceId": "i-0deadbeefdeadbeef0", "InstanceStatus": "Terminated"}),
    )
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/AWS:Application/{gone}", Body=json.dumps({"Name": "openssl"}))

    # WHEN verifying prod-a and prod-new
    result = run(local, mode="verify", targets=[PROD_A, PROD_NEW])

    # THEN the report's coverage compares the targets with the bucket
    coverage = (result.report or {})["coverage"]
    assert coverage["bucket"] == BUCKET and coverage["prefix"] == PREFIX
    assert coverage["covered"] == [PROD_A]
    assert coverage["notCovered"] == [PROD_NEW]
    # prod-failing and sandbox-old have data from their old syncs but are not targeted by this run
    assert SANDBOX_OLD in coverage["notTargeted"] and PROD_FAILING in coverage["notTargeted"]
    assert [(s["accountId"], s["instanceId"], s["instanceStatus"]) for s in coverage["staleInstances"]] == [
        (PROD_A, "i-0deadbeefdeadbeef0", "Terminated")
    ]
    prod_a = next(a for a in coverage["accounts"] if a["accountId"] == PROD_A)
    assert (prod_a["instances"], prod_a["regions"], prod_a["markerPresent"]) == (3, REGIONS[::-1], True)


def test_verify_in_sync_everywhere_succeeds(local: LocalRun) -> None:
    run(local, targets=[PROD_A])
    result = run(local, mode="verify", targets=[PROD_A])
    assert (result.status, result.error) == ("SUCCEEDED", None)
    assert set(result.statuses().values()) == {"IN_SYNC"}
    assert {r["verification"] for r in (result.report or {})["results"]} == {"VERIFIED"}


# -- enrolment ---------------------------------------------------------------------------------------------------

ENROL_SCENARIO: dict[str, Any] = {
    "organization": {
        "managementAccount": {"id": MANAGEMENT, "name": "management"},
        "ous": [
            {
                "name": "Workloads",
                "ous": [
                    {
                        "name": "Prod",
                        "accounts": [
                            account("prod-a", PROD_A, instances={"us-east-1": 1}),
                            account("prod-b", "210000000011"),
                        ],
                    }
                ],
            },
            {"name": "Sandbox", "accounts": [account("sandbox-1", "220000000011")]},
        ],
    },
    "aggregator": {"accountId": MANAGEMENT, "bucket": BUCKET, "region": "us-east-1", "prefix": PREFIX},
}
DEPLOYED = Settings(
    destination_bucket=BUCKET, destination_region="us-east-1", default_targets=(PROD,), default_regions=tuple(REGIONS)
)


@pytest.fixture
def org() -> Iterator[LocalRun]:
    with LocalRun(parse_scenario(ENROL_SCENARIO, "enrolment")) as run_:
        yield run_


def created_times(local: LocalRun) -> dict[tuple[str, str], str]:
    return {key: syncs[0][2] for key, syncs in sync_state(local).items()}


def test_scheduled_rollout_enrols_an_account_new_to_a_target_ou(org: LocalRun) -> None:
    # GIVEN a first rollout of the Prod OU
    first = run(org, targets=[PROD])
    assert set(first.statuses().values()) == {"CREATED"}
    before = created_times(org)
    # WHEN an account joins Prod and the scheduled rollout runs again
    late = org.aws.add_account(PROD, "prod-late", instances={"eu-south-1": 1})
    second = run(org, targets=[PROD])
    # THEN only the new account is CREATED; the others are IN_SYNC and their syncs untouched
    assert second.succeeded
    statuses = second.statuses()
    assert {key: s for key, s in statuses.items() if key[0] == late} == {(late, r): "CREATED" for r in REGIONS}
    assert {s for key, s in statuses.items() if key[0] != late} == {"IN_SYNC"}
    after = created_times(org)
    assert {key: t for key, t in after.items() if key[0] != late} == before
    assert {(late, r) for r in REGIONS} <= set(after)


def test_account_moved_into_a_target_ou_is_enrolled_alone(org: LocalRun) -> None:
    # GIVEN the Prod OU rolled out, then sandbox-1 moved into it
    run(org, targets=[PROD])
    before = sync_state(org)
    moved = "220000000011"
    org.aws.move_account(moved, PROD)
    # WHEN the enrolment path turns the MoveAccount event into an execution input and it runs
    event = move_account_event(moved, org.aws.ou_id(PROD), "e-1", management=MANAGEMENT)
    execution_input = enrolment_input(event, DEPLOYED)
    assert execution_input == {"mode": "rollout", "targets": [moved], "within": [PROD]}
    result = run(org, **execution_input)
    # THEN that account alone is rolled out; nothing else was looked at or changed
    assert result.succeeded
    assert result.statuses() == {(moved, r): "CREATED" for r in REGIONS}
    after = sync_state(org)
    assert {key: v for key, v in after.items() if key[0] != moved} == before


def test_account_moved_outside_the_targets_is_skipped_not_rolled_out(org: LocalRun) -> None:
    # GIVEN prod-b moved out of Prod into Sandbox (not a target OU)
    moved = "210000000011"
    org.aws.move_account(moved, "/Sandbox")
    event = move_account_event(moved, org.aws.ou_id("/Sandbox"), "e-2", management=MANAGEMENT)
    execution_input = enrolment_input(event, DEPLOYED)
    assert execution_input is not None
    # WHEN the enrolment execution runs
    result = run(org, **execution_input)
    # THEN it is SKIPPED with the reason, green, and no sync exists anywhere
    assert result.succeeded
    assert result.statuses() == {(moved, r): "SKIPPED" for r in REGIONS}
    assert "not within the targets" in result.result(moved, "us-east-1")["detail"]
    assert sync_state(org) == {}


# -- teardown ----------------------------------------------------------------------------------------------------


def test_teardown_deletes_only_ours_and_keeps_every_object(local: LocalRun) -> None:
    # GIVEN prod-a rolled out; prod-drifted's sync of our name points elsewhere; prod-conflict and prod-quota
    # hold other syncs; prod-new has none
    run(local, targets=[PROD_A])
    targets = [PROD_A, PROD_NEW, PROD_DRIFTED, PROD_CONFLICT, PROD_QUOTA]
    before, data_before = sync_state(local), data_objects(local)
    assert any(key.startswith(f"{PREFIX}/AWS:InstanceInformation/accountid={PROD_A}/") for key in data_before)

    # WHEN tearing down with confirmation, every AWS call recorded
    with CallRecorder() as recorder:
        result = run(local, mode="teardown", confirm="teardown", targets=targets)

    # THEN
    assert (result.status, result.error) == ("SUCCEEDED", None)
    statuses = result.statuses()
    assert statuses == {
        **{(PROD_A, r): "DELETED" for r in REGIONS},
        **{(PROD_NEW, r): "NOT_FOUND" for r in REGIONS},
        **{(PROD_DRIFTED, r): "NOT_OURS" for r in REGIONS},
        **{(PROD_CONFLICT, r): "NOT_FOUND" for r in REGIONS},
        **{(PROD_QUOTA, r): "NOT_FOUND" for r in REGIONS},
    }
    after = sync_state(local)
    # ours is gone, every other sync is exactly as it was (prod-drifted's of our very name included)
    assert all(key[0] != PROD_A for key in after)
    assert after == {key: value for key, value in before.items() if key[0] != PROD_A}
    # every object SSM wrote stays, markers included
    assert data_objects(local) == data_before
    # the only SSM writes were the deletes of our sync, by name, in prod-a's account
    ssm_writes = [c for c in recorder.calls if c.service == "ssm" and not c.operation.startswith(READ_PREFIXES)]
    assert sorted((c.operation, c.account_id, c.region) for c in ssm_writes) == sorted(
        ("DeleteResourceDataSync", PROD_A, r) for r in REGIONS
    )
    assert [w for w in writes(recorder.calls) if not w.startswith("ssm:DeleteResourceDataSync")] == []


def test_teardown_without_confirm_is_refused_before_anything_is_touched(local: LocalRun) -> None:
    run(local, targets=[PROD_A])
    before, everything_before = sync_state(local), objects(local)
    with CallRecorder() as recorder:
        result = run(local, mode="teardown", targets=[PROD_A])
    assert (result.status, result.error) == ("FAILED", "InvalidInput")
    assert (result.cause_message() or "").startswith("confirm:")
    assert result.report is None
    assert sync_state(local) == before and objects(local) == everything_before
    assert not any(c.service == "ssm" for c in recorder.calls)


def test_teardown_that_cannot_reach_an_account_ends_incomplete(local: LocalRun) -> None:
    result = run(local, mode="teardown", confirm="teardown", targets=[PROD_NO_ROLE])
    assert (result.status, result.error) == ("FAILED", "TeardownIncomplete")
    assert set(result.statuses().values()) == {"ACCESS_DENIED"}
