"""A batch child's history read back per account-region: attempts of each step, retried errors, outcomes."""

from __future__ import annotations

import json
from typing import Any

from workflow.console.history import analyze

RUN = {"executionName": "e"}
ITEMS = [{"accountId": "200000000001", "regions": ["us-east-1", "eu-west-1"]}]


def scheduled(event_id: int, function: str, payload: dict[str, Any]) -> dict[str, Any]:
    return {"id": event_id, "previousEventId": event_id - 1, "type": "TaskScheduled", "taskScheduledEventDetails": {
        "resource": "invoke", "parameters": json.dumps({"FunctionName": f"arn:aws:lambda:us-east-1:1:function:"
                                                                        f"{function}", "Payload": payload})}}


def succeeded(event_id: int, output: dict[str, Any]) -> dict[str, Any]:
    return {"id": event_id, "previousEventId": event_id - 1, "type": "TaskSucceeded",
            "taskSucceededEventDetails": {"output": json.dumps({"Payload": output})}}


def test_a_batch_steps_account_regions_their_retried_errors_and_outcomes_are_read() -> None:
    retried = {"accountId": "200000000001", "region": "eu-west-1", "attempts": 1,
               "error": {"Error": "Throttled", "Cause": "ssm:ListResourceDataSync throttled"}}
    after_reconcile = {"run": RUN, "accounts": ITEMS, "counts": {"toReconcile": 1, "pending": 1},
                       "toReconcile": [retried],
                       "reconciled": [{"accountId": "200000000001", "region": "us-east-1", "reconcile": {}}],
                       "outcomes": []}
    outcome = {"accountId": "200000000001", "region": "us-east-1", "status": "CREATED", "verification": "VERIFIED"}
    after_check = {**after_reconcile, "reconciled": [], "outcomes": [outcome]}
    events = [
        {"id": 1, "type": "ExecutionStarted"},
        scheduled(2, "ReconcileSync", {"BatchInput": {"run": RUN}, "Items": ITEMS}),
        succeeded(3, after_reconcile),
        scheduled(4, "CheckMarker", after_reconcile),
        succeeded(5, after_check),
        scheduled(6, "ReconcileSync", after_check),
    ]
    view = analyze(events)
    virginia, ireland = view.items[("200000000001", "us-east-1")], view.items[("200000000001", "eu-west-1")]
    assert virginia.outcome == outcome and virginia.attempts == {"ReconcileSync": 1, "CheckMarker": 1}
    assert [e.error for e in ireland.errors] == ["Throttled"] and ireland.outcome is None
    # the second reconcile is about the one account-region left, and it is running
    assert ireland.attempts == {"ReconcileSync": 2, "CheckMarker": 1} and ireland.retries == 1
    assert ireland.running == "ReconcileSync" and virginia.running is None
