"""A Distributed Map's own S3 calls failing on the local engine, named as Step Functions names them.

AWS's "Error names" (Step Functions Developer Guide): ``States.ItemReaderFailed`` when the Map cannot read its
items, ``States.ResultWriterFailed`` when it cannot write its results; a Retry or Catch on the Map matches them.
moto 5.2.5 let the S3 error escape and failed the Map with ``States.Runtime`` (no Catch matches it).

The faults are by count on the exact key (``Fault.key``), at the request boundary the engine's own S3 calls cross.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from lambdas.errors import ITEM_READER_FAILED, RESULT_WRITER_FAILED
from workflow.local.clock import VirtualClock
from workflow.local.driver import remote_endpoint_url
from workflow.local.engine import LocalEngine
from workflow.local.faults import Call, FaultInjector, RequestBoundary, ServiceError
from workflow.local.scenario import Fault

pytestmark = pytest.mark.skipif(
    remote_endpoint_url() is not None, reason="needs the in-process local engine (Python handlers, virtual clock)"
)

AGGREGATOR = "300000000001"
REGION = "ap-northeast-1"
BUCKET = "acme-inventory"
ITEMS_KEY = "runs/e1/items.json"
PREFIX = "runs/map-results"


#: The accounts the children worked on (list.append is atomic: children run on threads).
WORKED: list[str] = []


def work(event: dict[str, Any], context: Any) -> dict[str, Any]:
    WORKED.append(str(event["account"]))
    return {"account": event["account"]}


def definition(**map_fields: Any) -> dict[str, Any]:
    return {
        "StartAt": "Items",
        "States": {
            "Items": {
                "Type": "Map",
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "JSON"},
                    "Parameters": {"Bucket": BUCKET, "Key": ITEMS_KEY},
                },
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Work",
                    "States": {"Work": {"Type": "Task", "Resource": "${WorkArn}", "End": True}},
                },
                "ResultWriter": {
                    "Resource": "arn:aws:states:::s3:putObject",
                    "Parameters": {"Bucket": BUCKET, "Prefix": PREFIX},
                },
                "ToleratedFailurePercentage": 100.0,
                "ResultPath": "$.map",
                **map_fields,
            },
            "Caught": {"Type": "Pass", "End": True},
        },
    }


@pytest.fixture
def faults() -> Iterator[FaultInjector]:
    injector = FaultInjector([], {})
    boundary = RequestBoundary([injector])
    boundary.install()
    try:
        yield injector
    finally:
        boundary.uninstall()


def run(map_fields: dict[str, Any]) -> tuple[Any, list[str]]:
    """Run the Map over three items; the result and the Work invocations' accounts."""
    clock = VirtualClock(start=datetime(2026, 1, 1, 9, tzinfo=UTC))
    WORKED.clear()
    with LocalEngine(clock, account_id=AGGREGATOR, region=REGION) as engine:
        s3 = engine.session.client("s3")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        items = [{"account": f"20000000000{i}"} for i in range(3)]
        s3.put_object(Bucket=BUCKET, Key=ITEMS_KEY, Body=json.dumps(items).encode())
        work_arn = engine.create_function("Work", f"{__name__}.work")
        sm = engine.create_state_machine("map-io", definition(**map_fields), substitutions={"WorkArn": work_arn})
        result = engine.run(sm, {"run": "r1"})
    return result, list(WORKED)


def test_a_failed_items_read_fails_the_map_with_item_reader_failed_naming_the_s3_error(
    faults: FaultInjector,
) -> None:
    # GIVEN S3 fails the Map's GetObject of the items file (and only that object)
    faults.add(Fault("s3:GetObject", "InternalError", times=1, key=ITEMS_KEY))
    # WHEN the Map runs without Retry or Catch
    result, ran = run({"End": True})
    # THEN the execution fails with Step Functions' name for it, the cause naming the object and the S3 error
    assert (result.status, result.error) == ("FAILED", ITEM_READER_FAILED)
    assert result.cause == (
        f"s3:GetObject of s3://{BUCKET}/{ITEMS_KEY} failed: InternalError: "
        "We encountered an internal error. Please try again."
    )
    # AND no child ran
    assert ran == []


