"""The Distributed Map's own S3 reads and writes failing, on the local engine, end to end.

Step Functions reads the items file (``ItemReader``) and writes the result files (``ResultWriter``) itself; when it
cannot, the Map state fails with ``States.ItemReaderFailed`` or ``States.ResultWriterFailed`` (AWS's "Error names").
Before, neither was retried nor caught: one S3 fault there failed the execution without releasing the claim on its
account-regions and without a report (and the local engine named it ``States.Runtime``).

The faults here fail only the engine's own calls (the interpreter's clients mark their requests with
``x-moto-account-id``; the Lambdas' do not), by count, on the exact key or prefix: ``Claim account-regions`` and
``Summarize`` read the same items file, and a fault by key alone would meet their (retried) reads first.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest

from lambdas.errors import ITEM_READER_FAILED, ItemsFileUnreadable
from lambdas.report import items_key, results_prefix
from workflow.console.report import Report, render_text
from workflow.definition import ITEM_READER, ITEMS_UNREADABLE, MAP_RESULTS_PREFIX, RELEASE_UNREAD
from workflow.local.faults import Call, RequestBoundary, ServiceError
from workflow.local.runner import LocalRun
from workflow.local.scenario import parse_scenario
from workflow.runs import ExecutionResult

MANAGEMENT = "100000000001"
BUCKET = "mapio-inventory"
REGIONS = ["us-east-1", "eu-west-1"]
ACCOUNTS = [f"2100000000{n:02d}" for n in range(1, 6)]
ROLLOUT = {"targets": ["/Prod"], "regions": REGIONS}
SCENARIO: dict[str, Any] = {
    "organization": {
        "managementAccount": {"id": MANAGEMENT, "name": "management"},
        "ous": [{"name": "Prod", "accounts": [{"name": f"prod-{n}", "id": a} for n, a in enumerate(ACCOUNTS)]}],
    },
    "aggregator": {"accountId": MANAGEMENT, "bucket": BUCKET, "region": "us-east-1", "prefix": "default"},
}


class EngineS3Fault:
    """Fails the local engine's own S3 ``api`` calls on keys starting with ``key``, ``times`` times, with ``error``."""

    def __init__(self, api: str, key: str, error: str, times: int) -> None:
        self.api, self.key, self.error, self.left = api, key, error, times
        self.raised = 0
        self._lock = threading.Lock()

    def __call__(self, call: Call) -> ServiceError | None:
        engine_call = call.request is not None and "x-moto-account-id" in call.request.headers
        if not engine_call or call.api != self.api or not (call.s3_key or "").startswith(self.key):
            return None
        with self._lock:
            if self.left <= 0:
                return None
            self.left -= 1
            self.raised += 1
        return ServiceError(self.error, f"Injected {self.error}", 503 if self.error == "SlowDown" else 500)


@pytest.fixture
def local() -> Iterator[LocalRun]:
    with LocalRun(parse_scenario(SCENARIO, "map-io")) as run:
        yield run


def inject(fault: EngineS3Fault) -> EngineS3Fault:
    boundary = RequestBoundary.installed()
    assert boundary is not None
    boundary.guards.append(fault)
    return fault


def statuses(result: ExecutionResult) -> dict[tuple[str, str], tuple[str, str]]:
    return {(r["accountId"], r["region"]): (r["status"], r["verification"]) for r in (result.report or {})["results"]}


def every_account_region() -> set[tuple[str, str]]:
    return {(account, region) for account in ACCOUNTS for region in REGIONS}


@pytest.fixture(scope="module")
def without_faults() -> ExecutionResult:
    """How the rollout ends without faults (module scope: set up before the test's own LocalRun)."""
    with LocalRun(parse_scenario(SCENARIO, "map-io")) as clean:
        return clean.run(ROLLOUT, name="transient")


