"""``orgsync local serve`` spoken to by clients nobody here wrote: the AWS CLI (awscli) and boto3 (issue 14).

One server process for the module (``python -m workflow.cli local serve --scenario ... --port 0``), on the
bundled example organization plus one fault on the aggregator's ``sts:GetSessionToken``. The tests drive a
rollout, a verify and a teardown with the AWS CLI and with boto3, read the outcome through both, check the wire
format of Lambda ``Invoke`` (what Step Functions Local reads through ``LAMBDA_ENDPOINT``) with recorded events
(``events/``), that the request boundary sees HTTP requests, and finally stop the server with SIGTERM. Every
wait is bounded; the server listens on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from machine_addresses import PROC_NET, connection_refused, listening_addresses, non_loopback_addresses
from record_events import event_file, objects_file

from workflow.functions import ALL_FUNCTIONS, LambdaFunction
from workflow.local.scenario import example_scenario_path

REPO = Path(__file__).resolve().parents[2]
EVENTS = Path(__file__).with_name("events")
AWS_CLI = [str(Path(sys.executable).with_name("aws"))]
ORGSYNC = [sys.executable, "-m", "workflow.cli"]  # the awscli package's script, in this venv
AGGREGATOR = "300000000001"
REGION = "ap-northeast-1"
BUCKET = "acme-inventory"
PROD_PAYMENTS = "200000000001"
REGION_DISABLED_ACCOUNT = "400000000005"  # ap-east-1 not enabled
MEMBER_ROLE = "OrgSyncMemberRole"
STARTUP_SECONDS = 90
EXECUTION_SECONDS = 180

pytestmark = pytest.mark.skipif(not Path(AWS_CLI[0]).exists(), reason="the AWS CLI (awscli) is not installed")


@dataclass
class Served:
    process: subprocess.Popen[str]
    endpoint: str
    state_machine_arn: str
    stderr: list[str]


def _read_ready_lines(process: subprocess.Popen[str], timeout: float) -> dict[str, str]:
    """The server's two lines (``stateMachineArn: ...``, ``endpoint: ...``), read within ``timeout`` seconds."""
    found: dict[str, str] = {}
    done = threading.Event()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            key, _, value = line.strip().partition(": ")
            found[key] = value
            if "endpoint" in found and "stateMachineArn" in found:
                break
        done.set()

    threading.Thread(target=read, daemon=True).start()
    done.wait(timeout)
    return found


@contextmanager
def serving(*serve_args: str) -> Iterator[Served]:
    """``orgsync local serve SERVE_ARGS --port 0`` running, once it has printed its two lines; killed on exit if
    still running. Its stderr is drained (and kept in ``Served.stderr``) so that the server never blocks on it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "workflow.cli", "local", "serve", *serve_args, "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_client_env(),
    )
    stderr: list[str] = []
    threading.Thread(target=lambda: stderr.extend(process.stderr or []), daemon=True).start()
    lines = _read_ready_lines(process, STARTUP_SECONDS)
    if "endpoint" not in lines:
        process.kill()
        process.wait(timeout=30)
        pytest.fail(f"the server did not print its two lines in {STARTUP_SECONDS} s: {lines} {''.join(stderr)}")
    try:
        yield Served(process, lines["endpoint"], lines["stateMachineArn"], stderr)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    scenario = json.loads(example_scenario_path().read_text())
    scenario["faults"].append(
        {"api": "sts:GetSessionToken", "error": "ThrottlingException", "times": 1, "account": "log-archive"}
    )
    path = tmp_path_factory.mktemp("serve") / "scenario.json"
    path.write_text(json.dumps(scenario))
    with serving("--scenario", str(path)) as server:
        yield server


def _client_env(**extra: str) -> dict[str, str]:
    """Dummy credentials, as a user who ran ``aws configure`` with any keys; nothing from this machine's AWS."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID="AKIAIOSFODNN7EXAMPLE",
        AWS_SECRET_ACCESS_KEY="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_MAX_ATTEMPTS="1",
    )
    env.update(extra)
    return env


