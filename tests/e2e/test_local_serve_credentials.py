"""No credential in what ``orgsync local serve`` prints, nor in what its clients print (issue 14).

A rollout is driven through the server with the AWS CLI as a user would (start, follow, read the history and the
report, assume a member role and list its syncs, list the bucket) and with orgsync's ``watch`` and ``report``. The
server runs as ``orgsync local serve`` does, through ``serve_reporting_credentials``, which lists, when it stops,
every credential the simulated AWS issued: the functions' execution role sessions, the member and organization
reader role sessions the functions assumed, the sessions the client assumed, the IAM users' keys. None of them,
nor the client's own key and secret, may appear in the server's stdout or stderr or in any client's output, except
where a client asked for credentials (``sts assume-role``, ``sts get-session-token`` print what they issue).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from test_local_serve import (
    AGGREGATOR,
    AWS_CLI,
    BUCKET,
    EXECUTION_SECONDS,
    MEMBER_ROLE,
    ORGSYNC,
    PROD_PAYMENTS,
    REGION,
    REPO,
    STARTUP_SECONDS,
    _client_env,
)

from workflow.local.scenario import example_scenario_path

HERE = Path(__file__).parent
CLIENT_KEY = "AKIAORGSYNCCLIENT0001"
CLIENT_SECRET = "client/secret+that/must+not/be+printed0001"

pytestmark = pytest.mark.skipif(not Path(AWS_CLI[0]).exists(), reason="the AWS CLI (awscli) is not installed")


class Transcript:
    """Every command run against the server, with what it printed (stdout, stderr)."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.printed: list[tuple[str, str]] = []
        #: Credentials a client asked for (their commands' stdout is where they are meant to be).
        self.asked_for: list[dict[str, str]] = []

    def run(self, command: list[str], *, env: dict[str, str] | None = None, label: str = "") -> str:
        result = subprocess.run(
            command, cwd=REPO, capture_output=True, text=True, timeout=EXECUTION_SECONDS, env=env or client_env()
        )
        name = label or " ".join(command[-4:])
        self.printed.append((f"{name} (stderr)", result.stderr))
        self.printed.append((f"{name} (stdout)", result.stdout))
        return result.stdout

    def aws(self, *args: str, env: dict[str, str] | None = None) -> Any:
        out = self.run([*AWS_CLI, "--endpoint-url", self.endpoint, "--output", "json", *args], env=env)
        return json.loads(out) if out.strip() else None

    def issuing(self, *args: str, env: dict[str, str] | None = None) -> dict[str, str]:
        """An STS call whose answer is credentials: its stdout is their delivery, not a leak; kept to look for."""
        result = subprocess.run(
            [*AWS_CLI, "--endpoint-url", self.endpoint, "--output", "json", *args],
            capture_output=True,
            text=True,
            timeout=120,
            env=env or client_env(),
        )
        assert result.returncode == 0, result.stderr
        self.printed.append((f"aws {' '.join(args[:2])} (stderr)", result.stderr))
        issued = json.loads(result.stdout)["Credentials"]
        credentials = {
            "issuedTo": f"the client: aws {' '.join(args[:2])}",
            "accessKeyId": issued["AccessKeyId"],
            "secretAccessKey": issued["SecretAccessKey"],
            "sessionToken": issued["SessionToken"],
        }
        self.asked_for.append(credentials)
        return credentials


def client_env(**extra: str) -> dict[str, str]:
    return _client_env(**{"AWS_ACCESS_KEY_ID": CLIENT_KEY, "AWS_SECRET_ACCESS_KEY": CLIENT_SECRET, **extra})


def wait_for_ready(stdout: Path, process: subprocess.Popen[bytes]) -> dict[str, str]:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        lines = dict(line.partition(": ")[::2] for line in stdout.read_text().splitlines())
        if "endpoint" in lines and "stateMachineArn" in lines:
            return lines
        time.sleep(0.2)
    pytest.fail(f"the server did not print its two lines in {STARTUP_SECONDS} s: {stdout.read_text()}")


