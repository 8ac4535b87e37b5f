"""Throughput of the local engine: N items of a two-task item (the first retried once) through a Map.

Prints, per mode (inline Map, Distributed Map reading its items from S3) and item count: wall seconds, items per
second, the retry sleeps the virtual clock absorbed, and the parent execution's history size. Figures only: no
thresholds (the machine is shared).

Usage::

    python benchmarks/engine_throughput.py            # 50, 200 and 1000 items
    python benchmarks/engine_throughput.py 20 100     # chosen sizes
"""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from typing import Any

from lambdas.errors import Throttled
from workflow.local.engine import LocalEngine

BUCKET = "orgsync-benchmark"
MAX_CONCURRENCY = 40
RETRY = [{"ErrorEquals": [Throttled.__name__], "IntervalSeconds": 2, "BackoffRate": 2.0, "MaxAttempts": 3}]

ATTEMPTS: Counter[int] = Counter()


def prepare(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Throttled on its first attempt for every item: one retry per item."""
    ATTEMPTS[event["index"]] += 1
    if ATTEMPTS[event["index"]] == 1:
        raise Throttled("Rate exceeded")
    return {"index": event["index"], "account": event["item"]["account"]}


def record(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"index": event["index"], "status": "IN_SYNC"}


def item_processor(mode: str) -> dict[str, Any]:
    config: dict[str, str] = {"Mode": mode}
    if mode == "DISTRIBUTED":
        config["ExecutionType"] = "STANDARD"
    return {
        "ProcessorConfig": config,
        "StartAt": "Prepare",
        "States": {
            "Prepare": {"Type": "Task", "Resource": "${PrepareArn}", "Retry": RETRY, "Next": "Record"},
            "Record": {"Type": "Task", "Resource": "${RecordArn}", "End": True},
        },
    }


def definition(mode: str) -> dict[str, Any]:
    state: dict[str, Any] = {
        "Type": "Map",
        "MaxConcurrency": MAX_CONCURRENCY,
        "ItemSelector": {"item.$": "$$.Map.Item.Value", "index.$": "$$.Map.Item.Index"},
        "ItemProcessor": item_processor(mode),
        "ResultPath": None,
        "End": True,
    }
    if mode == "DISTRIBUTED":
        state["ItemReader"] = {
            "Resource": "arn:aws:states:::s3:getObject",
            "ReaderConfig": {"InputType": "JSON"},
            "Parameters": {"Bucket": BUCKET, "Key.$": "$.key"},
        }
    else:
        state["ItemsPath"] = "$.items"
    return {"StartAt": "Items", "States": {"Items": state}}


def measure(engine: LocalEngine, mode: str, size: int, substitutions: dict[str, str]) -> dict[str, Any]:
    ATTEMPTS.clear()
    engine.retry_sleeps.clear()
    items = [{"account": f"{200000000000 + i}", "region": "us-east-1"} for i in range(size)]
    state_machine = engine.create_state_machine(f"bench-{mode.lower()}", definition(mode), substitutions=substitutions)
    if mode == "DISTRIBUTED":
        key = f"items-{size}.json"
        engine.session.client("s3").put_object(Bucket=BUCKET, Key=key, Body=json.dumps(items).encode())
        execution_input: dict[str, Any] = {"key": key}
    else:
        execution_input = {"items": items}
    started = time.perf_counter()
    result = engine.run(state_machine, execution_input, timeout=1800)
    wall = time.perf_counter() - started
    if result.status != "SUCCEEDED":
        raise SystemExit(f"{mode} {size}: {result.status} {result.error} {result.cause}")
    return {
        "mode": mode.lower(),
        "items": size,
        "wall_s": wall,
        "items_per_s": size / wall,
        "retries": len(engine.retry_sleeps),
        "retry_sleep_s": sum(engine.retry_sleeps),
        "history_events": len(engine.driver().history(result.execution_arn)),
    }


def main(argv: list[str]) -> None:
    sizes = [int(arg) for arg in argv] or [50, 200, 1000]
    print(f"{'mode':<12}{'items':>7}{'wall s':>9}{'items/s':>9}{'retries':>9}{'absorbed s':>12}{'events':>8}")
    with LocalEngine() as engine:
        engine.session.client("s3").create_bucket(Bucket=BUCKET)
        substitutions = {
            "PrepareArn": engine.create_function("Prepare", f"{__name__}.prepare"),
            "RecordArn": engine.create_function("Record", f"{__name__}.record"),
        }
        for size in sizes:
            for mode in ("INLINE", "DISTRIBUTED"):
                row = measure(engine, mode, size, substitutions)
                print(
                    f"{row['mode']:<12}{row['items']:>7}{row['wall_s']:>9.2f}{row['items_per_s']:>9.1f}"
                    f"{row['retries']:>9}{row['retry_sleep_s']:>12.0f}{row['history_events']:>8}",
                    flush=True,
                )


if __name__ == "__main__":
    main(sys.argv[1:])
