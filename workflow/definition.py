"""The state machine: one ASL document, built from small named pieces, deployed by CDK and run locally.

::

    Resolve targets ──(InvalidInput, DestinationPolicyIncomplete fail the execution here, before any account is touched)
    Claim account-regions ──(AccountRegionsBusy: whenBusy "fail", or busyWaitSeconds passed)
    Account-regions held? ── held by a running execution ─► Wait for the running execution ─► Claim account-regions
    Canary? ── a rollout with a canary ──► Reconcile canary ► Check canary marker ──► Canary passed?
                                              └──(failure)──► Explain canary failure ─┘   │ no ─► Canary failed
    Process accounts   Distributed Map over orgsync/runs/<execution>/targets.json (one entry per account, with its
    │                  regions); ItemBatcher: 20 accounts per child (accountsPerBatch), BatchInput = the run
    │   Reconcile accounts ──Catch States.ALL──► Record failures
    │   Check markers ──Catch States.ALL──► Record failures
    │   Anything left? ── toReconcile > 0 ──► Wait to retry ──► Reconcile accounts
    │                  ├─ pending > 0 ──────► Wait for markers ──► Check markers
    │                  └─ else ─────────────► Batch done
    │   (States.ItemReaderFailed: retried 3 times, then ─► Release account-regions, items unread ─► Items file
    │    unreadable (ItemsFileUnreadable); States.ResultWriterFailed: not retried, caught ─► Release account-regions)
    Release account-regions
    Summarize          (from the result files, or from the batches' records when the ResultWriter failed)
    Needs attention? ── 0 ──► Done
                     └─ else ► Rollout needs attention (RolloutIncomplete) | Verification failed | Teardown incomplete

Lambda ARNs are ``${<Name>FunctionArn}`` placeholders (:mod:`workflow.functions`), filled by CDK's
DefinitionSubstitutions or by the local engine. Retry and Catch name errors by ``Cls.__name__``.

Why a Distributed Map: its children are separate executions, so the parent's history stays at a handful of
events whatever the organization's size (an inline Map adds ~7 events per item per task and outgrows the
25,000-event cap near 1,500 account-regions). Why batches of accounts (:mod:`lambdas.batch`): a child of twenty
accounts takes four state transitions and two Lambda invocations on the happy path whatever its size, assumes
each account's member role once and lists each account's marker once (it has no region). Retries of one
account-region and the wait for markers loop through ``Anything left?`` for only the account-regions concerned.

Example::

    >>> definition = build_definition()
    >>> definition["StartAt"]
    'Resolve targets'
    >>> definition["States"]["Process accounts"]["ItemProcessor"]["ProcessorConfig"]["Mode"]
    'DISTRIBUTED'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lambdas import batch
from lambdas.errors import (
    ITEM_READER_FAILED,
    LAMBDA_CUT_OFF_ERRORS,
    RESULT_WRITER_FAILED,
    AccountRegionsBusy,
    CanaryFailed,
    DestinationPolicyIncomplete,
    InvalidInput,
    ItemsFileUnreadable,
    MarkerNotYetWritten,
    S3WriteFailed,
)
from lambdas.errors import TRANSIENT_LAMBDA_ERRORS as TRANSIENT
from lambdas.models import Mode
from lambdas.modes import MODES, ModeSpec
from lambdas.report import RUNS_PREFIX
from workflow.functions import (
    CANARY,
    CHECK_MARKER,
    CLAIM_ACCOUNT_REGIONS,
    RECONCILE_SYNC,
    RECORD_FAILURE,
    RELEASE_ACCOUNT_REGIONS,
    RESOLVE_TARGETS,
    SUMMARIZE,
    LambdaFunction,
)

State = dict[str, Any]

RESOLVE = "Resolve targets"
CLAIM = "Claim account-regions"
HELD = "Account-regions held?"
WAIT_FOR_HOLDER = "Wait for the running execution"
RELEASE = "Release account-regions"
RELEASE_UNREAD = "Release account-regions, items unread"
ITEMS_UNREADABLE = "Items file unreadable"
PROCESS = "Process accounts"
RECONCILE = "Reconcile accounts"
CHECK = "Check markers"
ANYTHING_LEFT = "Anything left?"
WAIT_TO_RETRY = "Wait to retry"
WAIT_FOR_MARKERS = "Wait for markers"
BATCH_DONE = "Batch done"
RECORD = "Record failures"
SUMMARIZE_STATE = "Summarize"
CANARY_CHOICE = "Canary?"
RECONCILE_CANARY = "Reconcile canary"
CHECK_CANARY = "Check canary marker"
EXPLAIN_CANARY = "Explain canary failure"
CANARY_PASSED = "Canary passed?"
CANARY_FAILED = "Canary failed"
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
#: Accounts per child execution (ItemBatcher's MaxItemsPerBatch), each with all its regions. A child's fixed cost
#: is 4 state transitions and 2 invocations on the happy path, so the batch size sets most of the cost per
#: account-region; a child's duration grows with it (its account-regions are reconciled one after another).
#: Chosen from ``python -m benchmarks.rollout_scale 1000 --accounts-per-batch 10 --accounts-per-batch 20
#: --accounts-per-batch 25`` (README, Scale and cost): 10 accounts cost 0.11 transitions per account-region, 20
#: accounts 0.06 and 25 accounts 0.05. Twenty accounts of four regions (80 account-regions) take about 25-35 s of
#: calls on AWS (latency table), far from the Lambda timeouts, and bring a verify of 20,000 account-regions under
#: $0.10. Configurable at deployment (``accountsPerBatch``).
ACCOUNTS_PER_BATCH = 20
#: Children running at once: 40 children of 20 accounts keep 800 accounts in flight with 40 concurrent invocations
#: (of the 1,000 a region allows by default). Organizations and SSM throttle per account, and each account's calls
#: are made one after another within its child; a child assumes each member role once (STS's AssumeRole rate per
#: account cannot be raised), about one AssumeRole a second per child. Configurable (``maxConcurrency``).
MAX_CONCURRENCY = 40
#: The largest batch: ItemBatcher refuses a child input above 256 KiB, and each step's output carries the
#: outcomes (about 1 KiB per account-region, 30 regions at most): 100 accounts stay well inside either way.
MAX_ACCOUNTS_PER_BATCH = 100
#: Retry budgets (the same figures a batch uses for one account-region, lambdas.batch). Each is bounded; FULL
#: jitter spreads retries of many children over time.
TRANSIENT_RETRY: State = batch.TRANSIENT.retrier(list(TRANSIENT))
#: A function that ran past its timeout (``Sandbox.Timedout``; ``Lambda.Unknown`` in AWS's guide): every task is
#: idempotent, so it is run again, at most twice. Few retries: each attempt may cost the whole timeout, and a timeout
#: that is not transient repeats (ReconcileSync's three attempts take at most 9 minutes).
TIMEOUT_RETRY: State = {
    "ErrorEquals": list(LAMBDA_CUT_OFF_ERRORS),
    "IntervalSeconds": 2,
    "BackoffRate": 2.0,
    "MaxAttempts": 2,
    "MaxDelaySeconds": 10,
    "JitterStrategy": "FULL",
}
#: The canary's own retries (one account-region, outside a batch): the batch's figures for the same errors.
S3_WRITE_RETRY: State = batch.S3_WRITE.retrier([S3WriteFailed.__name__])
MARKER_RETRY: State = batch.MARKER.retrier([MarkerNotYetWritten.__name__])
#: The Map's own read of the items file (``States.ItemReaderFailed``): it fails before any child starts, so trying
#: the whole Map state again costs one GetObject; three more attempts within about 15 s outlast a passing S3 fault.
ITEM_READER = batch.RetryPolicy(interval_seconds=2, backoff_rate=2.0, max_attempts=3, max_delay_seconds=8)
ITEM_READER_RETRY: State = ITEM_READER.retrier([ITEM_READER_FAILED])
#: Where a Catch of the Map puts the items file's error (``Items file unreadable`` reads it).
ITEMS_ERROR_PATH = "$.itemsError"


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
        Comment=f"Fails the execution with {InvalidInput.__name__} (field and value in the cause) or "
        f"{DestinationPolicyIncomplete.__name__} (the statements to add) before any account is touched.",
        Parameters={"input.$": "$", "executionName.$": "$$.Execution.Name"},
        Retry=[TRANSIENT_RETRY, TIMEOUT_RETRY],
        Next=CLAIM,
    )


def claim_state() -> State:
    """Claim the run's account-regions in the lease table (:mod:`lambdas.leases`); its answer goes to ``$.lease``.

    ``AccountRegionsBusy`` (whenBusy "fail", or busyWaitSeconds passed) is neither retried nor caught: the
    execution fails with it, its cause naming the running execution, before any account is touched.
    """
    return lambda_task(
        CLAIM_ACCOUNT_REGIONS,
        Comment=f"Fails the execution with {AccountRegionsBusy.__name__} naming the running execution that holds "
        "some of the account-regions, when the run may not (or may no longer) wait.",
        Parameters={
            "run.$": "$.run",
            "itemsLocation.$": "$.itemsLocation",
            "canary.$": "$.canary",
            "executionArn.$": "$$.Execution.Id",
            "executionStartTime.$": "$$.Execution.StartTime",
        },
        ResultPath="$.lease",
        Retry=[TRANSIENT_RETRY, TIMEOUT_RETRY],
        Next=HELD,
    )


def held_state() -> State:
    """Wait while a running execution holds some of the account-regions; go on once they are the run's."""
    return {
        "Type": "Choice",
        "Choices": [{"Variable": "$.lease.claimed", "BooleanEquals": False, "Next": WAIT_FOR_HOLDER}],
        "Default": CANARY_CHOICE,
    }


