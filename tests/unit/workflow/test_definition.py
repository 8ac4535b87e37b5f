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

from lambdas import batch, errors
from lambdas.errors import Throttled
from workflow.definition import (
    ACCOUNTS_PER_BATCH,
    CHECK,
    ITEMS_UNREADABLE,
    MAX_CONCURRENCY,
    PROCESS,
    RECONCILE,
    RECORD,
    RELEASE,
    RELEASE_UNREAD,
    SUMMARIZE_STATE,
    build_definition,
    substitutions,
)
from workflow.functions import ALL_FUNCTIONS, RELEASE_ACCOUNT_REGIONS
from workflow.local.engine import LocalEngine

BUCKET = "orgsync-wiring"
CLAIMED_AT = "2026-01-05T10:00:00+00:00"


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
                aws_named = error.startswith(("States.", "Lambda.")) or error == errors.LAMBDA_TIMED_OUT
                assert error in ours or aws_named, (name, error)
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


def test_every_lambda_task_retries_a_timed_out_invocation_a_bounded_number_of_times() -> None:
    # Every task is idempotent; a function past its timeout fails with Sandbox.Timedout, which is retried apart
    # from the transient errors: each attempt may cost the whole timeout.
    for name, state in all_states().items():
        if state["Type"] != "Task":
            continue
        [rule] = [r for r in state["Retry"] if errors.LAMBDA_TIMED_OUT in r["ErrorEquals"]]
        assert set(rule["ErrorEquals"]) == {errors.LAMBDA_TIMED_OUT, errors.LAMBDA_UNKNOWN}, name
        assert 0 < rule["MaxAttempts"] <= 3, name


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


def test_the_maps_own_s3_error_names_are_step_functions_own() -> None:
    # The Step Functions Developer Guide's "Error names" spell them so (docs/aws-behaviour.md); Python and ASL take
    # them from lambdas.errors.
    assert (errors.ITEM_READER_FAILED, errors.RESULT_WRITER_FAILED) == (
        "States.ItemReaderFailed",
        "States.ResultWriterFailed",
    )


def test_the_map_retries_an_unread_items_file_a_bounded_number_of_times_and_never_a_failed_result_write() -> None:
    process = build_definition()["States"][PROCESS]
    [retry] = process["Retry"]
    # Only the items read: it fails before any child runs. A ResultWriter failure comes after every child ran, and
    # a retry of the Map would run them all again.
    assert retry["ErrorEquals"] == [errors.ITEM_READER_FAILED]
    assert 0 < retry["MaxAttempts"] <= 3 and retry["MaxDelaySeconds"] <= 10
    assert not any(errors.RESULT_WRITER_FAILED in rule["ErrorEquals"] for rule in process["Retry"])
    assert not any("States.ALL" in rule["ErrorEquals"] for rule in process["Retry"])


def test_an_unread_items_file_releases_the_claim_then_fails_the_run_naming_the_file() -> None:
    states = build_definition()["States"]
    [caught] = [c for c in states[PROCESS]["Catch"] if errors.ITEM_READER_FAILED in c["ErrorEquals"]]
    assert caught["ErrorEquals"] == [errors.ITEM_READER_FAILED]
    assert caught["ResultPath"] == "$.itemsError"  # the input (the run, the items' location) is kept
    release = states[caught["Next"]]
    assert caught["Next"] == RELEASE_UNREAD
    assert release["Resource"] == RELEASE_ACCOUNT_REGIONS.placeholder
    assert release["Parameters"] == states[RELEASE]["Parameters"]
    # A release that fails still ends in the named failure (the claim lapses once the execution has closed).
    assert release["Next"] == ITEMS_UNREADABLE
    assert [c["Next"] for c in release["Catch"]] == [ITEMS_UNREADABLE]
    fail = states[ITEMS_UNREADABLE]
    assert fail["Type"] == "Fail"
    assert fail["Error"] == errors.ItemsFileUnreadable.__name__
    cause = fail["CausePath"]
    assert cause.startswith("States.Format(") and "items file s3://{}/{}" in cause
    for path in ("$.itemsLocation.bucket", "$.itemsLocation.key", "$.itemsError.Error", "$.itemsError.Cause"):
        assert path in cause


def test_a_failed_result_write_is_caught_and_summarize_reports_from_the_records() -> None:
    states = build_definition()["States"]
    [caught] = [c for c in states[PROCESS]["Catch"] if errors.RESULT_WRITER_FAILED in c["ErrorEquals"]]
    # Its error output goes where the Map's result would be: Summarize tells the two apart (lambdas.results)
    assert caught == {"ErrorEquals": [errors.RESULT_WRITER_FAILED], "Next": RELEASE, "ResultPath": "$.mapResults"}
    assert states[RELEASE]["Next"] == SUMMARIZE_STATE
    # Nothing else the Map raises is caught: a child's failure is recorded inside the child.
    assert {e for c in states[PROCESS]["Catch"] for e in c["ErrorEquals"]} == {
        errors.ITEM_READER_FAILED,
        errors.RESULT_WRITER_FAILED,
    }


