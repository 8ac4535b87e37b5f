"""The README's reliability table cannot drift: every worst case is computed here from what decides it.

The state machine's Retry constants (``workflow/definition.py``), boto's retry configuration (``lambdas/aws.py``'s
``BOTO_CONFIG`` and botocore's standard-mode backoff), the functions' timeouts (``workflow/functions.py``), the
replace's waits (``lambdas/sync.py``) and the enrolment waiter's (``workflow/enrolment_definition.py``): change one,
and this test names the README cell to update.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from botocore.retries.standard import ExponentialBackoff

from lambdas import aws, sync
from lambdas.errors import InvalidInput
from workflow.definition import (
    ITEM_READER_RETRY,
    RESOLVE,
    S3_WRITE_RETRY,
    TIMEOUT_RETRY,
    TRANSIENT_RETRY,
    build_definition,
)
from workflow.enrolment_definition import WAITS
from workflow.functions import CHECK_MARKER, RECONCILE_SYNC, RECORD_FAILURE, RESOLVE_TARGETS, SUMMARIZE

README = Path(__file__).resolve().parents[2] / "README.md"


def retry_waits(rule: dict[str, Any]) -> float:
    """The longest a Retry waits in all: each interval at its cap (FULL jitter draws at most that)."""
    return float(
        sum(
            min(rule["IntervalSeconds"] * rule["BackoffRate"] ** retry, rule["MaxDelaySeconds"])
            for retry in range(rule["MaxAttempts"])
        )
    )


def seconds(value: float) -> str:
    """A figure in whole seconds, rounded up (a worst case)."""
    return f"{math.ceil(value)} s"


def boto_worst_case_call() -> tuple[int, float, float]:
    """(attempts, the longest one call takes, boto's longest waits between them), from the client configuration."""
    attempts = aws.BOTO_CONFIG.retries["total_max_attempts"]
    per_attempt = aws.BOTO_CONFIG.connect_timeout + aws.BOTO_CONFIG.read_timeout
    scale = ExponentialBackoff._DEFAULT_BACKOFF_CONFIG["throttling_base_scale"]  # throttling's, the larger
    backoffs = sum(
        min(scale * ExponentialBackoff._BASE**retry, ExponentialBackoff._MAX_BACKOFF) for retry in range(attempts - 1)
    )
    retry_after = (attempts - 1) * ExponentialBackoff._RETRY_AFTER_MAX_ADDITIONAL
    return attempts, attempts * per_attempt + backoffs + retry_after, backoffs


def expected_worst_cases() -> dict[str, str]:
    """The last cell of each row, by the start of its first cell."""
    attempts, per_call, _ = boto_worst_case_call()
    transient_tries = TRANSIENT_RETRY["MaxAttempts"] + 1
    transient_waits = seconds(retry_waits(TRANSIENT_RETRY))
    timeout_tries = TIMEOUT_RETRY["MaxAttempts"] + 1
    timeout_waits = retry_waits(TIMEOUT_RETRY)

    def timed_out(function_timeout: int) -> str:
        return seconds(timeout_tries * function_timeout + timeout_waits)

    recreates = len(sync.RECREATE_WAITS) + 1
    reconcile_tries = 1 + TRANSIENT_RETRY["MaxAttempts"] + TIMEOUT_RETRY["MaxAttempts"] + S3_WRITE_RETRY["MaxAttempts"]
    all_waits = retry_waits(TRANSIENT_RETRY) + timeout_waits + retry_waits(S3_WRITE_RETRY)
    task_worst = reconcile_tries * RECONCILE_SYNC.timeout_seconds + all_waits
    transient = (
        f"{attempts} attempts per call, {transient_tries} task attempts: {attempts * transient_tries} attempts of "
        f"the call, at most {transient_waits} of waits between task attempts"
    )
    minutes = [str(wait // 60) for wait in WAITS]
    enrolment = (
        f"{len(WAITS)} rollouts of the account after waits of {', '.join(minutes[:-1])} and {minutes[-1]} min: "
        f"{sum(WAITS)} s ({round(sum(WAITS) / 60)} min) of waiting, plus each rollout's own time"
    )
    resolve = build_definition()["States"][RESOLVE]
    refused_tries = 1 + sum(
        rule["MaxAttempts"]
        for rule in resolve.get("Retry", [])
        if InvalidInput.__name__ in rule["ErrorEquals"] or "States.ALL" in rule["ErrorEquals"]
    )
    caught = any(InvalidInput.__name__ in c["ErrorEquals"] or "States.ALL" in c["ErrorEquals"]
                 for c in resolve.get("Catch", []))
    refused = (
        f"{'one invocation' if refused_tries == 1 else f'{refused_tries} invocations'} of ResolveTargets, "
        f"{'no retry' if refused_tries == 1 else 'retried'}, {'caught' if caught else 'no account touched'}"
    )
    return {
        "Enrolment: the member role not yet": enrolment,
        "Input the deployment cannot honour": refused,
        "Throttling": transient,
        "AWS transient fault": transient,
        "Connection refused": f"{seconds(per_call)} per call ({attempts} attempts); {transient_tries} task attempts: "
        f"{attempts * transient_tries} attempts of the call",
        "A function short of time": f"{transient_tries} task attempts, at most {transient_waits} of waits; timeouts: "
        f"ReconcileSync {RECONCILE_SYNC.timeout_seconds} s, CheckMarker {CHECK_MARKER.timeout_seconds} s, "
        f"RecordFailure {RECORD_FAILURE.timeout_seconds} s, ResolveTargets and Summarize "
        f"{RESOLVE_TARGETS.timeout_seconds} s",
        "A function past its timeout": f"{timeout_tries} invocations with at most {seconds(timeout_waits)} of waits: "
        f"ReconcileSync {timed_out(RECONCILE_SYNC.timeout_seconds)}, CheckMarker "
        f"{timed_out(CHECK_MARKER.timeout_seconds)}, RecordFailure {timed_out(RECORD_FAILURE.timeout_seconds)}, "
        f"ResolveTargets and Summarize {timed_out(SUMMARIZE.timeout_seconds)}",
        "Lambda service errors": f"{transient_tries} invocations, at most {transient_waits} of waits",
        "The Distributed Map's own read": f"{ITEM_READER_RETRY['MaxAttempts'] + 1} reads of the items file, at most "
        f"{seconds(retry_waits(ITEM_READER_RETRY))} of waits",
        '"S3 write failed" just after': f"{S3_WRITE_RETRY['MaxAttempts'] + 1} task attempts, at most "
        f"{seconds(retry_waits(S3_WRITE_RETRY))} of waits",
        '"S3 write failed" or': f"{recreates} creates, at most {seconds(sum(sync.RECREATE_WAITS))} of waits, in one "
        "invocation",
        "A replace whose new sync": f"delete, create and restore at most {seconds(per_call)} each: "
        f"{seconds(sync.REPLACE_RESERVE_SECONDS)}, in one invocation",
        "An account-region's task at its worst": f"{reconcile_tries} invocations of at most "
        f"{RECONCILE_SYNC.timeout_seconds} s, with at most {seconds(all_waits)} of waits: {seconds(task_worst)} "
        f"(about {round(task_worst / 60)} min)",
    }


def reliability_rows() -> dict[str, list[str]]:
    text = README.read_text()
    section = text[text.index("## Reliability") :]
    section = section[: section.index("\n## ", 1)]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| Fault ")]
    cells = [[cell.strip() for cell in row.strip().strip("|").split(" | ")] for row in rows]
    return {row[0]: row for row in cells}


def test_the_boto_figures_agree_with_the_client_configuration() -> None:
    attempts, per_call, backoffs = boto_worst_case_call()
    assert per_call == aws.WORST_CASE_CALL_SECONDS
    assert 3 * per_call == sync.REPLACE_RESERVE_SECONDS
    text = README.read_text()
    intro = text[text.index("## Reliability") : text.index("| Fault |")]
    per_attempt = aws.BOTO_CONFIG.connect_timeout + aws.BOTO_CONFIG.read_timeout
    retry_after = (attempts - 1) * ExponentialBackoff._RETRY_AFTER_MAX_ADDITIONAL
    assert f"with **{attempts} attempts**" in intro
    times = "\N{MULTIPLICATION SIGN}"
    formula = f"{attempts} {times} {seconds(per_attempt)} + {seconds(backoffs)} + {seconds(retry_after)}"
    assert f"**{seconds(per_call)}** ({formula})" in intro
    assert f"{TRANSIENT_RETRY['MaxAttempts']} retries" in intro
    assert f"at most {seconds(retry_waits(TRANSIENT_RETRY))} of waits" in intro


def test_every_worst_case_of_the_readme_table_is_computed_from_the_constants() -> None:
    rows = reliability_rows()
    for start, worst_case in expected_worst_cases().items():
        matching = [row for fault, row in rows.items() if fault.startswith(start)]
        assert len(matching) == 1, f"one README row starting {start!r}: {len(matching)}"
        assert matching[0][-1] == worst_case, f"README row {start!r}: write {worst_case!r}"


def test_the_table_lists_every_fault_orgsync_handles() -> None:
    faults = " ".join(rows for rows in reliability_rows())
    for fault in (
        "Throttling", "SlowDown", "InternalError", "ReadTimeoutError", "EndpointConnectionError", "Sandbox.Timedout",
        "Lambda.ServiceException", '"S3 write failed" just after a bucket policy change',
        "ResourceDataSyncAlreadyExists",
        "Quota full", "only slot", "Member role missing", "session name", "STS `ValidationError`", "replace",
        "marker `test.json` not yet written", "Enrolment", "Input the deployment cannot honour", "Deployment faults",
        "States.ItemReaderFailed", "States.ResultWriterFailed",
    ):
        assert fault in faults, fault


def test_deployment_faults_are_linked_to_the_deployment_guide() -> None:
    [row] = [row for fault, row in reliability_rows().items() if fault.startswith("Deployment faults")]
    link = "docs/deployment.md#reliability-and-security"
    assert f"]({link})" in row[1]
    guide = (README.parent / "docs" / "deployment.md").read_text()
    assert "\n### Reliability and security\n" in guide  # the anchor GitHub makes of that heading
