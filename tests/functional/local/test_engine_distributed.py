"""A Distributed Map on the local engine: items read from S3, child executions on the same in-process seams."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from lambdas.errors import Throttled
from workflow.local.clock import VirtualClock
from workflow.local.driver import remote_endpoint_url
from workflow.local.engine import LocalEngine
from workflow.local.lambda_runtime import INVOCATION_DISPATCH_SECONDS

pytestmark = pytest.mark.skipif(
    remote_endpoint_url() is not None, reason="needs the in-process local engine (Python handlers, virtual clock)"
)

TEMPLATES = Path(__file__).parent / "templates"
AGGREGATOR = "300000000001"
REGION = "ap-northeast-1"
BUCKET = "acme-inventory"


def work(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Throttles the first attempt of odd items (the Retry takes care of it)."""
    item = event["item"]
    ATTEMPTS[item["account"]] += 1
    if event["index"] % 2 and ATTEMPTS[item["account"]] == 1:
        raise Throttled("Rate exceeded")
    return {"account": item["account"], "index": event["index"]}


def record(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Writes the item's outcome to the bucket with the function's own credentials (as orgsync's last step does)."""
    boto3.client("s3").put_object(
        Bucket=BUCKET, Key=f"results/{event['account']}.json", Body=json.dumps(event).encode()
    )
    return event


ATTEMPTS: Counter[str] = Counter()


def test_distributed_map_items_from_s3_run_in_process_on_the_virtual_clock() -> None:
    ATTEMPTS.clear()
    items = [{"account": f"2000000000{i:02d}", "region": REGION} for i in range(10)]
    clock = VirtualClock(start=datetime(2026, 1, 1, tzinfo=UTC))
    with LocalEngine(clock, account_id=AGGREGATOR, region=REGION) as engine:
        # GIVEN the items file in the aggregator account's bucket, as ResolveTargets writes it
        s3 = engine.session.client("s3")
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket=BUCKET, Key="runs/r1/targets.json", Body=json.dumps(items).encode())
        # AND a Distributed Map whose item retries a throttled task, waits 2 minutes, and records its outcome
        substitutions = {
            "WorkArn": engine.create_function("Work", f"{__name__}.work"),
            "RecordArn": engine.create_function("Record", f"{__name__}.record"),
        }
        state_machine = engine.create_state_machine(
            "distributed", TEMPLATES.joinpath("distributed.json").read_text(), substitutions=substitutions
        )

        # WHEN it runs
        result = engine.run(state_machine, {"bucket": BUCKET, "key": "runs/r1/targets.json"})
        driver = engine.driver()
        history = driver.history(result.execution_arn)
        map_run_arn = next(e["mapRunStartedEventDetails"]["mapRunArn"] for e in history if e["type"] == "MapRunStarted")
        map_run = driver.client.describe_map_run(mapRunArn=map_run_arn)
        recorded = sorted(
            obj["Key"] for obj in s3.list_objects_v2(Bucket=BUCKET, Prefix="results/").get("Contents", [])
        )

    # THEN every item ran through the in-process handlers, in the aggregator account
    assert result.status == "SUCCEEDED", result.cause
    assert recorded == [f"results/{item['account']}.json" for item in items]
    assert map_run["itemCounts"]["succeeded"] == 10
    assert map_run["toleratedFailurePercentage"] == 50.0
    # AND the child executions' retries and waits went to the virtual clock
    assert engine.retry_sleeps == [3.0] * 5
    assert engine.wait_sleeps == [120.0] * 10
    # (plus the millisecond each invocation moves the clock by)
    ticks = len(engine.invocations) * INVOCATION_DISPATCH_SECONDS
    assert engine.clock.elapsed == pytest.approx(5 * 3 + 10 * 120 + ticks)
    # AND the parent history stays flat, whatever the item count
    assert len(history) < 20
