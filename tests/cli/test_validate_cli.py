"""``orgsync validate``: an execution input checked offline with the workflow's own InvalidInput messages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lambdas.errors import InvalidInput
from lambdas.input import validate_input
from lambdas.settings import Settings
from workflow.cli import cli

VALID = {
    "targets": ["/Workloads/Prod", "200000000001"],
    "regions": ["us-east-1", "eu-west-1"],
    "destination": {"bucket": "acme-inventory", "region": "us-east-1", "prefix": "default"},
}


def run(tmp_path: Path, document: Any, env: dict[str, str] | None = None) -> Any:
    path = tmp_path / "input.json"
    path.write_text(json.dumps(document))
    return CliRunner().invoke(cli, ["validate", "--input", str(path)], env=env or {})


def test_a_valid_input_exits_0(tmp_path: Path) -> None:
    result = run(tmp_path, VALID)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().endswith("input.json: valid")


def test_deployed_defaults_come_from_the_lambdas_environment_variables(tmp_path: Path) -> None:
    minimal = {"targets": ["r-ab12"], "regions": ["us-east-1"]}
    refused = run(tmp_path, minimal, env={"ORGSYNC_DESTINATION_BUCKET": "", "ORGSYNC_DESTINATION_REGION": ""})
    assert refused.exit_code == 2
    assert "destination.bucket" in refused.stderr
    env = {"ORGSYNC_DESTINATION_BUCKET": "acme-inventory", "ORGSYNC_DESTINATION_REGION": "us-east-1"}
    assert run(tmp_path, minimal, env=env).exit_code == 0


@pytest.mark.parametrize(
    "change",
    [
        {"regions": ["mars-1"]},
        {"targets": []},
        {"syncName": "x" * 65},
        {"mode": "explode"},
        {"onConflict": "overwrite"},
        {"excludeAccounts": ["12"]},
        {"destination": {"bucket": "Bad_Bucket", "region": "us-east-1"}},
        {"colour": "blue"},
    ],
)
def test_the_message_is_the_workflows_invalid_input_message(tmp_path: Path, change: dict[str, Any]) -> None:
    document = {**VALID, **change}
    with pytest.raises(InvalidInput) as expected:
        validate_input(document, Settings.from_env({}))
    result = run(tmp_path, document, env={"ORGSYNC_DESTINATION_BUCKET": "", "ORGSYNC_DESTINATION_REGION": ""})
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"orgsync: error: invalid input: {' '.join(str(expected.value).split())}\n"


def test_not_an_object_and_not_json_and_missing(tmp_path: Path) -> None:
    assert "must hold a JSON object, not list" in run(tmp_path, [1, 2]).stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    result = CliRunner().invoke(cli, ["validate", "--input", str(bad)])
    assert result.exit_code == 2 and "is not valid JSON" in result.stderr
    missing = CliRunner().invoke(cli, ["validate", "--input", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2
    assert missing.stderr == f"orgsync: error: input file '{tmp_path / 'nope.json'}' does not exist\n"
