"""Work that grows with the organization finishes within its Lambda's deployed timeout, on the modelled timeline.

Summarize at 100,000 account-regions (the Map's result files, read through its manifest, on moto's S3) and
verify's coverage at 1,000,000 inventory objects in the bucket (a bucket of that size answered by
:class:`SyntheticInventoryBucket`, ListObjectsV2's contract over keys computed from their position: moto lists a
bucket in time proportional to its size per page). Both run as the Summarize function, under the timeout and
memory CDK deploys (``workflow.functions.SUMMARIZE``), every call charged its latency from the default table
(``workflow.local.latency``), reads in parallel charged at their parallel duration (``lambdas.parallel``).
"""

from __future__ import annotations

import bisect
import json
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from lambdas import handlers
from lambdas.coverage import ACTIVE, INSTANCE_INFORMATION, build_coverage
from lambdas.models import Destination, Mode, OnConflict, RunParameters, Status, TargetItem, Verification
from lambdas.report import write_items, write_outcome
from workflow.functions import SUMMARIZE
from workflow.local import latency, timeline
from workflow.local.clock import VirtualClock
from workflow.local.driver import remote_endpoint_url
from workflow.local.engine import LocalEngine
from workflow.local.map_results import ChildExecution, result_file_body, result_files

pytestmark = pytest.mark.skipif(
    remote_endpoint_url() is not None, reason="needs the in-process local engine (Python handlers, virtual clock)"
)

AGGREGATOR = "300000000001"
REGION = "us-east-1"
BUCKET = "acme-inventory"
PREFIX = "default"
REGIONS = ("ap-northeast-1", "eu-west-1", "us-east-1", "us-west-2")
ONE_TASK = {"StartAt": "Summarize", "States": {"Summarize": {"Type": "Task", "Resource": "${FnArn}", "End": True}}}


#: Memory a Python Lambda uses before its handler allocates anything: the runtime, boto3 and orgsync's modules
#: (58 MiB for the interpreter with boto3 and lambdas.handlers imported, measured here, plus the runtime's bootstrap).
LAMBDA_RUNTIME_MB = 80


def traced(handler: Any, peaks: list[int]) -> Any:
    """``handler``, noting the peak of the Python allocations made while it runs (:mod:`tracemalloc`) in ``peaks``."""

    def run(event: Any, context: Any) -> Any:
        tracemalloc.start()
        try:
            return handler(event, context)
        finally:
            peaks.append(tracemalloc.get_traced_memory()[1])
            tracemalloc.stop()

    return run


def run_as_summarize(engine: LocalEngine, name: str, handler: Any, event: dict[str, Any]) -> tuple[Any, float]:
    """Run ``handler`` as the Summarize function (its deployed timeout and memory); its result and modelled seconds."""
    arn = engine.create_function(name, handler, timeout=SUMMARIZE.timeout_seconds, memory_size=SUMMARIZE.memory_mb)
    machine = engine.create_state_machine(name, ONE_TASK, substitutions={"FnArn": arn})
    result = engine.run(machine, event, timeout=1200)
    invocation = next(i for i in reversed(engine.invocations) if i.function_name == name)
    return result, invocation.simulated_seconds


# --- Summarize at 100,000 account-regions ---------------------------------------------------------------------


