"""``orgsync validate``: an execution input checked offline with the workflow's own InvalidInput messages."""

from __future__ import annotations

import json
import os
import re
import shlex
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


def test_validates_own_help_examples_work_and_name_the_variables_they_need(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in [name for name in os.environ if name.startswith("ORGSYNC_")]:
        monkeypatch.delenv(variable)
    text = CliRunner().invoke(cli, ["validate", "--help"]).stdout
    examples = [line.strip() for line in text.split("Examples:\n", 1)[1].replace("\\\n", " ").splitlines()]
    assert len(examples) == 2
    for example in examples:
        words = shlex.split(example)
        env = dict(word.split("=", 1) for word in words if "=" in word and not word.startswith("-"))
        args = [word for word in words if "=" not in word][1:]  # after "orgsync"
        result = CliRunner().invoke(cli, args, env=env)
        assert result.exit_code == 0, (example, result.stderr)
    # the one that relies on deployed defaults names the variables they come from, and needs them
    assert "ORGSYNC_DESTINATION_BUCKET=acme-inventory ORGSYNC_DESTINATION_REGION=ap-northeast-1" in examples[1]
    without = CliRunner().invoke(cli, ["validate", "--input", "docs/examples/minimal-input.json"])
    assert without.exit_code == 2 and "destination.bucket: null is required" in without.stderr


def test_every_orgsync_variable_is_listed_in_the_readme() -> None:
    root = Path(__file__).parents[2]
    used = {
        match
        for folder in ("lambdas", "workflow", "infra", "scripts")
        for path in (root / folder).rglob("*")
        if path.is_file() and path.suffix in {".py", ""}
        for match in re.findall(r"ORGSYNC_[A-Z_]+[A-Z]", path.read_text(errors="ignore"))
    }
    readme = (root / "README.md").read_text()
    listed = set(re.findall(r"^\| `(ORGSYNC_[A-Z_]+)` \|", readme, flags=re.MULTILINE))
    assert used and used <= listed, f"not in the README's table of variables: {sorted(used - listed)}"


def test_messages_show_json_values_not_python_reprs(tmp_path: Path) -> None:
    cases = [
        ({"mode": "teardown", "targets": ["/"], "regions": ["us-east-1"]}, 'confirm: null must be "teardown"'),
        ({"mode": "teardown", "confirm": True, "targets": ["/"], "regions": ["us-east-1"]}, "confirm: true must be"),
        ({"targets": ["/"], "regions": ["mars-1"]}, 'regions: "mars-1" is not'),
    ]
    for document, message in cases:
        path = tmp_path / "input.json"
        path.write_text(json.dumps(document))
        result = CliRunner().invoke(
            cli,
            ["validate", "--input", str(path)],
            env={"ORGSYNC_DESTINATION_BUCKET": "acme-inventory", "ORGSYNC_DESTINATION_REGION": "us-east-1"},
        )
        assert result.exit_code == 2 and message in result.stderr, result.stderr
