"""One home for running an execution: the backend interface, the finished-run type, the history and outcome readers.

A :class:`RunBackend` starts an execution, follows it (drawing the live view, or just waiting) and returns a
:class:`ExecutionResult` once it finished. Two implement it: the local engine
(:class:`workflow.console.local.LocalBackend`) and a deployed state machine
(:class:`workflow.console.remote.AwsBackend`). ``orgsync run`` and ``orgsync demo`` only talk to the interface.

Whatever the backend, progress and results are read the same way, through the Step Functions and S3 APIs:
:func:`fetch_history` is the one reader of an execution's history, :func:`list_outcomes` the one lister of the
outcome records a run writes to ``s3://<bucket>/orgsync/reports/<execution>/results/``, and a Lambda error's
cause is read by :func:`lambdas.causes.error_message`.

Example::

    >>> result = ExecutionResult("arn:aws:states:us-east-1:1:execution:orgsync:run-1", "FAILED", None,
    ...     "InvalidInput", '{"errorMessage": "regions: must not be empty"}')
    >>> result.execution_name, result.cause_message()
    ('run-1', 'regions: must not be empty')
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol

from rich.console import Console

from lambdas.causes import error_message
from lambdas.models import Outcome
from lambdas.report import report_key, results_prefix

TERMINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})


@dataclass(frozen=True)
class ExecutionResult:
    """How an execution ended, with the report it wrote (if the caller read it back).

    ``output`` is the parsed JSON output (None unless it succeeded); ``error``/``cause`` are the execution's
    error name and cause (None if it succeeded). A Lambda error's cause is AWS's error document as a JSON string:
    :meth:`cause_message` gives its message, :meth:`cause_json` the document. ``report`` is orgsync's report
    document (None when the execution wrote none, e.g. ``InvalidInput``, or nobody read it).
    """

    execution_arn: str
    status: str
    output: Any | None
    error: str | None
    cause: str | None
    report: dict[str, Any] | None = None

    @property
    def succeeded(self) -> bool:
        """True if the execution's status is SUCCEEDED."""
        return self.status == "SUCCEEDED"

    @property
    def execution_name(self) -> str:
        """The execution's name: the last part of its ARN (and the name of its report's S3 folder)."""
        return self.execution_arn.rsplit(":", 1)[-1]

    def cause_json(self) -> Any:
        """The cause parsed as JSON (a Lambda error payload, for instance); the raw string if it is not JSON."""
        if self.cause is None:
            return None
        try:
            return json.loads(self.cause)
        except json.JSONDecodeError:
            return self.cause

    def cause_message(self) -> str | None:
        """The cause in words: a Lambda error's ``errorMessage`` (InvalidInput's field and value), else the cause."""
        return error_message(self.cause)

    def statuses(self) -> dict[tuple[str, str], str]:
        """``{(accountId, region): status}`` from the report (empty without one)."""
        results = (self.report or {}).get("results", [])
        return {(r["accountId"], r["region"]): r["status"] for r in results}

    def result(self, account_id: str, region: str) -> dict[str, Any]:
        """One account-region's result from the report (KeyError if absent)."""
        for result in (self.report or {}).get("results", []):
            if result["accountId"] == account_id and result["region"] == region:
                return dict(result)
        raise KeyError(f"no result for {account_id} {region}")


def result_from_description(description: dict[str, Any], report: dict[str, Any] | None = None) -> ExecutionResult:
    """An :class:`ExecutionResult` from a ``DescribeExecution`` response."""
    return ExecutionResult(
        execution_arn=str(description["executionArn"]),
        status=str(description["status"]),
        output=_parse_output(description.get("output")),
        error=description.get("error"),
        cause=description.get("cause"),
        report=report,
    )


def _parse_output(raw: str | None) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        # moto returns a string result unquoted ("v2" instead of "\"v2\""); AWS always returns JSON.
        return raw


class RunBackend(Protocol):
    """Where an execution runs: start it, follow it, and collect how it finished (used in a ``with`` block, which
    sets up and tears down what the backend needs: the local engine, or nothing on AWS)."""

    def __enter__(self) -> RunBackend: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...

    def start(self, execution_input: dict[str, Any], name: str | None = None) -> str:
        """Start an execution of orgsync's state machine; returns its ARN."""
        ...

    def follow(self, execution_arn: str, console: Console | None, interval: float) -> None:
        """Draw the live view on ``console`` until the execution ends (just wait when ``console`` is None)."""
        ...

    def finish(self, execution_arn: str) -> ExecutionResult:
        """How the (finished) execution ended, with its report when it wrote one."""
        ...


def fetch_history(
    sfn: Any, execution_arn: str, *, page_size: int = 1000, max_pages: int = 10_000
) -> list[dict[str, Any]]:
    """Every event of an execution, oldest first, whatever the server does with paging and order.

    Engines differ: moto ignores ``maxResults`` and ``reverseOrder`` and returns everything at once, possibly with
    a token anyway; AWS pages by 1,000. So this pages, de-duplicates by event id, sorts by id, and stops when a
    page brings nothing new.
    """
    events: dict[int, dict[str, Any]] = {}
    token: str | None = None
    seen_tokens: set[str] = set()
    for _ in range(max_pages):
        kwargs: dict[str, Any] = {"executionArn": execution_arn, "maxResults": page_size, "reverseOrder": False}
        if token:
            kwargs["nextToken"] = token
        page = sfn.get_execution_history(**kwargs)
        before = len(events)
        for event in page.get("events", []):
            events[int(event["id"])] = event
        token = page.get("nextToken")
        if not token or token in seen_tokens or len(events) == before:
            break
        seen_tokens.add(token)
    return [events[key] for key in sorted(events)]


def list_outcomes(s3: Any, bucket: str, execution_name: str, *, prefix: str | None = None) -> list[Outcome]:
    """The outcome records an execution wrote so far, by account and region (empty when there are none).

    ``prefix`` overrides where they are (an ``s3://`` folder a user named) instead of the execution's own folder.
    A record that does not parse (being written, or not orgsync's) is skipped: readers use this for progress and
    for a partial report, and the Summarize Lambda reads the complete set itself (``lambdas.report``).
    """
    prefix = results_prefix(execution_name) if prefix is None else prefix
    outcomes: list[Outcome] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if not str(item["Key"]).endswith(".json"):
                continue
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            try:
                record = json.loads(body)  # a batch's outcomes (lambdas.report.write_outcomes)
                outcomes.extend(Outcome.from_dict(raw) for raw in (record if isinstance(record, list) else [record]))
            except (ValueError, KeyError, TypeError):
                continue
    return sorted(outcomes, key=lambda o: (o.accountId, o.region))


def read_report(s3: Any, bucket: str, execution_name: str) -> dict[str, Any] | None:
    """The report document an execution wrote to its bucket (None when it wrote none)."""
    from botocore.exceptions import ClientError

    try:
        body = s3.get_object(Bucket=bucket, Key=report_key(execution_name))["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404", "NotFound"}:
            return None
        raise
    report: dict[str, Any] = json.loads(body)
    return report
