"""``orgsync query``: its refusals (exit 2, one line), Athena's failures (exit 1), its formats."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from click.testing import CliRunner

from workflow.cli import cli
from workflow.cli_query import EXIT_FAILED, EXIT_OK, EXIT_REJECTED, query
from workflow.inventory_query import DATABASE, NAMED_QUERIES

MINIMAL = "workflow/scenarios/minimal.yaml"
QUERY_ID = "11111111-2222-3333-4444-555555555555"


def one_line_error(result: Any) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output, result.output
    return str(lines[0])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["SELECT * FROM"], "orgsync: error: query: malformed query: Expected table name"),
        ([], "orgsync: error: query: give either SQL or --named NAME (one of them)"),
        (["--named", "software", "SELECT 1"], "orgsync: error: query: give either SQL or --named NAME"),
        (["--named", "everything"], "orgsync: error: query: --named: 'everything' is not one of active-nodes"),
        (["--input", "x.json", "SELECT 1"], "orgsync: error: query: --input: only with --scenario"),
        (["DELETE FROM aws_tag"], "orgsync: error: query: not a query: DELETE"),
    ],
)
def test_rejected_before_anything_runs(args: list[str], message: str) -> None:
    result = CliRunner().invoke(query, args)

    assert result.exit_code == EXIT_REJECTED
    assert one_line_error(result).startswith(message)


def test_list_named_shows_every_shipped_query() -> None:
    result = CliRunner().invoke(cli, ["query", "--list-named"])

    assert result.exit_code == EXIT_OK
    assert [line.split()[0] for line in result.output.splitlines()] == list(NAMED_QUERIES)


def test_unknown_table_on_the_local_engine_is_one_line_and_exit_2() -> None:
    result = CliRunner().invoke(query, ["--scenario", MINIMAL, "SELECT * FROM aws_nothing"])

    assert result.exit_code == EXIT_REJECTED
    assert one_line_error(result).startswith(
        "orgsync: error: query: unknown table: Table with name aws_nothing does not exist!"
    )


class StubbedSession:
    """Stands in for boto3.Session: its athena client answers from a Stubber."""

    stub: Stubber
    client_: Any

    def __init__(self, profile_name: str | None = None, region_name: str | None = None) -> None:
        self.region_name = region_name

    def client(self, service: str) -> Any:
        assert service == "athena"
        return StubbedSession.client_


@pytest.fixture
def athena(monkeypatch: pytest.MonkeyPatch) -> Stubber:
    client = boto3.client("athena", region_name="ap-northeast-1", aws_access_key_id="x", aws_secret_access_key="x")
    StubbedSession.client_ = client
    monkeypatch.setattr(boto3, "Session", StubbedSession)
    monkeypatch.setattr("workflow.inventory_query.time.sleep", lambda _seconds: None)
    stub = Stubber(client)
    stub.activate()
    return stub


def test_on_athena_json_is_one_array_of_objects_keyed_by_column(athena: Stubber) -> None:
    sql = NAMED_QUERIES["terminated-nodes"].text()
    athena.add_response(
        "start_query_execution",
        {"QueryExecutionId": QUERY_ID},
        {"QueryString": sql, "WorkGroup": "team-wg", "QueryExecutionContext": {"Database": DATABASE}},
    )
    athena.add_response("get_query_execution", {"QueryExecution": {"Status": {"State": "RUNNING"}}})
    athena.add_response("get_query_execution", {"QueryExecution": {"Status": {"State": "SUCCEEDED"}}})
    columns = ["accountid", "region", "resourceid", "platformtype", "capturetime"]
    values = ["200000000011", "ap-northeast-1", "i-0a1b2c3d4e5f6073a", "Windows", "2026-01-01T00:00:00Z"]
    athena.add_response(
        "get_query_results",
        {
            "ResultSet": {
                "Rows": [{"Data": [{"VarCharValue": v} for v in row]} for row in (columns, values)],
                "ResultSetMetadata": {"ColumnInfo": [{"Name": c, "Label": c, "Type": "varchar"} for c in columns]},
            }
        },
    )

    result = CliRunner().invoke(query, ["--named", "terminated-nodes", "--workgroup", "team-wg", "--format", "json"])

    assert result.exit_code == EXIT_OK, result.output
    assert json.loads(result.stdout) == [dict(zip(columns, values, strict=True))]
    assert "orgsync: query: running 0s" in result.stderr
    athena.assert_no_pending_responses()


def test_failed_on_athena_is_exit_1_with_athenas_reason(athena: Stubber) -> None:
    athena.add_response("start_query_execution", {"QueryExecutionId": QUERY_ID})
    athena.add_response(
        "get_query_execution",
        {
            "QueryExecution": {
                "Status": {
                    "State": "FAILED",
                    "StateChangeReason": "COLUMN_NOT_FOUND: line 1:8: Column 'colour' cannot be resolved",
                }
            }
        },
    )

    result = CliRunner().invoke(query, ["SELECT colour FROM aws_application"])

    assert result.exit_code == EXIT_FAILED
    assert one_line_error(result) == (
        "orgsync: error: query failed on Athena: FAILED: COLUMN_NOT_FOUND: line 1:8: Column 'colour' cannot be "
        f"resolved (query {QUERY_ID})"
    )


def test_athena_refusing_the_call_is_exit_1_naming_the_error(athena: Stubber) -> None:
    athena.add_client_error(
        "start_query_execution", "InvalidRequestException", "WorkGroup orgsync is not found.", http_status_code=400
    )

    result = CliRunner().invoke(query, ["SELECT 1"])

    assert result.exit_code == EXIT_FAILED
    assert one_line_error(result) == (
        "orgsync: error: query failed on Athena: InvalidRequestException: WorkGroup orgsync is not found."
    )
