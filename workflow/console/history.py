"""An execution's history read back into per account-region progress: attempts, retries, errors, outcomes.

Step Functions pages ``GetExecutionHistory`` (``nextToken``); the local engine ignores paging and returns
everything at once, possibly in any order. :func:`~workflow.runs.fetch_history` therefore pages, de-duplicates by
event id and sorts by id itself, and stops if a server keeps returning the same page.

:func:`analyze` follows ``previousEventId`` from each task result back to the event that scheduled it, reads
the account and region from that task's input, and counts a second scheduling of the same function for the
same account-region as a retry. Outcome records are recognised in task outputs (a JSON object with
``accountId``, ``region`` and ``status``), wrapped in Lambda's ``Payload`` or not.

For a Distributed Map the per-item events live in child executions: :func:`analyze` merges those histories
when it is given them; the caller falls back on the outcome records in S3 when they cannot be listed.

Example::

    >>> events = [
    ...   {"id": 1, "type": "ExecutionStarted"},
    ...   {"id": 2, "previousEventId": 1, "type": "TaskScheduled", "taskScheduledEventDetails": {
    ...     "resource": "invoke", "parameters": json.dumps({"FunctionName": "arn:aws:lambda:us-east-1:1:function:"
    ...     "ReconcileSync", "Payload": {"accountId": "200000000001", "region": "us-east-1"}})}},
    ...   {"id": 3, "previousEventId": 2, "type": "TaskFailed", "taskFailedEventDetails": {"error": "Throttled",
    ...     "cause": "Rate exceeded"}},
    ...   {"id": 4, "previousEventId": 3, "type": "TaskScheduled", "taskScheduledEventDetails": {
    ...     "resource": "invoke", "parameters": json.dumps({"FunctionName": "arn:aws:lambda:us-east-1:1:function:"
    ...     "ReconcileSync", "Payload": {"accountId": "200000000001", "region": "us-east-1"}})}},
    ...   {"id": 5, "previousEventId": 4, "type": "TaskSucceeded", "taskSucceededEventDetails": {"output":
    ...     json.dumps({"Payload": {"accountId": "200000000001", "region": "us-east-1", "status": "CREATED"}})}}]
    >>> view = analyze(events)
    >>> item = view.items[("200000000001", "us-east-1")]
    >>> item.retries, item.errors[0].error, item.outcome["status"]
    (1, 'Throttled', 'CREATED')
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lambdas.causes import error_message
from workflow.runs import fetch_history

__all__ = ["ExecutionView", "ItemView", "TaskError", "analyze", "fetch_history", "find_outcome", "readable_cause"]

#: Event types that schedule a task attempt, and the key of their details.
_SCHEDULED = {
    "TaskScheduled": "taskScheduledEventDetails",
    "LambdaFunctionScheduled": "lambdaFunctionScheduledEventDetails",
    "ActivityScheduled": "activityScheduledEventDetails",
}
_SUCCEEDED = {
    "TaskSucceeded": "taskSucceededEventDetails",
    "LambdaFunctionSucceeded": "lambdaFunctionSucceededEventDetails",
}
_FAILED = {
    "TaskFailed": "taskFailedEventDetails",
    "TaskTimedOut": "taskTimedOutEventDetails",
    "TaskStartFailed": "taskStartFailedEventDetails",
    "TaskSubmitFailed": "taskSubmitFailedEventDetails",
    "LambdaFunctionFailed": "lambdaFunctionFailedEventDetails",
    "LambdaFunctionTimedOut": "lambdaFunctionTimedOutEventDetails",
    "LambdaFunctionStartFailed": "lambdaFunctionStartFailedEventDetails",
    "LambdaFunctionScheduleFailed": "lambdaFunctionScheduleFailedEventDetails",
}
_EXECUTION_END = {
    "ExecutionSucceeded": "SUCCEEDED",
    "ExecutionFailed": "FAILED",
    "ExecutionTimedOut": "TIMED_OUT",
    "ExecutionAborted": "ABORTED",
}


def _json(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return json.loads(text)
    except ValueError:
        return None


def _find_target(value: Any, depth: int = 0) -> tuple[str, str] | None:
    """The (accountId, region) a task input is about, looked for in nested objects (``Payload``, ``item``...)."""
    if depth > 4 or not isinstance(value, dict):
        return None
    account, region = value.get("accountId"), value.get("region")
    if isinstance(account, str) and isinstance(region, str):
        return account, region
    for nested in value.values():
        found = _find_target(nested, depth + 1)
        if found:
            return found
    return None


def _batch_targets(value: Any) -> list[tuple[str, str]] | None:
    """The account-regions a batch step works on (``lambdas.batch``: a child's input, or a step's output), else None.

    A child's input (``Items``) is about all its accounts' regions; a step's output about those still to reconcile
    and those whose marker is pending.
    """
    if not isinstance(value, dict):
        return None
    if isinstance(value.get("Items"), list) and "BatchInput" in value:
        return [(str(a.get("accountId")), str(r)) for a in value["Items"] if isinstance(a, dict)
                for r in a.get("regions", [])]
    if isinstance(value.get("accounts"), list) and isinstance(value.get("counts"), dict):
        entries = [*value.get("toReconcile", []), *value.get("reconciled", [])]
        return [(str(e["accountId"]), str(e["region"])) for e in entries if isinstance(e, dict)]
    return None


def find_outcome(value: Any, depth: int = 0) -> dict[str, Any] | None:
    """An outcome record (``accountId``, ``region``, ``status``) inside a task output, if there is one."""
    if depth > 4 or not isinstance(value, dict):
        return None
    if all(isinstance(value.get(key), str) for key in ("accountId", "region", "status")):
        return value
    for nested in value.values():
        found = find_outcome(_json(nested) if isinstance(nested, str) else nested, depth + 1)
        if found:
            return found
    return None


def readable_cause(cause: Any) -> str:
    """A cause for people: a Lambda error payload (``{"errorMessage": ..., "stackTrace": ...}``) -> its message."""
    return error_message(None if cause is None else str(cause)) or ""


def _function(details: dict[str, Any], parameters: Any) -> str:
    """The Lambda function (or resource) a task calls, as a short name."""
    name = ""
    if isinstance(parameters, dict):
        name = str(parameters.get("FunctionName", ""))
    name = name or str(details.get("resource", ""))
    if ":function:" in name:
        name = name.rsplit(":function:", 1)[1].split(":")[0]
    return name


@dataclass(frozen=True)
class TaskError:
    """One failed task attempt."""

    function: str
    error: str
    cause: str
    event_id: int


@dataclass
class ItemView:
    """What the history says about one account-region."""

    account_id: str
    region: str
    attempts: dict[str, int] = field(default_factory=dict)
    errors: list[TaskError] = field(default_factory=list)
    outcome: dict[str, Any] | None = None
    running: str | None = None

    @property
    def retries(self) -> int:
        """Attempts beyond the first, over all functions."""
        return sum(max(0, count - 1) for count in self.attempts.values())


@dataclass
class ExecutionView:
    """An execution's state as read from its history."""

    status: str = "RUNNING"
    error: str | None = None
    cause: str | None = None
    output: Any = None
    current_states: list[str] = field(default_factory=list)
    map_item_count: int | None = None
    map_iterations_done: int = 0
    map_run_arns: list[str] = field(default_factory=list)
    items: dict[tuple[str, str], ItemView] = field(default_factory=dict)
    #: Errors of tasks that are not about one account-region (ResolveTargets, Summarize).
    other_errors: list[TaskError] = field(default_factory=list)
    task_outputs: list[Any] = field(default_factory=list)
    #: The attempt count of each account-region a batch is trying again (its error is carried on by later steps).
    batch_attempts: dict[tuple[str, str], int] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.status != "RUNNING"

    @property
    def retries(self) -> int:
        return sum(item.retries for item in self.items.values())

    def outcomes(self) -> list[dict[str, Any]]:
        return [item.outcome for item in self.items.values() if item.outcome is not None]


