"""The handlers' own CPU on the modelled timeline (opt-in): charged at the function's share of a vCPU, moto's answers
left out, and able to time an invocation out as on AWS."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from local_aws_support import AGGREGATOR, REGION, small_scenario

from workflow.local import handler_cpu, timeline
from workflow.local.aws import LocalAws
from workflow.local.clock import VirtualClock
from workflow.local.driver import remote_endpoint_url
from workflow.local.engine import LocalEngine
from workflow.local.faults import Call, RequestBoundary, ServiceError
from workflow.local.handler_cpu import LAMBDA_MB_PER_VCPU, HandlerCpu

pytestmark = pytest.mark.skipif(
    remote_endpoint_url() is not None, reason="needs the in-process local engine (Python handlers, virtual clock)"
)


def burn(cpu_seconds: float) -> None:
    """Compute until this thread has used ``cpu_seconds`` of CPU."""
    until = time.thread_time() + cpu_seconds
    while time.thread_time() < until:
        sum(range(1000))


def burns(event: dict[str, Any], context: Any) -> dict[str, Any]:
    burn(event["cpu"])
    return {"burned": event["cpu"]}


def calls_sts(event: dict[str, Any], context: Any) -> dict[str, Any]:
    boto3.client("sts").get_caller_identity()
    return {}


@pytest.fixture
def engine() -> Iterator[LocalEngine]:
    # Every latency 0: what an invocation's timeline holds is its CPU alone.
    clock = VirtualClock(start=datetime(2026, 1, 1, tzinfo=UTC))
    with (
        LocalAws(small_scenario(latencies={"*": 0}), clock) as aws,
        LocalEngine(aws.clock, account_id=AGGREGATOR, region=REGION) as local,
    ):
        yield local


@pytest.fixture
def model() -> Iterator[HandlerCpu]:
    used = HandlerCpu()
    previous = handler_cpu.use(used)
    try:
        yield used
    finally:
        handler_cpu.use(previous)


def run_burning(engine: LocalEngine, cpu: float, *, memory_mb: int, timeout: int) -> tuple[Any, float]:
    arn = engine.create_function("Burns", f"{__name__}.burns", memory_size=memory_mb, timeout=timeout)
    machine = engine.create_state_machine(
        "burns", {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": arn, "End": True}}}
    )
    result = engine.run(machine, {"cpu": cpu})
    return result, engine.invocations[-1].simulated_seconds


def test_a_handlers_cpu_is_charged_at_its_share_of_a_vcpu_and_can_time_it_out(
    engine: LocalEngine, model: HandlerCpu
) -> None:
    # GIVEN a 128 MB function (128/1769 of a vCPU) with a 3 s timeout, computing for 50 ms of this machine's CPU
    result, simulated = run_burning(engine, 0.05, memory_mb=128, timeout=3)
    # THEN it succeeds, and its simulated duration is at least that CPU scaled to its share (0.69 s)
    assert result.status == "SUCCEEDED", result.cause
    assert simulated >= 0.05 * LAMBDA_MB_PER_VCPU / 128
    assert model.charged >= simulated
    # WHEN it computes for 250 ms (3.5 s at its share), THEN it times out as on AWS
    result, simulated = run_burning(engine, 0.25, memory_mb=128, timeout=3)
    assert (result.status, result.error) == ("FAILED", "Sandbox.Timedout")
    assert simulated == 3.0  # an invocation runs no longer than its Timeout


def test_without_the_model_a_handlers_cpu_costs_nothing(engine: LocalEngine) -> None:
    assert handler_cpu.active() is None
    result, simulated = run_burning(engine, 0.25, memory_mb=128, timeout=3)
    assert result.status == "SUCCEEDED", result.cause
    assert simulated == 0.0


def test_what_moto_computes_to_answer_a_call_is_not_the_handlers(engine: LocalEngine, model: HandlerCpu) -> None:
    # GIVEN a 1,769 MB function (one vCPU) that makes one STS call, run once (botocore has loaded STS's model)
    arn = engine.create_function("CallsSts", f"{__name__}.calls_sts", memory_size=LAMBDA_MB_PER_VCPU)
    machine = engine.create_state_machine(
        "sts", {"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": arn, "End": True}}}
    )
    assert engine.run(machine, {}).status == "SUCCEEDED"

    # AND a guard at the request boundary (AWS's side of the call) that computes for a second on that call
    def slow_answer(call: Call) -> ServiceError | None:
        if call.api == "sts:GetCallerIdentity":
            burn(1.0)
        return None

    boundary = RequestBoundary.installed()
    assert boundary is not None
    boundary.guards.insert(0, slow_answer)
    try:
        # WHEN it runs again
        assert engine.run(machine, {}).status == "SUCCEEDED"
    finally:
        boundary.guards.remove(slow_answer)
    # THEN its duration holds its own CPU (making a client, the request and the answer), not the guard's second
    simulated = engine.invocations[-1].simulated_seconds
    assert 0 < simulated < 0.5


def test_a_parallel_reads_threads_share_the_functions_vcpu() -> None:
    # GIVEN a 1,769 MB handler thread (one vCPU) fanning out two tasks that each compute for 100 ms, on two lanes
    from lambdas import parallel

    model = HandlerCpu()
    previous_model, previous_tracker = handler_cpu.use(model), parallel.use(timeline.ParallelTimelines())
    invocation = timeline.Timeline("invocation")
    try:
        with timeline.entered(invocation), model.running(LAMBDA_MB_PER_VCPU):
            parallel.bounded_map(lambda seconds: burn(seconds), [0.1, 0.1], workers=2)
    finally:
        handler_cpu.use(previous_model)
        parallel.use(previous_tracker)
    # THEN both tasks' CPU was charged, each on its lane; but the threads share the function's one vCPU, so the
    # invocation holds their CPU together (about 200 ms), not one lane's 100 ms
    assert model.charged >= 0.2
    assert 0.2 <= invocation.elapsed < 0.3


def test_a_parallel_reads_threads_run_side_by_side_on_two_vcpus() -> None:
    from lambdas import parallel

    model = HandlerCpu()
    previous_model, previous_tracker = handler_cpu.use(model), parallel.use(timeline.ParallelTimelines())
    invocation = timeline.Timeline("invocation")
    try:
        # GIVEN a function of two vCPUs (3,538 MB) whose two threads each compute for 100 ms
        with timeline.entered(invocation), model.running(2 * LAMBDA_MB_PER_VCPU):
            parallel.bounded_map(lambda seconds: burn(seconds), [0.1, 0.1], workers=2)
    finally:
        handler_cpu.use(previous_model)
        parallel.use(previous_tracker)
    # THEN they ran side by side: the invocation holds one lane's 100 ms
    assert 0.1 <= invocation.elapsed < 0.15
