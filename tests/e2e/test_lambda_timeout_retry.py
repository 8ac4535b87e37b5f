"""A Lambda past its timeout (``Sandbox.Timedout``) is retried, and the retry reports what the run did.

On the modelled timeline (:mod:`workflow.local.latency`) a slow answer pushes the ReconcileSync invocation that
creates the sync past its 180 s timeout, after the create: the retry finds the sync in place and must still say
CREATED (the run created it), not IN_SYNC.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from lambdas.errors import LAMBDA_TIMED_OUT
from workflow.functions import RECONCILE_SYNC, SUMMARIZE
from workflow.local import timeline
from workflow.local.faults import Call, RequestBoundary, ServiceError
from workflow.local.runner import LocalRun
from workflow.local.scenario import example_scenario_path, load_scenario

PROD_WEB = "200000000002"
REGION = "ap-northeast-1"
# No canary: the one account-region goes through the Map's ReconcileSync, the function under test.
REQUEST = {"targets": [PROD_WEB], "regions": [REGION], "markerTimeoutSeconds": 120, "canary": False}


@pytest.fixture
def slow_create() -> Iterator[LocalRun]:
    # CreateResourceDataSync answers after 185 s: the invocation that creates the sync passes ReconcileSync's 180 s
    scenario = dataclasses.replace(
        load_scenario(example_scenario_path()),
        latencies={"ssm:CreateResourceDataSync": RECONCILE_SYNC.timeout_seconds + 5},
    )
    with LocalRun(scenario) as run:
        yield run


def timed_out(local: LocalRun, function: str) -> int:
    invocations = local.engine.invocations
    return sum(i.function_name.endswith(function) and i.error_type == LAMBDA_TIMED_OUT for i in invocations)


def test_a_reconcile_that_timed_out_after_its_create_is_retried_and_reported_created(slow_create: LocalRun) -> None:
    local = slow_create
    result = local.run(REQUEST)

    # THEN the first invocation timed out (after the create), the retry found the sync and reported it CREATED,
    # proven by a marker written after the creation
    assert timed_out(local, RECONCILE_SYNC.name) == 1
    outcome = result.result(PROD_WEB, REGION)
    assert (outcome["status"], outcome["verification"]) == ("CREATED", "VERIFIED"), outcome["detail"]
    assert "earlier attempt of this run" in outcome["detail"]
    [sync] = local.aws.client("ssm", PROD_WEB, REGION).list_resource_data_sync()["ResourceDataSyncItems"]
    assert sync["S3Destination"]["BucketName"] == "acme-inventory"
    assert result.succeeded, result.cause
    # AND the run's start is what tells the two apart: a later run reports the same sync IN_SYNC, creating nothing
    again = local.run(REQUEST)
    assert again.result(PROD_WEB, REGION)["status"] == "IN_SYNC"
    assert timed_out(local, RECONCILE_SYNC.name) == 1


def test_summarize_past_its_timeout_once_is_retried_and_the_run_ends_with_its_report() -> None:
    # GIVEN a report write that answers after Summarize's whole timeout, once
    slow_once = [SUMMARIZE.timeout_seconds + 1.0]

    def slow_report_write(call: Call) -> ServiceError | None:
        report_write = call.api == "s3:PutObject" and call.request is not None and "report.json" in call.request.url
        if report_write and slow_once:
            timeline.charge(slow_once.pop())
        return None

    with LocalRun(load_scenario(example_scenario_path())) as local:
        boundary = RequestBoundary.installed()
        assert boundary is not None
        boundary.guards.append(slow_report_write)
        result = local.run(REQUEST)

    assert timed_out(local, SUMMARIZE.name) == 1
    assert result.succeeded, result.cause
    assert result.result(PROD_WEB, REGION)["status"] == "CREATED"
