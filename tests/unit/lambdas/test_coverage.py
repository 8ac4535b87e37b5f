"""The coverage view over a moto S3 bucket laid out the way SSM writes inventory."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from http_faults import HttpFaults

from lambdas import aws, invocation
from lambdas.coverage import CoverageReport, accounts_in_bucket, build_coverage, report_section
from lambdas.errors import TRANSIENT_LAMBDA_ERRORS, AwsUnavailable, OutOfTime, Throttled
from lambdas.models import Destination, Mode, OnConflict, Outcome, RunParameters, Status, Verification
from workflow.local.clock import VirtualClock

BUCKET = "acme-inventory"
PREFIX = "default"
PROD, DEV, GONE, NEW = "200000000001", "200000000002", "200000000003", "200000000004"


def put_marker(s3: Any, account: str, prefix: str = PREFIX) -> None:
    s3.put_object(Bucket=BUCKET, Key=f"{prefix}/AWS:InstanceInformation/accountid={account}/test.json", Body=b"{}")


def put_node(
    s3: Any,
    account: str,
    region: str,
    node: str,
    status: str | None = "Active",
    types: tuple[str, ...] = ("AWS:Application", "AWS:Network"),
    prefix: str = PREFIX,
) -> None:
    tail = f"accountid={account}/region={region}/resourcetype=ManagedInstanceInventory/{node}.json"
    if status is not None:
        record = {
            "InstanceId": node,
            "InstanceStatus": status,
            "resourceId": node,
            "captureTime": "2026-11-28T10:00:00Z",
        }
        s3.put_object(Bucket=BUCKET, Key=f"{prefix}/AWS:InstanceInformation/{tail}", Body=json.dumps(record) + "\n")
    for type_name in types:
        lines = "\n".join(json.dumps({"resourceId": node, "Name": f"pkg{i}"}) for i in range(3))
        s3.put_object(Bucket=BUCKET, Key=f"{prefix}/{type_name}/{tail}", Body=lines)


def test_targets_against_the_accounts_in_the_bucket(s3: Any) -> None:
    # GIVEN prod with a live node, dev with only its marker, GONE (no longer targeted) with inventory, NEW empty
    put_marker(s3, PROD)
    put_node(s3, PROD, "us-east-1", "i-0aaa")
    put_node(s3, PROD, "eu-west-1", "i-0bbb")
    put_marker(s3, DEV)
    put_marker(s3, GONE)
    put_node(s3, GONE, "us-east-1", "i-0ccc")
    # orgsync's own reports sit outside the SSM prefix and must be ignored
    s3.put_object(Bucket=BUCKET, Key="orgsync/reports/x/report.json", Body=b"{}")
    # WHEN building the coverage for targets prod, dev, new
    report = build_coverage(s3, bucket=BUCKET, prefix=PREFIX, targets={PROD: "prod", DEV: "dev", NEW: "new"})
    # THEN
    assert report.covered == [PROD, DEV]
    assert report.notCovered == [NEW]
    assert report.notTargeted == [GONE]
    by_id = {a.accountId: a for a in report.accounts}
    assert (by_id[PROD].instances, by_id[PROD].regions, by_id[PROD].markerPresent) == (
        2,
        ["eu-west-1", "us-east-1"],
        True,
    )
    assert (by_id[DEV].instances, by_id[DEV].markerPresent) == (0, True)
    assert by_id[NEW].inBucket is False and by_id[NEW].accountName == "new"
    assert report.staleInstances == []


def test_terminated_and_vanished_nodes_are_stale(s3: Any) -> None:
    put_marker(s3, PROD)
    put_node(s3, PROD, "us-east-1", "i-0live")
    put_node(s3, PROD, "us-east-1", "i-0dead", status="Terminated")
    put_node(s3, PROD, "ap-northeast-1", "i-0stop", status="Stopped", types=("AWS:Application",))
    put_node(s3, PROD, "us-east-1", "i-0orphan", status=None, types=("AWS:Application", "AWS:File"))
    report = build_coverage(s3, bucket=BUCKET, prefix=PREFIX, targets={PROD: "prod"})
    stale = {(s.instanceId, s.region): s for s in report.staleInstances}
    assert set(stale) == {("i-0dead", "us-east-1"), ("i-0stop", "ap-northeast-1"), ("i-0orphan", "us-east-1")}
    assert stale[("i-0dead", "us-east-1")].instanceStatus == "Terminated"
    assert stale[("i-0dead", "us-east-1")].files == 3
    assert stale[("i-0orphan", "us-east-1")].instanceStatus is None
    assert "no AWS:InstanceInformation record" in stale[("i-0orphan", "us-east-1")].reason
    assert report.accounts[0].instances == 1


def test_an_account_with_only_stale_files_is_still_in_the_bucket(s3: Any) -> None:
    put_node(s3, GONE, "us-east-1", "i-0dead", status="Terminated")
    report = build_coverage(s3, bucket=BUCKET, prefix=PREFIX, targets={})
    assert report.notTargeted == [GONE]
    assert [s.accountId for s in report.staleInstances] == [GONE]


def test_other_prefixes_are_not_counted(s3: Any) -> None:
    put_marker(s3, PROD, prefix="other-team")
    put_node(s3, PROD, "us-east-1", "i-0aaa", prefix="other-team")
    report = build_coverage(s3, bucket=BUCKET, prefix=PREFIX, targets={PROD: "prod"})
    assert report.notCovered == [PROD]
    assert accounts_in_bucket(s3, BUCKET, "other-team") == {PROD}


def test_listing_is_paginated(s3: Any) -> None:
    # GIVEN more objects than one ListObjectsV2 page (1,000) across 1,050 accounts' markers
    accounts = [f"3{i:011d}" for i in range(1050)]
    for account in accounts:
        put_marker(s3, account)
    # WHEN / THEN every account is seen, by the delimiter listing and by the full pass
    assert accounts_in_bucket(s3, BUCKET, PREFIX) == set(accounts)
    report = build_coverage(s3, bucket=BUCKET, prefix=PREFIX, targets={accounts[-1]: "last"})
    assert report.covered == [accounts[-1]]
    assert len(report.notTargeted) == 1049


def test_no_prefix_reads_from_the_bucket_root(s3: Any) -> None:
    s3.put_object(Bucket=BUCKET, Key=f"AWS:InstanceInformation/accountid={PROD}/test.json", Body=b"{}")
    report = build_coverage(s3, bucket=BUCKET, prefix="", targets={PROD: "prod"})
    assert report.covered == [PROD]


def test_report_round_trips_through_json(s3: Any) -> None:
    put_marker(s3, PROD)
    put_node(s3, PROD, "us-east-1", "i-0dead", status="Terminated")
    report = build_coverage(s3, bucket=BUCKET, prefix=PREFIX, targets={PROD: "prod", NEW: "new"})
    data = json.loads(json.dumps(report.to_dict()))
    assert data["covered"] == [PROD] and data["notCovered"] == [NEW] and data["targetAccounts"] == 2
    assert data["staleInstances"][0]["instanceStatus"] == "Terminated"
    assert CoverageReport.from_dict(data) == report


def test_coverage_only_reads(s3: Any) -> None:
    # GIVEN a record of every S3 operation the client makes
    put_marker(s3, PROD)
    put_node(s3, PROD, "us-east-1", "i-0aaa")
    calls: list[str] = []
    s3.meta.events.register("before-call.s3.*", lambda model, **_: calls.append(model.name))
    build_coverage(s3, bucket=BUCKET, prefix=PREFIX, targets={PROD: "prod"})
    # THEN only listing and reading happened
    assert calls and set(calls) <= {"ListObjectsV2", "GetObject"}


@pytest.fixture
def orgsync_s3(s3: Any) -> Iterator[Any]:
    """An S3 client as the Lambda code makes it (boto's standard retries on the clock), on the moto bucket."""
    aws.clear_credentials_cache()
    yield aws.ClientProvider("us-east-1", aws.Credentials("AKIDTEST", "secret")).client("s3")
    aws.clear_credentials_cache()


@pytest.mark.parametrize(
    ("fault", "named"),
    [
        ("SlowDown", Throttled),
        ("InternalError", AwsUnavailable),
        (ReadTimeoutError(endpoint_url=f"https://{BUCKET}.s3.amazonaws.com/"), AwsUnavailable),
        (EndpointConnectionError(endpoint_url=f"https://{BUCKET}.s3.amazonaws.com/"), AwsUnavailable),
    ],
    ids=["SlowDown", "InternalError", "ReadTimeoutError", "EndpointConnectionError"],
)
def test_a_fault_that_outlasts_botos_retries_is_a_named_error_summarize_retries(
    orgsync_s3: Any, virtual_clock: VirtualClock, fault: str | Exception, named: type[Exception]
) -> None:
    # GIVEN a bucket with data, and S3 failing every attempt of every call
    put_marker(orgsync_s3, PROD)
    put_node(orgsync_s3, PROD, "us-east-1", "i-0aaa")
    faults = HttpFaults(orgsync_s3, lambda attempt: fault)
    run = RunParameters("e", Mode.VERIFY, "s", Destination(BUCKET, "us-east-1", PREFIX), OnConflict.REPORT, 60, "R")
    outcomes = [Outcome(PROD, "prod", "/", "us-east-1", Status.IN_SYNC, Verification.VERIFIED)]
    # WHEN Summarize builds the verify report's coverage, THEN the error is named, and a name its Retry matches
    with pytest.raises(named, match=rf"s3:ListObjectsV2 on s3://{BUCKET}/{PREFIX}/ failed|throttled") as raised:
        report_section(orgsync_s3, run, outcomes)
    assert type(raised.value).__name__ in TRANSIENT_LAMBDA_ERRORS
    assert faults.attempts == aws.MAX_ATTEMPTS  # boto's own retries first


def test_coverage_starts_no_call_it_might_not_finish(s3: Any) -> None:
    # GIVEN Summarize with less time left than one call's worst case
    put_marker(s3, PROD)
    run = RunParameters("e", Mode.VERIFY, "s", Destination(BUCKET, "us-east-1", PREFIX), OnConflict.REPORT, 60, "R")

    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return (aws.WORST_CASE_CALL_SECONDS - 1) * 1000

    # THEN the coverage stops before its first listing with OutOfTime, which Summarize's Retry matches
    with invocation.timed_by(Context()), pytest.raises(OutOfTime):
        report_section(s3, run, [Outcome(PROD, "prod", "/", "us-east-1", Status.IN_SYNC, Verification.VERIFIED)])
    assert OutOfTime.__name__ in TRANSIENT_LAMBDA_ERRORS
