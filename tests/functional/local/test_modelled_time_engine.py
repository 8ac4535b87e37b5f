"""The local engine on the modelled timeline: Lambda timeouts on each invocation's own time, Map makespans."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from local_aws_support import AGGREGATOR, REGION, small_scenario

from lambdas import clock as lambda_clock
from workflow.local.aws import LocalAws
from workflow.local.clock import VirtualClock
from workflow.local.driver import remote_endpoint_url
from workflow.local.engine import LocalEngine

pytestmark = pytest.mark.skipif(
    remote_endpoint_url() is not None, reason="needs the in-process local engine (Python handlers, virtual clock)"
)

REMAINING: list[int] = []


def calls(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Makes ``event["calls"]`` STS calls, noting the time left before each."""
    sts = boto3.client("sts")
    for _ in range(event["calls"]):
        REMAINING.append(context.get_remaining_time_in_millis())
        sts.get_caller_identity()
    return {"made": event["calls"]}


def sleeps(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Sleeps ``event["seconds"]`` on the Lambda code's clock (a backoff, say)."""
    lambda_clock.sleep(event["seconds"])
    return {"slept": event["seconds"]}


def one_task(resource: str) -> dict[str, Any]:
    return {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": resource, "End": True}}}


def a_map(mode: str, max_concurrency: int) -> dict[str, Any]:
    return {
        "StartAt": "M",
        "States": {
            "M": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": max_concurrency,
                "ItemProcessor": {
                    "ProcessorConfig": {
                        "Mode": mode,
                        **({"ExecutionType": "STANDARD"} if mode == "DISTRIBUTED" else {}),
                    },
                    "StartAt": "Sleep",
                    "States": {"Sleep": {"Type": "Task", "Resource": "${SleepsArn}", "End": True}},
                },
                "End": True,
            }
        },
    }


@pytest.fixture
def engine() -> Any:
    # Every latency 0 but STS's 1 s: the expected figures below are exact sums.
    scenario = small_scenario(latencies={"*": 0, "sts:GetCallerIdentity": 1.0})
    clock = VirtualClock(start=datetime(2026, 1, 1, tzinfo=UTC))
    with LocalAws(scenario, clock) as aws, LocalEngine(aws.clock, account_id=AGGREGATOR, region=REGION) as local:
        yield local


def test_a_lambda_whose_calls_pass_its_timeout_fails_with_sandbox_timedout(engine: LocalEngine) -> None:
    # GIVEN a function with a 3 s timeout whose STS calls cost 1 s each on its own timeline
    arn = engine.create_function("Calls", f"{__name__}.calls", timeout=3)
    machine = engine.create_state_machine("calls", one_task(arn))
    # WHEN it makes two calls, THEN it succeeds, having seen its time left shrink by each call's latency
    REMAINING.clear()
    assert engine.run(machine, {"calls": 2}).status == "SUCCEEDED"
    assert REMAINING == [3000, 2000]
    # WHEN it makes four, THEN the invocation fails as on AWS, whatever the handler returned
    result = engine.run(machine, {"calls": 4})
    assert (result.status, result.error) == ("FAILED", "Sandbox.Timedout")
    assert "Task timed out after 3.00 seconds" in (result.cause or "")


def test_an_inline_maps_time_is_the_makespan_of_its_childrens_own_durations(engine: LocalEngine) -> None:
    # GIVEN six children sleeping 4, 1, 1, 3, 2, 1 s, two at a time
    sleeps_arn = engine.create_function("Sleeps", f"{__name__}.sleeps")
    machine = engine.create_state_machine("inline", a_map("INLINE", 2), substitutions={"SleepsArn": sleeps_arn})
    items = [{"seconds": s} for s in (4, 1, 1, 3, 2, 1)]
    result = engine.run(machine, {"items": items})
    assert result.status == "SUCCEEDED", result.cause
    # THEN on AWS it takes the schedule's length: A 0-4, B 0-1, B 1-2, B 2-5, A 4-6, B 5-6 -> 6 s, not 12 s
    assert engine.simulated_seconds(result.execution_arn) == pytest.approx(6.0)


def test_a_distributed_maps_children_start_at_the_documented_rate(engine: LocalEngine) -> None:
    # GIVEN 250 children of 1 s under MaxConcurrency 1,000
    sleeps_arn = engine.create_function("Sleeps", f"{__name__}.sleeps")
    machine = engine.create_state_machine(
        "distributed", a_map("DISTRIBUTED", 1000), substitutions={"SleepsArn": sleeps_arn}
    )
    result = engine.run(machine, {"items": [{"seconds": 1}] * 250}, timeout=300)
    assert result.status == "SUCCEEDED", result.cause
    # THEN the last child starts at 249/100 s and ends a second later: dispatch, not concurrency, bounds it
    assert engine.simulated_seconds(result.execution_arn) == pytest.approx(2.49 + 1.0)


def echo(event: Any, context: Any) -> Any:
    return event


def test_lambda_service_errors_at_a_rate_reach_the_state_as_aws_names_them() -> None:
    # GIVEN Step Functions' Invoke of a function failing with Lambda's ServiceException half the time, with a
    # Retry on it (as orgsync's definition retries Lambda's transient faults)
    rates = [{"api": "lambda:Invoke", "error": "ServiceException", "rate": 0.5, "httpStatus": 500}]
    scenario = small_scenario(faultRates=rates, faultSeed=1)
    with LocalAws(scenario) as aws, LocalEngine(aws.clock, account_id=AGGREGATOR, region=REGION) as engine:
        arn = engine.create_function("Echo", f"{__name__}.echo")
        task = {"Type": "Task", "Resource": arn, "End": True}
        retried = {**task, "Retry": [{"ErrorEquals": ["Lambda.ServiceException"], "MaxAttempts": 10}]}
        plain = engine.create_state_machine("plain", {"StartAt": "T", "States": {"T": task}})
        with_retry = engine.create_state_machine("retried", {"StartAt": "T", "States": {"T": retried}})
        results = [engine.run(plain, {"n": n}) for n in range(20)]
        # THEN about half the plain runs fail, each with AWS's error name, and the retried ones all succeed
        failed = [r for r in results if r.status == "FAILED"]
        assert 4 <= len(failed) <= 16
        assert {r.error for r in failed} == {"Lambda.ServiceException"}
        assert all(engine.run(with_retry, {"n": n}).status == "SUCCEEDED" for n in range(5))
        assert aws.fault_rates.raised and {code for *_, code in aws.fault_rates.raised} == {"ServiceException"}
