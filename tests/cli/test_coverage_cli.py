"""``orgsync coverage`` on AWS (moto S3) and its refusals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from workflow.cli_coverage import EXIT_NOT_COVERED, EXIT_OK, EXIT_REJECTED, coverage

BUCKET = "acme-inventory"
PROD, DEV, OLD = "200000000001", "200000000002", "200000000003"


@pytest.fixture
def s3(bucket: Any) -> Any:
    for account in (PROD, OLD):
        bucket.put_object(Bucket=BUCKET, Key=f"default/AWS:InstanceInformation/accountid={account}/test.json", Body=b"")
    tail = f"accountid={OLD}/region=us-east-1/resourcetype=ManagedInstanceInventory/i-0dead.json"
    bucket.put_object(
        Bucket=BUCKET,
        Key=f"default/AWS:InstanceInformation/{tail}",
        Body=json.dumps({"InstanceId": "i-0dead", "InstanceStatus": "Terminated"}),
    )
    return bucket


def test_json_output_is_one_document_and_exit_1_when_a_target_has_no_data(s3: Any) -> None:
    result = CliRunner().invoke(coverage, ["--bucket", BUCKET, "--account", f"{PROD}=prod", "--account", DEV, "--json"])
    assert result.exit_code == EXIT_NOT_COVERED, result.output
    data = json.loads(result.stdout)
    assert data["covered"] == [PROD] and data["notCovered"] == [DEV] and data["notTargeted"] == [OLD]
    assert data["staleInstances"][0]["instanceId"] == "i-0dead"


def test_text_output_names_each_finding_and_exit_0_when_all_covered(s3: Any) -> None:
    result = CliRunner().invoke(coverage, ["--bucket", BUCKET, "--account", f"{PROD}=prod"])
    assert result.exit_code == EXIT_OK, result.output
    assert "target accounts with data: 1 of 1" in result.output
    assert f"NOT TARGETED {OLD}" in result.output
    assert "STALE" in result.output and "InstanceStatus is Terminated" in result.output


def test_targets_from_a_report_skip_skipped_accounts(s3: Any, tmp_path: Path) -> None:
    report = {
        "results": [
            {"accountId": PROD, "accountName": "prod", "region": "us-east-1", "status": "IN_SYNC"},
            {"accountId": PROD, "accountName": "prod", "region": "eu-west-1", "status": "IN_SYNC"},
            {"accountId": DEV, "accountName": "dev", "region": "us-east-1", "status": "SKIPPED"},
        ]
    }
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    result = CliRunner().invoke(coverage, ["--bucket", BUCKET, "--from-report", str(path), "--json"])
    assert result.exit_code == EXIT_OK, result.output
    assert json.loads(result.stdout)["covered"] == [PROD]


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--account", PROD], "--bucket"),
        (["--bucket", BUCKET], "--account"),
        (["--bucket", BUCKET, "--account", "12345"], "--account"),
        (["--bucket", BUCKET, "--from-report", "/nonexistent/report.json"], "--from-report"),
        (["--bucket", "no-such-bucket", "--account", PROD], "NoSuchBucket"),
        (["--scenario", "x.json", "--bucket", BUCKET], "--scenario"),
    ],
)
def test_rejections_are_one_line_naming_the_option(s3: Any, args: list[str], named: str) -> None:
    result = CliRunner().invoke(coverage, args)
    assert result.exit_code == EXIT_REJECTED
    assert named in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


# -- on the local engine (a verify over a simulated organization) ---------------------------------------------

MINIMAL = "workflow/scenarios/minimal.yaml"


def test_local_coverage_after_a_rollout_covers_every_reachable_account(tmp_path: Path) -> None:
    # minimal.yaml: app-a and app-b get the sync; app-legacy has no member role, so nothing of it reaches the bucket
    path = tmp_path / "input.json"
    path.write_text(json.dumps({"targets": ["/Workloads"], "regions": ["us-east-1"]}))
    result = CliRunner().invoke(coverage, ["--scenario", MINIMAL, "--input", str(path), "--after-rollout", "--json"])
    assert result.exit_code == EXIT_NOT_COVERED, result.output
    data = json.loads(result.stdout)
    names = {a["accountId"]: a["accountName"] for a in data["accounts"]}
    assert sorted(names[a] for a in data["covered"]) == ["app-a", "app-b"]
    assert [names[a] for a in data["notCovered"]] == ["app-legacy"]
    app_a = next(a for a in data["accounts"] if a["accountName"] == "app-a")
    assert (app_a["instances"], app_a["regions"]) == (1, ["us-east-1"])


def test_local_coverage_without_rollout_shows_nothing_covered() -> None:
    result = CliRunner().invoke(coverage, ["--scenario", MINIMAL, "--json"])
    assert result.exit_code == EXIT_NOT_COVERED, result.output
    data = json.loads(result.stdout)
    assert data["covered"] == [] and len(data["notCovered"]) == 4  # management, app-a, app-b, app-legacy


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--scenario", "/nonexistent/scenario.yaml"], "--scenario"),
        (["--bucket", BUCKET, "--account", PROD, "--after-rollout"], "--after-rollout"),
    ],
)
def test_local_rejections_are_one_line(args: list[str], named: str) -> None:
    result = CliRunner().invoke(coverage, args)
    assert result.exit_code == EXIT_REJECTED
    assert named in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_local_input_rejected_by_the_workflow_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "input.json"
    path.write_text(json.dumps({"targets": ["/Nowhere"], "regions": ["us-east-1"]}))
    result = CliRunner().invoke(coverage, ["--scenario", MINIMAL, "--input", str(path)])
    assert result.exit_code == EXIT_REJECTED
    assert '--input: targets: OU path "/Nowhere" does not exist' in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_report_adds_which_regions_deliver_and_the_cause_of_those_that_do_not(s3: Any, tmp_path: Path) -> None:
    # GIVEN a report where prod delivers from us-east-1 but hit the quota in eu-west-1, and dev has no member role
    report = {
        "results": [
            {"accountId": PROD, "accountName": "prod", "region": "us-east-1", "status": "IN_SYNC",
             "verification": "VERIFIED"},
            {"accountId": PROD, "accountName": "prod", "region": "eu-west-1", "status": "QUOTA_EXCEEDED"},
            {"accountId": DEV, "accountName": "dev", "region": "us-east-1", "status": "ACCESS_DENIED"},
        ]
    }
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    # WHEN the coverage is read with it
    result = CliRunner().invoke(coverage, ["--bucket", BUCKET, "--from-report", str(path)])
    # THEN the partly covered account and the uncovered one name the cause, not "roll out to it"
    assert result.exit_code == EXIT_NOT_COVERED, result.output
    text = " ".join(result.output.split())
    assert (f"PARTLY {PROD} (prod): delivers from us-east-1; not from eu-west-1: the quota of five syncs is full "
            "(QUOTA_EXCEEDED)") in text
    assert (f"NOT COVERED {DEV} (dev): nothing in the bucket; us-east-1: no member role to assume, or it lacks a "
            "permission (ACCESS_DENIED)") in text
    assert "roll out to it" not in text
