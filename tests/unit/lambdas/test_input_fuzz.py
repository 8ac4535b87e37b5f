"""Fuzzing the execution input: every malformed one is refused as InvalidInput naming the field, and the CLI's
``validate --input`` says so in one line with exit 2 and no traceback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fuzzing import FUZZ, FUZZ_CLI, JSON_VALUES, malformed_inputs
from hypothesis import given

from lambdas.errors import InvalidInput
from lambdas.input import KNOWN_KEYS, key_label, validate_input
from lambdas.settings import ENV_DESTINATION_BUCKET, ENV_DESTINATION_REGION, Settings
from workflow.cli import cli

SETTINGS = Settings(destination_bucket="acme-inventory", destination_region="us-east-1")
VALID: dict[str, Any] = {
    "targets": ["r-ab12", "/Workloads/Prod"],
    "regions": ["us-east-1", "eu-west-1"],
    "destination": {"bucket": "acme-inventory", "region": "us-east-1", "prefix": "default"},
}


def test_the_valid_input_the_fuzzing_breaks_is_valid() -> None:
    assert validate_input(VALID, SETTINGS).targets == ("r-ab12", "/Workloads/Prod")


@FUZZ
@given(malformed_inputs(VALID))
def test_a_malformed_input_is_refused_naming_the_broken_field(case: tuple[dict[str, Any], str]) -> None:
    broken, field = case
    with pytest.raises(InvalidInput) as raised:
        validate_input(broken, SETTINGS)
    assert str(raised.value).startswith(f"{field}: "), (field, str(raised.value))


@FUZZ
@given(JSON_VALUES)
def test_any_json_value_is_valid_or_refused_naming_a_field(value: Any) -> None:
    # Whatever the document, the validator answers with a RolloutInput or InvalidInput, never another exception.
    try:
        validate_input(value, SETTINGS)
    except InvalidInput as exc:
        keys = KNOWN_KEYS | set(value if isinstance(value, dict) else ())
        labels = {"input"} | {key_label(key) for key in keys}
        message = str(exc)
        assert any(message.startswith((f"{label}: ", f"{label}.")) for label in labels), message


@FUZZ_CLI
@given(malformed_inputs(VALID))
def test_validate_cli_refuses_a_malformed_input_in_one_line_with_exit_2(
    tmp_path_factory: pytest.TempPathFactory, case: tuple[dict[str, Any], str]
) -> None:
    broken, field = case
    path = Path(tmp_path_factory.mktemp("input")) / "input.json"
    path.write_text(json.dumps(broken), encoding="utf-8")
    env = {ENV_DESTINATION_BUCKET: "acme-inventory", ENV_DESTINATION_REGION: "us-east-1"}

    result = CliRunner().invoke(cli, ["validate", "--input", str(path)], env=env)

    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"orgsync: error: invalid input: {field}: "), (
        field,
        result.stderr,
    )
    assert "Traceback" not in result.output
    assert result.stdout == ""
