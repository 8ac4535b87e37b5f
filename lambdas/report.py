"""Outcome records in S3, the run's report and the summary the execution returns.

Outcomes are recorded as JSON arrays of outcomes under ``orgsync/reports/<execution>/results/``: one object per
batch of accounts (``batches/<first account>.json``, written by the batch's last step, :mod:`lambdas.batch`), one
for the SKIPPED account-regions (``skipped.json``, written by ``Resolve targets``), and one per account-region
for a caller that records a single one (:func:`write_outcome`). ``Summarize`` takes the outcomes the children's
outputs carry from the Distributed Map's result files and reads the records no output covers
(:mod:`lambdas.results`, in parallel), adds a FAILED outcome for any account-region that recorded nothing, and
writes ``orgsync/reports/<execution>/report.json``.

Example::

    >>> outcome_key("exec-1", "200000000001", "us-east-1")
    'orgsync/reports/exec-1/results/200000000001/us-east-1.json'
    >>> batch_key("exec-1", "200000000001")
    'orgsync/reports/exec-1/results/batches/200000000001.json'
    >>> report_key("exec-1")
    'orgsync/reports/exec-1/report.json'
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from lambdas import clock
from lambdas.aws import ClientProvider, call, read_object
from lambdas.models import AccountTargets, Outcome, RunParameters, Status, Summary, TargetItem
from lambdas.results import collect_outcomes, map_results_failure

REPORTS_PREFIX = "orgsync/reports"
RUNS_PREFIX = "orgsync/runs"

#: The returned ``results`` are cut above this many bytes of JSON: Step Functions payloads cap at 256 KiB and
#: the summary, location and cause need room too. The S3 report is always complete.
MAX_RETURNED_RESULTS_BYTES = 160_000

MISSING_OUTCOME_DETAIL = (
    "No outcome was recorded for this account-region: its batch's child execution failed after its retries "
    "(see the Map Run of 'Process accounts' in the console). Rerun: the rollout is idempotent."
)
#: Records read at once by Summarize (S3 serves thousands of GETs per second per prefix).
READ_WORKERS = 16


def items_key(execution_name: str) -> str:
    """The key of a run's items file (the Distributed Map's ItemReader reads it)."""
    return f"{RUNS_PREFIX}/{execution_name}/targets.json"


def results_prefix(execution_name: str) -> str:
    """The key prefix under which a run's outcome records live."""
    return f"{REPORTS_PREFIX}/{execution_name}/results/"


def outcome_key(execution_name: str, account_id: str, region: str) -> str:
    """The key of one account-region's outcome record."""
    return f"{results_prefix(execution_name)}{account_id}/{region}.json"


def batch_key(execution_name: str, first_account_id: str) -> str:
    """The key of the outcome record of the batch whose first account is ``first_account_id``."""
    return f"{results_prefix(execution_name)}batches/{first_account_id}.json"


def skipped_key(execution_name: str) -> str:
    """The key of the record of a run's SKIPPED account-regions."""
    return f"{results_prefix(execution_name)}skipped.json"


def report_key(execution_name: str) -> str:
    """The key of a run's report."""
    return f"{REPORTS_PREFIX}/{execution_name}/report.json"


def _put_json(s3: Any, bucket: str, key: str, document: Any) -> None:
    body = json.dumps(document, indent=None, separators=(",", ":"), sort_keys=False).encode()
    call(f"s3:PutObject on s3://{bucket}/{key}", s3.put_object, Bucket=bucket, Key=key, Body=body,
         ContentType="application/json")


def _get_json(s3: Any, bucket: str, key: str) -> Any:
    body, _ = read_object(s3, bucket, key)
    return json.loads(body)


def write_outcomes(s3: Any, run: RunParameters, key: str, outcomes: list[Outcome]) -> str:
    """Write ``outcomes`` as one record (a JSON array) at ``key`` in the destination bucket; returns the key.

    Example::

        write_outcomes(s3, run, batch_key(run.executionName, "200000000001"), outcomes)
    """
    _put_json(s3, run.destination.bucket, key, [outcome.to_dict() for outcome in outcomes])
    return key


