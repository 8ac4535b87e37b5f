"""Every error is one line on stderr, exit 2, no traceback (``--debug`` shows it); every --help has an example."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from workflow.cli import cli, exit_code_for

COMMANDS = [
    "demo",
    "run",
    "watch",
    "report",
    "graph",
    "validate",
    "local",
    *(["coverage"] if "coverage" in cli.commands else []),
]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_an_example(command: str) -> None:
    result = CliRunner().invoke(cli, [command, "--help"])
    assert result.exit_code == 0
    assert "Examples:" in result.output
    assert f"  orgsync {command}" in result.output


def test_top_level_help_lists_the_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in COMMANDS:
        assert f"  {command} " in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--scenario", "x.json"], "Missing option '--input'"),
        (["frobnicate"], "No such command 'frobnicate'"),
        (["report", "x", "--format", "pdf"], "Invalid value for '--format'"),
        (["run", "--input", "i.json"], "no local state in"),
        (
            ["run", "--input", "i.json", "--scenario", "s.json", "--state-machine-arn", "x"],
            "--state-machine-arn runs on AWS",
        ),
    ],
)
def test_usage_errors_are_one_line_exit_2(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stderr.startswith("orgsync: error: ") and message in result.stderr
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    args = ["validate", "--input", str(tmp_path / "nope.json")]
    quiet = CliRunner().invoke(cli, args)
    loud = CliRunner().invoke(cli, ["--debug", *args])
    assert "Traceback" not in quiet.stderr
    assert "Traceback" in loud.stderr and loud.exit_code == 2


def test_the_console_script_in_a_subprocess_is_one_line(tmp_path: Path) -> None:
    # The installed entry point (workflow.cli:main), as a user runs it.
    proc = subprocess.run(
        [sys.executable, "-m", "workflow.cli", "validate", "--input", str(tmp_path / "nope.json")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == f"orgsync: error: input file '{tmp_path / 'nope.json'}' does not exist\n"


@pytest.mark.parametrize(
    ("status", "error", "code"),
    [
        ("SUCCEEDED", None, 0),
        ("FAILED", "RolloutIncomplete", 1),
        ("FAILED", "VerificationFailed", 1),
        ("FAILED", "TeardownIncomplete", 1),
        ("FAILED", "InvalidInput", 2),
    ],
)
def test_exit_codes_of_a_finished_execution(status: str, error: str | None, code: int) -> None:
    assert exit_code_for(status, error) == code


def test_an_execution_that_fails_without_a_report_is_one_line_and_exit_1(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN an execution that crashed (a Lambda bug: States.Runtime), not one that refused its input
    from workflow.console import local
    from workflow.runs import ExecutionResult

    arn = "arn:aws:states:us-east-1:1:execution:orgsync:x"

    def crashed(self: local.LocalBackend, execution_arn: str) -> ExecutionResult:
        return ExecutionResult(execution_arn, "FAILED", None, "States.Runtime", "KeyError: 'run'")

    monkeypatch.setattr(local.LocalBackend, "__enter__", lambda self: self)
    monkeypatch.setattr(local.LocalBackend, "start", lambda self, execution_input, name=None: arn)
    monkeypatch.setattr(local.LocalBackend, "follow", lambda self, *_: None)
    monkeypatch.setattr(local.LocalBackend, "finish", crashed)
    result = CliRunner().invoke(cli, ["demo"])
    assert result.exit_code == 1
    assert result.stderr == (
        "orgsync: error: the execution ended FAILED (States.Runtime) without a report: KeyError: 'run'\n"
    )