def wait_for_holder_state() -> State:
    """The wait between two claims: the Lambda bounds the loop (busyWaitSeconds from the execution's start)."""
    return {"Type": "Wait", "SecondsPath": "$.lease.waitSeconds", "Next": CLAIM}


def release_state(next_state: str = SUMMARIZE_STATE) -> State:
    """Release the account-regions once the Map is done with them (before Summarize, which only reads), or once it
    could not read its items (before ``Items file unreadable``): ``next_state`` either way.

    A release that still fails after its retries does not fail the run: the claim stops holding once Step
    Functions reports the execution closed (:mod:`lambdas.leases`).
    """
    return lambda_task(
        RELEASE_ACCOUNT_REGIONS,
        Parameters={"run.$": "$.run", "executionArn.$": "$$.Execution.Id"},
        ResultPath=None,
        Retry=[TRANSIENT_RETRY, TIMEOUT_RETRY],
        Catch=catch_all(next_state, "$.releaseError"),
        Next=next_state,
    )


def items_unreadable_state() -> State:
    """The end of a run whose Map could not read its items file after its retries (the claim already released).

    The cause names the items file and the error Step Functions gave (its cause names the S3 error).
    """
    return {
        "Type": "Fail",
        "Comment": "The Map read no items: no account-region was reconciled by it. Check the object and the state "
        "machine role's s3:GetObject on it, then run again.",
        "Error": ItemsFileUnreadable.__name__,
        "CausePath": "States.Format('The Distributed Map could not read the items file s3://{}/{} after "
        f"{ITEM_READER.max_attempts + 1} attempts ({{}}): {{}}', $.itemsLocation.bucket, $.itemsLocation.key, "
        f"{ITEMS_ERROR_PATH}.Error, {ITEMS_ERROR_PATH}.Cause)",
    }


