"""The Distributed Map's ResultWriter on the local engine writes what Step Functions documents.

AWS's "ResultWriter (Map)" page: under ``<Prefix>/<Map Run id>/``, ``manifest.json`` (DestinationBucket,
MapRunArn, ResultFiles by status, each ``[{Key, Size}]``) and ``SUCCEEDED_n.json`` / ``FAILED_n.json`` (failed,
timed out and aborted children), each a JSON array of child entries (``Transformation: NONE``); a new file past
5 GB; the Map state's result is ``{"MapRunArn", "ResultWriterDetails": {"Bucket", "Key"}}``.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from workflow.local.clock import VirtualClock
from workflow.local.driver import remote_endpoint_url
from workflow.local.engine import LocalEngine

pytestmark = pytest.mark.skipif(
    remote_endpoint_url() is not None, reason="needs the in-process local engine (Python handlers, virtual clock)"
)

AGGREGATOR = "300000000001"
REGION = "ap-northeast-1"
BUCKET = "acme-inventory"
ENTRY_FIELDS_SUCCEEDED = {
    "ExecutionArn", "Input", "InputDetails", "Name", "Output", "OutputDetails", "RedriveCount", "RedriveStatus",
    "RedriveStatusReason", "StartDate", "StateMachineArn", "Status", "StopDate",
}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def work(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Fails for every third item; the others return their item's account."""
    if event["index"] % 3 == 2:
        raise ValueError(f"item {event['index']} cannot be processed")
    return {"account": event["item"]["account"], "status": "IN_SYNC"}


def definition(prefix: str) -> dict[str, Any]:
    return {
        "StartAt": "Items",
        "States": {
            "Items": {
                "Type": "Map",
                "Label": "Items",
                "ItemReader": {
                    "Resource": "arn:aws:states:::s3:getObject",
                    "ReaderConfig": {"InputType": "JSON"},
                    "Parameters": {"Bucket": BUCKET, "Key": "items.json"},
                },
                "ItemSelector": {"item.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"},
                "ItemProcessor": {
                    "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
                    "StartAt": "Work",
                    "States": {"Work": {"Type": "Task", "Resource": "${WorkArn}", "End": True}},
                },
                "ResultWriter": {
                    "Resource": "arn:aws:states:::s3:putObject",
                    "Parameters": {"Bucket": BUCKET, "Prefix": prefix},
                },
                "MaxConcurrency": 3,
                "ToleratedFailurePercentage": 100.0,
                "ResultPath": "$.map",
                "End": True,
            }
        },
    }


def run_map(items: int, prefix: str = "runs/map-results", max_file_bytes: int | None = None) -> dict[str, Any]:
    clock = VirtualClock(start=datetime(2026, 1, 1, 9, tzinfo=UTC))
    with LocalEngine(clock, account_id=AGGREGATOR, region=REGION) as engine:
        if max_file_bytes is not None:
            engine.results.max_file_bytes = max_file_bytes
        s3 = engine.session.client("s3")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        listed = [{"account": f"2000000000{i:02d}"} for i in range(items)]
        s3.put_object(Bucket=BUCKET, Key="items.json", Body=json.dumps(listed).encode())
        sm = engine.create_state_machine(
            "writer", definition(prefix), substitutions={"WorkArn": engine.create_function("Work", f"{__name__}.work")}
        )
        result = engine.run(sm, {"run": "r1"})
        objects = {
            obj["Key"]: s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read()
            for obj in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
        }
    assert result.status == "SUCCEEDED", result.cause
    return {"output": result.output, "objects": objects, "items": listed}


