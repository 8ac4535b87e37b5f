"""The destination check and the canary, end to end on the local engine: a broken bucket policy stops the rollout
before any member account is touched, with the statements to add; a good one lets it fan out, the canary reported
once."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from call_recording import CallRecorder

from lambdas.errors import CanaryFailed, DestinationPolicyIncomplete
from workflow.local.runner import LocalRun
from workflow.local.scenario import Scenario, example_scenario_path, load_scenario

HOME_REGIONS = ["ap-northeast-1", "us-east-1"]
LOG_ARCHIVE = "300000000001"  # the aggregator's account (its bucket is in ap-northeast-1)
SECURITY_TOOLING = "300000000002"
NETWORK_HUB = "500000000001"
MARKER_DELAYED = "200000000014"
MARKER_NEVER = "200000000015"
TARGETS = ["/Infrastructure", "/Security"]
ORG_STATEMENT = '"aws:SourceOrgID": "o-acme0demo1"'


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(example_scenario_path())


@pytest.fixture
def local(scenario: Scenario) -> Iterator[LocalRun]:
    with LocalRun(scenario) as run:
        yield run


def creates(recorder: CallRecorder) -> list[tuple[str, str]]:
    """(account, region) of every CreateResourceDataSync, in call order."""
    return [(c.account_id, c.region) for c in recorder.calls if c.api == "ssm:CreateResourceDataSync"]


def syncs(local: LocalRun, account_id: str, region: str) -> list[str]:
    return local.aws.sync_names(account_id, region)


def test_broken_bucket_policy_stops_the_rollout_before_any_account_with_the_statements_to_add(local: LocalRun) -> None:
    local.aws.set_bucket_policy("none")
    with CallRecorder() as recorder:
        result = local.run({"targets": TARGETS, "regions": HOME_REGIONS})

    assert (result.status, result.error) == ("FAILED", DestinationPolicyIncomplete.__name__)
    message = result.cause_message() or ""
    assert "Add to the bucket policy of acme-inventory" in message
    assert '"Resource": "arn:aws:s3:::acme-inventory/default/*/accountid=*/*"' in message
    assert ORG_STATEMENT in message
    # No member account was touched: no role assumed into one, no sync call at all.
    assert not [c for c in recorder.calls if c.service == "ssm"]
    assert not [c for c in recorder.calls if c.api == "sts:AssumeRole" and "OrgSyncMemberRole" in c.form()["RoleArn"]]
    assert all(syncs(local, account, region) == [] for account in (LOG_ARCHIVE, NETWORK_HUB) for region in HOME_REGIONS)


def test_ssm_refusing_the_canary_stops_the_rollout_with_the_statements_and_no_other_account_touched(
    local: LocalRun,
) -> None:
    # GIVEN a policy S3 already shows, but SSM still sees the previous (missing) one: the static check passes,
    # only the canary can tell.
    local.aws.set_bucket_policy("none")
    local.aws.set_bucket_policy("source-org-id", propagation_seconds=3600)
    with CallRecorder() as recorder:
        result = local.run({"targets": TARGETS, "regions": HOME_REGIONS})

    assert (result.status, result.error) == ("FAILED", CanaryFailed.__name__)
    assert result.cause is not None
    assert f"the canary {LOG_ARCHIVE} ap-northeast-1 could not prove SSM writes" in result.cause
    assert "S3 write failed" in result.cause and ORG_STATEMENT in result.cause
    assert "The rollout stopped before any other account-region" in result.cause
    # Only the canary's account-region was ever asked to create a sync (its retries included).
    created = creates(recorder)
    assert created and set(created) == {(LOG_ARCHIVE, "ap-northeast-1")}
    assert not [c for c in recorder.calls if c.service == "ssm" and c.account_id != LOG_ARCHIVE]
    # The canary's failure is recorded like any outcome; nothing else was.
    outcomes = local.outcomes(result.execution_name)
    assert [(o.accountId, o.region, str(o.status)) for o in outcomes] == [(LOG_ARCHIVE, "ap-northeast-1", "FAILED")]


def test_marker_that_never_comes_stops_the_rollout_at_the_named_canary(local: LocalRun) -> None:
    with CallRecorder() as recorder:
        result = local.run({
            "targets": [MARKER_DELAYED, MARKER_NEVER], "regions": ["ap-northeast-1"], "markerTimeoutSeconds": 300,
            "canary": {"accountId": MARKER_NEVER, "region": "ap-northeast-1"},
        })

    assert (result.status, result.error) == ("FAILED", CanaryFailed.__name__)
    assert result.cause is not None and "markerTimeoutSeconds=300" in result.cause
    assert creates(recorder) == [(MARKER_NEVER, "ap-northeast-1")]
    assert syncs(local, MARKER_DELAYED, "ap-northeast-1") == []
    assert local.clock.elapsed >= 300


def test_good_policy_the_canary_passes_first_and_is_reported_once(local: LocalRun) -> None:
    with CallRecorder() as recorder:
        result = local.run({"targets": TARGETS, "regions": HOME_REGIONS})

    assert result.succeeded, result.cause
    created = creates(recorder)
    # The aggregator's own account-region first, then the Map's seven, none twice.
    assert created[0] == (LOG_ARCHIVE, "ap-northeast-1")
    assert sorted(created) == sorted(set(created)) and len(created) == 8
    assert result.output is not None and result.output["summary"]["byStatus"] == {"CREATED": 8}
    reported = [(r["accountId"], r["region"]) for r in result.output["results"]]
    assert reported.count((LOG_ARCHIVE, "ap-northeast-1")) == 1 and len(reported) == 8
    assert all(r["verification"] == "VERIFIED" for r in result.output["results"])


def test_canary_false_skips_the_check_and_the_canary(local: LocalRun) -> None:
    # The per-account-region path as before: every account-region fails on its own.
    local.aws.set_bucket_policy("none")
    result = local.run({"targets": ["/Infrastructure"], "regions": ["ap-northeast-1"], "canary": False})

    assert (result.status, result.error) == ("FAILED", "RolloutIncomplete")
    assert result.report is not None and result.report["summary"]["byStatus"] == {"FAILED": 2}


def test_read_only_modes_run_no_canary(local: LocalRun) -> None:
    local.aws.set_bucket_policy("none")
    with CallRecorder() as recorder:
        plan = local.run({"mode": "plan", "targets": ["/Infrastructure"], "regions": ["ap-northeast-1"]})
    assert plan.succeeded, plan.cause
    assert not creates(recorder)
    assert not [c for c in recorder.calls if c.api == "s3:GetBucketPolicy"]


def test_named_canary_outside_the_targets_is_invalid_input(local: LocalRun) -> None:
    result = local.run({"targets": ["/Infrastructure"], "regions": ["ap-northeast-1"],
                        "canary": {"accountId": SECURITY_TOOLING, "region": "ap-northeast-1"}})

    assert (result.status, result.error) == ("FAILED", "InvalidInput")
    expected = json.dumps({"accountId": SECURITY_TOOLING, "region": "ap-northeast-1"})
    assert (result.cause_message() or "").startswith(f"canary: {expected} is not an ACTIVE target account-region")
