"""``orgsync watch``: per account-region progress, retries and errors read from an execution's history.

The executions run on the local engine (moto's interpreter, in-process Lambdas); ``watch`` reads them through
plain boto3 clients, as it reads AWS. History paging and ordering are tested on a fake client, because the
local engine ignores paging.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from workflow.cli import cli
from workflow.console.history import analyze, fetch_history
from workflow.local.engine import LocalEngine

ITEMS = [
    {"accountId": f"20000000000{i}", "accountName": f"acct-{i}", "ouPath": "/Workloads", "region": region}
    for i in (1, 2, 3)
    for region in ("us-east-1", "eu-west-1")
]


class Throttled(Exception):
    """Raised once for one account-region, to be retried by the state machine."""


class QuotaFull(Exception):
    """Raised for one account-region every time: the item fails after its retries."""


def machine(function_arn: str) -> dict[str, Any]:
    """An inline Map of one Lambda task per account-region, retried on Throttled, failures caught per item."""
    return {
        "StartAt": "Process account-regions",
        "States": {
            "Process account-regions": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "MaxConcurrency": 3,
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "INLINE"},
                    "StartAt": "Reconcile sync",
                    "States": {
                        "Reconcile sync": {
                            "Type": "Task",
                            "Resource": "arn:aws:states:::lambda:invoke",
                            "Parameters": {"FunctionName": function_arn, "Payload.$": "$"},
                            "OutputPath": "$.Payload",
                            "Retry": [{"ErrorEquals": ["Throttled"], "MaxAttempts": 3, "IntervalSeconds": 2}],
                            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed item"}],
                            "End": True,
                        },
                        "Failed item": {"Type": "Pass", "End": True},
                    },
                },
                "Next": "Done",
            },
            "Done": {"Type": "Succeed"},
        },
    }


@pytest.fixture
def engine() -> Iterator[LocalEngine]:
    with LocalEngine() as local:
        yield local


def deploy(engine: LocalEngine, gate: threading.Event | None = None) -> str:
    throttled_once: set[tuple[str, str]] = set()

    def reconcile(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if gate is not None:
            gate.wait(timeout=30)
        key = (event["accountId"], event["region"])
        if key == ("200000000002", "us-east-1") and key not in throttled_once:
            throttled_once.add(key)
            raise Throttled("Rate exceeded")
        if key == ("200000000003", "eu-west-1"):
            raise QuotaFull("five syncs exist already")
        return {**event, "status": "CREATED", "verification": "VERIFIED"}

    function = engine.create_function("ReconcileSync", reconcile)
    return engine.create_state_machine("orgsync-watch-test", machine(function))


def test_watch_a_finished_execution_shows_attempts_retries_and_errors(engine: LocalEngine) -> None:
    # GIVEN a finished execution where one item was throttled once and one failed for good
    state_machine = deploy(engine)
    result = engine.run(state_machine, {"items": ITEMS})
    assert result.status == "SUCCEEDED", result.cause
    # WHEN watch attaches to it
    out = CliRunner().invoke(cli, ["watch", result.execution_arn, "--interval", "0.01"], env={"COLUMNS": "200"})
    # THEN every account-region is listed with its attempts, the retry and the last error
    assert out.exit_code == 0, out.output
    lines = out.stdout.splitlines()
    throttled = next(line for line in lines if "200000000002" in line and "us-east-1" in line)
    assert "CREATED" in throttled and "ReconcileSync 2" in throttled and "Throttled: Rate exceeded" in throttled
    failed = next(line for line in lines if "200000000003" in line and "eu-west-1" in line)
    assert "error QuotaFull" in failed and "QuotaFull: five syncs exist already" in failed
    assert sum("CREATED" in line and line.startswith("2000") for line in lines) == 5
    assert "SUCCEEDED" in out.stdout


def test_watch_attaches_to_a_running_execution_and_follows_it_to_the_end(engine: LocalEngine) -> None:
    # GIVEN an execution whose Lambdas wait until released
    gate = threading.Event()
    state_machine = deploy(engine, gate)
    arn = engine.driver().start(state_machine, {"items": ITEMS})
    assert engine.session.client("stepfunctions").describe_execution(executionArn=arn)["status"] == "RUNNING"
    timer = threading.Timer(0.5, gate.set)
    timer.start()
    try:
        # WHEN watch attaches while it runs
        out = CliRunner().invoke(cli, ["watch", arn, "--interval", "0.05"], env={"COLUMNS": "200"})
    finally:
        timer.cancel()
        gate.set()
    # THEN it returns only once the execution ended, with every item's final state
    assert out.exit_code == 0, out.output
    assert sum("CREATED" in line and line.startswith("2000") for line in out.stdout.splitlines()) == 5
    assert "6/6" in out.stderr  # the progress bar's final state: all account-regions done


def test_watch_of_an_unknown_execution_is_one_line(engine: LocalEngine) -> None:
    arn = "arn:aws:states:us-east-1:123456789012:execution:nope:nope"
    out = CliRunner().invoke(cli, ["watch", arn])
    assert out.exit_code == 2
    assert out.stderr.startswith("orgsync: error: execution arn:aws:states") and out.stderr.count("\n") == 1
    assert "ExecutionDoesNotExist" in out.stderr


class PagingClient:
    """A Step Functions client that pages by two events, in reverse order inside a page."""

    def __init__(self, events: list[dict[str, Any]], *, stuck: bool = False) -> None:
        self.events = events
        self.stuck = stuck
        self.calls = 0

    def get_execution_history(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        if self.stuck:  # ignores paging: everything, and a token that never changes
            return {"events": list(reversed(self.events)), "nextToken": "same"}
        start = int(kwargs.get("nextToken", 0))
        page = self.events[start : start + 2]
        token = str(start + 2) if start + 2 < len(self.events) else None
        return {"events": list(reversed(page)), **({"nextToken": token} if token else {})}


def events() -> list[dict[str, Any]]:
    return [{"id": i, "previousEventId": i - 1, "type": "PassStateEntered"} for i in range(1, 8)]


def test_history_is_paged_and_ordered_by_id() -> None:
    client = PagingClient(events())
    history = fetch_history(client, "arn")
    assert [e["id"] for e in history] == list(range(1, 8))
    assert client.calls == 4


def test_history_of_a_server_that_ignores_paging_stops() -> None:
    client = PagingClient(events(), stuck=True)
    history = fetch_history(client, "arn")
    assert [e["id"] for e in history] == list(range(1, 8))
    assert client.calls == 2  # the second page brought nothing new


def test_an_execution_failure_is_read_from_the_history() -> None:
    view = analyze(
        [
            {"id": 1, "type": "ExecutionStarted"},
            {
                "id": 2,
                "previousEventId": 1,
                "type": "ExecutionFailed",
                "executionFailedEventDetails": {"error": "RolloutIncomplete", "cause": '{"summary": {}}'},
            },
        ]
    )
    assert (view.status, view.error, view.finished) == ("FAILED", "RolloutIncomplete", True)


class DistributedClient:
    """A Step Functions endpoint with a Distributed Map run and two children (one finished, one running)."""

    def __init__(self) -> None:
        self.history_reads: list[str] = []
        self.child_running = True

    def get_execution_history(self, executionArn: str, **_: Any) -> dict[str, Any]:
        self.history_reads.append(executionArn)
        if executionArn.endswith(":parent"):
            return {
                "events": [
                    {"id": 1, "type": "ExecutionStarted"},
                    {
                        "id": 2,
                        "previousEventId": 1,
                        "type": "MapRunStarted",
                        "mapRunStartedEventDetails": {"mapRunArn": "map-run"},
                    },
                ]
            }
        account = "200000000001" if executionArn == "child-1" else "200000000002"
        scheduled = {
            "id": 2,
            "previousEventId": 1,
            "type": "TaskScheduled",
            "taskScheduledEventDetails": {
                "resource": "invoke",
                "parameters": json.dumps(
                    {"FunctionName": "ReconcileSync", "Payload": {"accountId": account, "region": "us-east-1"}}
                ),
            },
        }
        failed = {
            "id": 3,
            "previousEventId": 2,
            "type": "TaskFailed",
            "taskFailedEventDetails": {"error": "Throttled", "cause": "Rate exceeded"},
        }
        return {"events": [{"id": 1, "type": "ExecutionStarted"}, scheduled, failed]}

    def describe_map_run(self, mapRunArn: str) -> dict[str, Any]:
        return {"itemCounts": {"total": 2, "succeeded": 1, "running": 1}}

    def describe_execution(self, executionArn: str) -> dict[str, Any]:
        return {"status": "RUNNING", "input": "{}"}

    def get_paginator(self, name: str) -> Any:
        client = self

        class Pages:
            def paginate(self, mapRunArn: str) -> list[dict[str, Any]]:
                return [
                    {
                        "executions": [
                            {"executionArn": "child-1", "status": "SUCCEEDED"},
                            {"executionArn": "child-2", "status": "RUNNING" if client.child_running else "SUCCEEDED"},
                        ]
                    }
                ]

        return Pages()


def test_distributed_map_children_are_read_and_finished_ones_only_once() -> None:
    from workflow.console.poller import ExecutionPoller

    client = DistributedClient()
    poller = ExecutionPoller(client, None, "arn:aws:states:us-east-1:1:execution:orgsync:parent")
    first = poller.snapshot()
    second = poller.snapshot()
    # the map run gives the bar; the children give per account-region errors
    assert (first.total, first.done) == (2, 1)
    assert set(poller.view.items) == {("200000000001", "us-east-1"), ("200000000002", "us-east-1")}
    assert poller.view.items[("200000000001", "us-east-1")].errors[0].error == "Throttled"
    assert client.history_reads.count("child-1") == 1  # finished: read once, kept
    assert client.history_reads.count("child-2") == 2  # running: read on every poll
    assert second.recent_errors
