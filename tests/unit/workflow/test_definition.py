"""The state machine definition: its shape, its error vocabulary, and its wiring run on the local engine.

The wiring test runs the real definition with stand-in Lambdas (plain callables) so that Retry, Catch, the
Distributed Map over the items file, the Choice and the Fail cause are exercised without the AWS emulation;
the end-to-end tests (tests/e2e) run it with the real handlers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from lambdas import errors
from lambdas.errors import MarkerNotYetWritten, S3WriteFailed, Throttled
from workflow.definition import (
    CHECK,
    MAX_CONCURRENCY,
    PROCESS,
    RECONCILE,
    RECORD,
    build_definition,
    substitutions,
)
from workflow.functions import ALL_FUNCTIONS
from workflow.local.engine import LocalEngine

BUCKET = "orgsync-wiring"


def walk(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        yield name, state
        if "ItemProcessor" in state:
            yield from walk(state["ItemProcessor"]["States"])


def all_states() -> dict[str, dict[str, Any]]:
    return dict(walk(build_definition()["States"]))


def test_every_lambda_of_the_catalogue_is_used_by_its_placeholder() -> None:
    resources = {state.get("Resource") for state in all_states().values()}
    assert {f.placeholder for f in ALL_FUNCTIONS} <= resources


def test_every_named_error_is_one_of_ours_or_a_states_or_lambda_error() -> None:
    ours = {name for name in dir(errors) if isinstance(getattr(errors, name), type)}
    for name, state in all_states().items():
        for rule in [*state.get("Retry", []), *state.get("Catch", [])]:
            for error in rule["ErrorEquals"]:
                assert error in ours or error.startswith(("States.", "Lambda.")), (name, error)
        if state["Type"] == "Fail":
            assert state["Error"] in ours


#: The Retry AWS documents for a Lambda task ("Handle Lambda service exceptions", Step Functions Developer Guide:
#: https://docs.aws.amazon.com/step-functions/latest/dg/bp-lambda-serviceexception.html), plus the invocation
#: limit's error named on the same page.
DOCUMENTED_TRANSIENT_LAMBDA_ERRORS = {
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
}


def test_every_lambda_task_retries_the_documented_transient_lambda_errors() -> None:
    for name, state in all_states().items():
        if state["Type"] != "Task":
            continue
        retried = {error for rule in state.get("Retry", []) for error in rule["ErrorEquals"]}
        assert retried >= DOCUMENTED_TRANSIENT_LAMBDA_ERRORS, (name, DOCUMENTED_TRANSIENT_LAMBDA_ERRORS - retried)


def test_every_retry_is_bounded_with_backoff_and_full_jitter() -> None:
    for name, state in all_states().items():
        for rule in state.get("Retry", []):
            assert rule["MaxAttempts"] > 0 and rule["MaxDelaySeconds"] > 0, name
            assert rule["BackoffRate"] > 1 and rule["JitterStrategy"] == "FULL", name


def test_the_map_is_distributed_over_the_items_file() -> None:
    process = build_definition()["States"][PROCESS]
    assert process["ItemProcessor"]["ProcessorConfig"] == {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"}
    assert process["ItemReader"]["Resource"] == "arn:aws:states:::s3:getObject"
    assert process["ItemReader"]["ReaderConfig"] == {"InputType": "JSON"}
    assert process["MaxConcurrency"] == MAX_CONCURRENCY
    assert isinstance(process["ToleratedFailurePercentage"], float)
    # With a ResultWriter the state's result is only the Map Run ARN and the manifest's location: Summarize gets it
    assert process["ResultPath"] == "$.mapResults"
    assert build_definition()["States"]["Summarize"]["Parameters"]["mapResults.$"] == "$.mapResults"


def test_the_map_writes_its_results_to_s3_with_static_parameters() -> None:
    # The children's results must not become the state's result (256 KiB quota near 5,800 account-regions), and
    # which input a JsonPath in ResultWriter.Parameters reads is undocumented: no ".$" key there.
    writer = build_definition()["States"][PROCESS]["ResultWriter"]
    assert writer == {
        "Resource": "arn:aws:states:::s3:putObject",
        "Parameters": {"Bucket": "${DestinationBucketName}", "Prefix": "orgsync/runs/map-results"},
    }


def test_reconcile_retries_throttling_and_s3_write_failed_and_catches_the_rest() -> None:
    reconcile = all_states()[RECONCILE]
    retried = {error for rule in reconcile["Retry"] for error in rule["ErrorEquals"]}
    assert {Throttled.__name__, S3WriteFailed.__name__} <= retried
    assert reconcile["Catch"] == [{"ErrorEquals": ["States.ALL"], "Next": RECORD, "ResultPath": "$.error"}]


def test_marker_retries_outlast_the_longest_marker_timeout() -> None:
    rule = next(r for r in all_states()[CHECK]["Retry"] if r["ErrorEquals"] == [MarkerNotYetWritten.__name__])
    # Even if FULL jitter drew half the capped delay every time, the retries would cover an hour.
    assert rule["MaxAttempts"] * rule["MaxDelaySeconds"] / 2 > 3600 * 2


# -- the wiring, run on the local engine with stand-in Lambdas ---------------------------------------------------


class StandIns:
    """Lambdas that behave like the real ones at the boundary (names of errors, shapes of results)."""

    def __init__(self, items: list[dict[str, Any]], needs_attention: int) -> None:
        self.items = items
        self.needs_attention = needs_attention
        self.reconcile_tries: dict[int, int] = {}
        self.marker_tries: dict[int, int] = {}
        self.recorded: list[dict[str, Any]] = []
        self.resolve_events: list[dict[str, Any]] = []

    def resolve(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.resolve_events.append(event)
        return {"run": {"mode": "rollout"}, "itemsLocation": {"bucket": BUCKET, "key": "targets.json"}}

    def reconcile(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        n = event["n"]
        self.reconcile_tries[n] = self.reconcile_tries.get(n, 0) + 1
        if n == 1 and self.reconcile_tries[n] < 3:
            raise S3WriteFailed("S3 write failed for bucket")
        if n == 2:
            raise Throttled("ssm:ListResourceDataSync throttled (ThrottlingException)")
        if n == 3:
            raise ValueError("unexpected")
        return {"status": "CREATED"}

    def check(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        n = event["n"]
        self.marker_tries[n] = self.marker_tries.get(n, 0) + 1
        if n == 4 and self.marker_tries[n] < 5:
            raise MarkerNotYetWritten("not yet")
        return {"status": event["reconcile"]["status"], "verification": "VERIFIED", "detail": "x" * 1000}

    def record(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.recorded.append(event)
        return {"status": "FAILED", "verification": "NOT_CHECKED"}

    def summarize(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        summary = {"needsAttention": self.needs_attention}
        return {
            "mode": event["run"]["mode"],
            "summary": summary,
            "cause": json.dumps({"summary": summary, "reportLocation": "s3://x/report.json"}),
        }


def run_wiring(needs_attention: int) -> tuple[StandIns, Any, LocalEngine]:
    items = [{"n": n, "accountId": f"2000000000{n:02d}", "region": "us-east-1"} for n in range(6)]
    stand_ins = StandIns(items, needs_attention)
    handlers = {
        "ResolveTargets": stand_ins.resolve,
        "ReconcileSync": stand_ins.reconcile,
        "CheckMarker": stand_ins.check,
        "RecordFailure": stand_ins.record,
        "Summarize": stand_ins.summarize,
    }
    with LocalEngine(account_id="300000000001") as engine:
        s3 = engine.session.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="targets.json", Body=json.dumps(items).encode())
        arns = {f.substitution_key: engine.create_function(f.name, handlers[f.name]) for f in ALL_FUNCTIONS}
        definition, values = build_definition(), substitutions(arns, BUCKET)
        machine = engine.create_state_machine("orgsync-wiring", definition, substitutions=values)
        result = engine.run(machine, {"targets": ["r-ab12"]}, name="wiring-1")
        history = engine.driver().history(result.execution_arn)
    return stand_ins, (result, history), engine


@pytest.mark.parametrize("needs_attention", [0, 2])
def test_wiring_on_the_local_engine(needs_attention: int) -> None:
    stand_ins, (result, history), engine = run_wiring(needs_attention)

    # Resolve targets receives the input and the execution name
    assert stand_ins.resolve_events == [{"input": {"targets": ["r-ab12"]}, "executionName": "wiring-1"}]
    # S3WriteFailed retried until it passed; the other failures were recorded with their error names
    assert stand_ins.reconcile_tries[1] == 3
    recorded = {event["n"]: event["error"]["Error"] for event in stand_ins.recorded}
    assert recorded[3] == "ValueError"
    assert recorded[2] == Throttled.__name__  # after its bounded retries
    assert stand_ins.reconcile_tries[2] == 7
    assert stand_ins.marker_tries[4] == 5
    # the Catch keeps the item so Record failure knows the account-region
    assert all(event["accountId"] and event["region"] for event in stand_ins.recorded)
    # the parent history stays flat whatever the number of items
    assert len(history) <= 25
    if needs_attention == 0:
        assert result.status == "SUCCEEDED"
    else:
        assert (result.status, result.error) == ("FAILED", "RolloutIncomplete")
        assert json.loads(result.cause) == {"summary": {"needsAttention": 2}, "reportLocation": "s3://x/report.json"}
    # every retry wait was taken on the virtual clock, within MaxDelaySeconds
    assert engine.retry_sleeps and max(engine.retry_sleeps) <= 60
