"""A local execution's ARN can be used after the run: `report ARN` and `watch ARN` read what the run saved.
Identifiers (execution ARN, account names) are never broken, piped or at 80 columns. `--endpoint-url` and
`--interval` belong to deployed runs and are refused with `--scenario`."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from lambdas.models import Outcome, Status
from workflow.cli import cli
from workflow.console.report import Report
from workflow.local.scenario import example_scenario_path

EXAMPLE = str(example_scenario_path())
ARN = re.compile(r"arn:aws:states:[a-z0-9-]+:\d{12}:execution:orgsync:[A-Za-z0-9-]+")


def test_a_local_runs_arn_works_with_report_and_watch_and_is_printed_whole_at_80_columns(
    tmp_path: Path,
) -> None:
    # GIVEN a local run whose output is piped (CliRunner: not a terminal) on an 80-column setting
    execution_input = tmp_path / "input.json"
    execution_input.write_text(json.dumps({"targets": ["/Sandbox"], "regions": ["us-east-1"]}))
    env = {"COLUMNS": "80"}
    ran = CliRunner().invoke(cli, ["run", "--scenario", EXAMPLE, "--input", str(execution_input)], env=env)
    assert ran.exit_code == 1, ran.stderr
    # THEN the execution ARN it printed is on one line, whole
    (arn,) = set(ARN.findall(ran.stdout))
    assert any(line.endswith(arn) for line in ran.stdout.splitlines())
    assert "missing-member-role" in ran.stdout.split()  # an account name, not folded either
    # WHEN the user asks for that execution's report, and watches it, after the local engine is gone
    reported = CliRunner().invoke(cli, ["report", arn, "--format", "json"], env=env)
    watched = CliRunner().invoke(cli, ["watch", arn], env=env)
    # THEN both answer from what the run saved (no AWS credentials asked for)
    assert reported.exit_code == 1, reported.stderr
    assert (
        json.loads(reported.stdout)["summary"]
        == json.loads(CliRunner().invoke(cli, ["report", arn, "--format", "json"]).stdout)["summary"]
    )
    assert json.loads(reported.stdout)["summary"]["byStatus"]["ACCESS_DENIED"] == 1
    assert watched.exit_code == 1, watched.stderr
    assert "RolloutIncomplete" in watched.stdout and "400000000004" in watched.stdout


def test_report_of_an_unknown_local_arn_still_goes_to_aws_and_says_so_in_one_line(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    result = CliRunner().invoke(
        cli,
        [
            "report",
            "arn:aws:states:us-east-1:300000000001:execution:orgsync:never-ran",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ],
    )
    assert result.exit_code == 2 and result.stderr.count("\n") == 1, result.stderr


def test_account_names_and_identifiers_are_never_folded_in_a_piped_80_column_report(tmp_path: Path) -> None:
    # GIVEN a report with an account name and a detail naming a role ARN, both longer than a short line
    name = "an-account-name-much-longer-than-one-column-of-an-eighty-column-terminal"
    role = "arn:aws:iam::400000000004:role/a-member-role-whose-arn-is-longer-than-eighty-characters-in-all"
    outcome = Outcome("400000000004", name, "/Sandbox", "us-east-1", Status.ACCESS_DENIED, detail=f"denied: {role}")
    path = tmp_path / "report.json"
    path.write_text(json.dumps(Report.from_outcomes([outcome]).to_dict()))
    # WHEN it is printed through a pipe with COLUMNS=80
    result = CliRunner().invoke(cli, ["report", str(path)], env={"COLUMNS": "80"})
    # THEN each identifier is on one line, whole
    assert result.exit_code == 1, result.stderr
    assert name in result.stdout and role in result.stdout


@pytest.mark.parametrize("option", [["--endpoint-url", "http://localhost:5000"], ["--interval", "1"]])
def test_deployed_run_options_are_refused_with_scenario(tmp_path: Path, option: list[str]) -> None:
    execution_input = tmp_path / "input.json"
    execution_input.write_text("{}")
    result = CliRunner().invoke(cli, ["run", "--scenario", EXAMPLE, "--input", str(execution_input), *option])
    assert result.exit_code == 2
    assert result.stderr == (
        f"orgsync: error: {option[0]} applies to --state-machine-arn, not to --scenario (the local engine)\n"
    )
