"""In-process Lambdas on the local engine: accounts, context, environment, and errors as AWS surfaces them."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.iam.models import iam_backends

from lambdas import clock as lambda_clock
from lambdas import invocation
from lambdas.aws import ClientProvider
from lambdas.errors import InvalidInput, MarkerNotYetWritten
from workflow.local.driver import remote_endpoint_url
from workflow.local.engine import LocalEngine

pytestmark = pytest.mark.skipif(
    remote_endpoint_url() is not None, reason="needs the in-process local engine (Python handlers)"
)

TEMPLATES = Path(__file__).parent / "templates"
AGGREGATOR = "300000000001"
REGION = "ap-northeast-1"


def template(name: str) -> dict[str, Any]:
    return json.loads((TEMPLATES / name).read_text())


def single_task(resource: str) -> dict[str, Any]:
    return {"StartAt": "Call", "States": {"Call": {"Type": "Task", "Resource": resource, "End": True}}}


# --- handlers, referenced by dotted path like lambdas.handlers.* -------------------------------------------------


def observe(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Reports what a handler sees: the context, its environment, whose credentials its clients use."""
    identity = ClientProvider.from_environment().client("sts").get_caller_identity()
    return {
        "event": event,
        "function_name": context.function_name,
        "invoked_function_arn": context.invoked_function_arn,
        "aws_request_id": context.aws_request_id,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "setting": invocation.environment().get("ORGSYNC_SYNC_NAME"),
        "region": invocation.environment().get("AWS_REGION"),
        "caller_account": identity["Account"],
        "caller_arn": identity["Arn"],
        "lambda_now": lambda_clock.now().isoformat(),
    }


