"""Summarize's outcomes from the Distributed Map's result files (via the manifest), and from records where needed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lambdas.errors import RESULT_WRITER_FAILED
from lambdas.models import Destination, Mode, OnConflict, Outcome, RunParameters, Status, TargetItem, Verification
from lambdas.report import batch_key, results_prefix, summarize, write_items, write_outcome, write_outcomes
from lambdas.results import MapResultsUnreadable, collect_outcomes
from workflow.local.map_results import ChildExecution, result_file_body, result_files

BUCKET = "acme-inventory"
RUN = RunParameters("exec-1", Mode.ROLLOUT, "org-inventory", Destination(BUCKET, "us-east-1", "default"),
                    OnConflict.REPORT, 900, "OrgSyncMemberRole")
MAP_RUN = "arn:aws:states:us-east-1:300000000001:mapRun:orgsync/AccountRegions:0f3c"


def item(n: int, region: str = "us-east-1") -> TargetItem:
    return TargetItem(f"2000000{n:05d}", f"acct-{n}", "/Workloads", region, RUN)


class CountingS3:
    """The moto client, with the keys of every GetObject kept."""

    def __init__(self, s3: Any) -> None:
        self._s3 = s3
        self.gets: list[str] = []

    def get_object(self, **kwargs: Any) -> Any:
        self.gets.append(kwargs["Key"])
        return self._s3.get_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s3, name)


def write_map_run(s3: Any, children: list[tuple[str, Any, Any]]) -> dict[str, Any]:
    """Result files and manifest as the ResultWriter writes them; returns the Map's state output."""
    executions = [
        ChildExecution(index, f"c{index}", f"arn:c{index}", "arn:sm", status, child_input, output, "t0", "t1",
                       error="States.TaskFailed" if status == "FAILED" else None)
        for index, (status, child_input, output) in enumerate(children)
    ]
    files: dict[str, list[dict[str, str | int]]] = {"FAILED": [], "PENDING": [], "SUCCEEDED": []}
    for key, entries in result_files("orgsync/runs/map-results", "0f3c", executions):
        body = result_file_body(entries)
        s3.put_object(Bucket=BUCKET, Key=key, Body=body)
        files[key.rsplit("/", 1)[1].split("_")[0]].append({"Key": key, "Size": len(body)})
    manifest_key = "orgsync/runs/map-results/0f3c/manifest.json"
    manifest = {"DestinationBucket": BUCKET, "MapRunArn": MAP_RUN, "ResultFiles": files}
    s3.put_object(Bucket=BUCKET, Key=manifest_key, Body=json.dumps(manifest).encode())
    return {"MapRunArn": MAP_RUN, "ResultWriterDetails": {"Bucket": BUCKET, "Key": manifest_key}}


def test_outcomes_come_from_the_childrens_outputs_and_records_fill_in_the_rest(s3: Any) -> None:
    one, two, three, four, five = (item(n) for n in range(1, 6))
    batched = one.outcome(Status.CREATED, verification=Verification.VERIFIED, detail="Created from the output.")
    single = two.outcome(Status.IN_SYNC, verification=Verification.VERIFIED, detail="In sync.")
    # GIVEN a child whose output holds a list of outcomes (batched), one holding one outcome, one holding only its
    # status (today's shape: its record has the rest), and one that failed
    map_results = write_map_run(s3, [
        ("SUCCEEDED", one.to_dict(), {"outcomes": [batched.to_dict()]}),
        ("SUCCEEDED", two.to_dict(), single.to_dict()),
        ("SUCCEEDED", three.to_dict(), {"status": "CONFLICT", "verification": None}),
        ("FAILED", four.to_dict(), None),
    ])
    # AND records: a stale one of item 1 (an output gave it), item 3's, and a SKIPPED one from Resolve targets
    write_outcome(s3, RUN, one.outcome(Status.FAILED, detail="An older record."))
    conflict = three.outcome(Status.CONFLICT, detail="Another sync holds the name.")
    write_outcome(s3, RUN, conflict)
    skipped = five.outcome(Status.SKIPPED, detail="Excluded by excludeAccounts.")
    write_outcome(s3, RUN, skipped)
    counting = CountingS3(s3)

    outcomes = collect_outcomes(counting, RUN, results_prefix(RUN.executionName), map_results)

    # THEN each account-region has the outcome its child's output carried, else its record; the failed child none
    assert outcomes == sorted([batched, single, conflict, skipped], key=lambda o: (o.accountId, o.region))
    # AND the records an output covered were not read
    prefix = results_prefix(RUN.executionName)
    assert sorted(k for k in counting.gets if k.startswith(prefix)) == sorted(
        f"{prefix}{o.accountId}/{o.region}.json" for o in (conflict, skipped)
    )


