"""``ORGSYNC_SFN_ENDPOINT_URL`` against a moto server, as the README documents it: credentials of any value, and
the server told to run executions (POST to ``/moto-api/config``) before a state machine is created."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from workflow.local.driver import NoEndpointCredentials, enable_moto_server_executions, remote_driver

PORTABLE = (Path(__file__).parent / "templates" / "portable.json").read_text()
ROLE = "arn:aws:iam::123456789012:role/DummyRole"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def moto_server() -> Iterator[str]:
    """A fresh ``moto_server`` on a free loopback port (the one the moto[server] dependency installs)."""
    port = _free_port()
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_driver_runs_executions_on_a_configured_moto_server(
    moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the documented setup: any credentials, and executions enabled on the server
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("ORGSYNC_SFN_ENDPOINT_URL", moto_server)
    enable_moto_server_executions(moto_server)
    # WHEN the driver deploys and runs a state machine there
    driver = remote_driver()
    state_machine = driver.deploy("orgsync-portable", PORTABLE, ROLE)
    succeeded = driver.run(state_machine, {"numbers": [1, 2, 3], "fail": False}, timeout=60)
    failed = driver.run(state_machine, {"numbers": [], "fail": True}, timeout=60)
    # THEN the executions really ran, with their output, error and history
    assert succeeded.status == "SUCCEEDED" and succeeded.output == [{"n": 2}, {"n": 4}, {"n": 6}]
    assert (failed.status, failed.error, failed.cause) == ("FAILED", "InvalidInput", "asked to fail")
    history = driver.history(succeeded.execution_arn)
    assert history[0]["type"] == "ExecutionStarted" and history[-1]["type"] == "ExecutionSucceeded"


def test_without_credentials_the_driver_says_what_to_set(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(NoEndpointCredentials, match="export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing"):
        remote_driver(moto_server)


def test_without_the_server_setting_executions_never_run(moto_server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # Why the README asks for the POST: a moto server only records executions by default.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    driver = remote_driver(moto_server)
    state_machine = driver.deploy("orgsync-portable", PORTABLE, ROLE)
    execution = driver.start(state_machine, {"numbers": [1], "fail": False})
    time.sleep(1)
    described = driver.client.describe_execution(executionArn=execution)
    assert (described["status"], described.get("output")) == ("RUNNING", None)
