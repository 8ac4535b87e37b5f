"""Following an execution through the Step Functions and S3 APIs, wherever it runs: one poller for every backend.

:class:`ExecutionPoller` builds a :class:`~workflow.console.live.Snapshot` from three places, whichever answers:
the execution history (task attempts, retries, errors, outcomes returned by inline Map iterations), the
Distributed Map run's item counts (``DescribeMapRun``) and child executions, and the outcome records each item
writes to the destination bucket. Any of these may fail on a given endpoint (moto cannot list a map run's
executions): each is tried and skipped quietly when it does. The local engine answers the same APIs, so the local
backend follows its executions with this poller too.

Example::

    >>> _planned([{"Payload": {"counts": {"items": 4, "skipped": 1}}}])
    5
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console

from lambdas.models import Mode, Outcome
from workflow.console.history import ExecutionView, analyze
from workflow.console.live import Snapshot, follow
from workflow.console.remote import find_bucket, json_or_none, parse_execution_arn
from workflow.runs import fetch_history, list_outcomes


@dataclass
class ExecutionPoller:
    """Builds a :class:`Snapshot` of an execution from its history, map runs and outcome records."""

    sfn: Any
    s3: Any
    execution_arn: str
    mode: Mode = Mode.ROLLOUT
    bucket: str | None = None
    view: ExecutionView = field(default_factory=ExecutionView)
    warnings: list[str] = field(default_factory=list)
    max_child_reads: int = 25
    #: Counts retries the history cannot show (the local engine's children are not listable; it records each
    #: retry's sleep instead).
    retry_counter: Callable[[], int] | None = None
    _finished_children: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.name = parse_execution_arn(self.execution_arn).name

    def refresh(self) -> ExecutionView:
        """Read the whole history again (and child executions of Distributed Maps when they can be listed)."""
        view = analyze(fetch_history(self.sfn, self.execution_arn))
        for map_run in view.map_run_arns:
            self._count_map_run(view, map_run)
            self._read_children(view, map_run)
        if self.bucket is None:
            self.bucket = self._bucket(view)
        self.view = view
        return view

    def _count_map_run(self, view: ExecutionView, map_run: str) -> None:
        try:
            counts = self.sfn.describe_map_run(mapRunArn=map_run).get("itemCounts", {})
        except Exception:  # best effort: not every endpoint describes map runs
            return
        view.map_item_count = max(view.map_item_count or 0, int(counts.get("total", 0)))
        finished = sum(int(counts.get(k, 0)) for k in ("succeeded", "failed", "timedOut", "aborted"))
        view.map_iterations_done = max(view.map_iterations_done, finished)

    def _read_children(self, view: ExecutionView, map_run: str) -> None:
        """Merge the child executions' histories: a finished child's is read once and kept, a running child's
        is read again, and at most :attr:`max_child_reads` histories are fetched per poll (thousands of children
        would otherwise throttle GetExecutionHistory); the others are read on later polls."""
        try:
            children = [
                child
                for page in self.sfn.get_paginator("list_executions").paginate(mapRunArn=map_run)
                for child in page.get("executions", [])
            ]
        except Exception:  # moto cannot list a map run's executions: the outcome records in S3 cover it
            return
        reads = 0
        for child in children:
            arn = str(child["executionArn"])
            events = self._finished_children.get(arn)
            if events is None and reads < self.max_child_reads:
                reads += 1
                try:
                    events = fetch_history(self.sfn, arn)
                except Exception:  # a child that vanished or was throttled: next poll
                    continue
                if child.get("status") != "RUNNING":
                    self._finished_children[arn] = events
            if events is not None:
                analyze(events, view, top_level=False)

    def _bucket(self, view: ExecutionView) -> str | None:
        try:
            described = self.sfn.describe_execution(executionArn=self.execution_arn)
        except Exception:  # the bucket is a nicety for progress; the history alone still works
            described = {}
        return find_bucket(json_or_none(described.get("input"))) or find_bucket(view.task_outputs)

    def outcomes(self) -> list[Outcome]:
        """Outcomes known so far: from S3 records when readable, merged with those seen in the history."""
        found: dict[tuple[str, str], Outcome] = {}
        for record in self.view.outcomes():
            try:
                outcome = Outcome.from_dict(record)
            except (KeyError, ValueError, TypeError):
                continue
            found[(outcome.accountId, outcome.region)] = outcome
        if self.bucket:
            try:
                for outcome in list_outcomes(self.s3, self.bucket, self.name):
                    found[(outcome.accountId, outcome.region)] = outcome
            except Exception as exc:  # no read access to the bucket: the history alone, and say so once
                message = f"outcome records in s3://{self.bucket} not readable ({type(exc).__name__})"
                if message not in self.warnings:
                    self.warnings.append(message)
        return list(found.values())

    def snapshot(self) -> Snapshot:
        """Poll once."""
        view = self.refresh()
        outcomes = self.outcomes()
        by_status: dict[str, int] = {}
        for outcome in outcomes:
            by_status[str(outcome.status)] = by_status.get(str(outcome.status), 0) + 1
        done = max(len(outcomes), view.map_iterations_done)
        skipped = by_status.get("SKIPPED", 0)
        planned = _planned(view.task_outputs)
        total: int | None = planned  # known as soon as Resolve targets returns, before the Map starts
        if view.map_item_count is not None:
            # SKIPPED accounts are recorded before the Map and are not Map items: count them on both sides.
            # A map run's total grows while its ItemReader loads, so Resolve targets' plan wins when larger.
            known = max(view.map_item_count + skipped, planned or 0)
            done = max(done, min(known, view.map_iterations_done + skipped))
            total = known
        errors = [
            f"{item.account_id}/{item.region} {e.function}: {e.error} {_short(e.cause)}"
            for item in view.items.values()
            for e in item.errors
        ] + [f"{e.function}: {e.error} {_short(e.cause)}" for e in view.other_errors]
        phase = ", ".join(view.current_states[:2]) or "running"
        if view.finished:
            phase = f"{view.status} ({view.error})" if view.error else view.status
        return Snapshot(
            total=total,
            done=done if total is None else min(done, total),
            by_status=by_status,
            pending=sum(o.verification == "PENDING" for o in outcomes),
            retries=max(view.retries, self.retry_counter() if self.retry_counter else 0),
            phase=phase,
            finished=view.finished,
            recent_errors=tuple(errors[-3:]),
            mode=self.mode,
            error=view.error,
        )


def _planned(outputs: list[Any]) -> int | None:
    """The account-regions Resolve targets planned (its ``counts``: Map items plus SKIPPED), if it said."""
    for output in outputs:
        payload = output.get("Payload", output) if isinstance(output, dict) else None
        counts = payload.get("counts") if isinstance(payload, dict) else None
        if isinstance(counts, dict) and isinstance(counts.get("items"), int):
            return int(counts["items"]) + int(counts.get("skipped", 0))
    return None


def _short(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def follow_poller(poller: ExecutionPoller, console: Console | None, interval: float) -> Snapshot:
    """Draw the live view from ``poller`` until the execution ends; without a console, just poll until then."""
    if console is not None:
        return follow(poller.snapshot, console, interval=interval)
    while True:
        snapshot = poller.snapshot()
        if snapshot.finished:
            return snapshot
        time.sleep(interval)
