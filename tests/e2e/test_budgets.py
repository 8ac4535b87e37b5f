"""The per-account-region budgets of issue 11, counted from a generated organization's runs (not from times).

An organization of 30 member accounts (children of the deployed ``ACCOUNTS_PER_BATCH`` accounts) in four regions:
120 account-regions. Every AWS call is recorded at the emulation's request boundary with the Lambda function that
made it; transitions are the states the execution entered (its children's included, counted by the engine as the
history's StateEntered events) plus the state machine's retries, as Step Functions bills them; invocations are
the engine's.

Budgets per account-region, first rollout: at most 2.5 AWS API calls made for the account-regions (AssumeRole and
the marker listing once per account; one ListResourceDataSync and one CreateResourceDataSync each), at most 0.5
billed state transitions, at most 0.1 Lambda invocations; a rerun where everything is in sync: at most 1.5 calls.
A second ListResourceDataSync happens only where a create failed or the quota looked full.

The run's own calls (Resolve targets' walk of the organization, Summarize's reads, the items file, the report,
Step Functions' ItemReader and ResultWriter) do not grow with the account-regions but with the organization's
pages and the batches: they are counted apart and bounded per batch.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from tests.e2e.call_recording import CallRecorder
from workflow.definition import ACCOUNTS_PER_BATCH
from workflow.local.runner import LocalRun
from workflow.local.scenario import Scenario, parse_scenario

ACCOUNTS = 30
REGIONS = ["ap-northeast-1", "us-east-1", "eu-west-1", "us-west-2"]
ACCOUNT_REGIONS = ACCOUNTS * len(REGIONS)
BATCHES = -(-ACCOUNTS // ACCOUNTS_PER_BATCH)
#: The Lambdas of the Map's children: their calls are the ones made for the account-regions.
BATCH_FUNCTIONS = {"ReconcileSync", "CheckMarker", "RecordFailure"}
#: Calls that are not AWS API calls of the run: the invocations (counted apart) and the test driving the engine.
NOT_COUNTED = {"lambda:Invoke"}
QUOTA_FULL, CREATE_FAILS_SMALL, SLOW_MARKER = "team1-acct1", "team0-acct7", "team0-acct2"
_MARKER_PREFIX = re.compile(r"AWS:InstanceInformation/accountid=(\d{12})/test\.json$")


def organization(accounts: int = ACCOUNTS, quota_full: str | None = None, slow_marker: str | None = None) -> Scenario:
    """``accounts`` member accounts in OUs of ten under /Workloads; ``quota_full`` has five syncs in us-east-1,
    SSM writes ``slow_marker``'s marker 30 s after its sync is created."""
    ous = []
    for team in range(-(-accounts // 10)):
        members: list[dict[str, Any]] = []
        for n in range(min(10, accounts - team * 10)):
            member: dict[str, Any] = {"name": f"team{team}-acct{n}", "id": f"6{team:05d}{n:06d}"}
            if member["name"] == slow_marker:
                member["markerDelaySeconds"] = 30
            if member["name"] == quota_full:
                member["existingSyncs"] = [
                    {"region": "us-east-1", "name": f"other-{k}", "bucket": "someone-elses", "bucketRegion":
                     "us-east-1", "prefix": f"p{k}"} for k in range(5)
                ]
            members.append(member)
        ous.append({"name": f"Team{team}", "accounts": members})
    return parse_scenario(
        {
            "organization": {
                "managementAccount": {"id": "100000000001", "name": "management"},
                "ous": [
                    {"name": "Workloads", "ous": ous},
                    {"name": "Security", "accounts": [{"name": "log-archive", "id": "300000000001"}]},
                ],
            },
            "aggregator": {"accountId": "300000000001", "bucket": "budget-inventory", "region": "ap-northeast-1"},
        },
        source=f"generated-{accounts}",
    )


@dataclass
class Figures:
    """One run's counts."""

    status: str
    by_status: dict[str, int]
    #: AWS calls made by the children's Lambdas, by API.
    batch_calls: Counter[str]
    #: Every other AWS call of the run (Resolve targets, Summarize, Step Functions' own), by API.
    run_calls: Counter[str]
    #: ListResourceDataSync per (account, region).
    listings: Counter[tuple[str, str]]
    #: Marker listings per account.
    marker_listings: Counter[str]
    transitions: int
    invocations: Counter[str]

    def per_account_region(self, count: float) -> float:
        return count / ACCOUNT_REGIONS


def measure(local: LocalRun, execution_input: dict[str, Any]) -> Figures:
    """Run ``execution_input`` and count its calls, transitions and invocations.

    Without the canary: the budgets are the batched children's, per account-region; the canary is one
    account-region's calls and a handful of states per run, whatever the organization's size.
    """
    retries_before = len(local.engine.retry_sleeps)
    invocations_before = len(local.engine.invocations)
    with CallRecorder() as recorder:
        result = local.run({"canary": False, **execution_input}, timeout=900)
    batch_calls: Counter[str] = Counter()
    run_calls: Counter[str] = Counter()
    listings: Counter[tuple[str, str]] = Counter()
    marker_listings: Counter[str] = Counter()
    for call, caller in zip(recorder.calls, recorder.callers, strict=True):
        if call.api in NOT_COUNTED or call.api.startswith("states:"):
            continue
        (batch_calls if caller in BATCH_FUNCTIONS else run_calls)[call.api] += 1
        if call.api == "ssm:ListResourceDataSync":
            listings[(str(call.account_id), str(call.region))] += 1
        if call.api == "s3:ListObjectsV2" and call.request is not None:
            prefix = parse_qs(urlparse(call.request.url).query).get("prefix", [""])[0]
            found = _MARKER_PREFIX.search(prefix)
            if found:
                marker_listings[found.group(1)] += 1
    assert result.report is not None, result.cause
    return Figures(
        status=result.status,
        by_status=dict(result.report["summary"]["byStatus"]),
        batch_calls=batch_calls,
        run_calls=run_calls,
        listings=listings,
        marker_listings=marker_listings,
        transitions=local.engine.times.states_entered(result.execution_arn)
        + len(local.engine.retry_sleeps) - retries_before,
        invocations=Counter(i.function_name for i in local.engine.invocations[invocations_before:]),
    )


# Runs before the module's LocalRun is entered (one LocalAws at a time per process).
def test_a_second_listing_only_where_called_for_and_a_late_marker_is_checked_again_alone() -> None:
    # GIVEN one account whose quota is full in us-east-1, a create that fails in another account's eu-west-1, and
    # an account whose marker SSM writes 30 s after the create
    with LocalRun(organization(accounts=12, quota_full=QUOTA_FULL, slow_marker=SLOW_MARKER)) as run:
        run.aws.add_fault("ssm:CreateResourceDataSync", "ResourceDataSyncAlreadyExistsException",
                          account=CREATE_FAILS_SMALL, region="eu-west-1", message="Created by someone else")
        figures = measure(run, {"targets": ["/Workloads"], "regions": REGIONS})
    # THEN only those two account-regions are listed again: the failed create lists both ways before deciding,
    # the full quota lists SyncFromSource too
    twice = {key: n for key, n in figures.listings.items() if n > 1}
    assert twice == {(account_id(CREATE_FAILS_SMALL), "eu-west-1"): 3, (account_id(QUOTA_FULL), "us-east-1"): 2}
    assert figures.by_status["QUOTA_EXCEEDED"] == 1
    assert sum(figures.listings.values()) == 12 * len(REGIONS) + 3
    # AND the late marker is listed again, alone: every other account's marker once, nothing reconciled twice
    slow = account_id(SLOW_MARKER)
    assert figures.marker_listings[slow] > 1
    assert {n for account, n in figures.marker_listings.items() if account != slow} == {1}
    batches = -(-12 // ACCOUNTS_PER_BATCH)
    assert figures.invocations["ReconcileSync"] == batches and figures.invocations["CheckMarker"] > batches
    assert figures.batch_calls["sts:AssumeRole"] == 12


@pytest.fixture(scope="module")
def local() -> Iterator[LocalRun]:
    with LocalRun(organization()) as run:
        yield run


@pytest.fixture(scope="module")
def first(local: LocalRun) -> Figures:
    return measure(local, {"targets": ["/Workloads"], "regions": REGIONS})


@pytest.fixture(scope="module")
def rerun(local: LocalRun, first: Figures) -> Figures:
    return measure(local, {"targets": ["/Workloads"], "regions": REGIONS})


def account_id(scenario_name: str) -> str:
    team, n = scenario_name.removeprefix("team").split("-acct")
    return f"6{int(team):05d}{int(n):06d}"


def budgeted(figures: Figures) -> dict[str, float]:
    """Calls per account-region by the children, by API, without the record each batch writes: that object is
    there until the local engine's ResultWriter writes the children's outputs (which carry the same outcomes) as
    AWS does; it costs one PutObject per batch (and one GetObject in Summarize)."""
    calls = {api: figures.per_account_region(n) for api, n in figures.batch_calls.items()}
    calls["s3:PutObject"] -= figures.per_account_region(BATCHES)
    return {api: n for api, n in calls.items() if n}


def test_first_rollout_stays_within_the_call_budget(first: Figures) -> None:
    assert first.by_status == {"CREATED": ACCOUNT_REGIONS}
    calls = budgeted(first)
    print(f"first rollout: {sum(calls.values()):.3f} calls per account-region by the children {calls}, plus "
          f"{first.per_account_region(BATCHES):.3f} for the batches' records; the run's own {dict(first.run_calls)}")
    # one AssumeRole and one marker listing per account (four regions), one listing and one create each
    assert calls == pytest.approx({
        "sts:AssumeRole": 1 / len(REGIONS),
        "s3:ListObjectsV2": 1 / len(REGIONS),
        "ssm:ListResourceDataSync": 1.0,
        "ssm:CreateResourceDataSync": 1.0,
    })
    assert sum(calls.values()) <= 2.5
    assert first.batch_calls["s3:PutObject"] == BATCHES


def test_first_rollout_stays_within_the_transition_and_invocation_budgets(first: Figures) -> None:
    transitions = first.per_account_region(first.transitions)
    invocations = first.per_account_region(sum(first.invocations.values()))
    print(f"first rollout: {transitions:.3f} transitions, {invocations:.3f} invocations per account-region "
          f"({dict(first.invocations)})")
    assert transitions <= 0.5
    assert invocations <= 0.1
    # one reconcile and one marker check per child on this happy path (the markers are written at once here)
    assert first.invocations == Counter({
        "ResolveTargets": 1, "ClaimAccountRegions": 1, "ReconcileSync": BATCHES, "CheckMarker": BATCHES,
        "ReleaseAccountRegions": 1, "Summarize": 1,
    })


def test_an_in_sync_rerun_stays_within_its_budget(rerun: Figures) -> None:
    assert rerun.by_status == {"IN_SYNC": ACCOUNT_REGIONS}
    calls = budgeted(rerun)
    print(f"in-sync rerun: {sum(calls.values()):.3f} calls per account-region by the children {calls}")
    assert calls == pytest.approx({
        "sts:AssumeRole": 1 / len(REGIONS),
        "s3:ListObjectsV2": 1 / len(REGIONS),
        "ssm:ListResourceDataSync": 1.0,
    })
    assert sum(calls.values()) <= 1.5
    assert rerun.per_account_region(rerun.transitions) <= 0.5
    assert rerun.per_account_region(sum(rerun.invocations.values())) <= 0.1


def test_the_runs_own_calls_grow_with_batches_not_with_account_regions(first: Figures, rerun: Figures) -> None:
    for figures in (first, rerun):
        # Resolve targets: the organization's pages, the adoption listing, the items file; Summarize: the records'
        # listing and one read per batch's record, the items file, the Map's manifest and result files, the report;
        # the claim and the release: the lease table read and written, the items file; Step Functions: the items file
        assert sum(figures.run_calls.values()) <= 35 + BATCHES, dict(figures.run_calls)