def analyze(
    events: Iterable[dict[str, Any]], view: ExecutionView | None = None, *, top_level: bool = True
) -> ExecutionView:
    """Read ``events`` (one execution's history, or a child execution's with ``top_level=False``) into ``view``."""
    view = view if view is not None else ExecutionView()
    by_id: dict[int, dict[str, Any]] = {}
    # scheduled event id -> (function, target); a batch step's account-regions
    scheduled: dict[int, tuple[str, tuple[str, str] | None]] = {}
    batch_of: dict[int, list[tuple[str, str]]] = {}
    entered: dict[str, int] = {}
    for event in sorted(events, key=lambda e: int(e["id"])):
        event_id = int(event["id"])
        by_id[event_id] = event
        kind = str(event.get("type", ""))
        if kind.endswith("StateEntered"):
            name = str(event.get("stateEnteredEventDetails", {}).get("name", ""))
            entered[name] = entered.get(name, 0) + 1
        elif kind.endswith("StateExited"):
            name = str(event.get("stateExitedEventDetails", {}).get("name", ""))
            entered[name] = entered.get(name, 0) - 1
        if kind == "MapStateStarted" and top_level:
            length = event.get("mapStateStartedEventDetails", {}).get("length")
            if isinstance(length, int):
                view.map_item_count = (view.map_item_count or 0) + length
        elif kind in {"MapIterationSucceeded", "MapIterationFailed", "MapIterationAborted"} and top_level:
            view.map_iterations_done += 1
        elif kind == "MapRunStarted":
            arn = event.get("mapRunStartedEventDetails", {}).get("mapRunArn")
            if arn and arn not in view.map_run_arns:
                view.map_run_arns.append(str(arn))
        elif kind in _SCHEDULED:
            details = event.get(_SCHEDULED[kind], {})
            parameters = _json(details.get("parameters") or details.get("input"))
            function = _function(details, parameters)
            payload = parameters.get("Payload", parameters) if isinstance(parameters, dict) else parameters
            batch_targets = _batch_targets(payload)
            target = None if batch_targets is not None else _find_target(parameters)
            scheduled[event_id] = (function, target)
            if batch_targets is not None:
                batch_of[event_id] = batch_targets
            for key in batch_targets if batch_targets is not None else ([target] if target else []):
                attempted = view.items.setdefault(key, ItemView(*key))
                attempted.attempts[function] = attempted.attempts.get(function, 0) + 1
                attempted.running = function
        elif kind in _SUCCEEDED or kind in _FAILED:
            origin = _origin(event, by_id, scheduled)
            function, target = scheduled.get(origin, ("", None)) if origin is not None else ("", None)
            item: ItemView | None = view.items.setdefault(target, ItemView(*target)) if target else None
            batch = batch_of.get(origin, []) if origin is not None else []
            if batch:
                _batch_ended(view, function, batch, event, kind, event_id)
                continue
            if kind in _SUCCEEDED:
                output = _json(event.get(_SUCCEEDED[kind], {}).get("output"))
                view.task_outputs.append(output)
                outcome = find_outcome(output)
                if outcome is not None:
                    key = (outcome["accountId"], outcome["region"])
                    holder = view.items.setdefault(key, ItemView(*key))
                    holder.outcome = outcome
                    holder.running = None
                if item is not None and item.running == function:
                    item.running = None
            else:
                details = event.get(_FAILED[kind], {})
                error = TaskError(
                    function=function,
                    error=str(details.get("error", kind)),
                    cause=readable_cause(details.get("cause")),
                    event_id=event_id,
                )
                if item is not None:
                    item.errors.append(error)
                    if item.running == function:
                        item.running = None
                else:
                    view.other_errors.append(error)
        elif kind in _EXECUTION_END and top_level:
            view.status = _EXECUTION_END[kind]
            end: dict[str, Any] = next((v for k, v in event.items() if k.endswith("EventDetails")), {})
            view.error = end.get("error")
            view.cause = end.get("cause")
            view.output = _json(end.get("output"))
    if top_level:
        view.current_states = [name for name, count in entered.items() if count > 0]
    return view


