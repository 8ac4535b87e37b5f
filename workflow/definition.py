"""The state machine: one ASL document, built from small named pieces, deployed by CDK and run locally.

::

    Resolve targets ──(InvalidInput fails the execution here, before any account is touched)
    Process account-regions   Distributed Map over orgsync/runs/<execution>/targets.json, one child per item:
        Reconcile sync ──Catch States.ALL──► Record failure
        Check marker and record outcome ──Catch States.ALL──► Record failure
    Summarize
    Needs attention? ── 0 ──► Done
                     └─ else ► Rollout needs attention (RolloutIncomplete) | Verification failed | Teardown incomplete

Lambda ARNs are ``${<Name>FunctionArn}`` placeholders (:mod:`workflow.functions`), filled by CDK's
DefinitionSubstitutions or by the local engine. Retry and Catch name errors by ``Cls.__name__``.

Why a Distributed Map: its children are separate executions, so the parent's history stays at a handful of
events whatever the organization's size (an inline Map adds ~7 events per item per task and outgrows the
25,000-event cap near 1,500 account-regions). Each child takes two task states on the happy path.

Example::

    >>> definition = build_definition()
    >>> definition["StartAt"]
    'Resolve targets'
    >>> definition["States"]["Process account-regions"]["ItemProcessor"]["ProcessorConfig"]["Mode"]
    'DISTRIBUTED'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lambdas.errors import TRANSIENT_LAMBDA_ERRORS as TRANSIENT
from lambdas.errors import InvalidInput, MarkerNotYetWritten, S3WriteFailed
from lambdas.models import Mode
from lambdas.modes import MODES, ModeSpec
from lambdas.report import RUNS_PREFIX
from workflow.functions import CHECK_MARKER, RECONCILE_SYNC, RECORD_FAILURE, RESOLVE_TARGETS, SUMMARIZE, LambdaFunction

State = dict[str, Any]

RESOLVE = "Resolve targets"
PROCESS = "Process account-regions"
RECONCILE = "Reconcile sync"
CHECK = "Check marker and record outcome"
RECORD = "Record failure"
SUMMARIZE_STATE = "Summarize"
NEEDS_ATTENTION = "Needs attention?"
DONE = "Done"
#: The mode of an input without ``mode``: the Choice's Default.
DEFAULT_MODE = Mode.ROLLOUT

#: The destination bucket of the deployment, substituted like the function ARNs (CDK: the inventory bucket; the
#: local engine: the scenario's aggregator bucket). Only the ResultWriter uses it: every other state reads the
#: bucket from the resolved input.
DESTINATION_BUCKET_SUBSTITUTION_KEY = "DestinationBucketName"
DESTINATION_BUCKET_PLACEHOLDER = "${" + DESTINATION_BUCKET_SUBSTITUTION_KEY + "}"
#: Where the Distributed Map's ResultWriter writes (outside the SSM prefix, beside the runs' items files).
MAP_RESULTS_PREFIX = f"{RUNS_PREFIX}/map-results"

#: Where the Map puts its result (the Map Run ARN and the ResultWriter's manifest location) for Summarize.
MAP_RESULTS_PATH = "$.mapResults"
#: Children running at once. Organizations and SSM throttle per account: 40 keeps bursts moderate.
MAX_CONCURRENCY = 40
#: Retry budgets. Each is bounded; FULL jitter spreads retries of many children over time.
TRANSIENT_RETRY: State = {
    "ErrorEquals": list(TRANSIENT),
    "IntervalSeconds": 2,
    "BackoffRate": 2.0,
    "MaxAttempts": 6,
    "MaxDelaySeconds": 60,
    "JitterStrategy": "FULL",
}
#: "S3 write failed" right after a bucket policy change lasts up to about a minute: ~1 minute of retries on
#: average (10 attempts, 5 s growing to 15 s, FULL jitter halves the mean).
S3_WRITE_RETRY: State = {
    "ErrorEquals": [S3WriteFailed.__name__],
    "IntervalSeconds": 5,
    "BackoffRate": 1.5,
    "MaxAttempts": 10,
    "MaxDelaySeconds": 15,
    "JitterStrategy": "FULL",
}
#: The Lambda decides PENDING at markerTimeoutSeconds (at most 3600 s); these attempts outlast that bound
#: with ample margin (~60 s mean delay once capped), and a Catch records PENDING if they ever run out.
MARKER_RETRY: State = {
    "ErrorEquals": [MarkerNotYetWritten.__name__],
    "IntervalSeconds": 5,
    "BackoffRate": 2.0,
    "MaxAttempts": 200,
    "MaxDelaySeconds": 120,
    "JitterStrategy": "FULL",
}


def lambda_task(function: LambdaFunction, **fields: Any) -> State:
    """A Task state invoking ``function`` directly by ARN (the result is the function's return value)."""
    return {"Type": "Task", "Resource": function.placeholder, **fields}


def catch_all(next_state: str, result_path: str = "$.error") -> list[State]:
    """A Catch of every error to ``next_state``, keeping the input and putting the error at ``result_path``."""
    return [{"ErrorEquals": ["States.ALL"], "Next": next_state, "ResultPath": result_path}]


def resolve_targets_state() -> State:
    """Validate the input, resolve the targets, write the items file. ``InvalidInput`` is not retried nor caught."""
    return lambda_task(
        RESOLVE_TARGETS,
        Comment=f"Fails the execution with {InvalidInput.__name__} (field and value in the cause) before any "
        "account is touched.",
        Parameters={"input.$": "$", "executionName.$": "$$.Execution.Name"},
        Retry=[TRANSIENT_RETRY],
        Next=PROCESS,
    )


def reconcile_sync_state() -> State:
    """One account-region: list, classify, create or replace. Its partial outcome goes to ``$.reconcile``."""
    return lambda_task(
        RECONCILE_SYNC,
        ResultPath="$.reconcile",
        Retry=[TRANSIENT_RETRY, S3_WRITE_RETRY],
        Catch=catch_all(RECORD),
        Next=CHECK,
    )


def check_marker_state() -> State:
    """Wait for the marker through retries, then write the outcome record. The child's output stays tiny."""
    return lambda_task(
        CHECK_MARKER,
        ResultSelector={"status.$": "$.status", "verification.$": "$.verification"},
        Retry=[MARKER_RETRY, TRANSIENT_RETRY],
        Catch=catch_all(RECORD),
        End=True,
    )


def record_failure_state() -> State:
    """Record the item as FAILED (or PENDING when only the marker retries ran out), with what to do."""
    return lambda_task(
        RECORD_FAILURE,
        ResultSelector={"status.$": "$.status", "verification.$": "$.verification"},
        Retry=[TRANSIENT_RETRY],
        End=True,
    )


def item_processor() -> State:
    """What each child execution runs for one account-region."""
    return {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": RECONCILE,
        "States": {
            RECONCILE: reconcile_sync_state(),
            CHECK: check_marker_state(),
            RECORD: record_failure_state(),
        },
    }


def process_state() -> State:
    """The Distributed Map over the items file.

    Every failure inside a child is caught and recorded, and ``Summarize`` reports an item without a record as
    FAILED, so the Map tolerates all failures (100.0: moto only accepts the percentage as a float) rather than
    stopping the rollout. The state's result is only the Map Run ARN and where its ResultWriter wrote.
    """
    return {
        "Type": "Map",
        "Comment": "One child execution per ACTIVE account-region; each records its outcome in S3.",
        "Label": "AccountRegions",
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSON"},
            "Parameters": {"Bucket.$": "$.itemsLocation.bucket", "Key.$": "$.itemsLocation.key"},
        },
        "ItemProcessor": item_processor(),
        # Without a ResultWriter AWS makes the children's results the state's result, which passes the 256 KiB
        # quota near 5,800 account-regions (ResultPath applies after). Step Functions writes them under
        # <Prefix>/<Map Run id>/. Static parameters: which input a JsonPath here reads is not documented (moto
        # reads the results), and the state machine's role may write only to its own bucket anyway.
        "ResultWriter": {
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": DESTINATION_BUCKET_PLACEHOLDER, "Prefix": MAP_RESULTS_PREFIX},
        },
        "MaxConcurrency": MAX_CONCURRENCY,
        "ToleratedFailurePercentage": 100.0,
        # With a ResultWriter the state's result is the Map Run ARN and the manifest's location: Summarize reads it.
        "ResultPath": MAP_RESULTS_PATH,
        "Next": SUMMARIZE_STATE,
    }