def test_a_batch_record_is_read_only_when_no_output_gave_its_batch(s3: Any) -> None:
    # GIVEN two batches that recorded their outcomes: the first child succeeded and its output carries the same
    # outcomes, the second child failed after recording (its output is lost)
    first = [item(n, region) for n in (1, 2) for region in ("us-east-1", "eu-west-1")]
    second = [item(n, region) for n in (3, 4) for region in ("us-east-1", "eu-west-1")]
    first_outcomes = [i.outcome(Status.CREATED, verification=Verification.VERIFIED) for i in first]
    second_outcomes = [i.outcome(Status.IN_SYNC, verification=Verification.VERIFIED) for i in second]
    map_results = write_map_run(s3, [
        ("SUCCEEDED", {"Items": []}, {"outcomes": [o.to_dict() for o in first_outcomes]}),
        ("FAILED", {"Items": []}, None),
    ])
    first_record = batch_key(RUN.executionName, first[0].accountId)
    second_record = batch_key(RUN.executionName, second[0].accountId)
    write_outcomes(s3, RUN, first_record, first_outcomes)
    write_outcomes(s3, RUN, second_record, second_outcomes)
    counting = CountingS3(s3)

    outcomes = collect_outcomes(counting, RUN, results_prefix(RUN.executionName), map_results)

    # THEN every account-region is there, and only the failed child's batch record was read
    assert outcomes == sorted(first_outcomes + second_outcomes, key=lambda o: (o.accountId, o.region))
    assert [k for k in counting.gets if k.startswith(results_prefix(RUN.executionName))] == [second_record]


def test_a_record_may_hold_a_list_of_outcomes(s3: Any) -> None:
    outcomes = [item(1, region).outcome(Status.SKIPPED, detail="Suspended.") for region in ("us-east-1", "eu-west-1")]
    s3.put_object(Bucket=BUCKET, Key=f"{results_prefix(RUN.executionName)}skipped.json",
                  Body=json.dumps([o.to_dict() for o in outcomes]).encode())
    assert collect_outcomes(s3, RUN, results_prefix(RUN.executionName), None) == sorted(
        outcomes, key=lambda o: o.region
    )


def test_summarize_reports_a_failed_childs_account_regions_as_failed(s3: Any) -> None:
    items = [item(1), item(2)]
    location = write_items(s3, RUN, items)
    created = items[0].outcome(Status.CREATED, verification=Verification.VERIFIED)
    map_results = write_map_run(s3, [("SUCCEEDED", items[0].to_dict(), created.to_dict()),
                                     ("FAILED", items[1].to_dict(), None)])
    output = summarize(s3, RUN, location, map_results)
    report = json.loads(s3.get_object(Bucket=BUCKET, Key="orgsync/reports/exec-1/report.json")["Body"].read())
    assert output["summary"]["byStatus"] == {"CREATED": 1, "FAILED": 1}
    assert next(Outcome.from_dict(r) for r in report["results"]) == created


def test_a_map_output_without_result_writer_details_is_refused_by_name(s3: Any) -> None:
    with pytest.raises(MapResultsUnreadable, match="ResultWriterDetails"):
        collect_outcomes(s3, RUN, results_prefix(RUN.executionName), {"MapRunArn": MAP_RUN})


def test_when_the_result_writer_failed_summarize_reports_every_account_region_from_the_batches_records(
    s3: Any,
) -> None:
    # GIVEN two batches that recorded their outcomes, and a Map whose ResultWriter failed (the Catch put its error
    # output where the Map's result would be: there is no manifest to read)
    items = [item(n, region) for n in (1, 2, 3) for region in ("us-east-1", "eu-west-1")]
    location = write_items(s3, RUN, items)
    outcomes = [i.outcome(Status.CREATED, verification=Verification.VERIFIED) for i in items]
    write_outcomes(s3, RUN, batch_key(RUN.executionName, items[0].accountId), outcomes[:4])
    write_outcomes(s3, RUN, batch_key(RUN.executionName, items[4].accountId), outcomes[4:])
    error_output = {"Error": RESULT_WRITER_FAILED, "Cause": "s3:PutObject of s3://b/k failed: SlowDown: slow"}
    counting = CountingS3(s3)
    # WHEN Summarize runs
    output = summarize(counting, RUN, location, error_output)
    # THEN every account-region is reported from the records, none as missing
    report = json.loads(s3.get_object(Bucket=BUCKET, Key="orgsync/reports/exec-1/report.json")["Body"].read())
    assert [Outcome.from_dict(r) for r in report["results"]] == sorted(outcomes, key=lambda o: (o.accountId, o.region))
    assert output["summary"]["byStatus"] == {"CREATED": 6}
    # AND no manifest or result file was looked for
    assert not any("map-results" in key for key in counting.gets)
    # AND the report and the output say the Map's result files were not written, and where the records are
    note = report["mapResultFiles"]
    assert note == output["mapResultFiles"]
    assert (note["written"], note["error"], note["cause"]) == (False, RESULT_WRITER_FAILED, error_output["Cause"])
    assert f"s3://{BUCKET}/orgsync/reports/exec-1/results/batches/" in note["detail"]


def test_a_written_map_result_leaves_no_note_in_the_report(s3: Any) -> None:
    items = [item(1)]
    location = write_items(s3, RUN, items)
    created = items[0].outcome(Status.CREATED, verification=Verification.VERIFIED)
    output = summarize(s3, RUN, location, write_map_run(s3, [("SUCCEEDED", items[0].to_dict(), created.to_dict())]))
    report = json.loads(s3.get_object(Bucket=BUCKET, Key="orgsync/reports/exec-1/report.json")["Body"].read())
    assert "mapResultFiles" not in report and "mapResultFiles" not in output