def aws(served: Served, *args: str, env: dict[str, str] | None = None, check: bool = True) -> Any:
    """Run the AWS CLI against the server; its JSON output parsed (None when it prints nothing)."""
    result = subprocess.run(
        [*AWS_CLI, "--endpoint-url", served.endpoint, "--output", "json", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env or _client_env(),
    )
    if check:
        assert result.returncode == 0, f"aws {' '.join(args)}: {result.stderr}"
        return json.loads(result.stdout) if result.stdout.strip() else None
    return result


def orgsync(served: Served, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workflow.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=EXECUTION_SECONDS,
        env=_client_env(),
    )


def boto(served: Served, service: str, **credentials: str) -> Any:
    return boto3.Session(
        aws_access_key_id=credentials.get("key", "AKIAIOSFODNN7EXAMPLE"),
        aws_secret_access_key=credentials.get("secret", "secret"),
        aws_session_token=credentials.get("token"),
        region_name=credentials.get("region", REGION),
    ).client(
        service,  # type: ignore[call-overload]
        endpoint_url=served.endpoint,
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=10, read_timeout=120),
    )


def wait_for_end(served: Served, execution_arn: str) -> dict[str, Any]:
    deadline = time.monotonic() + EXECUTION_SECONDS
    while time.monotonic() < deadline:
        described: dict[str, Any] = aws(served, "stepfunctions", "describe-execution", "--execution-arn", execution_arn)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.5)
    pytest.fail(f"{execution_arn} still RUNNING after {EXECUTION_SECONDS} s")


def start(served: Served, name: str, input_file: str) -> str:
    started = aws(
        served,
        "stepfunctions",
        "start-execution",
        "--state-machine-arn",
        served.state_machine_arn,
        "--name",
        name,
        "--input",
        f"file://{REPO / 'docs' / 'examples' / input_file}",
    )
    return str(started["executionArn"])