def test_the_map_batches_accounts_and_gives_each_child_the_run_once() -> None:
    process = build_definition()["States"][PROCESS]
    assert process["ItemBatcher"] == {
        "MaxItemsPerBatch": ACCOUNTS_PER_BATCH,
        "BatchInput": {"run.$": "$.run", "claimedAt.$": "$.lease.claimedAt"},
    }
    shaped = build_definition(accounts_per_batch=3, max_concurrency=7)["States"][PROCESS]
    assert (shaped["ItemBatcher"]["MaxItemsPerBatch"], shaped["MaxConcurrency"]) == (3, 7)
    with pytest.raises(ValueError, match="accounts_per_batch: 0 must be 1 to 100"):
        build_definition(accounts_per_batch=0)


def test_every_batch_step_catches_what_outlasts_its_retries_into_record_failures() -> None:
    states = all_states()
    for name in (RECONCILE, CHECK):
        assert states[name]["Catch"] == [{"ErrorEquals": ["States.ALL"], "Next": RECORD, "ResultPath": "$.error"}]
        retried = {error for rule in states[name]["Retry"] for error in rule["ErrorEquals"]}
        assert {Throttled.__name__, errors.OutOfTime.__name__} <= retried


def test_marker_checks_outlast_the_longest_marker_timeout() -> None:
    # Even if FULL jitter drew half the capped delay every time, the checks would cover an hour.
    assert batch.MARKER.max_attempts * batch.MARKER.max_delay_seconds / 2 > 3600 * 2


# -- the wiring, run on the local engine with stand-in Lambdas ---------------------------------------------------


def _counts(event: dict[str, Any], to_reconcile: int, pending: int) -> dict[str, Any]:
    accounts = event["Items"] if "Items" in event else event["accounts"]
    return {"accounts": accounts, "run": event.get("BatchInput", event).get("run"), "waitSeconds": 7,
            "counts": {"toReconcile": to_reconcile, "pending": pending}}


