"""``orgsync report``: a saved report as a table, JSON, CSV or Markdown, from a file or S3; and its refusals."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lambdas.models import Status
from lambdas.statuses import PENDING_ACTION, STATUSES
from tests.cli.conftest import sample_report
from workflow.cli import cli


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "160"})


def test_table_groups_by_status_attention_first_with_the_action_to_take(report_file: Path) -> None:
    # GIVEN a report with three statuses that need attention, a pending marker and three fine ones
    # WHEN it is rendered as a table
    result = invoke("report", str(report_file))
    # THEN the exit code says something needs attention, and each group carries its action
    assert result.exit_code == 1, result.output
    out = result.output
    assert "7 account-regions: 1 FAILED, 1 QUOTA_EXCEEDED, 1 CONFLICT, 2 CREATED, 1 IN_SYNC, 1 SKIPPED" in out
    assert "4 need attention" in out
    order = [
        out.index(title)
        for title in (
            "FAILED (1)",
            "QUOTA_EXCEEDED (1)",
            "CONFLICT (1)",
            "CREATED, marker PENDING (1)",
            "CREATED (1)",
            "IN_SYNC (1)",
            "SKIPPED (1)",
        )
    ]
    assert order == sorted(order)
    for status in (Status.FAILED, Status.QUOTA_EXCEEDED):
        assert STATUSES[status].action in " ".join(out.split())
    assert PENDING_ACTION.split(":")[0] in out
    assert STATUSES[Status.CREATED].action not in out  # fine groups have no action line
    # details go under their group, one line per account and detail, regions merged
    assert "200000000003 us-east-1: other-sync (s3://someone-else/inv|x) holds the only organization slot" in out
    # without a detail, what is in the way is named from existingSync
    assert "200000000004 us-east-1: s0 -> s3://b/p; s1 -> s3://b/p" in out


def test_json_is_the_document_unchanged(report_file: Path) -> None:
    result = invoke("report", str(report_file), "--format", "json")
    assert json.loads(result.stdout) == sample_report()


def test_csv_has_one_row_per_account_region_with_action(report_file: Path) -> None:
    result = invoke("report", str(report_file), "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 7
    failed = next(row for row in rows if row["status"] == "FAILED")
    assert failed["needsAttention"] == "true" and failed["action"] == STATUSES[Status.FAILED].action
    quota = next(row for row in rows if row["status"] == "QUOTA_EXCEEDED")
    assert len(json.loads(quota["existingSync"])) == 5


def test_markdown_has_a_section_per_group_and_escapes_pipes(report_file: Path) -> None:
    result = invoke("report", str(report_file), "--format", "markdown")
    out = result.stdout
    assert out.startswith("# orgsync report\n")
    assert "## CONFLICT (1)" in out and f"**Action:** {STATUSES[Status.CONFLICT].action}" in out
    assert "inv\\|x" in out  # a pipe in a prefix must not break the table
    assert "| FAILED | 1 |" in out


def test_a_report_built_without_the_maps_result_files_says_so_in_table_and_markdown(
    tmp_path: Path, report_file: Path
) -> None:
    # GIVEN a report Summarize built from the batches' records, the Map's ResultWriter having failed
    detail = "The Distributed Map's result files were not written (States.ResultWriterFailed); records under s3://b/r/"
    note = {"written": False, "error": "States.ResultWriterFailed", "cause": "SlowDown", "detail": detail}
    path = tmp_path / "from-records.json"
    path.write_text(json.dumps({**sample_report(), "mapResultFiles": note}))
    # WHEN it is rendered as a table and as Markdown
    table, markdown = invoke("report", str(path)).output, invoke("report", str(path), "--format", "markdown").stdout
    # THEN both say so under the summary, before the groups
    assert "Note: " + detail in " ".join(table.split())
    assert table.index("Note:") < table.index("FAILED (1)")
    assert f"- **note**: {detail}" in markdown
    # AND a report whose result files were written carries no note
    assert "Note:" not in invoke("report", str(report_file)).output


def test_a_report_with_nothing_to_do_exits_0(tmp_path: Path) -> None:
    document = sample_report()
    document["results"] = [r for r in document["results"] if not r["needsAttention"]]
    document.pop("summary")  # recounted when absent
    path = tmp_path / "ok.json"
    path.write_text(json.dumps(document))
    result = invoke("report", str(path))
    assert result.exit_code == 0, result.output
    assert "0 need attention" in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "report file '{path}' does not exist"),
        ("{not json", "report file '{path}' is not valid JSON: Expecting property name enclosed in double quotes"),
        ('{"summary": {}}', "report file '{path}' is not an orgsync report (a JSON object with a 'results' list)"),
        ('{"results": [{"accountId": "1"}]}', "report file '{path}': results[0] is not an account-region outcome"),
    ],
)
def test_a_bad_report_file_is_one_line_and_exit_2(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "r.json"
    if content is not None:
        path.write_text(content)
    result = invoke("report", str(path))
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert result.stderr.startswith("orgsync: error: " + message.format(path=path))


def test_report_from_s3_uri_and_from_a_report_folder(bucket: Any) -> None:
    document = sample_report()
    bucket.put_object(Bucket="acme-inventory", Key="orgsync/reports/rollout-1/report.json", Body=json.dumps(document))
    by_key = invoke("report", "s3://acme-inventory/orgsync/reports/rollout-1/report.json", "--format", "json")
    by_folder = invoke("report", "s3://acme-inventory/orgsync/reports/rollout-1/", "--format", "json")
    assert json.loads(by_key.stdout) == document == json.loads(by_folder.stdout)


def test_report_folder_without_report_json_is_assembled_from_outcome_records(bucket: Any) -> None:
    # GIVEN an execution still running (or whose Summarize failed): outcome records only
    for result in sample_report()["results"][:2]:
        key = f"orgsync/reports/rollout-2/results/{result['accountId']}/{result['region']}.json"
        bucket.put_object(Bucket="acme-inventory", Key=key, Body=json.dumps(result))
    out = invoke("report", "s3://acme-inventory/orgsync/reports/rollout-2/", "--format", "json")
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["partial"] is True and data["summary"]["byStatus"] == {"CREATED": 1, "IN_SYNC": 1}


def test_missing_s3_report_is_one_line(bucket: Any) -> None:
    result = invoke("report", "s3://acme-inventory/orgsync/reports/nope/report.json")
    assert result.exit_code == 2
    uri = "s3://acme-inventory/orgsync/reports/nope/report.json"
    assert result.stderr == f"orgsync: error: cannot read {uri}: NoSuchKey\n"


def test_malformed_execution_arn_is_one_line() -> None:
    result = invoke("report", "arn:aws:states:us-east-1:123:stateMachine:x")
    assert result.exit_code == 2
    assert "not a Step Functions execution ARN" in result.stderr and result.stderr.count("\n") == 1
