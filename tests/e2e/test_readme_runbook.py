"""The README's runbook against a local AWS endpoint, run as written: every ``$`` command of its shell session, in a
shell, against ``orgsync local serve`` of the example organization, its output compared with what the README shows.

What is not taken literally, and why: the endpoint's port (the README's 4566 may be taken; the server's own port is
put in ``E``), the member role's credentials (the README shows ``ASIA...`` placeholders: the ones the assume-role
step returned are put in their place), wall-clock values in the output (dates, the report's size), and the waits a
user makes by hand (each execution started is waited for before the next command, as the README's output was
taken after it ended). ``orgsync`` is this checkout's (``python -m workflow.cli``); ``aws`` is the AWS CLI of this
environment. Lines shown as ``...`` are cut output; a line ending in ``...`` is compared up to there.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest
from test_local_serve import AWS_CLI, REPO, _client_env, _read_ready_lines

README = (REPO / "README.md").read_text()
SECTION = README.split("## The runbook against a local AWS endpoint", 1)[1]
BLOCK = SECTION.split("```shell-session\n", 1)[1].split("```", 1)[0]
EXECUTION_SECONDS = 180

pytestmark = pytest.mark.skipif(not Path(AWS_CLI[0]).exists(), reason="the AWS CLI (awscli) is not installed")


def session_steps(block: str) -> list[tuple[str, list[str]]]:
    """The block's ``$`` commands (continuation lines joined) with the output lines shown after each."""
    steps: list[tuple[str, list[str]]] = []
    lines = block.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        assert line.startswith("$ "), f"output before any command: {line!r}"
        command = line[2:]
        while command.endswith("\\"):
            index += 1
            command = command[:-1] + " " + lines[index].strip()
        index += 1
        shown = []
        while index < len(lines) and not lines[index].startswith("$ "):
            shown.append(lines[index])
            index += 1
        steps.append((command, shown))
    return steps


_WALL_CLOCK = [
    (re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}"), "<date>"),
    (re.compile(r'"startDate": [\d.]+'), '"startDate": <date>'),
    (re.compile(r"<date>\s+\d+ report\.json"), "<date> <size> report.json"),
]


def normalized(line: str) -> str:
    for pattern, replacement in _WALL_CLOCK:
        line = pattern.sub(replacement, line)
    return line.rstrip()


def assert_shows(command: str, shown: list[str], printed: str) -> None:
    """Every shown line (but ``...``) is printed, in order; a line ending in ``...`` matches what it starts with."""
    actual = [normalized(line) for line in printed.splitlines()]
    position = 0
    for line in shown:
        expected = normalized(line)
        if expected == "...":
            continue
        prefix = expected.endswith("...")
        want = expected[:-3] if prefix else expected
        for at in range(position, len(actual)):
            if actual[at].startswith(want) if prefix else actual[at] == want:
                position = at + 1
                break
        else:
            raise AssertionError(f"{command}\nshown: {line!r}\nnot printed (in order) in:\n{printed}")


def test_the_readme_runbook_runs_as_written(tmp_path: Path) -> None:
    steps = session_steps(BLOCK)
    serve_command, serve_shown = steps[0]
    assert serve_command == "orgsync local serve --scenario workflow/scenarios/example.json &"
    # The commands name files relative to the repository; out.json is written where they run: not in the checkout.
    for name in ("docs", "tests", "workflow"):
        (tmp_path / name).symlink_to(REPO / name)
    process = subprocess.Popen(
        [sys.executable, "-m", "workflow.cli", *shlex.split(serve_command.rstrip("&"))[1:], "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_client_env(),
    )
    try:
        ready = _read_ready_lines(process, 90)
        assert f"stateMachineArn: {ready['stateMachineArn']}" == serve_shown[0]
        endpoint = ready["endpoint"]
        assert serve_shown[1] == "endpoint: http://127.0.0.1:4566"
        run_steps(steps[1:], endpoint, tmp_path)
    finally:
        process.terminate()
        process.wait(timeout=60)


def run_steps(steps: list[tuple[str, list[str]]], endpoint: str, cwd: Path) -> None:
    python = shlex.quote(sys.executable)
    prelude = f"orgsync() {{ {python} -m workflow.cli \"$@\"; }}\n"
    env = {key: value for key, value in _client_env().items() if not key.startswith("AWS_")}
    env.update(
        PATH=f"{Path(AWS_CLI[0]).parent}{os.pathsep}{os.environ['PATH']}",
        PYTHONPATH=str(REPO),  # `python -m workflow.cli` run from elsewhere imports this checkout
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        COLUMNS="200",
    )
    exported = ""
    member: dict[str, str] = {}
    ran = 0
    for command, shown in steps:
        if command.startswith(("export ", "E=", "X=")):
            # the session's variables, the endpoint being the server's own
            exported += command.replace("http://127.0.0.1:4566", endpoint) + "\n"
            continue
        line = command
        if "ASIA..." in line:
            assert member, "the member credentials are used before the assume-role step"
            line = (
                line.replace("ASIA...", member["AccessKeyId"], 1)
                .replace("AWS_SECRET_ACCESS_KEY=...", f"AWS_SECRET_ACCESS_KEY={member['SecretAccessKey']}", 1)
                .replace("AWS_SESSION_TOKEN=...", f"AWS_SESSION_TOKEN={member['SessionToken']}", 1)
            )
        result = subprocess.run(
            ["bash", "-c", prelude + exported + line],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=EXECUTION_SECONDS,
        )
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        assert_shows(command, shown, result.stdout)
        if "sts assume-role" in line:
            member = json.loads(result.stdout)["Credentials"]
        if "start-execution" in line:
            wait_for_end(endpoint, line)
        ran += 1
    assert ran >= 12


def wait_for_end(endpoint: str, command: str) -> None:
    """Wait until the execution the command started has ended (the README's output was taken after that)."""
    name = shlex.split(command)[shlex.split(command).index("--name") + 1]
    client = boto3.client(
        "stepfunctions",
        endpoint_url=endpoint,
        region_name="ap-northeast-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    arn = f"arn:aws:states:ap-northeast-1:300000000001:execution:orgsync:{name}"
    deadline = time.monotonic() + EXECUTION_SECONDS
    while client.describe_execution(executionArn=arn)["status"] == "RUNNING":
        assert time.monotonic() < deadline, f"{name} still RUNNING after {EXECUTION_SECONDS} s"
        time.sleep(0.5)