def test_item_reader_failed_is_retried_by_the_maps_retry_and_the_map_then_runs_every_item(
    faults: FaultInjector,
) -> None:
    faults.add(Fault("s3:GetObject", "SlowDown", times=1, key=ITEMS_KEY))
    retry = {"ErrorEquals": [ITEM_READER_FAILED], "IntervalSeconds": 1, "MaxAttempts": 2}
    result, ran = run({"Retry": [retry], "End": True})
    assert result.status == "SUCCEEDED", result.cause
    assert sorted(ran) == ["200000000000", "200000000001", "200000000002"]
    assert faults.remaining()[0][1] == 0  # the fault was met


def test_item_reader_failed_is_caught_by_name_and_not_by_task_failed(faults: FaultInjector) -> None:
    faults.add(Fault("s3:GetObject", "AccessDenied", times=1, key=ITEMS_KEY))
    catches = [
        {"ErrorEquals": ["States.TaskFailed"], "Next": "Caught", "ResultPath": "$.wrong"},
        {"ErrorEquals": [ITEM_READER_FAILED], "Next": "Caught", "ResultPath": "$.itemsError"},
    ]
    result, _ = run({"Catch": catches, "End": True})
    assert result.status == "SUCCEEDED", result.cause
    assert "wrong" not in result.output
    assert result.output["itemsError"]["Error"] == ITEM_READER_FAILED
    assert "AccessDenied" in result.output["itemsError"]["Cause"]


def test_a_failed_result_write_fails_the_map_with_result_writer_failed_after_every_child_ran(
    faults: FaultInjector,
) -> None:
    # GIVEN S3 fails the ResultWriter's first PutObject (the result file SUCCEEDED_0.json)
    faults.add(Fault("s3:PutObject", "InternalError", times=1, key=PREFIX))
    result, ran = run({"End": True})
    # THEN the execution fails with Step Functions' name for it, the cause naming the object and the S3 error
    assert (result.status, result.error) == ("FAILED", RESULT_WRITER_FAILED)
    assert result.cause.startswith(f"s3:PutObject of s3://{BUCKET}/{PREFIX}/")
    assert result.cause.endswith(
        "/SUCCEEDED_0.json failed: InternalError: We encountered an internal error. Please try again."
    )
    # AND every child ran before
    assert sorted(ran) == ["200000000000", "200000000001", "200000000002"]


def test_a_failed_manifest_write_fails_the_map_with_result_writer_failed(faults: FaultInjector) -> None:
    boundary = RequestBoundary.installed()
    assert boundary is not None

    def manifest_put(call: Call) -> ServiceError | None:
        key = call.s3_key or ""
        if call.api == "s3:PutObject" and key.startswith(PREFIX) and key.endswith("/manifest.json"):
            return ServiceError("ServiceUnavailable", "Service is unable to handle request.", 503)
        return None

    boundary.guards.append(manifest_put)
    result, _ = run({"End": True})
    assert (result.status, result.error) == ("FAILED", RESULT_WRITER_FAILED)
    assert result.cause.endswith("/manifest.json failed: ServiceUnavailable: Service is unable to handle request.")


def test_result_writer_failed_is_caught_by_name_with_its_error_output(faults: FaultInjector) -> None:
    faults.add(Fault("s3:PutObject", "SlowDown", times=1, key=f"{PREFIX}/"))
    catch = {"ErrorEquals": [RESULT_WRITER_FAILED], "Next": "Caught", "ResultPath": "$.map"}
    result, ran = run({"Catch": [catch], "End": True})
    assert result.status == "SUCCEEDED", result.cause
    assert result.output["map"]["Error"] == RESULT_WRITER_FAILED
    assert "SlowDown" in result.output["map"]["Cause"]
    assert len(ran) == 3


def test_a_fault_on_another_key_leaves_the_maps_calls_alone(faults: FaultInjector) -> None:
    faults.add(Fault("s3:GetObject", "InternalError", times=1, key="runs/other/"))
    result, _ = run({"End": True})
    assert result.status == "SUCCEEDED", result.cause
    assert faults.remaining()[0][1] == 1