def summarize_state() -> State:
    """Read the Map's results and the outcome records, write the report, return summary + location + results."""
    return lambda_task(
        SUMMARIZE,
        Parameters={"run.$": "$.run", "itemsLocation.$": "$.itemsLocation", "mapResults.$": MAP_RESULTS_PATH},
        Retry=[TRANSIENT_RETRY],
        Next=NEEDS_ATTENTION,
    )


def needs_attention_state(modes: Mapping[Mode, ModeSpec] = MODES) -> State:
    """Green exactly when nothing needs attention (or the mode always succeeds); otherwise the mode's Fail state.

    A mode without a Fail state (:attr:`ModeSpec.failure` None) goes to Done whatever its summary says.
    """
    always = [
        {"Variable": "$.mode", "StringEquals": str(mode), "Next": DONE}
        for mode, spec in modes.items()
        if spec.failure is None
    ]
    by_mode = [
        {"Variable": "$.mode", "StringEquals": str(mode), "Next": spec.failure.state}
        for mode, spec in modes.items()
        if spec.failure is not None and mode is not DEFAULT_MODE
    ]
    default = modes[DEFAULT_MODE].failure
    assert default is not None, "the default mode must fail when something needs attention"
    return {
        "Type": "Choice",
        "Choices": [*always, {"Variable": "$.summary.needsAttention", "NumericEquals": 0, "Next": DONE}, *by_mode],
        "Default": default.state,
    }