def raise_named(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Raises the orgsync error the event names (or returns the event when it names none)."""
    errors = {"MarkerNotYetWritten": MarkerNotYetWritten, "InvalidInput": InvalidInput}
    name = event.get("raise")
    if name:
        raise errors[name](f"{name} raised on purpose")
    return event


def answer_from_default_account(event: dict[str, Any], context: Any) -> str:
    return "default-account function"


# --- fixtures -----------------------------------------------------------------------------------------------------


@pytest.fixture
def aggregator_credentials(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """GIVEN moto running and default credentials of an IAM user of the aggregator account (as LocalAws sets)."""
    with mock_aws():
        backend = iam_backends[AGGREGATOR]["aws"]
        backend.create_user(REGION, "deployer")
        key = backend.create_access_key("deployer")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key.access_key_id)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key.secret_access_key)
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        yield


# --- tests --------------------------------------------------------------------------------------------------------


def test_dotted_handler_runs_in_the_function_account_with_its_environment(aggregator_credentials: None) -> None:
    # GIVEN an engine inside an active mock_aws, whose default credentials land in the aggregator account
    with LocalEngine(region=REGION) as engine:
        assert engine.account_id == AGGREGATOR
        # AND a function in the default account with the same name, which must not be the one invoked
        default_session = boto3.Session(aws_access_key_id="FOOBARKEY", aws_secret_access_key="x", region_name=REGION)
        iam = default_session.client("iam")
        role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        default_session.client("lambda").create_function(
            FunctionName="Observe",
            Runtime="python3.12",
            Role=role,
            Handler=f"{__name__}.answer_from_default_account",
            Code={"ZipFile": b"placeholder"},
        )
        function_arn = engine.create_function(
            "Observe", f"{__name__}.observe", environment={"ORGSYNC_SYNC_NAME": "org-inventory"}, timeout=300
        )
        state_machine = engine.create_state_machine(
            "observe", single_task("${ObserveArn}"), substitutions={"ObserveArn": function_arn}
        )

        # WHEN the state machine runs
        result = engine.run(state_machine, {"hello": "world"})

    # THEN the handler of the aggregator's function ran, with AWS's context, its environment and its role
    assert result.status == "SUCCEEDED", result.cause
    seen = result.output
    assert seen["event"] == {"hello": "world"}
    assert function_arn.split(":")[4] == AGGREGATOR
    assert seen["function_name"] == "Observe"
    assert seen["invoked_function_arn"] == function_arn
    assert len(seen["aws_request_id"]) == 36
    assert seen["remaining_ms"] == 300_000  # the virtual clock did not move during the call
    assert seen["setting"] == "org-inventory"
    assert seen["region"] == REGION
    assert seen["caller_account"] == AGGREGATOR
    assert ":assumed-role/orgsync-local-lambda/" in seen["caller_arn"]
    assert seen["lambda_now"] == engine.clock.now().isoformat()
    # AND the process environment was never changed: the invocation's is its own
    assert "ORGSYNC_SYNC_NAME" not in os.environ


def test_engine_account_can_be_chosen_without_credentials_there() -> None:
    # GIVEN a standalone engine (it starts its own moto) in a chosen non-default account
    with LocalEngine(account_id=AGGREGATOR, region=REGION) as engine:
        function_arn = engine.create_function("Observe", f"{__name__}.observe")
        state_machine = engine.create_state_machine(
            "observe", single_task("${ObserveArn}"), substitutions={"ObserveArn": function_arn}
        )
        # WHEN it runs
        result = engine.run(state_machine, {})
    # THEN the state machine, the function and the handler's calls are all in that account
    assert result.status == "SUCCEEDED", result.cause
    assert state_machine.split(":")[4] == AGGREGATOR
    assert result.output["caller_account"] == AGGREGATOR


def test_caught_error_and_uncaught_error_look_like_aws() -> None:
    with LocalEngine(account_id=AGGREGATOR, region=REGION) as engine:
        raise_arn = engine.create_function("Raise", f"{__name__}.raise_named")
        state_machine = engine.create_state_machine(
            "errors", template("catch_and_fail.json"), substitutions={"RaiseArn": raise_arn}
        )

        # WHEN the first task raises MarkerNotYetWritten (caught) and the second InvalidInput (not caught)
        result = engine.run(state_machine, {"first": "MarkerNotYetWritten", "second": "InvalidInput"})
        history = engine.driver().history(result.execution_arn)

    # THEN the execution failed with the second error's class name, and AWS's error payload as its cause
    assert result.status == "FAILED"
    assert result.error == "InvalidInput"
    cause = result.cause_json()
    assert cause["errorType"] == "InvalidInput"
    assert cause["errorMessage"] == "InvalidInput raised on purpose"
    assert isinstance(cause["stackTrace"], list) and "raise_named" in "".join(cause["stackTrace"])
    # AND the Catch's ResultPath received {"Error": class name, "Cause": the payload as a JSON string}
    second_input = next(
        json.loads(e["lambdaFunctionScheduledEventDetails"]["input"])
        for e in history
        if e["type"] == "LambdaFunctionScheduled" and "caught" in e["lambdaFunctionScheduledEventDetails"]["input"]
    )
    caught = second_input["caught"]
    assert set(caught) == {"Error", "Cause"}
    assert caught["Error"] == "MarkerNotYetWritten"
    caught_cause = json.loads(caught["Cause"])
    assert caught_cause["errorType"] == "MarkerNotYetWritten"
    assert caught_cause["errorMessage"] == "MarkerNotYetWritten raised on purpose"
    assert set(caught_cause) == {"errorMessage", "errorType", "requestId", "stackTrace"}
    # AND the history names the error on the LambdaFunctionFailed events, as AWS does
    failures = [e["lambdaFunctionFailedEventDetails"]["error"] for e in history if e["type"] == "LambdaFunctionFailed"]
    assert failures == ["MarkerNotYetWritten", "InvalidInput"]


def test_missing_handler_fails_like_an_import_error() -> None:
    with LocalEngine(region=REGION) as engine:
        function_arn = engine.create_function("Broken", "lambdas.no_such_module.handler")
        state_machine = engine.create_state_machine(
            "broken", single_task("${Arn}"), substitutions={"Arn": function_arn}
        )
        result = engine.run(state_machine, {})
    assert result.status == "FAILED"
    assert result.error == "Runtime.ImportModuleError"
    assert "lambdas.no_such_module" in result.cause_json()["errorMessage"]


def test_unserialisable_result_fails_with_a_marshal_error() -> None:
    with LocalEngine(region=REGION) as engine:
        function_arn = engine.create_function("Unserialisable", lambda event, context: {"when": object()})
        state_machine = engine.create_state_machine(
            "marshal", single_task("${Arn}"), substitutions={"Arn": function_arn}
        )
        result = engine.run(state_machine, {})
    assert result.status == "FAILED"
    assert result.error == "Runtime.MarshalError"


def test_map_invocations_run_concurrently_up_to_max_concurrency() -> None:
    in_flight = 0
    most = 0
    guard = threading.Lock()
    # Four invocations must be inside the handler at once to pass: serialised invocations would break the barrier.
    together = threading.Barrier(4)

    def slow(event: dict[str, Any], context: Any) -> dict[str, Any]:
        nonlocal in_flight, most
        with guard:
            in_flight += 1
            most = max(most, in_flight)
        if event["i"] < 4:
            together.wait(timeout=30)
        time.sleep(0.005)  # a real pause, so that overlapping invocations are seen
        with guard:
            in_flight -= 1
        return event

    definition = {
        "StartAt": "Each",
        "States": {
            "Each": {
                "Type": "Map",
                "MaxConcurrency": 10,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Slow",
                    "States": {"Slow": {"Type": "Task", "Resource": "${SlowArn}", "End": True}},
                },
                "End": True,
            }
        },
    }
    with LocalEngine(region=REGION) as engine:
        slow_arn = engine.create_function("Slow", slow)
        state_machine = engine.create_state_machine("concurrent", definition, substitutions={"SlowArn": slow_arn})
        result = engine.run(state_machine, [{"i": i} for i in range(30)])

    assert result.status == "SUCCEEDED", result.cause
    assert result.output == [{"i": i} for i in range(30)]
    assert 4 <= most <= 10
    assert len(engine.invocations) == 30


def sleep_on_the_lambda_clock(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Backs off on lambdas.clock, as orgsync's Lambda code does, reporting the time left before and after."""
    before = context.get_remaining_time_in_millis()
    lambda_clock.sleep(event["sleep"])
    return {"before": before, "after": context.get_remaining_time_in_millis()}


def test_handler_sleeps_count_against_its_timeout_in_simulated_time() -> None:
    with LocalEngine(region=REGION) as engine:
        function_arn = engine.create_function("Sleeper", f"{__name__}.sleep_on_the_lambda_clock", timeout=60)
        state_machine = engine.create_state_machine(
            "sleeper", single_task("${Arn}"), substitutions={"Arn": function_arn}
        )
        # WHEN the handler sleeps 45 simulated seconds of its 60, and then 61
        within = engine.run(state_machine, {"sleep": 45})
        overrun = engine.run(state_machine, {"sleep": 61})

    # THEN the time left went down by the sleep, and the overrun failed as AWS reports a Lambda timeout
    assert within.status == "SUCCEEDED", within.cause
    assert within.output == {"before": 60_000, "after": 15_000}
    assert overrun.status == "FAILED"
    assert overrun.error == "Sandbox.Timedout"
    assert "Task timed out after 60.00 seconds" in overrun.cause_json()["errorMessage"]


def test_lambda_invoke_service_integration_uses_the_same_runtime() -> None:
    definition = {
        "StartAt": "Invoke",
        "States": {
            "Invoke": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "${Arn}", "Payload.$": "$"},
                "Retry": [{"ErrorEquals": ["MarkerNotYetWritten"], "IntervalSeconds": 30, "MaxAttempts": 1}],
                "Catch": [{"ErrorEquals": ["InvalidInput"], "ResultPath": "$.error", "Next": "Caught"}],
                "ResultSelector": {"payload.$": "$.Payload", "status.$": "$.StatusCode"},
                "End": True,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }
    with LocalEngine(account_id=AGGREGATOR, region=REGION) as engine:
        function_arn = engine.create_function("Raise", f"{__name__}.raise_named")
        state_machine = engine.create_state_machine("invoke", definition, substitutions={"Arn": function_arn})
        # WHEN the integration returns, then raises an error that is retried, then one that is caught
        returned = engine.run(state_machine, {"hello": "world"})
        retried = engine.run(state_machine, {"raise": "MarkerNotYetWritten"})
        caught = engine.run(state_machine, {"raise": "InvalidInput"})

    # THEN the result is Lambda's Invoke response and the errors carry the class names, as on AWS
    assert returned.output == {"payload": {"hello": "world"}, "status": 200}
    assert (retried.status, retried.error) == ("FAILED", "MarkerNotYetWritten")
    assert engine.retry_sleeps == [30.0]
    assert caught.status == "SUCCEEDED", caught.cause
    assert caught.output["error"]["Error"] == "InvalidInput"