class StandIns:
    """Lambdas that behave like the real ones at the boundary (names of errors, shapes of batches)."""

    def __init__(self, needs_attention: int) -> None:
        self.needs_attention = needs_attention
        self.batches: dict[str, dict[str, Any]] = {}
        self.reconcile_tries: dict[str, int] = {}
        self.marker_tries: dict[str, int] = {}
        self.recorded: list[dict[str, Any]] = []
        self.resolve_events: list[dict[str, Any]] = []
        self.claim_events: list[dict[str, Any]] = []
        self.release_events: list[dict[str, Any]] = []

    def claim(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        # held by another execution at the first look, free at the second
        self.claim_events.append(event)
        if len(self.claim_events) == 1:
            return {"claimed": False, "waitSeconds": 30, "busyWith": "arn:...:other", "detail": "held"}
        return {"claimed": True, "accountRegions": 50, "claimedAt": CLAIMED_AT}

    def release(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.release_events.append({**event, "reconciled": sum(self.reconcile_tries.values())})
        return {"released": True}

    def resolve(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.resolve_events.append(event)
        # as the real one: "canary" is always there, null when the run has none
        return {"run": {"mode": "rollout"}, "itemsLocation": {"bucket": BUCKET, "key": "targets.json"}, "canary": None}

    def reconcile(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        if "Items" in event:
            self.batches[event["Items"][0]["accountId"]] = event
        first = (event["Items"] if "Items" in event else event["accounts"])[0]["accountId"]
        self.reconcile_tries[first] = tries = self.reconcile_tries.get(first, 0) + 1
        if first.endswith("01"):  # one account-region to retry once, then one marker to wait for twice
            return _counts(event, to_reconcile=1 if tries == 1 else 0, pending=1)
        if first.endswith("11"):  # a whole-step error: retried by the state machine, then caught
            raise Throttled("sts:AssumeRole throttled (Throttling)")
        if first.endswith("21"):
            raise ValueError("unexpected")
        return _counts(event, to_reconcile=0, pending=0)

    def check(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        first = event["accounts"][0]["accountId"]
        self.marker_tries[first] = tries = self.marker_tries.get(first, 0) + 1
        left = event["counts"]["toReconcile"]  # a check leaves what is still to reconcile as it is
        return _counts(event, to_reconcile=left, pending=1 if first.endswith("01") and tries < 3 else 0)

    def record(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.recorded.append(event)
        return _counts(event, to_reconcile=0, pending=0)

    def summarize(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        summary = {"needsAttention": self.needs_attention}
        return {
            "mode": event["run"]["mode"],
            "summary": summary,
            "cause": json.dumps({"summary": summary, "reportLocation": "s3://x/report.json"}),
        }


def run_wiring(needs_attention: int) -> tuple[StandIns, Any, LocalEngine]:
    accounts = [{"accountId": f"2000000000{n:02d}", "regions": ["us-east-1", "eu-west-1"]} for n in range(1, 26)]
    stand_ins = StandIns(needs_attention)
    handlers = {
        "ResolveTargets": stand_ins.resolve,
        "ClaimAccountRegions": stand_ins.claim,
        "ReleaseAccountRegions": stand_ins.release,
        "ReconcileSync": stand_ins.reconcile,
        "CheckMarker": stand_ins.check,
        "RecordFailure": stand_ins.record,
        "Summarize": stand_ins.summarize,
        "Canary": stand_ins.reconcile,  # never called: Resolve targets returns no canary (tests: test_canary_wiring)
    }
    with LocalEngine(account_id="300000000001") as engine:
        s3 = engine.session.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="targets.json", Body=json.dumps(accounts).encode())
        arns = {f.substitution_key: engine.create_function(f.name, handlers[f.name]) for f in ALL_FUNCTIONS}
        definition, values = build_definition(accounts_per_batch=10), substitutions(arns, BUCKET)
        machine = engine.create_state_machine("orgsync-wiring", definition, substitutions=values)
        result = engine.run(machine, {"targets": ["r-ab12"]}, name="wiring-1")
        history = engine.driver().history(result.execution_arn)
    return stand_ins, (result, history), engine


@pytest.mark.parametrize("needs_attention", [0, 2])
def test_wiring_on_the_local_engine(needs_attention: int) -> None:
    stand_ins, (result, history), engine = run_wiring(needs_attention)

    # Resolve targets receives the input and the execution name
    assert stand_ins.resolve_events == [{"input": {"targets": ["r-ab12"]}, "executionName": "wiring-1"}]
    # Claim account-regions gets the run, the items file, the execution's ARN and start; held at first, it waited
    # the seconds it was told (a Wait state on the virtual clock), claimed again, and only then did the Map start
    arn = result.execution_arn
    assert [event["executionArn"] for event in stand_ins.claim_events] == [arn, arn]
    assert stand_ins.claim_events[0]["itemsLocation"] == {"bucket": BUCKET, "key": "targets.json"}
    assert stand_ins.claim_events[0]["executionStartTime"].endswith("Z")
    assert engine.wait_sleeps.count(30.0) == 1
    # Release account-regions ran once, after every batch's Reconcile accounts
    assert stand_ins.release_events == [
        {"run": {"mode": "rollout"}, "executionArn": arn, "reconciled": sum(stand_ins.reconcile_tries.values())}
    ]
    # 25 accounts, 10 per child (accountsPerBatch 10 here): three children, each given the run (and the claim's
    # time) once and its accounts
    assert sorted(stand_ins.batches) == ["200000000001", "200000000011", "200000000021"]
    assert [len(stand_ins.batches[first]["Items"]) for first in sorted(stand_ins.batches)] == [10, 10, 5]
    given = {"run": {"mode": "rollout"}, "claimedAt": CLAIMED_AT}
    assert all(batch["BatchInput"] == given for batch in stand_ins.batches.values())
    # the first batch came back to reconcile once (its waitSeconds waited), then checked its markers 3 times
    assert stand_ins.reconcile_tries["200000000001"] == 2
    assert stand_ins.marker_tries["200000000001"] == 3
    assert engine.wait_sleeps.count(7.0) == 2  # before the second reconcile, before the third check
    # a whole-step error is retried with the bounded policy, then caught with the batch for Record failures
    assert stand_ins.reconcile_tries["200000000011"] == 1 + batch.TRANSIENT.max_attempts
    recorded = {event["Items"][0]["accountId"]: event["error"]["Error"] for event in stand_ins.recorded}
    assert recorded == {"200000000011": Throttled.__name__, "200000000021": "ValueError"}
    # the parent history stays flat whatever the number of items (two claims, one wait and a release included)
    assert len(history) <= 45
    if needs_attention == 0:
        assert result.status == "SUCCEEDED"
    else:
        assert (result.status, result.error) == ("FAILED", "RolloutIncomplete")
        assert json.loads(result.cause) == {"summary": {"needsAttention": 2}, "reportLocation": "s3://x/report.json"}
    # every retry wait was taken on the virtual clock, within MaxDelaySeconds
    assert engine.retry_sleeps and max(engine.retry_sleeps) <= 60