def fail_state(error: str) -> State:
    """A Fail state whose cause is the summary and the report's location (``Summarize`` writes it)."""
    return {
        "Type": "Fail",
        "Comment": "The report in S3 names every account-region that needs attention and what to do.",
        "Error": error,
        "CausePath": "$.cause",
    }


def substitutions(function_arns: Mapping[str, str], destination_bucket: str) -> dict[str, str]:
    """Every placeholder's value (DefinitionSubstitutions): the function ARNs by substitution key, and the bucket.

    >>> sorted(substitutions({"SummarizeFunctionArn": "arn:aws:lambda:..."}, "acme-inventory").items())
    [('DestinationBucketName', 'acme-inventory'), ('SummarizeFunctionArn', 'arn:aws:lambda:...')]
    """
    return {**function_arns, DESTINATION_BUCKET_SUBSTITUTION_KEY: destination_bucket}


def build_definition(modes: Mapping[Mode, ModeSpec] = MODES) -> dict[str, Any]:
    """The complete ASL document, with ``${<Name>FunctionArn}`` placeholders; ``modes`` give the Fail states.

    >>> sorted(build_definition()["States"])[:3]
    ['Done', 'Needs attention?', 'Process account-regions']
    """
    states: dict[str, State] = {
        RESOLVE: resolve_targets_state(),
        PROCESS: process_state(),
        SUMMARIZE_STATE: summarize_state(),
        NEEDS_ATTENTION: needs_attention_state(modes),
        DONE: {"Type": "Succeed", "Comment": "Every account-region is in place and verified, or skipped."},
    }
    for spec in modes.values():
        if spec.failure is not None:
            states[spec.failure.state] = fail_state(spec.failure.error.__name__)
    return {
        "Comment": "orgsync: roll out an organization-based SSM resource data sync to every target account-region.",
        "StartAt": RESOLVE,
        "States": states,
    }
