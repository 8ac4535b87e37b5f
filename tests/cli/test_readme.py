"""The README stays true: its statuses and actions are the code's, its example output is what a run prints,
and the commands it shows exist with the options it uses (and run, where they need no AWS account)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from lambdas.models import Status
from lambdas.statuses import PENDING_ACTION, STATUSES
from workflow.cli import cli

ROOT = Path(__file__).parents[2]
README = (ROOT / "README.md").read_text()
EXECUTION_NAME = re.compile(r"orgsync-[0-9a-f]{12}")


def flat(text: str) -> str:
    return " ".join(text.split())


def console_commands() -> list[str]:
    """Every ``orgsync ...`` command in the README's console blocks (continuation lines joined)."""
    commands = []
    for block in re.findall(r"```console\n(.*?)```", README, flags=re.S):
        lines = block.replace("\\\n", " ").splitlines()
        prompted = any(line.startswith("$ ") for line in lines)  # then the other lines are output
        for line in lines:
            if prompted and not line.startswith("$ "):
                continue
            line = line.removeprefix("$ ").strip()
            if line.startswith("orgsync "):
                commands.append(line)
    return commands


@pytest.mark.parametrize("status", list(Status))
def test_every_status_and_its_action_are_in_the_readme(status: Status) -> None:
    assert f"| `{status}` |" in README
    assert flat(STATUSES[status].action) in flat(README)


def test_the_pending_marker_action_is_in_the_readme() -> None:
    assert flat(PENDING_ACTION) in flat(README)


def test_the_readme_shows_the_two_newcomer_commands_and_they_exist() -> None:
    assert "```console\n./scripts/demo\n```" in README and "```console\n./scripts/test\n```" in README
    for script in ("scripts/demo", "scripts/test"):
        assert (ROOT / script).stat().st_mode & 0o111, f"{script} is not executable"
    assert "./scripts/test" in (ROOT / ".ci" / "run").read_text()
    assert "orgsync demo" in (ROOT / "scripts" / "demo").read_text()


def test_the_picture_and_the_linked_docs_exist() -> None:
    for link in re.findall(r"\]\(((?:docs|infra|workflow)/[^)#]+)\)", README):
        assert (ROOT / link).exists(), link


@pytest.mark.parametrize("command", [c for c in console_commands() if "REGION:ACCOUNT" in c or "ARN" in c])
def test_aws_commands_use_existing_commands_and_options(command: str) -> None:
    # They need an AWS account: check that the command and its options exist (click parses left to right).
    args = [a for a in shlex.split(command.split(">")[0])[1:] if not ("REGION:ACCOUNT" in a and ":execution:" in a)]
    result = CliRunner().invoke(cli, [*args, "--help"])
    assert result.exit_code == 0, result.output


def test_the_local_commands_run_as_shown(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    local = [c for c in console_commands() if not ("REGION:ACCOUNT" in c or "ARN" in c or " demo" in c)]
    assert any(c.startswith("orgsync validate") for c in local) and any(c.startswith("orgsync report") for c in local)
    ran = 0
    for command in local:
        if command.startswith("orgsync run") and "rollout-input.json" in command and "--json" not in command:
            continue  # the example run: checked against its output below
        words = command.split(">")
        args = shlex.split(words[0])[1:]
        # files the README writes go to a temporary folder instead of the repository
        args = [str(tmp_path / a) if a in {"report.json", "report.md"} else a for a in args]
        args = [str(tmp_path / "sm.svg") if a == "docs/img/state-machine.svg" else a for a in args]
        if args[0] == "report" and not (tmp_path / "report.json").exists():
            run = [
                "run",
                "--scenario",
                "workflow/scenarios/example.json",
                "--input",
                "docs/examples/rollout-input.json",
                "--json",
            ]
            produced = CliRunner().invoke(cli, run)
            (tmp_path / "report.json").write_text(produced.stdout)
        result = CliRunner().invoke(cli, args)
        assert result.exit_code in (0, 1), (command, result.output)
        ran += 1
    assert ran >= 5


def test_the_example_run_prints_what_the_readme_shows() -> None:
    block = README.split("<!-- example-run:start -->")[1].split("<!-- example-run:end -->")[0]
    command = block.splitlines()[2].removeprefix("$ ")
    assert command.startswith("orgsync run --scenario workflow/scenarios/example.json")
    result = CliRunner().invoke(cli, shlex.split(command)[1:], env={"COLUMNS": "110"}, catch_exceptions=False)
    assert result.exit_code == 1
    assert "$ echo $?\n1\n" in block
    shown = "\n".join(line.rstrip() for line in block.splitlines())
    printed = "\n".join(line.rstrip() for line in result.stdout.rstrip("\n").splitlines())
    assert EXECUTION_NAME.sub("orgsync-<name>", printed) in EXECUTION_NAME.sub("orgsync-<name>", shown), (
        "the README's example run is stale: python -m workflow.console.readme_example"
    )
