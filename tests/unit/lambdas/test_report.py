"""The report: outcome records read back (paginated), missing items, summary, truncation, the Fail cause."""

from __future__ import annotations

import json
from typing import Any

from lambdas.models import Destination, Mode, OnConflict, RunParameters, Status, TargetItem, Verification
from lambdas.report import build_report, read_outcomes, returned_results, summarize, write_items, write_outcome

BUCKET = "acme-inventory"
RUN = RunParameters("exec-1", Mode.ROLLOUT, "org-inventory", Destination(BUCKET, "us-east-1", "default"),
                    OnConflict.REPORT, 900, "OrgSyncMemberRole")


def item(n: int, region: str = "us-east-1") -> TargetItem:
    return TargetItem(f"2000000{n:05d}", f"acct-{n}", "/Workloads", region, RUN)


def test_reads_more_than_one_page_of_outcome_records(s3: Any) -> None:
    # GIVEN 1,100 records (ListObjectsV2 pages at 1,000)
    for n in range(1100):
        write_outcome(s3, RUN, item(n).outcome(Status.CREATED, verification=Verification.VERIFIED))
    outcomes = read_outcomes(s3, RUN)
    assert len(outcomes) == 1100
    assert outcomes[0].accountId == "200000000000"


def test_summarize_writes_the_report_and_reports_missing_items_as_failed(s3: Any) -> None:
    items = [item(1), item(2), item(3), item(4)]
    location = write_items(s3, RUN, items)
    write_outcome(s3, RUN, items[0].outcome(Status.CREATED, verification=Verification.VERIFIED))
    write_outcome(s3, RUN, items[1].outcome(Status.CONFLICT, existingSync={"name": "x", "bucket": "b", "prefix": ""}))
    write_outcome(s3, RUN, items[2].outcome(Status.CREATED, verification=Verification.PENDING))
    write_outcome(s3, RUN, item(5).outcome(Status.SKIPPED, detail="Excluded by excludeAccounts."))

    output = summarize(s3, RUN, location)

    assert output["summary"] == {"total": 5, "byStatus": {"CONFLICT": 1, "CREATED": 2, "FAILED": 1, "SKIPPED": 1},
                                 "verified": 1, "pending": 1, "needsAttention": 3}
    assert output["reportLocation"] == "s3://acme-inventory/orgsync/reports/exec-1/report.json"
    assert output["failureError"] == "RolloutIncomplete"
    assert json.loads(output["cause"]) == {"summary": output["summary"], "reportLocation": output["reportLocation"]}
    report = json.loads(s3.get_object(Bucket=BUCKET, Key="orgsync/reports/exec-1/report.json")["Body"].read())
    by_account = {r["accountId"]: r for r in report["results"]}
    assert by_account[items[3].accountId]["status"] == "FAILED"
    assert "No outcome was recorded" in by_account[items[3].accountId]["detail"]
    assert by_account[items[1].accountId]["action"].startswith("Another sync holds")
    assert report["summary"] == output["summary"] and report["syncName"] == "org-inventory"
    assert output["resultsTruncated"] is False and len(output["results"]) == 5


def test_returned_results_are_cut_with_attention_first() -> None:
    outcomes = [item(n).outcome(Status.CREATED, verification=Verification.VERIFIED) for n in range(50)]
    outcomes.append(item(99).outcome(Status.FAILED, detail="boom"))
    report = build_report(RUN, outcomes)
    results, truncated = returned_results(report, max_bytes=2000)
    assert truncated is True
    assert results[0]["status"] == "FAILED"
    assert len(json.dumps(results)) <= 2000
    assert returned_results(report)[1] is False
