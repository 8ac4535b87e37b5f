"""The query layer without AWS: parsing, the Athena path on a stubbed client, local loading, rendering."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from workflow.cli_query import render
from workflow.inventory_query import (
    DATABASE,
    NAMED_QUERIES,
    WORKGROUP,
    LocalInventory,
    QueryFailed,
    QueryRejected,
    QueryResult,
    parse_query,
    run_on_athena,
    to_duckdb,
)

QUERY_ID = "11111111-2222-3333-4444-555555555555"
NOT_FOUND = "TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.orgsync_inventory.aws_nothing' does not exist"


def athena_client() -> Any:
    return boto3.client("athena", region_name="ap-northeast-1", aws_access_key_id="x", aws_secret_access_key="x")


def execution(state: str, **status: Any) -> dict[str, Any]:
    return {
        "QueryExecution": {
            "QueryExecutionId": QUERY_ID,
            "Status": {"State": state, **status},
            "Statistics": {"DataScannedInBytes": 2048},
        }
    }


def cell_rows(*rows: list[str | None]) -> list[dict[str, Any]]:
    return [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in rows]


@pytest.mark.parametrize("name", sorted(NAMED_QUERIES))
def test_every_named_query_is_sent_to_athena_as_the_very_text_that_runs_locally(name: str) -> None:
    # GIVEN the text of a shipped query (what the local engine transpiles and runs)
    sql = NAMED_QUERIES[name].text(7)
    athena = athena_client()
    stub = Stubber(athena)
    stub.add_response(
        "start_query_execution",
        {"QueryExecutionId": QUERY_ID},
        {"QueryString": sql, "WorkGroup": WORKGROUP, "QueryExecutionContext": {"Database": DATABASE}},
    )
    stub.add_response("get_query_execution", execution("QUEUED"), {"QueryExecutionId": QUERY_ID})
    stub.add_response("get_query_execution", execution("RUNNING"), {"QueryExecutionId": QUERY_ID})
    stub.add_response("get_query_execution", execution("SUCCEEDED"), {"QueryExecutionId": QUERY_ID})
    stub.add_response(
        "get_query_results",
        {
            "ResultSet": {
                "Rows": cell_rows(["accountid", "n"], ["200000000001", "3"], [None, "0"]),
                "ResultSetMetadata": {
                    "ColumnInfo": [
                        {"Name": "accountid", "Label": "accountid", "Type": "varchar"},
                        {"Name": "n", "Label": "n", "Type": "bigint"},
                    ]
                },
            }
        },
        {"QueryExecutionId": QUERY_ID},
    )
    progress: list[str] = []
    naps: list[float] = []

    # WHEN it runs on Athena
    with stub:
        result = run_on_athena(athena, sql, progress=progress.append, sleep=naps.append)

    # THEN the exact text went out, progress was reported while it ran, and the header row is not data
    stub.assert_no_pending_responses()
    assert to_duckdb(sql)  # and the same text transpiles for the local engine
    assert result.columns == ["accountid", "n"] and result.rows == [["200000000001", 3], [None, 0]]
    assert progress == [
        f"queued 0s, 2.0 KiB scanned (query {QUERY_ID})",
        f"running 1s, 2.0 KiB scanned (query {QUERY_ID})",
    ]
    assert naps == [1.0, 1.0]


def test_failed_athena_query_raises_with_athenas_reason() -> None:
    athena = athena_client()
    stub = Stubber(athena)
    stub.add_response("start_query_execution", {"QueryExecutionId": QUERY_ID})
    stub.add_response(
        "get_query_execution",
        execution(
            "FAILED",
            StateChangeReason=NOT_FOUND,
            AthenaError={
                "ErrorCategory": 2,
                "ErrorType": 1006,
                "ErrorMessage": NOT_FOUND,
            },
        ),
    )

    with stub, pytest.raises(QueryFailed) as excinfo:
        run_on_athena(athena, "SELECT * FROM aws_nothing", sleep=lambda _s: None)

    assert str(excinfo.value) == (
        "FAILED: TABLE_NOT_FOUND: line 1:15: Table 'awsdatacatalog.orgsync_inventory.aws_nothing' does not exist"
        f" (query {QUERY_ID})"
    )


def test_malformed_query_is_refused_before_anything_is_sent() -> None:
    athena = athena_client()

    with Stubber(athena), pytest.raises(QueryRejected, match=r"^malformed query: .*\(line 1, column 13\)$"):
        run_on_athena(athena, "SELECT * FROM")  # the stub has no response: any call would fail differently


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("", "empty query"),
        ("SELECT 1; SELECT 2", "2 statements: orgsync query runs one query at a time"),
        ("INSERT INTO aws_tag VALUES ('a')", "not a query: INSERT (orgsync query runs one SELECT or WITH query)"),
    ],
)
def test_only_one_read_only_query_is_accepted(sql: str, message: str) -> None:
    with pytest.raises(QueryRejected) as excinfo:
        parse_query(sql)

    assert str(excinfo.value) == message


def test_current_timestamp_is_the_simulations_clock() -> None:
    local = LocalInventory(now=datetime(2026, 1, 10, tzinfo=UTC))

    (row,) = local.run(
        "SELECT date_diff('day', from_iso8601_timestamp('2026-01-01T00:00:00Z'), current_timestamp)"
    ).rows

    assert row == [9]


def test_local_tables_read_keys_case_insensitively_and_skip_anything_but_table_files() -> None:
    local = LocalInventory()
    base = "inv/AWS:InstanceInformation/accountid=200000000001"

    loaded = [
        local.add_file(f"{base}/test.json", b'{"resourceId": "test"}', "inv"),
        local.add_file(f"{base}/region=us-east-1/resourcetype=ManagedInstanceInventory/i-0123456789abcdef0.json",
                       b'{"InstanceStatus": "Active", "RESOURCETYPE": "EC2Instance", "CPUs": 2}\nnot json\n', "inv"),
        local.add_file("inv/AWS:Unknown/accountid=1/region=r/resourcetype=x/i-1.json", b"{}", "inv"),
    ]  # fmt: skip
    result = local.run(
        "SELECT instancestatus, instanceresourcetype, accountid, region, resourcetype FROM aws_instanceinformation"
    )

    assert loaded == [False, True, False]
    assert result.rows == [
        ["Active", "EC2Instance", "200000000001", "us-east-1", "ManagedInstanceInventory"],
        [None, None, "200000000001", "us-east-1", "ManagedInstanceInventory"],
    ]


def test_csv_output_quotes_and_leaves_nulls_empty() -> None:
    result = QueryResult(["name", "n"], [["a, b", 1], [None, None]])

    assert render(result, "csv") == 'name,n\n"a, b",1\n,'