def _origin(event: dict[str, Any], by_id: dict[int, dict[str, Any]], scheduled: dict[int, Any]) -> int | None:
    """The scheduling event of a task result, following ``previousEventId`` (Started -> Scheduled)."""
    current: dict[str, Any] | None = event
    for _ in range(8):
        if current is None:
            return None
        previous = current.get("previousEventId")
        if previous is None:
            return None
        previous = int(previous)
        if previous in scheduled:
            return previous
        current = by_id.get(previous)
    return None


def _batch_ended(
    view: ExecutionView, function: str, batch: list[tuple[str, str]], event: dict[str, Any], kind: str, event_id: int
) -> None:
    """A batch step's result: its outcomes, the errors of account-regions it will try again, or its own failure."""
    for key in batch:
        holder = view.items.setdefault(key, ItemView(*key))
        if holder.running == function:
            holder.running = None
    if kind in _SUCCEEDED:
        output = _json(event.get(_SUCCEEDED[kind], {}).get("output"))
        view.task_outputs.append(output)
        payload = output.get("Payload", output) if isinstance(output, dict) else {}
        for outcome in payload.get("outcomes", []) if isinstance(payload, dict) else []:
            if isinstance(outcome, dict) and find_outcome(outcome) is outcome:
                view.items.setdefault((outcome["accountId"], outcome["region"]), ItemView(
                    outcome["accountId"], outcome["region"])).outcome = outcome
        for entry in payload.get("toReconcile", []) if isinstance(payload, dict) else []:
            error = entry.get("error") if isinstance(entry, dict) else None
            key = (str(entry.get("accountId")), str(entry.get("region"))) if isinstance(entry, dict) else ("", "")
            if isinstance(error, dict) and view.batch_attempts.get(key) != entry.get("attempts"):
                view.batch_attempts[key] = entry.get("attempts")
                holder = view.items.setdefault(key, ItemView(*key))
                holder.errors.append(TaskError(function, str(error.get("Error")),
                                               readable_cause(error.get("Cause")), event_id))
        return
    details = event.get(_FAILED[kind], {})
    error = TaskError(function, str(details.get("error", kind)), readable_cause(details.get("cause")), event_id)
    for key in batch:
        view.items.setdefault(key, ItemView(*key)).errors.append(error)