def canary_states() -> dict[str, State]:
    """The canary between ``Resolve targets`` and the Map (:mod:`lambdas.canary`).

    ``Resolve targets`` returns ``canary`` (the item and the organization) or null (no canary: a read-only mode,
    teardown, ``"canary": false``, nothing to roll out). Every failure of the canary's reconcile or marker check
    is explained (the failure recorded, the statements to add) and ends in ``Canary failed``; the results go to
    ``$.canary*`` paths so the Map and Summarize read the resolved run as before.
    """
    caught = [{"ErrorEquals": ["States.ALL"], "Next": EXPLAIN_CANARY, "ResultPath": "$.canaryError"}]
    return {
        CANARY_CHOICE: {
            "Type": "Choice",
            "Choices": [
                {
                    "And": [
                        {"Variable": "$.canary", "IsPresent": True},
                        {"Variable": "$.canary", "IsNull": False},
                    ],
                    "Next": RECONCILE_CANARY,
                }
            ],
            "Default": PROCESS,
        },
        RECONCILE_CANARY: lambda_task(
            CANARY,
            Comment="The canary account-region, reconciled like any other; S3 write failed is retried as in the Map.",
            Parameters={"step": "reconcile", "canary.$": "$.canary", "claimedAt.$": "$.lease.claimedAt"},
            ResultPath="$.canaryReconcile",
            Retry=[TRANSIENT_RETRY, TIMEOUT_RETRY, S3_WRITE_RETRY],
            Catch=caught,
            Next=CHECK_CANARY,
        ),
        CHECK_CANARY: lambda_task(
            CANARY,
            Comment="Waits for the canary's marker (up to markerTimeoutSeconds) and records its outcome.",
            Parameters={"step": "check", "canary.$": "$.canary", "reconcile.$": "$.canaryReconcile"},
            ResultPath="$.canaryResult",
            Retry=[MARKER_RETRY, TRANSIENT_RETRY, TIMEOUT_RETRY],
            Catch=caught,
            Next=CANARY_PASSED,
        ),
        EXPLAIN_CANARY: lambda_task(
            CANARY,
            Comment="Records the canary's failure and names the bucket or key policy statements to add.",
            Parameters={"step": "explain", "canary.$": "$.canary", "error.$": "$.canaryError"},
            ResultPath="$.canaryResult",
            Retry=[TRANSIENT_RETRY, TIMEOUT_RETRY],
            Next=CANARY_PASSED,
        ),
        CANARY_PASSED: {
            "Type": "Choice",
            "Choices": [{"Variable": "$.canaryResult.passed", "BooleanEquals": True, "Next": PROCESS}],
            "Default": CANARY_FAILED,
        },
        CANARY_FAILED: {
            "Type": "Fail",
            "Comment": "SSM could not write from the canary: no other account-region was touched.",
            "Error": CanaryFailed.__name__,
            "CausePath": "$.canaryResult.cause",
        },
    }


