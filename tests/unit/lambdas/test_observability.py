"""Powertools in the handlers: JSON log lines with the run's keys, an Errors metric, tracing off when told."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambdas import invocation
from lambdas.errors import Throttled
from lambdas.observability import emit_outcomes, instrumented, logger

ITEM = {
    "accountId": "200000000001",
    "region": "eu-west-1",
    "run": {"executionName": "exec-1", "syncName": "org-inventory", "mode": "rollout"},
}


class Context:
    function_name = "ReconcileSync"
    aws_request_id = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        return 60_000


def lines(captured: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in captured.splitlines() if line.strip()]


def test_every_line_names_the_execution_account_region_and_sync(capsys: pytest.CaptureFixture[str]) -> None:
    @instrumented
    def reconcile_sync(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return {"status": "CREATED"}

    with invocation.environment_of({"POWERTOOLS_TRACE_DISABLED": "true"}):
        assert reconcile_sync(ITEM, Context()) == {"status": "CREATED"}
    records = lines(capsys.readouterr().out)
    assert [r["message"] for r in records] == ["reconcile_sync started", "reconcile_sync finished"]
    for record in records:
        assert (record["executionName"], record["account"], record["region"], record["syncName"]) == (
            "exec-1", "200000000001", "eu-west-1", "org-inventory"
        )
        assert record["function"] == "ReconcileSync" and record["service"] == "orgsync"
    assert records[-1]["status"] == "CREATED"


def test_a_failure_is_logged_by_name_and_counted(capsys: pytest.CaptureFixture[str]) -> None:
    @instrumented
    def reconcile_sync(event: dict[str, Any], context: Any) -> dict[str, Any]:
        raise Throttled("ssm:ListResourceDataSync throttled")

    with invocation.environment_of({"POWERTOOLS_TRACE_DISABLED": "true"}), pytest.raises(Throttled):
        reconcile_sync(ITEM, Context())
    logger.info("after the invocation")
    records = lines(capsys.readouterr().out)
    failed = [r for r in records if r.get("level") == "ERROR"]
    assert failed and failed[0]["error"] == "Throttled" and "throttled" in failed[0]["message"]
    (metric,) = [r for r in records if "_aws" in r]
    assert (metric["Errors"], metric["function"], metric["error"]) == ([1.0], "reconcile_sync", "Throttled")
    # The keys of one invocation do not leak into a line logged after it
    assert "executionName" not in records[-1] and records[-1]["message"] == "after the invocation"


def test_one_outcomes_metric_per_status(capsys: pytest.CaptureFixture[str]) -> None:
    emit_outcomes({"mode": "rollout", "summary": {"byStatus": {"CREATED": 3, "ACCESS_DENIED": 1}}})
    metrics = lines(capsys.readouterr().out)
    assert sorted((m["status"], m["Outcomes"], m["mode"]) for m in metrics) == [
        ("ACCESS_DENIED", [1.0], "rollout"),
        ("CREATED", [3.0], "rollout"),
    ]
    assert {m["_aws"]["CloudWatchMetrics"][0]["Namespace"] for m in metrics} == {"orgsync"}
