"""``run --state-machine-arn``, ``report EXECUTION_ARN`` and ``watch`` on a deployed state machine.

"Deployed" here is orgsync's real definition and Lambdas on the local engine (:class:`LocalRun`): the CLI
reaches it with plain boto3 clients and the aggregator account's credentials, exactly as it reaches AWS.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from workflow.cli import cli
from workflow.local.runner import LocalRun
from workflow.local.scenario import example_scenario_path, load_scenario

REGIONS = ["ap-northeast-1", "us-east-1"]


@pytest.fixture(scope="module")
def local() -> Iterator[LocalRun]:
    with LocalRun(load_scenario(example_scenario_path())) as run:
        yield run


@pytest.fixture
def env(local: LocalRun) -> dict[str, str]:
    credentials = local.aws.credentials(local.scenario.aggregator.account_id)
    return {
        "AWS_ACCESS_KEY_ID": credentials["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": credentials["aws_secret_access_key"],
        "AWS_DEFAULT_REGION": local.scenario.aggregator.region,
        "COLUMNS": "120",
    }


def write(tmp_path: Path, document: dict[str, Any]) -> str:
    path = tmp_path / "input.json"
    path.write_text(json.dumps(document))
    return str(path)


def test_run_on_a_deployed_state_machine_exits_0_with_the_report(
    local: LocalRun, env: dict[str, str], tmp_path: Path
) -> None:
    execution_input = write(tmp_path, {"targets": ["/Infrastructure"], "regions": REGIONS})
    args = ["run", "--state-machine-arn", local.state_machine_arn, "--input", execution_input, "--json"]
    result = CliRunner().invoke(cli, [*args, "--interval", "0.05"], env=env)
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["summary"]["byStatus"] == {"CREATED": 4}


def test_run_watch_and_report_of_an_execution_that_needs_attention(
    local: LocalRun, env: dict[str, str], tmp_path: Path
) -> None:
    # GIVEN a rollout over an OU with a foreign sync in the way, followed live
    execution_input = write(tmp_path, {"targets": ["/Workloads/Prod"], "regions": ["ap-northeast-1"]})
    args = ["run", "--state-machine-arn", local.state_machine_arn, "--input", execution_input, "--interval", "0.05"]
    ran = CliRunner().invoke(cli, args, env=env)
    # THEN it exits 1 with the report read back from S3 (the Fail state's cause names it)
    assert ran.exit_code == 1, ran.stderr
    assert "CONFLICT (1)" in ran.stdout and "FAILED (RolloutIncomplete)" in ran.stdout
    assert ran.stderr.startswith("Started arn:aws:states:")
    arn = ran.stderr.split()[1]
    assert "6/6" in ran.stderr  # the live view's last frame: every account-region done

    # WHEN the report is asked for by execution ARN, in every format
    as_json = CliRunner().invoke(cli, ["report", arn, "--format", "json"], env=env)
    assert as_json.exit_code == 1, as_json.stderr
    report = json.loads(as_json.stdout)
    assert report["summary"]["byStatus"] == {"CONFLICT": 1, "CREATED": 4, "IN_SYNC": 1}
    markdown = CliRunner().invoke(cli, ["report", arn, "--format", "markdown"], env=env)
    assert "## CONFLICT (1)" in markdown.stdout

    # AND watch attaches to the finished execution: the Distributed Map's items come from the outcome records
    watched = CliRunner().invoke(cli, ["watch", arn, "--interval", "0.05"], env=env)
    assert watched.exit_code == 1, watched.stderr
    rows = [line for line in watched.stdout.splitlines() if line.startswith("2000")]
    assert len(rows) == 6 and sum("CREATED" in row for row in rows) == 4
    assert "RolloutIncomplete" in watched.stdout

    # AND the report of the same run from its S3 folder is the same document
    from_s3 = CliRunner().invoke(cli, ["report", report["reportLocation"], "--format", "json"], env=env)
    assert json.loads(from_s3.stdout) == report


def test_an_input_the_deployed_workflow_refuses_is_one_line(
    local: LocalRun, env: dict[str, str], tmp_path: Path
) -> None:
    execution_input = write(tmp_path, {"targets": ["/Nowhere"], "regions": REGIONS})
    args = ["run", "--state-machine-arn", local.state_machine_arn, "--input", execution_input, "--json"]
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("orgsync: error: invalid input: targets") and result.stderr.count("\n") == 1


def test_a_malformed_state_machine_arn_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    execution_input = write(tmp_path, {"targets": ["/"], "regions": REGIONS})
    result = CliRunner().invoke(cli, ["run", "--state-machine-arn", "orgsync", "--input", execution_input], env=env)
    assert result.exit_code == 2
    assert result.stderr.startswith("orgsync: error: not a Step Functions state machine ARN: 'orgsync'")