def write_outcome(s3: Any, run: RunParameters, outcome: Outcome) -> str:
    """Write one account-region's record (a one-outcome array) to the destination bucket; returns its key.

    Example::

        write_outcome(s3, item.run, item.outcome(Status.CREATED, verification=Verification.VERIFIED))
    """
    return write_outcomes(s3, run, outcome_key(run.executionName, outcome.accountId, outcome.region), [outcome])


def write_items(s3: Any, run: RunParameters, items: list[TargetItem]) -> dict[str, str]:
    """Write the run's items file, one entry per account with its regions (:class:`AccountTargets`); returns its
    location as the ItemReader wants it (``bucket``, ``key``)."""
    key = items_key(run.executionName)
    _put_json(s3, run.destination.bucket, key, [account.to_dict() for account in AccountTargets.group(items)])
    return {"bucket": run.destination.bucket, "key": key}


def read_items(s3: Any, bucket: str, key: str, run: RunParameters) -> list[TargetItem]:
    """Read a run's items file back, as the account-regions of ``run``."""
    return [item for raw in _get_json(s3, bucket, key) for item in AccountTargets.from_dict(raw).items(run)]


def read_outcomes(s3: Any, run: RunParameters) -> list[Outcome]:
    """Every outcome of a run's records (listed with pagination, read in parallel), sorted by account and region.

    A later record of an account-region replaces an earlier one (keys in listing order).

    Example::

        outcomes = read_outcomes(s3, run)
    """
    return collect_outcomes(s3, run, results_prefix(run.executionName), None)


def with_missing(outcomes: list[Outcome], expected: list[TargetItem]) -> list[Outcome]:
    """``outcomes`` plus a FAILED outcome for each expected account-region that recorded none.

    >>> from lambdas.models import Destination, Mode, OnConflict
    >>> run = RunParameters("e", Mode.ROLLOUT, "s", Destination("b", "us-east-1", "p"), OnConflict.REPORT, 60, "R")
    >>> [o.status.value for o in with_missing([], [TargetItem("200000000001", "a", "/", "us-east-1", run)])]
    ['FAILED']
    """
    seen = {(o.accountId, o.region) for o in outcomes}
    missing = [
        item.outcome(Status.FAILED, detail=MISSING_OUTCOME_DETAIL)
        for item in expected
        if (item.accountId, item.region) not in seen
    ]
    return sorted([*outcomes, *missing], key=lambda o: (o.accountId, o.region))


@dataclass(frozen=True)
class Report:
    """A run's report: what the S3 object holds."""

    run: RunParameters
    summary: Summary
    outcomes: list[Outcome]
    generatedAt: str

    @property
    def location(self) -> str:
        """``s3://bucket/orgsync/reports/<execution>/report.json``."""
        return f"s3://{self.run.destination.bucket}/{report_key(self.run.executionName)}"

    def to_dict(self) -> dict[str, Any]:
        """The report document (issue 3's contract plus the summary)."""
        return {
            "executionName": self.run.executionName,
            "mode": str(self.run.mode),
            "generatedAt": self.generatedAt,
            "syncName": self.run.syncName,
            "destination": self.run.destination.to_dict(),
            "onConflict": str(self.run.onConflict),
            "summary": self.summary.to_dict(),
            "reportLocation": self.location,
            "results": [outcome.to_dict() for outcome in self.outcomes],
        }


def build_report(run: RunParameters, outcomes: list[Outcome]) -> Report:
    """The report of ``outcomes``.

    >>> from lambdas.models import Destination, Mode, OnConflict, Verification
    >>> run = RunParameters("e", Mode.ROLLOUT, "s", Destination("b", "us-east-1", "p"), OnConflict.REPORT, 60, "R")
    >>> item = TargetItem("200000000001", "a", "/", "us-east-1", run)
    >>> build_report(run, [item.outcome(Status.CREATED, verification=Verification.VERIFIED)]).summary.needsAttention
    0
    """
    return Report(run=run, summary=Summary.of(outcomes), outcomes=outcomes, generatedAt=clock.now().isoformat())