@pytest.mark.slow
def test_summarize_reads_100000_account_regions_within_its_timeout() -> None:
    accounts, batch = 25_000, 4  # 100,000 account-regions; each child's output carries its account's 4 outcomes
    run = RunParameters(
        "exec-scale",
        Mode.ROLLOUT,
        "org-inventory",
        Destination(BUCKET, REGION, PREFIX),
        OnConflict.REPORT,
        900,
        "OrgSyncMemberRole",
    )
    items = [
        TargetItem(f"2{n:011d}", f"acct-{n}", "/Workloads", region, run)
        for n in range(accounts)
        for region in REGIONS[:batch]
    ]
    with LocalEngine(
        VirtualClock(start=datetime(2026, 1, 1, tzinfo=UTC)), account_id=AGGREGATOR, region=REGION
    ) as engine:
        s3 = engine.session.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        # GIVEN the run's items file, 20 SKIPPED records from Resolve targets, and the Map Run's result files
        location = write_items(s3, run, items)
        for n in range(20):
            write_outcome(
                s3,
                run,
                TargetItem(f"9{n:011d}", "gone", "/", REGION, run).outcome(
                    Status.SKIPPED, detail="The account is SUSPENDED."
                ),
            )
        # (one outcome built, the others copied from it: building 100,000 through dataclasses takes a while here)
        template = items[0].outcome(Status.CREATED, verification=Verification.VERIFIED, detail="Created org-inventory.")
        first = template.to_dict()
        children = [
            ChildExecution(
                n,
                f"c{n}",
                f"arn:c{n}",
                "arn:sm",
                "SUCCEEDED",
                {"accountId": items[n * batch].accountId},
                {
                    "outcomes": [
                        {**first, "accountId": item.accountId, "accountName": item.accountName, "region": item.region}
                        for item in items[n * batch : (n + 1) * batch]
                    ]
                },
                "t0",
                "t1",
            )
            for n in range(accounts)
        ]
        # (files of about 5 MB: the split exercises several result files; AWS splits at 5 GB)
        files: dict[str, list[dict[str, Any]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
        for key, entries in result_files("orgsync/runs/map-results", "run1", children, max_bytes=5_000_000):
            body = result_file_body(entries)
            s3.put_object(Bucket=BUCKET, Key=key, Body=body)
            files["SUCCEEDED"].append({"Key": key, "Size": len(body)})
        manifest_key = "orgsync/runs/map-results/run1/manifest.json"
        s3.put_object(
            Bucket=BUCKET,
            Key=manifest_key,
            Body=json.dumps({"DestinationBucket": BUCKET, "MapRunArn": "arn:map", "ResultFiles": files}).encode(),
        )
        del children

        # WHEN Summarize runs, as deployed
        event = {
            "run": run.to_dict(),
            "itemsLocation": location,
            "mapResults": {"MapRunArn": "arn:map", "ResultWriterDetails": {"Bucket": BUCKET, "Key": manifest_key}},
        }
        peaks: list[int] = []
        result, seconds = run_as_summarize(engine, "Summarize", traced(handlers.summarize, peaks), event)

    # THEN it succeeds within its timeout, every account-region in the report
    assert result.status == "SUCCEEDED", result.cause
    assert result.output["summary"]["total"] == 100_020
    assert result.output["summary"]["byStatus"] == {"CREATED": 100_000, "SKIPPED": 20}
    assert len(files["SUCCEEDED"]) > 2
    assert seconds < SUMMARIZE.timeout_seconds / 4, f"Summarize took {seconds:.0f} s of its {SUMMARIZE.timeout_seconds}"
    # AND within its memory: the Python allocations of the invocation (moto's copies of what it read and wrote
    # included, so an overestimate), plus the runtime's own, fit what CDK deploys
    (peak,) = peaks
    used_mb = peak / 2**20 + LAMBDA_RUNTIME_MB
    assert used_mb < SUMMARIZE.memory_mb * 0.75, f"Summarize used about {used_mb:.0f} MB of its {SUMMARIZE.memory_mb}"


# --- verify's coverage at 1,000,000 inventory objects ----------------------------------------------------------

COVERAGE_ACCOUNTS = 5_000
NODES_PER_REGION = 8
#: Every node's types (a Linux node with the inventory association); every fourth also has AWS:WindowsUpdate.
EVERY_NODE = (
    "AWS:AWSComponent",
    "AWS:Application",
    "AWS:InstanceDetailedInformation",
    INSTANCE_INFORMATION,
    "AWS:Network",
    "AWS:Tag",
)
SOME_NODES = "AWS:WindowsUpdate"


def account_id(index: int) -> str:
    return f"4{index:011d}"


def node_id(account: int, region: int, node: int) -> str:
    return f"i-{account:08x}{region:01x}{node:08x}"


def node_status(account: int, region: int, node: int) -> str:
    """A third of the nodes are long gone (their files stay), the rest run."""
    return "Terminated" if (account + region + node) % 3 == 0 else ACTIVE


class SyntheticInventoryBucket:
    """A bucket of SSM's inventory layout, its keys computed from their position in each type folder.

    Answers ListObjectsV2 as S3 does (keys in UTF-8 order, 1,000 a page, ``ContinuationToken``; ``Delimiter`` at
    the prefix's top for the type folders) and GetObject of an ``AWS:InstanceInformation`` file (one JSON line with
    ``InstanceStatus``). Each call is charged its latency on the caller's modelled timeline and counted, as the
    local substrate's request boundary does.
    """

    def __init__(self) -> None:
        self.folders = sorted([*EVERY_NODE, SOME_NODES])
        self.calls: Counter[str] = Counter()
        self.per_account = len(REGIONS) * NODES_PER_REGION

    def objects(self) -> int:
        return sum(self._size(folder) for folder in self.folders)

    def _size(self, folder: str) -> int:
        if folder == SOME_NODES:
            return COVERAGE_ACCOUNTS * len(REGIONS) * (NODES_PER_REGION // 4)
        return COVERAGE_ACCOUNTS * (self.per_account + (folder == INSTANCE_INFORMATION))

    def _key(self, folder: str, index: int) -> str:
        if folder == SOME_NODES:
            per_region = NODES_PER_REGION // 4
            account, rest = divmod(index, len(REGIONS) * per_region)
            region, node = divmod(rest, per_region)
            node *= 4
        else:
            block = self.per_account + (folder == INSTANCE_INFORMATION)
            account, rest = divmod(index, block)
            if rest == self.per_account:  # the account's marker sorts after its region= folders
                return f"{PREFIX}/{folder}/accountid={account_id(account)}/test.json"
            region, node = divmod(rest, NODES_PER_REGION)
        return (
            f"{PREFIX}/{folder}/accountid={account_id(account)}/region={REGIONS[region]}/"
            f"resourcetype=ManagedInstanceInventory/{node_id(account, region, node)}.json"
        )

    def _charge(self, api: str) -> None:
        self.calls[api] += 1
        timeline.charge(latency.active().seconds(api))

    def list_objects_v2(self, **kwargs: Any) -> dict[str, Any]:
        self._charge("s3:ListObjectsV2")
        assert kwargs["Bucket"] == BUCKET
        prefix = kwargs["Prefix"]
        if kwargs.get("Delimiter") == "/":
            assert prefix == f"{PREFIX}/", f"only the type folders are listed with a delimiter, not {prefix}"
            return {"CommonPrefixes": [{"Prefix": f"{PREFIX}/{f}/"} for f in self.folders], "IsTruncated": False}
        folder = prefix.removeprefix(f"{PREFIX}/").rstrip("/")
        assert folder in self.folders and prefix == f"{PREFIX}/{folder}/", f"unexpected listing of {prefix}"
        start = int(kwargs.get("ContinuationToken", "0"))
        end = min(start + 1000, self._size(folder))
        page: dict[str, Any] = {"Contents": [{"Key": self._key(folder, i)} for i in range(start, end)]}
        page["IsTruncated"] = end < self._size(folder)
        if page["IsTruncated"]:
            page["NextContinuationToken"] = str(end)
        return page

    def get_paginator(self, name: str) -> Any:
        assert name == "list_objects_v2"
        bucket = self

        class Paginator:
            def paginate(self, **kwargs: Any) -> Iterator[dict[str, Any]]:
                while True:
                    page = bucket.list_objects_v2(**kwargs)
                    yield page
                    if not page["IsTruncated"]:
                        return
                    kwargs = {**kwargs, "ContinuationToken": page["NextContinuationToken"]}

        return Paginator()

    def get_object(self, **kwargs: Any) -> dict[str, Any]:
        self._charge("s3:GetObject")
        key = kwargs["Key"]
        folder = f"{PREFIX}/{INSTANCE_INFORMATION}/"
        assert key.startswith(folder), f"only AWS:InstanceInformation files are read, not {key}"
        node = key.rsplit("/", 1)[1].removesuffix(".json")
        account, region, index = int(node[2:10], 16), int(node[10], 16), int(node[11:], 16)
        record = {"InstanceId": node, "InstanceStatus": node_status(account, region, index)}

        class Body:
            def read(self) -> bytes:
                return (json.dumps(record) + "\n").encode()

        return {"Body": Body()}


def keys_are_in_s3_order(bucket: SyntheticInventoryBucket) -> bool:
    """The synthetic listing's order is S3's (UTF-8 binary order), checked on a sample of each folder."""
    for folder in bucket.folders:
        sample = [bucket._key(folder, i) for i in range(0, min(bucket._size(folder), 5000))]
        if sample != sorted(sample) or bisect.bisect_left(sample, sample[-1]) != len(sample) - 1:
            return False
    return True


def coverage_handler(bucket: SyntheticInventoryBucket) -> Any:
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        targets = {account_id(n): f"acct-{n}" for n in range(COVERAGE_ACCOUNTS)}
        report = build_coverage(
            bucket,
            bucket=BUCKET,
            prefix=PREFIX,
            targets=targets,  # type: ignore[arg-type]
            workers=event["workers"],
        )
        return {
            "covered": len(report.covered),
            "notCovered": len(report.notCovered),
            "stale": len(report.staleInstances),
            "instances": sum(a.instances for a in report.accounts),
        }

    return handler


@pytest.mark.slow
def test_coverage_of_a_million_inventory_objects_finishes_within_summarizes_timeout() -> None:
    bucket = SyntheticInventoryBucket()
    assert bucket.objects() >= 1_000_000
    assert keys_are_in_s3_order(bucket)
    nodes = COVERAGE_ACCOUNTS * len(REGIONS) * NODES_PER_REGION
    terminated = sum(
        node_status(a, r, n) != ACTIVE
        for a in range(COVERAGE_ACCOUNTS)
        for r in range(len(REGIONS))
        for n in range(NODES_PER_REGION)
    )
    with LocalEngine(
        VirtualClock(start=datetime(2026, 1, 1, tzinfo=UTC)), account_id=AGGREGATOR, region=REGION
    ) as engine:
        # WHEN verify's coverage reads the bucket as Summarize, reads in parallel
        result, seconds = run_as_summarize(engine, "Coverage", coverage_handler(bucket), {"workers": 32})

    # THEN it finishes well within the timeout, with the right view of the bucket
    assert result.status == "SUCCEEDED", result.cause
    assert result.output == {
        "covered": COVERAGE_ACCOUNTS,
        "notCovered": 0,
        "stale": terminated,
        "instances": nodes - terminated,
    }
    assert seconds < SUMMARIZE.timeout_seconds / 2, f"coverage took {seconds:.0f} s of {SUMMARIZE.timeout_seconds}"
    # AND it listed each type folder once (1,000 keys a page) and read each node's AWS:InstanceInformation once
    pages = 1 + sum(-(-bucket._size(folder) // 1000) for folder in bucket.folders)
    assert dict(bucket.calls) == {"s3:ListObjectsV2": pages, "s3:GetObject": nodes}
    # AND one read after another the same calls would take over seven times the timeout (Sandbox.Timedout)
    one_after_another = sum(latency.active().seconds(api) * count for api, count in bucket.calls.items())
    assert one_after_another > 7 * SUMMARIZE.timeout_seconds
