"""The local engine's virtual clock: Retry intervals and Wait states cost simulated time, not wall time."""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from lambdas.errors import InvalidInput, Throttled
from workflow.local.clock import VirtualClock
from workflow.local.driver import remote_endpoint_url
from workflow.local.engine import LocalEngine
from workflow.local.lambda_runtime import INVOCATION_DISPATCH_SECONDS

pytestmark = pytest.mark.skipif(
    remote_endpoint_url() is not None, reason="needs the in-process local engine (virtual clock)"
)

TEMPLATES = Path(__file__).parent / "templates"
START = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def template(name: str) -> dict[str, Any]:
    return json.loads((TEMPLATES / name).read_text())


def test_retries_and_waits_advance_simulated_time_not_wall_time() -> None:
    # GIVEN items that throttle three times before succeeding, one item that is invalid (caught by name),
    # a Retry of IntervalSeconds 2 x BackoffRate 2 and a 15-minute Wait after the Map
    attempts: Counter[str] = Counter()

    def flaky(event: dict[str, Any], context: Any) -> dict[str, Any]:
        attempts[event["id"]] += 1
        if event.get("invalid"):
            raise InvalidInput(f"item {event['id']} is invalid")
        if attempts[event["id"]] <= 3:
            raise Throttled("Rate exceeded")
        return {"id": event["id"], "attempts": attempts[event["id"]]}

    items = [{"id": "a"}, {"id": "b"}, {"id": "c"}, {"id": "bad", "invalid": True}]
    with LocalEngine(VirtualClock(start=START)) as engine:
        flaky_arn = engine.create_function("Flaky", flaky)
        state_machine = engine.create_state_machine(
            "retry-map-wait", template("retry_map_wait.json"), substitutions={"FlakyArn": flaky_arn}
        )
        wall_start = time.monotonic()

        # WHEN it runs
        result = engine.run(state_machine, {"items": items})
        wall = time.monotonic() - wall_start
        description = engine.driver().client.describe_execution(executionArn=result.execution_arn)

    # THEN every good item succeeded on its fourth attempt and the invalid one was caught by its class name
    assert result.status == "SUCCEEDED", result.cause
    output = result.output
    assert output["results"][:3] == [{"id": i, "attempts": 4} for i in "abc"]
    rejected = output["results"][3]
    assert rejected["rejected"] is True and rejected["error"]["Error"] == "InvalidInput"
    assert attempts["bad"] == 1  # InvalidInput is not retried
    # AND the retries slept 2, 4, 8 simulated seconds per item, and the Wait 900, all on the virtual clock
    assert sorted(engine.retry_sleeps) == sorted([2.0, 4.0, 8.0] * 3)
    assert engine.wait_sleeps == [900.0]
    # (plus the millisecond each invocation moves the clock by, all of them before the Wait)
    ticks = len(engine.invocations) * INVOCATION_DISPATCH_SECONDS
    assert engine.clock.elapsed == pytest.approx(3 * (2 + 4 + 8) + 900 + ticks)
    # AND the execution's own timestamps are virtual: start, $$.State.EnteredTime after the Wait, describe dates
    assert output["startedAt"] == "2026-01-01T09:00:00.000Z"
    assert datetime.fromisoformat(output["enteredAt"]) == START + timedelta(seconds=3 * 14 + 900 + ticks)
    assert description["startDate"] == START
    assert description["stopDate"] == START + timedelta(seconds=3 * 14 + 900 + ticks)
    # AND (loose sanity, not a timing assert) the 942 simulated seconds took nothing like that in wall time
    assert wall < 30


def test_full_jitter_draws_within_the_capped_backoff_interval() -> None:
    # GIVEN a task that always throttles: IntervalSeconds 10, BackoffRate 2, MaxAttempts 5, MaxDelaySeconds 60
    def throttled(event: Any, context: Any) -> None:
        raise Throttled("Rate exceeded")

    caps = [10.0, 20.0, 40.0, 60.0, 60.0]
    drawn: list[float] = []
    with LocalEngine() as engine:
        arn = engine.create_function("Throttled", throttled)
        state_machine = engine.create_state_machine(
            "jitter", template("jitter.json"), substitutions={"ThrottledArn": arn}
        )
        # WHEN it runs a few times
        for run in range(4):
            engine.retry_sleeps.clear()
            result = engine.run(state_machine, {}, name=f"jitter-{run}")
            assert result.status == "SUCCEEDED", result.cause  # caught after the retries
            # THEN each retry slept a FULL-jitter draw within [0, capped interval]
            assert len(engine.retry_sleeps) == len(caps)
            for sleep, cap in zip(engine.retry_sleeps, caps, strict=True):
                assert 0 <= sleep <= cap
            drawn += engine.retry_sleeps
    # AND they are draws, not the intervals themselves
    assert any(sleep < cap for sleep, cap in zip(drawn, caps * 4, strict=True))
    assert len(set(drawn)) > 1


def test_every_kind_of_wait_is_relative_to_the_virtual_clock() -> None:
    # GIVEN waits of 60 s, SecondsPath 240 s, until START+1h and until START+2h (far from the wall clock's now)
    with LocalEngine(VirtualClock(start=START)) as engine:
        substitutions = {"Timestamp": (START + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}
        state_machine = engine.create_state_machine("waits", template("waits.json"), substitutions=substitutions)
        # WHEN it runs
        until = (START + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
        result = engine.run(state_machine, {"seconds": 240, "until": until})

    # THEN each Wait advanced the clock to its moment, and the state after them entered at START + 2h
    assert result.status == "SUCCEEDED", result.cause
    assert engine.wait_sleeps == [60.0, 240.0, 3600.0 - 300.0, 3600.0]
    assert engine.clock.now() == START + timedelta(hours=2)
    assert datetime.fromisoformat(result.output["enteredAt"]) == START + timedelta(hours=2)


def test_a_timestamp_already_past_does_not_wait() -> None:
    with LocalEngine(VirtualClock(start=START)) as engine:
        past = (START - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        state_machine = engine.create_state_machine("past", template("waits.json"), substitutions={"Timestamp": past})
        result = engine.run(state_machine, {"seconds": 0, "until": past})
    assert result.status == "SUCCEEDED", result.cause
    assert engine.wait_sleeps == [60.0]