def reconcile_state() -> State:
    """A batch's account-regions still to reconcile: list, classify, create or replace (``lambdas.batch``).

    One account-region's error stays its own (retried by the batch, or FAILED); the Retry is for the whole step
    (a Lambda service error); what outlasts it is recorded by ``Record failures``.
    """
    return lambda_task(
        RECONCILE_SYNC,
        Comment="Reconciles each account-region of the batch; the member role is assumed once per account.",
        Retry=[TRANSIENT_RETRY, TIMEOUT_RETRY],
        Catch=catch_all(RECORD),
        Next=CHECK,
    )


def check_state() -> State:
    """The markers of the reconciled account-regions, listed once per account; records the batch when done."""
    return lambda_task(
        CHECK_MARKER,
        Comment="Checks each account's marker once; account-regions whose marker is not written yet stay pending.",
        Retry=[TRANSIENT_RETRY, TIMEOUT_RETRY],
        Catch=catch_all(RECORD),
        Next=ANYTHING_LEFT,
    )


def anything_left_state() -> State:
    """Back to reconciling (retries, a step that ran short of time), or to the pending markers, or done."""
    return {
        "Type": "Choice",
        "Choices": [
            {"Variable": "$.counts.toReconcile", "NumericGreaterThan": 0, "Next": WAIT_TO_RETRY},
            {"Variable": "$.counts.pending", "NumericGreaterThan": 0, "Next": WAIT_FOR_MARKERS},
        ],
        "Default": BATCH_DONE,
    }


def wait_state(next_state: str, comment: str) -> State:
    """Wait the batch's ``waitSeconds`` (its backoff, FULL jitter, computed by the step that asked to wait)."""
    return {"Type": "Wait", "Comment": comment, "SecondsPath": "$.waitSeconds", "Next": next_state}


def record_failures_state() -> State:
    """Record every account-region of the batch without an outcome as FAILED (or PENDING), with what to do."""
    return lambda_task(RECORD_FAILURE, Retry=[TRANSIENT_RETRY, TIMEOUT_RETRY], End=True)


def item_processor() -> State:
    """What each child execution runs for its batch of accounts (every step returns the whole batch)."""
    return {
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
        "StartAt": RECONCILE,
        "States": {
            RECONCILE: reconcile_state(),
            CHECK: check_state(),
            ANYTHING_LEFT: anything_left_state(),
            WAIT_TO_RETRY: wait_state(RECONCILE, "Throttling, S3 write failed, or the step ran short of time."),
            WAIT_FOR_MARKERS: wait_state(CHECK, "SSM has not written some accounts' markers yet."),
            BATCH_DONE: {
                "Type": "Succeed",
                "Comment": "Every account-region of the batch has its outcome (in this output and the record).",
            },
            RECORD: record_failures_state(),
        },
    }