def test_a_passing_fault_on_the_items_read_is_retried_and_the_rollout_ends_as_without_it(
    without_faults: ExecutionResult, local: LocalRun
) -> None:
    # GIVEN how the rollout ends without faults, on the same organization
    without = without_faults
    assert statuses(without) == {key: ("CREATED", "VERIFIED") for key in every_account_region()}
    fault = inject(EngineS3Fault("s3:GetObject", items_key("transient"), "InternalError", times=2))
    # WHEN the Map's read of the items file fails twice (S3 InternalError), then succeeds
    result = local.run(ROLLOUT, name="transient")
    # THEN the Map's Retry absorbed it: the rollout ended exactly as without the fault
    assert fault.raised == 2
    assert (result.status, result.error, result.output and result.output["summary"]) == (
        without.status,
        without.error,
        without.output and without.output["summary"],
    )
    assert statuses(result) == statuses(without)
    # AND a rerun without faults finds everything in place
    rerun = local.run(ROLLOUT, name="rerun")
    assert (rerun.status, rerun.error) == ("SUCCEEDED", None), rerun.cause
    assert statuses(rerun) == {key: ("IN_SYNC", "VERIFIED") for key in every_account_region()}
    # AND each retry of the Map added three events to the parent's history (MapStateStarted, MapRunStarted,
    # MapRunFailed), whatever the organization's size: at most 9 with the Map's budget, beyond the run without faults
    without_faults = len(local.history(rerun.execution_arn))
    assert without_faults <= 50
    assert len(local.history(result.execution_arn)) == without_faults + 3 * fault.raised


def test_an_items_file_that_stays_unreadable_fails_the_run_by_name_and_releases_its_claim(local: LocalRun) -> None:
    # GIVEN S3 fails every read of the items file by the Map
    fault = inject(EngineS3Fault("s3:GetObject", items_key("unreadable"), "SlowDown", times=1000))
    # WHEN a rollout runs
    result = local.run(ROLLOUT, name="unreadable")
    # THEN the Map tried 1 + its retries, then the run failed with its own error, naming the items file and the
    # S3 error
    assert fault.raised == ITEM_READER.max_attempts + 1
    assert (result.status, result.error) == ("FAILED", ItemsFileUnreadable.__name__)
    assert result.cause is not None
    assert f"s3://{BUCKET}/{items_key('unreadable')}" in result.cause
    assert ITEM_READER_FAILED in result.cause and "SlowDown" in result.cause
    # AND it went through the release before failing
    entered = [
        e["stateEnteredEventDetails"]["name"]
        for e in local.history(result.execution_arn)
        if e["type"].endswith("StateEntered")
    ]
    assert entered[-2:] == [RELEASE_UNREAD, ITEMS_UNREADABLE]
    # AND no account-region of the Map was reconciled (only the canary's, before the Map)
    assert len(local.outcomes("unreadable")) <= 1
    # AND the claim is released: a run that may not wait for the same account-regions is not busy
    again = local.run({**ROLLOUT, "whenBusy": "fail"}, name="after-unreadable")
    assert (again.status, again.error) == ("SUCCEEDED", None), again.cause
    assert set(statuses(again)) == every_account_region()


def test_a_failed_result_write_is_not_retried_and_the_report_comes_from_the_batches_records(local: LocalRun) -> None:
    # GIVEN S3 fails the ResultWriter's first write (a result file), once
    fault = inject(EngineS3Fault("s3:PutObject", MAP_RESULTS_PREFIX + "/", "InternalError", times=1))
    # WHEN a rollout runs
    result = local.run(ROLLOUT, name="unwritten")
    # THEN the run completed: the Map was not run again (each account-region was reconciled once), and the report
    # covers every account-region, from the batches' records
    assert fault.raised == 1
    assert (result.status, result.error) == ("SUCCEEDED", None), result.cause
    assert statuses(result) == {key: ("CREATED", "VERIFIED") for key in every_account_region()}
    reconciles = [i for i in local.engine.invocations if i.function_name.endswith("ReconcileSync")]
    assert len(reconciles) == 1  # one batch (up to 10 accounts); the canary is a task of its own
    # AND the report and the output say that the Map's result files were not written, and where the records are
    report = result.report or {}
    note = report["mapResultFiles"]
    assert (note["written"], note["error"]) == (False, "States.ResultWriterFailed")
    assert "InternalError" in note["cause"]
    assert "result files were not written" in note["detail"]
    assert f"s3://{BUCKET}/{results_prefix('unwritten')}batches/" in note["detail"]
    assert (result.output or {})["mapResultFiles"] == note
    # AND the console shows the note under the summary line
    rendered = render_text(Report.from_dict(report), width=400)
    assert f"Note: {note['detail']}" in rendered