def returned_results(report: Report, max_bytes: int = MAX_RETURNED_RESULTS_BYTES) -> tuple[list[dict[str, Any]], bool]:
    """The results to return in the execution output, those needing attention first, cut at ``max_bytes``.

    Returns the results and whether any were left out.
    """
    ordered = sorted(report.outcomes, key=lambda o: (not o.needs_attention, o.accountId, o.region))
    results: list[dict[str, Any]] = []
    size = 2
    for outcome in ordered:
        data = outcome.to_dict()
        size += len(json.dumps(data)) + 1
        if size > max_bytes:
            return results, True
        results.append(data)
    return results, False


def failure_cause(report: Report) -> str:
    """The Fail state's cause: the summary and where the report is, as one JSON string."""
    return json.dumps({"summary": report.summary.to_dict(), "reportLocation": report.location}, sort_keys=True)


def summarize(
    s3: Any,
    run: RunParameters,
    items_location: dict[str, str] | None,
    map_results: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Collect the run's outcomes, write the report to S3 and return the execution's output.

    ``map_results`` is the Distributed Map's state output (``MapRunArn``, ``ResultWriterDetails``): the outcomes
    its children's outputs carry are read from its result files, the others from their records
    (:func:`lambdas.results.collect_outcomes`), all in parallel. When it is the error output of a ResultWriter that
    failed, every outcome comes from the records, and the report and the output say so (``mapResultFiles``).

    Example::

        output = summarize(s3, run, {"bucket": "acme-inventory", "key": "orgsync/runs/exec-1/targets.json"},
                           {"MapRunArn": "arn:...", "ResultWriterDetails": {"Bucket": "acme-inventory", "Key": "..."}})
        output["summary"]["needsAttention"]
    """
    # Imported here: the registry imports every mode, and the modes build on this module.
    from lambdas.modes import spec_of

    spec = spec_of(run.mode)
    outcomes = collect_outcomes(s3, run, results_prefix(run.executionName), map_results)
    if items_location:
        expected = read_items(s3, items_location["bucket"], items_location["key"], run)
        outcomes = with_missing(outcomes, expected)
    report = build_report(run, outcomes)
    document = report.to_dict()
    if spec.report_extras is not None:
        document.update(spec.report_extras(s3, run, outcomes))
    not_written = map_result_files_not_written(run, map_results)
    if not_written is not None:
        document["mapResultFiles"] = not_written
    _put_json(s3, run.destination.bucket, report_key(run.executionName), document)
    results, truncated = returned_results(report)
    output = {
        "executionName": run.executionName,
        "mode": str(run.mode),
        "summary": report.summary.to_dict(),
        "reportLocation": report.location,
        "results": results,
        "resultsTruncated": truncated,
        "failureError": spec.failure.error.__name__ if spec.failure else None,
        "cause": failure_cause(report),
    }
    if not_written is not None:
        output["mapResultFiles"] = not_written
    return output


def map_result_files_not_written(run: RunParameters, map_results: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the report says when the Map's ResultWriter failed (its error output is ``map_results``), else None.

    >>> from lambdas.models import Destination, Mode, OnConflict
    >>> run = RunParameters("e1", Mode.ROLLOUT, "s", Destination("b", "us-east-1", "p"), OnConflict.REPORT, 60, "R")
    >>> map_result_files_not_written(run, {"Error": "States.ResultWriterFailed", "Cause": "SlowDown"})["written"]
    False
    >>> map_result_files_not_written(run, {"MapRunArn": "arn:...", "ResultWriterDetails": {}}) is None
    True
    """
    failure = map_results_failure(map_results)
    if failure is None:
        return None
    error, cause = failure
    records = f"s3://{run.destination.bucket}/{results_prefix(run.executionName)}batches/"
    return {
        "written": False,
        "error": error,
        "cause": cause,
        "detail": f"The Distributed Map's result files were not written ({error}); this report was built from the "
        f"batches' outcome records under {records}, which every batch writes before its child execution ends.",
    }


def summarize_event(event: dict[str, Any], clients: ClientProvider) -> dict[str, Any]:
    """``Summarize`` with real clients: ``event`` is ``{"run": ..., "itemsLocation": ..., "mapResults": ...}``."""
    run = RunParameters.from_dict(event["run"])
    return summarize(s3_client(clients, run), run, event.get("itemsLocation"), event.get("mapResults"))


def s3_client(clients: ClientProvider, run: RunParameters) -> Any:
    """An S3 client in the destination bucket's region, with the function's own credentials."""
    return clients.client("s3", run.destination.region)
