"""The canary's states, run on the local engine with stand-in Lambdas: its Choice, Retry, Catch and Fail cause."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambdas.errors import CanaryFailed, MarkerNotYetWritten, S3WriteFailed
from workflow.definition import (
    CANARY_CHOICE,
    CANARY_FAILED,
    CHECK_CANARY,
    CLAIM,
    EXPLAIN_CANARY,
    HELD,
    PROCESS,
    RECONCILE_CANARY,
    RESOLVE,
    build_definition,
    substitutions,
)
from workflow.functions import ALL_FUNCTIONS
from workflow.local.engine import LocalEngine

BUCKET = "orgsync-canary-wiring"
CANARY = {"item": {"accountId": "300000000001", "region": "us-east-1"}, "organizationId": "o-abcdefghij"}


class StandIns:
    def __init__(self, canary: dict[str, Any] | None, reconcile_failures: int, marker_misses: int) -> None:
        self.canary = canary
        self.reconcile_failures = reconcile_failures
        self.marker_misses = marker_misses
        self.steps: list[str] = []
        self.explained: list[dict[str, Any]] = []
        self.map_items: list[dict[str, Any]] = []

    def resolve(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"run": {"mode": "rollout"}, "itemsLocation": {"bucket": BUCKET, "key": "targets.json"},
                "canary": self.canary}

    def canary_step(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        step = event["step"]
        self.steps.append(step)
        assert event["canary"] == self.canary
        if step == "reconcile":
            if self.steps.count("reconcile") <= self.reconcile_failures:
                raise S3WriteFailed("S3 write failed for bucket acme-inventory")
            return {"status": "CREATED"}
        if step == "check":
            assert event["reconcile"] == {"status": "CREATED"}
            if self.steps.count("check") <= self.marker_misses:
                raise MarkerNotYetWritten("not yet")
            return {"passed": True, "outcome": {"status": "CREATED", "verification": "VERIFIED"}}
        self.explained.append(event["error"])
        return {"passed": False, "error": CanaryFailed.__name__, "cause": "CanaryFailed: add {\"Sid\": \"X\"}"}

    def claim(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        # the canary's account-region is claimed with the others (it writes)
        assert event["canary"] == self.canary
        return {"claimed": True, "claimedAt": "2026-01-05T10:00:00+00:00"}

    def release(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"released": True}

    def map_item(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.map_items.append(event)
        return {"status": "CREATED"}

    def check(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"status": "CREATED", "verification": "VERIFIED"}

    def record(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"status": "FAILED", "verification": "NOT_CHECKED"}

    def summarize(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"mode": "rollout", "summary": {"needsAttention": 0}, "cause": "{}"}


def run(stand_ins: StandIns) -> tuple[Any, list[str]]:
    handlers = {
        "ResolveTargets": stand_ins.resolve,
        "Canary": stand_ins.canary_step,
        "ClaimAccountRegions": stand_ins.claim,
        "ReleaseAccountRegions": stand_ins.release,
        "ReconcileSync": stand_ins.map_item,
        "CheckMarker": stand_ins.check,
        "RecordFailure": stand_ins.record,
        "Summarize": stand_ins.summarize,
    }
    with LocalEngine(account_id="300000000001") as engine:
        s3 = engine.session.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="targets.json", Body=json.dumps([{"n": 1}, {"n": 2}]).encode())
        arns = {f.substitution_key: engine.create_function(f.name, handlers[f.name]) for f in ALL_FUNCTIONS}
        machine = engine.create_state_machine("wiring", build_definition(), substitutions=substitutions(arns, BUCKET))
        result = engine.run(machine, {"targets": ["r-ab12"]}, name="canary-wiring")
        entered = [e["stateEnteredEventDetails"]["name"] for e in engine.driver().history(result.execution_arn)
                   if "stateEnteredEventDetails" in e]
    return result, entered


def test_canary_passing_after_retries_lets_the_map_run() -> None:
    stand_ins = StandIns(CANARY, reconcile_failures=2, marker_misses=3)
    result, entered = run(stand_ins)

    assert result.status == "SUCCEEDED", result.cause
    assert stand_ins.steps == ["reconcile"] * 3 + ["check"] * 4
    assert entered[:6] == [RESOLVE, CLAIM, HELD, CANARY_CHOICE, RECONCILE_CANARY, CHECK_CANARY]
    # the Map's one child got both accounts of the items file (one batch)
    assert PROCESS in entered and sum(len(batch["Items"]) for batch in stand_ins.map_items) == 2


@pytest.mark.parametrize(("reconcile_failures", "marker_misses", "error"), [
    (99, 0, S3WriteFailed.__name__),  # S3 write failed outlasts its retries
    (0, 999, MarkerNotYetWritten.__name__),  # the marker retries run out
])
def test_canary_failure_is_explained_and_ends_before_the_map(
    reconcile_failures: int, marker_misses: int, error: str
) -> None:
    stand_ins = StandIns(CANARY, reconcile_failures, marker_misses)
    result, entered = run(stand_ins)

    assert (result.status, result.error) == ("FAILED", CanaryFailed.__name__)
    assert result.cause == 'CanaryFailed: add {"Sid": "X"}'
    assert [e["Error"] for e in stand_ins.explained] == [error]
    assert EXPLAIN_CANARY in entered and entered[-1] == CANARY_FAILED
    assert PROCESS not in entered and stand_ins.map_items == []


def test_no_canary_goes_straight_to_the_map() -> None:
    stand_ins = StandIns(None, 0, 0)
    result, entered = run(stand_ins)

    assert result.status == "SUCCEEDED", result.cause
    assert stand_ins.steps == [] and entered[:5] == [RESOLVE, CLAIM, HELD, CANARY_CHOICE, PROCESS]