def test_no_credential_in_what_the_server_and_its_clients_print(tmp_path: Path) -> None:
    issued_file, stdout, stderr = tmp_path / "issued.json", tmp_path / "stdout", tmp_path / "stderr"
    command = [sys.executable, "-m", "serve_reporting_credentials", str(issued_file)]
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            [*command, "local", "serve", "--scenario", str(example_scenario_path()), "--port", "0"],
            cwd=REPO,
            stdout=out,
            stderr=err,
            env=client_env(PYTHONPATH=str(HERE)),
        )
    try:
        lines = wait_for_ready(stdout, process)
        endpoint, state_machine_arn = lines["endpoint"], lines["stateMachineArn"]
        transcript = Transcript(endpoint)

        # GIVEN a rollout started and followed with the AWS CLI, read back with it and with orgsync
        started = transcript.aws(
            "stepfunctions",
            "start-execution",
            "--state-machine-arn",
            state_machine_arn,
            "--name",
            "rollout-credentials",
            "--input",
            f"file://{REPO / 'docs' / 'examples' / 'rollout-input.json'}",
        )
        arn = started["executionArn"]
        deadline = time.monotonic() + EXECUTION_SECONDS
        while transcript.aws("stepfunctions", "describe-execution", "--execution-arn", arn)["status"] == "RUNNING":
            assert time.monotonic() < deadline, f"{arn} still RUNNING after {EXECUTION_SECONDS} s"
            time.sleep(0.5)
        history = transcript.aws("stepfunctions", "get-execution-history", "--execution-arn", arn)["events"]
        assert history[-1]["type"] == "ExecutionFailed"  # RolloutIncomplete: the example needs attention somewhere
        transcript.aws("stepfunctions", "list-executions", "--state-machine-arn", state_machine_arn)
        transcript.run([*AWS_CLI, "--endpoint-url", endpoint, "s3", "ls", f"s3://{BUCKET}/", "--recursive"])
        transcript.run(
            [
                *AWS_CLI,
                "--endpoint-url",
                endpoint,
                "s3",
                "cp",
                f"s3://{BUCKET}/orgsync/reports/rollout-credentials/report.json",
                "-",
            ]
        )
        transcript.run([*ORGSYNC, "watch", "--endpoint-url", endpoint, "--no-progress", "--interval", "0.2", arn])
        transcript.run([*ORGSYNC, "report", "--endpoint-url", endpoint, "--format", "json", arn])
        transcript.run([*ORGSYNC, "report", "--endpoint-url", endpoint, arn])
        # AND a member account reached as on AWS, and a session token asked for
        member = transcript.issuing(
            "sts",
            "assume-role",
            "--role-arn",
            f"arn:aws:iam::{PROD_PAYMENTS}:role/{MEMBER_ROLE}",
            "--role-session-name",
            "runbook",
        )
        member_env = client_env(
            AWS_ACCESS_KEY_ID=member["accessKeyId"],
            AWS_SECRET_ACCESS_KEY=member["secretAccessKey"],
            AWS_SESSION_TOKEN=member["sessionToken"],
        )
        syncs = transcript.aws("ssm", "list-resource-data-sync", "--region", "us-east-1", env=member_env)
        assert [s["SyncName"] for s in syncs["ResourceDataSyncItems"]] == ["org-inventory"]
        assert transcript.aws("sts", "get-caller-identity", env=member_env)["Account"] == PROD_PAYMENTS
        transcript.issuing("sts", "get-session-token")

        # WHEN the server stops (it lists what its simulated AWS issued as it does)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=120) == 0, stderr.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)

    issued: list[dict[str, str]] = json.loads(issued_file.read_text())
    # The list is what the run really used: the functions' execution role, the organization reader and member roles
    # the functions assumed, the aggregator's user, and the session the client assumed.
    issued_to = {entry["issuedTo"].split(" (")[0] for entry in issued}
    assert f"arn:aws:iam::{AGGREGATOR}:user/orgsync-local" in issued_to
    assert any(to.endswith(":role/orgsync-local-lambda") for to in issued_to), issued_to
    assert any(to.endswith(":role/OrgSyncOrganizationReader") for to in issued_to), issued_to
    member_sessions = [e for e in issued if e["issuedTo"].split(" (")[0].endswith(f":role/{MEMBER_ROLE}")]
    # the member accounts the rollout reached, each through sessions of its member role (and ours in prod-payments)
    reached = {e["issuedTo"].split(":")[4] for e in member_sessions}
    assert len(reached) >= 10, reached
    assert member["accessKeyId"] in {e["accessKeyId"] for e in member_sessions}

    secrets = {CLIENT_KEY: "the client's access key", CLIENT_SECRET: "the client's secret"}
    for entry in [*issued, *transcript.asked_for]:
        for field in ("accessKeyId", "secretAccessKey", "sessionToken"):
            if entry.get(field):
                secrets[entry[field]] = f"{field} issued to {entry['issuedTo']}"
    printed = [
        *transcript.printed,
        ("the server's stdout", stdout.read_text()),
        ("the server's stderr", stderr.read_text()),
    ]
    assert sum(len(text) for _, text in printed) > 10_000  # the history, the reports: there was much to look in
    # THEN none of them appears anywhere
    leaks = [(where, what) for where, text in printed for secret, what in secrets.items() if secret in text]
    assert leaks == []
    assert os.path.getsize(stdout) == len(f"stateMachineArn: {state_machine_arn}\nendpoint: {endpoint}\n")
    assert REGION in state_machine_arn