def test_manifest_and_result_files_are_written_as_step_functions_documents() -> None:
    ran = run_map(7)
    output, objects = ran["output"], ran["objects"]

    # THEN the Map state's result is the Map Run ARN and where the manifest is
    details = output["map"]
    map_run_arn = details["MapRunArn"]
    assert re.fullmatch(rf"arn:aws:states:{REGION}:{AGGREGATOR}:mapRun:writer/Items:[0-9a-f-]+", map_run_arn)
    map_run_id = map_run_arn.rsplit(":", 1)[1]
    folder = f"runs/map-results/{map_run_id}/"
    assert details["ResultWriterDetails"] == {"Bucket": BUCKET, "Key": f"{folder}manifest.json"}

    # AND the manifest lists one file per status that has children, with the file's key and size in bytes
    manifest = json.loads(objects[f"{folder}manifest.json"])
    assert manifest == {
        "DestinationBucket": BUCKET,
        "MapRunArn": map_run_arn,
        "ResultFiles": {
            "FAILED": [{"Key": f"{folder}FAILED_0.json", "Size": len(objects[f"{folder}FAILED_0.json"])}],
            "PENDING": [],
            "SUCCEEDED": [{"Key": f"{folder}SUCCEEDED_0.json", "Size": len(objects[f"{folder}SUCCEEDED_0.json"])}],
        },
    }
    assert sorted(objects) == sorted([f"{folder}manifest.json", f"{folder}FAILED_0.json", f"{folder}SUCCEEDED_0.json"])

    # AND each succeeded child's entry carries its input and output as JSON strings, with the execution's metadata
    succeeded = json.loads(objects[f"{folder}SUCCEEDED_0.json"])
    assert [json.loads(e["Input"])["index"] for e in succeeded] == [0, 1, 3, 4, 6]
    for entry in succeeded:
        assert set(entry) == ENTRY_FIELDS_SUCCEEDED
        item = json.loads(entry["Input"])
        assert item == {"item": ran["items"][item["index"]], "index": item["index"]}  # after the ItemSelector
        assert json.loads(entry["Output"]) == {"account": item["item"]["account"], "status": "IN_SYNC"}
        assert entry["InputDetails"] == entry["OutputDetails"] == {"Included": True}
        assert (entry["Status"], entry["RedriveCount"], entry["RedriveStatus"]) == ("SUCCEEDED", 0, "NOT_REDRIVABLE")
        assert entry["StateMachineArn"] == f"arn:aws:states:{REGION}:{AGGREGATOR}:stateMachine:writer/Items"
        assert entry["ExecutionArn"] == f"arn:aws:states:{REGION}:{AGGREGATOR}:execution:writer/Items:{entry['Name']}"
        assert TIMESTAMP.match(entry["StartDate"]) and TIMESTAMP.match(entry["StopDate"])
        assert entry["StartDate"] <= entry["StopDate"]
    assert len({e["Name"] for e in succeeded}) == len(succeeded)

    # AND each failed child's entry carries its error and cause instead of an output
    failed = json.loads(objects[f"{folder}FAILED_0.json"])
    assert [json.loads(e["Input"])["index"] for e in failed] == [2, 5]
    for entry in failed:
        assert entry["Status"] == "FAILED"
        assert entry["Error"] == "ValueError"
        assert "cannot be processed" in json.loads(entry["Cause"])["errorMessage"]
        assert "Output" not in entry
        assert entry["RedriveStatus"] == "REDRIVABLE_BY_MAP_RUN"


def test_a_result_file_past_its_size_limit_continues_in_the_next_index() -> None:
    # GIVEN files limited to about two entries (5 GB on AWS)
    ran = run_map(6, prefix="split", max_file_bytes=1500)
    objects = ran["objects"]
    manifest = json.loads(next(body for key, body in objects.items() if key.endswith("/manifest.json")))
    files = manifest["ResultFiles"]["SUCCEEDED"]
    # THEN the 4 succeeded children are spread over SUCCEEDED_0, SUCCEEDED_1, ... each within the limit
    assert [f["Key"].rsplit("/", 1)[1] for f in files] == [f"SUCCEEDED_{n}.json" for n in range(len(files))]
    assert len(files) >= 2
    entries = [entry for f in files for entry in json.loads(objects[f["Key"]])]
    assert [json.loads(e["Input"])["index"] for e in entries] == [0, 1, 3, 4]
    assert all(f["Size"] == len(objects[f["Key"]]) and f["Size"] <= 1500 for f in files)
