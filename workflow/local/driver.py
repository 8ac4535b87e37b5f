"""Drives executions through a Step Functions API endpoint with boto3: the local engine, or any other one.

Nothing here knows about moto: :class:`StepFunctionsDriver` takes a boto3 ``stepfunctions`` client, so the same
test can run against the local engine (``LocalEngine.driver()``), AWS Step Functions Local, LocalStack or real AWS.

Setting the environment variable ``ORGSYNC_SFN_ENDPOINT_URL`` (e.g. ``http://localhost:8083``) makes
:func:`remote_driver` return a driver for that endpoint (region from ``AWS_DEFAULT_REGION``, ``us-east-1`` by
default); tests that need in-process features of the local engine (Python handlers, the virtual clock) skip
with a reason when it is set (see :func:`remote_endpoint_url`).

A moto server (``moto_server -p 5000``) answers as such an endpoint once two things are true: boto3 finds
credentials (any value: ``AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing``), and the server has been told to
run executions, which it does not by default (its executions would stay RUNNING): POST
``{"stepfunctions": {"execute_state_machine": true}}`` to ``/moto-api/config`` before creating a state machine
(:func:`enable_moto_server_executions`). ``moto_server`` sets ``MOTO_PORT`` to its own port itself.

Example::

    >>> import boto3
    >>> client = boto3.client("stepfunctions", region_name="us-east-1")
    >>> driver = StepFunctionsDriver(client)
    >>> driver.poll_interval
    0.01
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
import uuid
from typing import Any

import boto3

from workflow.runs import TERMINAL_STATUSES, ExecutionResult, fetch_history, result_from_description

__all__ = [
    "ENDPOINT_ENV",
    "ExecutionDidNotFinish",
    "ExecutionResult",
    "NoEndpointCredentials",
    "StepFunctionsDriver",
    "enable_moto_server_executions",
    "remote_driver",
]

#: The environment variable that points the driver (and the tests) at another Step Functions endpoint.
ENDPOINT_ENV = "ORGSYNC_SFN_ENDPOINT_URL"


class ExecutionDidNotFinish(TimeoutError):
    """An execution was still running when the driver stopped waiting for it."""


class StepFunctionsDriver:
    """Deploys state machines and runs executions through a boto3 Step Functions client.

    Example::

        driver = engine.driver()
        arn = driver.deploy("demo", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}, role_arn)
        result = driver.run(arn, {"x": 1})
        assert result.succeeded and result.output == {"x": 1}
    """

    def __init__(self, client: Any, *, poll_interval: float = 0.01, max_poll_interval: float = 0.25) -> None:
        self.client = client
        #: Real seconds between polls at first; the interval doubles up to ``max_poll_interval``.
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval

    def deploy(self, name: str, definition: dict[str, Any] | str, role_arn: str, *, type: str = "STANDARD") -> str:
        """Create the state machine ``name``, or update its definition and role if it exists; return its ARN."""
        document = definition if isinstance(definition, str) else json.dumps(definition)
        existing = self.find_state_machine(name)
        if existing is not None:
            self.client.update_state_machine(stateMachineArn=existing, definition=document, roleArn=role_arn)
            return existing
        response = self.client.create_state_machine(name=name, definition=document, roleArn=role_arn, type=type)
        return str(response["stateMachineArn"])

    def find_state_machine(self, name: str) -> str | None:
        """The ARN of the state machine called ``name``, or None."""
        for page in self.client.get_paginator("list_state_machines").paginate():
            for machine in page["stateMachines"]:
                if machine["name"] == name:
                    return str(machine["stateMachineArn"])
        return None

    def start(self, state_machine_arn: str, execution_input: Any, *, name: str | None = None) -> str:
        """Start an execution (named ``name``, else a fresh UUID); return its ARN."""
        return str(
            self.client.start_execution(
                stateMachineArn=state_machine_arn,
                # Always named: moto's interpreter names an unnamed execution "None", so a second one collides.
                name=name or str(uuid.uuid4()),
                input=json.dumps(execution_input),
            )["executionArn"]
        )

    def wait(self, execution_arn: str, *, timeout: float = 120) -> ExecutionResult:
        """Poll until the execution ends (``timeout`` real seconds at most) and return how it ended."""
        deadline = time.monotonic() + timeout
        interval = self.poll_interval
        while True:
            description = self.client.describe_execution(executionArn=execution_arn)
            status = str(description["status"])
            if status in TERMINAL_STATUSES:
                return result_from_description(description)
            if time.monotonic() >= deadline:
                raise ExecutionDidNotFinish(f"{execution_arn} still {status} after {timeout} s")
            # Real sleeps on purpose: executions run on the engine's threads in real time.
            time.sleep(interval)
            interval = min(interval * 2, self.max_poll_interval)

    def run(
        self, state_machine_arn: str, execution_input: Any, *, name: str | None = None, timeout: float = 120
    ) -> ExecutionResult:
        """Start an execution and wait for its end."""
        return self.wait(self.start(state_machine_arn, execution_input, name=name), timeout=timeout)

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        """Every history event of the execution, oldest first (:func:`workflow.runs.fetch_history`)."""
        return fetch_history(self.client, execution_arn)


def remote_endpoint_url() -> str | None:
    """The endpoint from ``ORGSYNC_SFN_ENDPOINT_URL``, or None when tests run on the in-process local engine."""
    return os.environ.get(ENDPOINT_ENV) or None


def remote_driver(endpoint_url: str | None = None, *, region: str | None = None) -> StepFunctionsDriver:
    """A driver for another Step Functions endpoint (``ORGSYNC_SFN_ENDPOINT_URL`` by default).

    Example::

        driver = remote_driver("http://localhost:8083")  # AWS Step Functions Local
    """
    url = endpoint_url or remote_endpoint_url()
    if url is None:
        raise ValueError(f"no endpoint URL given and {ENDPOINT_ENV} is not set")
    region_name = region or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    session = boto3.session.Session(region_name=region_name)
    if session.get_credentials() is None:
        # botocore signs every request, a local server's too: without credentials the first call fails, deep inside.
        raise NoEndpointCredentials(
            f"{url}: boto3 finds no AWS credentials; a local endpoint accepts any: "
            "export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing"
        )
    return StepFunctionsDriver(session.client("stepfunctions", endpoint_url=url))


class NoEndpointCredentials(ValueError):
    """No credentials to sign requests to another endpoint with (a local one accepts any)."""


def enable_moto_server_executions(endpoint_url: str) -> None:
    """Tell a moto server to run executions (it only records them by default); call before creating machines.

    Example::

        enable_moto_server_executions("http://127.0.0.1:5000")
    """
    request = urllib.request.Request(
        f"{endpoint_url.rstrip('/')}/moto-api/config",
        data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10):
        pass