def process_state(accounts_per_batch: int = ACCOUNTS_PER_BATCH, max_concurrency: int = MAX_CONCURRENCY) -> State:
    """The Distributed Map over the items file (one entry per account), ``accounts_per_batch`` accounts per child.

    Every failure inside a child is caught and recorded, and ``Summarize`` reports an account-region without a
    record as FAILED, so the Map tolerates all failures (100.0: moto only accepts the percentage as a float)
    rather than stopping the rollout: a child fails only when it could not record its outcomes. The state's
    result is only the Map Run ARN and where its ResultWriter wrote.

    The Map's own S3 calls: ``States.ItemReaderFailed`` (the items file unread, before any child ran) is retried
    (``ITEM_READER_RETRY``), then caught to release the claim and fail as ``ItemsFileUnreadable``.
    ``States.ResultWriterFailed`` (after every child ran) is never retried, which would run every child again:
    it is caught, its error output put where the result would be, and ``Summarize`` reads the batches' records.
    """
    return {
        "Type": "Map",
        "Comment": "One child execution per batch of accounts, each with all its regions; each records its outcomes.",
        "Label": "Accounts",
        "ItemReader": {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSON"},
            "Parameters": {"Bucket.$": "$.itemsLocation.bucket", "Key.$": "$.itemsLocation.key"},
        },
        # The run's parameters once per child, not once per account.
        # ``claimedAt``: when the claim made the account-regions the run's (what a retry compares creations with).
        "ItemBatcher": {
            "MaxItemsPerBatch": accounts_per_batch,
            "BatchInput": {"run.$": "$.run", "claimedAt.$": "$.lease.claimedAt"},
        },
        "ItemProcessor": item_processor(),
        # Without a ResultWriter AWS makes the children's results the state's result, which passes the 256 KiB
        # quota with a few hundred accounts (ResultPath applies after). Step Functions writes them under
        # <Prefix>/<Map Run id>/. Static parameters: which input a JsonPath here reads is not documented (moto
        # reads the results), and the state machine's role may write only to its own bucket anyway.
        "ResultWriter": {
            "Resource": "arn:aws:states:::s3:putObject",
            "Parameters": {"Bucket": DESTINATION_BUCKET_PLACEHOLDER, "Prefix": MAP_RESULTS_PREFIX},
        },
        "MaxConcurrency": max_concurrency,
        "ToleratedFailurePercentage": 100.0,
        # With a ResultWriter the state's result is the Map Run ARN and the manifest's location: Summarize reads it.
        "ResultPath": MAP_RESULTS_PATH,
        "Retry": [ITEM_READER_RETRY],
        "Catch": [
            {"ErrorEquals": [ITEM_READER_FAILED], "Next": RELEASE_UNREAD, "ResultPath": ITEMS_ERROR_PATH},
            # The error output ({"Error", "Cause"}) where the Map's result would be: Summarize tells them apart.
            {"ErrorEquals": [RESULT_WRITER_FAILED], "Next": RELEASE, "ResultPath": MAP_RESULTS_PATH},
        ],
        "Next": RELEASE,
    }


def summarize_state() -> State:
    """Read the Map's results and the outcome records, write the report, return summary + location + results."""
    return lambda_task(
        SUMMARIZE,
        Parameters={"run.$": "$.run", "itemsLocation.$": "$.itemsLocation", "mapResults.$": MAP_RESULTS_PATH},
        Retry=[TRANSIENT_RETRY, TIMEOUT_RETRY],
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


def build_definition(
    modes: Mapping[Mode, ModeSpec] = MODES,
    *,
    accounts_per_batch: int = ACCOUNTS_PER_BATCH,
    max_concurrency: int = MAX_CONCURRENCY,
) -> dict[str, Any]:
    """The complete ASL document, with ``${<Name>FunctionArn}`` placeholders; ``modes`` give the Fail states;
    ``accounts_per_batch`` and ``max_concurrency`` shape the Distributed Map (the deployment's config sets them).

    >>> list(build_definition()["States"])[:3]
    ['Resolve targets', 'Claim account-regions', 'Account-regions held?']
    >>> build_definition(accounts_per_batch=25)["States"]["Process accounts"]["ItemBatcher"]["MaxItemsPerBatch"]
    25
    """
    if not 1 <= accounts_per_batch <= MAX_ACCOUNTS_PER_BATCH:
        raise ValueError(f"accounts_per_batch: {accounts_per_batch} must be 1 to {MAX_ACCOUNTS_PER_BATCH}")
    if not 1 <= max_concurrency <= 10_000:
        raise ValueError(f"max_concurrency: {max_concurrency} must be 1 to 10000 (a Distributed Map's most)")
    states: dict[str, State] = {
        RESOLVE: resolve_targets_state(),
        CLAIM: claim_state(),
        HELD: held_state(),
        WAIT_FOR_HOLDER: wait_for_holder_state(),
        **canary_states(),
        PROCESS: process_state(accounts_per_batch, max_concurrency),
        RELEASE: release_state(),
        RELEASE_UNREAD: release_state(ITEMS_UNREADABLE),
        ITEMS_UNREADABLE: items_unreadable_state(),
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