def member_credentials(served: Served, account_id: str) -> dict[str, str]:
    """``aws sts assume-role`` into the account's member role, as a user does."""
    issued = aws(
        served,
        "sts",
        "assume-role",
        "--role-arn",
        f"arn:aws:iam::{account_id}:role/{MEMBER_ROLE}",
        "--role-session-name",
        "runbook",
    )["Credentials"]
    return {
        "AWS_ACCESS_KEY_ID": issued["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": issued["SecretAccessKey"],
        "AWS_SESSION_TOKEN": issued["SessionToken"],
    }


# --- the tests, in the order a user would go --------------------------------------------------------------------


def test_the_fault_boundary_answers_http_requests_and_any_key_acts_as_the_aggregator(served: Served) -> None:
    # GIVEN a scenario fault on the aggregator's first sts:GetSessionToken
    # WHEN the AWS CLI asks twice with keys the simulated AWS never issued
    first = aws(served, "sts", "get-session-token", check=False)
    second = aws(served, "sts", "get-session-token")
    identity = aws(served, "sts", "get-caller-identity")
    # THEN the first meets the fault, as an in-process call would, the second is answered, and the caller is the
    # aggregator's user (the fault names the caller's account: it matched because the key acts as the aggregator)
    assert first.returncode != 0
    assert "(ThrottlingException) when calling the GetSessionToken operation" in first.stderr
    assert second["Credentials"]["AccessKeyId"]
    assert identity["Account"] == AGGREGATOR
    assert identity["Arn"] == f"arn:aws:iam::{AGGREGATOR}:user/orgsync-local"


def test_rollout_with_the_aws_cli_and_its_outcome_through_both_clients(served: Served) -> None:
    arn = start(served, "rollout-serve", "rollout-input.json")
    described = wait_for_end(served, arn)
    assert (described["status"], described["error"]) == ("FAILED", "RolloutIncomplete")

    # The execution as boto3 sees it, listed and with its history.
    sfn = boto(served, "stepfunctions")
    listed = sfn.list_executions(stateMachineArn=served.state_machine_arn)["executions"]
    assert [(e["name"], e["status"]) for e in listed if e["name"] == "rollout-serve"] == [("rollout-serve", "FAILED")]
    history = aws(served, "stepfunctions", "get-execution-history", "--execution-arn", arn)["events"]
    assert history[0]["type"] == "ExecutionStarted" and history[-1]["type"] == "ExecutionFailed"

    # A member account, reached as on AWS: assume its member role, then list its syncs with those credentials.
    member = member_credentials(served, PROD_PAYMENTS)
    listed_cli = aws(served, "ssm", "list-resource-data-sync", "--region", "us-east-1", env=_client_env(**member))
    syncs = listed_cli["ResourceDataSyncItems"]
    assert [(s["SyncName"], s["S3Destination"]["BucketName"], s["LastStatus"]) for s in syncs] == [
        ("org-inventory", BUCKET, "Successful")
    ]
    ssm = boto(
        served,
        "ssm",
        key=member["AWS_ACCESS_KEY_ID"],
        secret=member["AWS_SECRET_ACCESS_KEY"],
        token=member["AWS_SESSION_TOKEN"],
        region="us-east-1",
    )
    assert ssm.list_resource_data_sync()["ResourceDataSyncItems"][0]["SyncName"] == "org-inventory"

    # The bucket: SSM's inventory of that account and orgsync's report, through `aws s3 ls` and boto3.
    listing = aws(served, "s3", "ls", f"s3://{BUCKET}/", "--recursive", check=False)
    assert listing.returncode == 0, listing.stderr
    assert f"accountid={PROD_PAYMENTS}/region=us-east-1/" in listing.stdout
    report = json.loads(
        boto(served, "s3").get_object(Bucket=BUCKET, Key="orgsync/reports/rollout-serve/report.json")["Body"].read()
    )
    by_status = report["summary"]["byStatus"]
    assert by_status["CREATED"] == 39 and by_status["REGION_DISABLED"] == 1

    # orgsync's own commands pointed at the endpoint.
    watched = orgsync(served, "watch", "--endpoint-url", served.endpoint, "--no-progress", "--interval", "0.2", arn)
    assert watched.returncode == 1, watched.stderr
    assert "rollout-serve: FAILED" in watched.stdout
    rendered = orgsync(served, "report", "--endpoint-url", served.endpoint, "--format", "json", arn)
    assert rendered.returncode == 1, rendered.stderr
    assert json.loads(rendered.stdout)["summary"]["byStatus"] == by_status


def test_guards_see_http_requests_disabled_region_and_missing_role(served: Served) -> None:
    member = member_credentials(served, REGION_DISABLED_ACCOUNT)
    refused = aws(
        served, "ssm", "list-resource-data-sync", "--region", "ap-east-1", env=_client_env(**member), check=False
    )
    assert refused.returncode != 0
    assert "UnrecognizedClientException" in refused.stderr
    assert "The security token included in the request is invalid." in refused.stderr

    denied = aws(
        served,
        "sts",
        "assume-role",
        "--role-arn",
        "arn:aws:iam::400000000004:role/OrgSyncMemberRole",  # missing-member-role: no such role
        "--role-session-name",
        "runbook",
        check=False,
    )
    assert denied.returncode != 0
    assert (
        f"User: arn:aws:iam::{AGGREGATOR}:user/orgsync-local is not authorized to perform: sts:AssumeRole on "
        "resource: arn:aws:iam::400000000004:role/OrgSyncMemberRole"
    ) in denied.stderr


def test_verify_with_boto3_then_coverage_against_the_endpoint(served: Served) -> None:
    sfn = boto(served, "stepfunctions")
    verify_input = (REPO / "docs" / "examples" / "verify-input.json").read_text()
    arn = sfn.start_execution(stateMachineArn=served.state_machine_arn, name="verify-serve", input=verify_input)[
        "executionArn"
    ]
    described = wait_for_end(served, arn)
    assert described["status"] == "FAILED" and described["error"] == "VerificationFailed"
    report = json.loads(
        boto(served, "s3").get_object(Bucket=BUCKET, Key="orgsync/reports/verify-serve/report.json")["Body"].read()
    )
    assert report["summary"]["byStatus"]["IN_SYNC"] >= 39  # what the rollout created is in place
    covered = subprocess.run(
        [sys.executable, "-m", "workflow.cli", "coverage", "--bucket", BUCKET, "--account", PROD_PAYMENTS],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        env=_client_env(AWS_ENDPOINT_URL=served.endpoint),
    )
    assert covered.returncode == 0, covered.stdout + covered.stderr
    assert "target accounts with data: 1 of 1" in covered.stdout
    assert "NOT TARGETED 200000000002: has inventory but is not among the targets" in covered.stdout


def test_teardown_with_the_aws_cli_deletes_only_ours(served: Served) -> None:
    arn = start(served, "teardown-serve", "teardown-input.json")
    described = wait_for_end(served, arn)
    report = json.loads(
        boto(served, "s3").get_object(Bucket=BUCKET, Key="orgsync/reports/teardown-serve/report.json")["Body"].read()
    )
    assert described["status"] == "SUCCEEDED", described
    statuses = {(r["accountId"], r["region"]): r["status"] for r in report["results"]}
    assert statuses[(PROD_PAYMENTS, "us-east-1")] == "DELETED"
    member = member_credentials(served, PROD_PAYMENTS)
    left = aws(served, "ssm", "list-resource-data-sync", "--region", "us-east-1", env=_client_env(**member))
    assert left["ResourceDataSyncItems"] == []
    # Another organization's sync in a Prod account is still there.
    foreign = member_credentials(served, "200000000004")
    kept = aws(served, "ssm", "list-resource-data-sync", "--region", REGION, env=_client_env(**foreign))
    assert [s["SyncName"] for s in kept["ResourceDataSyncItems"]] == ["acme-legacy-inventory"]


@pytest.mark.parametrize("function", ALL_FUNCTIONS, ids=[f.name for f in ALL_FUNCTIONS])
def test_lambda_invoke_of_each_task_function_with_a_recorded_event(
    served: Served, function: LambdaFunction, tmp_path: Path
) -> None:
    # Every function the state machine calls (a new one in ALL_FUNCTIONS fails here until its event is recorded:
    # record_events.py), in the catalogue's order: ResolveTargets first, writing the recorded run's items file that
    # ClaimAccountRegions and Summarize read; ClaimAccountRegions takes the lease ReleaseAccountRegions gives back.
    event = event_file(function)
    assert event.is_file(), f"no recorded event for {function.name}: run tests/e2e/record_events.py"
    if objects_file(function).is_file():
        # What the recorded run's Distributed Map wrote and the event names (Summarize: the Map Run's manifest and
        # result files), put where the Map would have put them.
        s3 = boto(served, "s3")
        for key, body in json.loads(objects_file(function).read_text()).items():
            s3.put_object(Bucket=BUCKET, Key=key, Body=body.encode())
    out = tmp_path / "payload.json"
    answer = aws(
        served, "lambda", "invoke", "--function-name", function.name, "--payload", f"fileb://{event}", str(out)
    )
    assert answer == {"StatusCode": 200, "ExecutedVersion": "$LATEST"}
    payload = json.loads(out.read_text())
    assert isinstance(payload, dict) and "errorType" not in payload, payload


def test_lambda_invoke_of_a_failing_function_reports_it_as_lambda_does(served: Served, tmp_path: Path) -> None:
    out = tmp_path / "payload.json"
    event = EVENTS / "resolve-targets-invalid-region.json"
    payload_arg = f"fileb://{event}"
    answer = aws(served, "lambda", "invoke", "--function-name", "ResolveTargets", "--payload", payload_arg, str(out))
    assert answer == {"StatusCode": 200, "FunctionError": "Unhandled", "ExecutedVersion": "$LATEST"}
    payload = json.loads(out.read_text())
    assert sorted(payload) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert payload["errorType"] == "InvalidInput"
    assert payload["errorMessage"].startswith('regions: "mars-north-1" is not a ')  # the input check's own words
    # The raw wire, as Step Functions Local reads it: by ARN, HTTP 200 and the X-Amz-Function-Error header.
    raw = boto(served, "lambda").invoke(
        FunctionName=f"arn:aws:lambda:{REGION}:{AGGREGATOR}:function:ResolveTargets", Payload=event.read_bytes()
    )
    assert raw["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert raw["ResponseMetadata"]["HTTPHeaders"]["x-amz-function-error"] == "Unhandled"


def test_an_unsigned_request_is_refused(served: Served) -> None:
    with socket.create_connection(("127.0.0.1", int(served.endpoint.rsplit(":", 1)[1])), timeout=10) as conn:
        conn.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        chunks = []
        while chunk := conn.recv(4096):
            chunks.append(chunk)
    answer = b"".join(chunks).decode()
    assert answer.startswith("HTTP/1.1 403")
    body = json.loads(answer.partition("\r\n\r\n")[2])
    assert body == {"__type": "MissingAuthenticationTokenException", "message": "Missing Authentication Token"}


def test_the_port_in_use_is_one_line_and_exit_2(served: Served) -> None:
    port = served.endpoint.rsplit(":", 1)[1]
    command = ["local", "serve", "--scenario", str(example_scenario_path()), "--port", port]
    result = subprocess.run(
        [sys.executable, "-m", "workflow.cli", *command],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"orgsync: error: port {port} on 127.0.0.1 is already in use (give another --port)\n"


def test_an_unreadable_scenario_is_one_line_and_exit_2(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    result = subprocess.run(
        [sys.executable, "-m", "workflow.cli", "local", "serve", "--scenario", str(broken), "--port", "0"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.startswith("orgsync: error: --scenario: broken.json: not valid JSON: ")
    assert result.stderr.count("\n") == 1


@pytest.mark.skipif(not PROC_NET.is_dir(), reason="reads the listening sockets from Linux's /proc/net: not Linux")
def test_it_listens_on_loopback_only(served: Served) -> None:
    port = int(served.endpoint.rsplit(":", 1)[1])
    # GIVEN the server's own sockets: it listens on 127.0.0.1 and nothing else (no 0.0.0.0, no IPv6 socket)
    assert listening_addresses(served.process.pid) == {("127.0.0.1", port)}
    # WHEN a client connects to the machine's other addresses on that port
    others = non_loopback_addresses()
    if not others:
        pytest.skip("this machine has no address but loopback (/proc/net/fib_trie, /proc/net/if_inet6)")
    # THEN every connection is refused, while loopback is answered
    assert {address: connection_refused(address, port) for address in others} == dict.fromkeys(others, True)
    assert not connection_refused("127.0.0.1", port)


def test_ctrl_c_stops_a_server_promptly_with_exit_0_and_nothing_left(tmp_path: Path) -> None:
    # Ctrl-C in a terminal sends SIGINT to the foreground process group: the server runs in a group of its own.
    process = subprocess.Popen(
        [*ORGSYNC, "local", "serve", "--scenario", str(example_scenario_path()), "--port", "0"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_client_env(),
        start_new_session=True,
    )
    try:
        lines = _read_ready_lines(process, STARTUP_SECONDS)
        assert "endpoint" in lines, f"the server did not print its two lines in {STARTUP_SECONDS} s: {lines}"
        port = int(lines["endpoint"].rsplit(":", 1)[1])
        assert aws(Served(process, lines["endpoint"], "", []), "sts", "get-caller-identity")["Account"] == AGGREGATOR
        began = time.monotonic()
        os.killpg(process.pid, signal.SIGINT)
        code = process.wait(timeout=30)
        stderr = process.stderr.read() if process.stderr else ""
        assert code == 0, stderr
        assert time.monotonic() - began < 15
        assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=5)
        with pytest.raises(ProcessLookupError):  # no process of the server's group is left
            os.killpg(process.pid, 0)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def test_sigterm_stops_the_server_promptly_with_exit_0(served: Served) -> None:
    # Runs last (file order): the server stops for good.
    with pytest.raises(ClientError):  # still answering before: a missing execution is AWS's error, not a refusal
        boto(served, "stepfunctions").describe_execution(
            executionArn=f"arn:aws:states:{REGION}:{AGGREGATOR}:execution:orgsync:no-such-execution"
        )
    began = time.monotonic()
    served.process.send_signal(signal.SIGTERM)
    code = served.process.wait(timeout=30)
    assert code == 0, "".join(served.stderr)
    assert time.monotonic() - began < 15
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", int(served.endpoint.rsplit(":", 1)[1])), timeout=5)
