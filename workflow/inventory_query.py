"""SQL over the inventory, in Athena's dialect everywhere: on AWS through Athena, locally through DuckDB.

A query is parsed once with sqlglot's ``athena`` dialect (a malformed query or anything but one read-only query is
refused before it goes anywhere). On AWS its text goes to Athena unchanged, in the deployment's workgroup and
database (:func:`run_on_athena`). Locally the same text is transpiled to DuckDB and runs over tables loaded from the
simulated bucket through the same definitions the CDK app gives Glue (:mod:`workflow.inventory_tables`;
:class:`LocalInventory`), with ``current_timestamp`` read from the simulation's clock.

Example::

    >>> from datetime import UTC, datetime
    >>> local = LocalInventory(now=datetime(2026, 1, 10, tzinfo=UTC))
    >>> local.add_file("default/AWS:InstanceInformation/accountid=200000000001/region=us-east-1/"
    ...                "resourcetype=ManagedInstanceInventory/i-0123456789abcdef0.json",
    ...                b'{"InstanceId": "i-0123456789abcdef0", "InstanceStatus": "Active"}', "default")
    True
    >>> local.run("SELECT accountid, instanceid FROM aws_instanceinformation WHERE instancestatus = 'Active'").rows
    [['200000000001', 'i-0123456789abcdef0']]
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from workflow.inventory_tables import PARTITION_KEYS, TABLES, InventoryTable, parse_inventory_key

if TYPE_CHECKING:
    import duckdb
    import sqlglot.expressions

#: The Glue database and Athena workgroup the CDK app creates (``infra/constructs/inventory_tables.py``).
DATABASE = "orgsync_inventory"
WORKGROUP = "orgsync"

Value = str | int | float | bool | None


class QueryRejected(Exception):
    """The query cannot run: malformed, not one read-only query, or naming a table or column that does not exist."""


class QueryFailed(Exception):
    """Athena ran the query and it failed (or was cancelled); the message is Athena's reason."""


@dataclass(frozen=True)
class NamedQuery:
    """A query shipped with orgsync; ``{days}`` in its SQL is replaced by ``--days``."""

    name: str
    description: str
    sql: str

    def text(self, days: int = 7) -> str:
        """The SQL to run (Athena's dialect)."""
        return self.sql.replace("{days}", str(int(days)))


NAMED_QUERIES: dict[str, NamedQuery] = {
    query.name: query
    for query in (
        NamedQuery(
            "active-nodes",
            "active managed nodes per account and region",
            """SELECT accountid, region, count(*) AS active_nodes
FROM aws_instanceinformation
WHERE instancestatus = 'Active'
GROUP BY accountid, region
ORDER BY accountid, region""",
        ),
        NamedQuery(
            "software",
            "software by name and version across the organization (active nodes only)",
            """SELECT a.name, a.version, count(DISTINCT a.resourceid) AS nodes, count(DISTINCT a.accountid) AS accounts
FROM aws_application a
JOIN aws_instanceinformation i
  ON i.resourceid = a.resourceid AND i.accountid = a.accountid AND i.region = a.region
WHERE i.instancestatus = 'Active'
GROUP BY a.name, a.version
ORDER BY a.name, a.version""",
        ),
        NamedQuery(
            "stale-inventory",
            "nodes not terminated whose inventory is older than --days days",
            """SELECT accountid, region, resourceid, instancestatus, capturetime
FROM aws_instanceinformation
WHERE instancestatus <> 'Terminated'
  AND from_iso8601_timestamp(capturetime) < current_timestamp - INTERVAL '{days}' DAY
ORDER BY capturetime, accountid, region, resourceid""",
        ),
        NamedQuery(
            "terminated-nodes",
            "terminated nodes whose files are still in the bucket",
            """SELECT accountid, region, resourceid, platformtype, capturetime
FROM aws_instanceinformation
WHERE instancestatus = 'Terminated'
ORDER BY accountid, region, resourceid""",
        ),
        NamedQuery(
            "no-inventory",
            "account-regions whose nodes reach the bucket but send no software inventory (no inventory association)",
            """SELECT i.accountid, i.region, count(*) AS active_nodes
FROM aws_instanceinformation i
LEFT JOIN (SELECT DISTINCT accountid, region FROM aws_application) a
  ON a.accountid = i.accountid AND a.region = i.region
WHERE a.accountid IS NULL AND i.instancestatus = 'Active'
GROUP BY i.accountid, i.region
ORDER BY i.accountid, i.region""",
        ),
    )
}


@dataclass
class QueryResult:
    """Column names and rows; values are None, str, int, float or bool on both engines."""

    columns: list[str]
    rows: list[list[Value]] = field(default_factory=list)

    def records(self) -> list[dict[str, Value]]:
        """One object per row, keyed by column name."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def parse_query(sql: str) -> sqlglot.expressions.Query:
    """The one read-only query in ``sql`` (Athena's dialect); anything else is :class:`QueryRejected`.

    >>> parse_query("SELECT name FROM aws_application").sql("duckdb")
    'SELECT name FROM aws_application'
    >>> parse_query("SELECT * FROM")
    Traceback (most recent call last):
    ...
    workflow.inventory_query.QueryRejected: malformed query: Expected table name ... (line 1, column 13)
    >>> parse_query("DROP TABLE aws_application")
    Traceback (most recent call last):
    ...
    workflow.inventory_query.QueryRejected: not a query: DROP (orgsync query runs one SELECT or WITH query)
    """
    import sqlglot
    from sqlglot import expressions

    try:
        statements = [s for s in sqlglot.parse(sql, read="athena") if s is not None]
    except sqlglot.errors.ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        description = str(first.get("description") or exc).split(". Line")[0]
        where = f" (line {first['line']}, column {first['col']})" if "line" in first else ""
        raise QueryRejected(f"malformed query: {' '.join(description.split())}{where}") from exc
    except sqlglot.errors.SqlglotError as exc:
        raise QueryRejected(f"malformed query: {' '.join(str(exc).split())}") from exc
    if not statements:
        raise QueryRejected("empty query")
    if len(statements) > 1:
        raise QueryRejected(f"{len(statements)} statements: orgsync query runs one query at a time")
    (statement,) = statements
    if not isinstance(statement, expressions.Query):
        kind = statement.key.upper() if isinstance(statement, expressions.Expr) else "?"
        raise QueryRejected(f"not a query: {kind} (orgsync query runs one SELECT or WITH query)")
    return statement


def to_duckdb(sql: str, now: datetime | None = None) -> str:
    """``sql`` (Athena) as DuckDB SQL; with ``now``, ``current_timestamp`` is that instant (the simulation's clock).

    >>> to_duckdb("SELECT regexp_like(name, '^open') FROM aws_application")
    "SELECT REGEXP_MATCHES(name, '^open') FROM aws_application"
    """
    from sqlglot import expressions

    statement: expressions.Expr = parse_query(sql)
    if now is not None:
        instant = expressions.cast(expressions.Literal.string(now.isoformat()), "TIMESTAMPTZ")
        statement = statement.transform(
            lambda node: instant.copy() if isinstance(node, expressions.CurrentTimestamp) else node
        )
    return statement.sql("duckdb")


class LocalInventory:
    """The Athena tables as DuckDB tables, filled from inventory files the way the JsonSerDe reads them."""

    def __init__(self, now: datetime | None = None, database: str = DATABASE) -> None:
        import duckdb

        self.now = now
        self.connection: duckdb.DuckDBPyConnection = duckdb.connect(":memory:")
        # Queries may name the database (as on Athena) or not: its schema is also the search path.
        self.connection.execute(f'CREATE SCHEMA "{database}"')
        self.connection.execute(f"SET search_path = '{database}'")
        for table in TABLES:
            columns = ", ".join(f'"{name}" VARCHAR' for name in _column_names(table))
            self.connection.execute(f'CREATE TABLE "{database}"."{table.name}" ({columns})')
        self.database = database

    def add_file(self, key: str, body: bytes, prefix: str) -> bool:
        """Load one object of the bucket if it is a table's file (False for anything else, the marker included)."""
        parsed = parse_inventory_key(key, prefix)
        if parsed is None:
            return False
        table, partition = parsed
        rows = [_row(table, line) + [partition[k] for k in PARTITION_KEYS] for line in body.decode().splitlines()]
        if rows:
            marks = ", ".join("?" for _ in _column_names(table))
            self.connection.executemany(f'INSERT INTO "{self.database}"."{table.name}" VALUES ({marks})', rows)
        return True

    def load_bucket(self, s3: Any, bucket: str, prefix: str) -> int:
        """Load every table file under ``prefix`` of ``bucket`` (an S3 client); returns how many files."""
        loaded = 0
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix.strip('/')}/"):
            for item in page.get("Contents", []):
                key = item["Key"]
                if parse_inventory_key(key, prefix) is None:
                    continue
                body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
                loaded += self.add_file(key, body, prefix)
        return loaded

    def run(self, sql: str) -> QueryResult:
        """Run ``sql`` (Athena's dialect); a query DuckDB cannot bind (unknown table or column) is QueryRejected."""
        import duckdb

        statement = to_duckdb(sql, self.now)
        try:
            cursor = self.connection.execute(statement)
            rows = cursor.fetchall()
        except duckdb.CatalogException as exc:
            tables = ", ".join(table.name for table in TABLES)
            raise QueryRejected(f"{_duckdb_message(exc, 'unknown table')} (the tables: {tables})") from exc
        except duckdb.BinderException as exc:
            raise QueryRejected(_duckdb_message(exc, "unknown column")) from exc
        except duckdb.Error as exc:
            raise QueryRejected(_duckdb_message(exc, "query failed")) from exc
        columns = [d[0] for d in cursor.description or []]
        return QueryResult(columns, [[_local_value(v) for v in row] for row in rows])


def _column_names(table: InventoryTable) -> list[str]:
    return [c.name for c in table.columns] + list(PARTITION_KEYS)


def _row(table: InventoryTable, line: str) -> list[str | None]:
    # The JsonSerDe matches keys case-insensitively and reads any scalar into a string column; a line that is not
    # a JSON object reads as NULLs (ignore.malformed.json, as the Glue tables set it).
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        record = None
    if not isinstance(record, dict):
        return [None for _ in table.columns]
    lowered = {str(k).lower(): v for k, v in record.items()}
    values: list[str | None] = []
    for column in table.columns:
        value = lowered.get(column.key.lower())
        values.append(None if value is None else value if isinstance(value, str) else json.dumps(value))
    return values


def _local_value(value: Any) -> Value:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime):
        # Athena prints timestamps as "2026-01-02 03:04:05.000"; the same here.
        return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"
    return str(value)


def _duckdb_message(exc: Exception, what: str) -> str:
    first = str(exc).splitlines()[0]
    for noise in ("Catalog Error: ", "Binder Error: ", "Parser Error: ", "Conversion Error: "):
        first = first.removeprefix(noise)
    return f"{what}: {first}"


# --- Athena ------------------------------------------------------------------------------------------------------

_ATHENA_NUMBERS: dict[str, Callable[[str], Value]] = {
    "tinyint": int,
    "smallint": int,
    "integer": int,
    "bigint": int,
    "double": float,
    "float": float,
    "real": float,
    "boolean": lambda text: text == "true",
}


def run_on_athena(
    athena: Any,
    sql: str,
    *,
    workgroup: str = WORKGROUP,
    database: str = DATABASE,
    progress: Callable[[str], None] = lambda _message: None,
    poll_seconds: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
) -> QueryResult:
    """Run ``sql`` on Athena (an ``athena`` client) and return its rows; QueryFailed with Athena's reason.

    The text is parsed first (QueryRejected before anything is sent) and then sent exactly as given.
    """
    parse_query(sql)
    started = athena.start_query_execution(
        QueryString=sql, WorkGroup=workgroup, QueryExecutionContext={"Database": database}
    )
    query_id = started["QueryExecutionId"]
    waited = 0.0
    while True:
        execution = athena.get_query_execution(QueryExecutionId=query_id)["QueryExecution"]
        status = execution.get("Status", {})
        state = status.get("State", "QUEUED")
        if state == "SUCCEEDED":
            break
        if state in ("FAILED", "CANCELLED"):
            reason = status.get("AthenaError", {}).get("ErrorMessage") or status.get("StateChangeReason") or state
            raise QueryFailed(f"{state}: {' '.join(str(reason).split())} (query {query_id})")
        scanned = execution.get("Statistics", {}).get("DataScannedInBytes", 0)
        progress(f"{state.lower()} {waited:.0f}s, {_size(scanned)} scanned (query {query_id})")
        sleep(poll_seconds)
        waited += poll_seconds
    return _athena_result(athena, query_id)


def _athena_result(athena: Any, query_id: str) -> QueryResult:
    result: QueryResult | None = None
    types: list[str] = []
    for page in athena.get_paginator("get_query_results").paginate(QueryExecutionId=query_id):
        result_set = page["ResultSet"]
        rows = [[cell.get("VarCharValue") for cell in row.get("Data", [])] for row in result_set.get("Rows", [])]
        if result is None:
            info = result_set.get("ResultSetMetadata", {}).get("ColumnInfo", [])
            result = QueryResult([c["Name"] for c in info])
            types = [c.get("Type", "varchar") for c in info]
            # The first row of a SELECT's first page is the header (Athena's documented quirk).
            if rows and rows[0] == [c.get("Label", c["Name"]) for c in info]:
                rows = rows[1:]
        result.rows.extend(_typed(row, types) for row in rows)
    return result or QueryResult([])


def _typed(row: Iterable[str | None], types: list[str]) -> list[Value]:
    typed: list[Value] = []
    for text, kind in zip(row, types, strict=False):
        convert = _ATHENA_NUMBERS.get(kind)
        typed.append(None if text is None else convert(text) if convert else text)
    return typed


def _size(count: int) -> str:
    size = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TiB"


# --- partition projection -----------------------------------------------------------------------------------------

#: The keys of GetTable's ``Table`` that UpdateTable's ``TableInput`` takes back.
_TABLE_INPUT_KEYS = (
    "Name", "Description", "Owner", "LastAccessTime", "LastAnalyzedTime", "Retention", "StorageDescriptor",
    "PartitionKeys", "ViewOriginalText", "ViewExpandedText", "TableType", "Parameters", "TargetTable",
)  # fmt: skip


def _common_prefixes(s3: Any, bucket: str, prefix: str) -> list[str]:
    found: list[str] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
        found.extend(item["Prefix"][len(prefix) :].rstrip("/") for item in page.get("CommonPrefixes", []))
    return found


def partitions_in_bucket(s3: Any, bucket: str, prefix: str) -> tuple[list[str], list[str]]:
    """The account ids and regions the bucket holds inventory for, from ``AWS:InstanceInformation``'s directories.

    Every node has that type (see ``workflow.local.inventory``), so its ``accountid=``/``region=`` directories name
    every account-region with inventory; an account with only the marker has no ``region=`` directory yet.
    """
    root = f"{prefix.strip('/')}/AWS:InstanceInformation/" if prefix.strip("/") else "AWS:InstanceInformation/"
    accounts: list[str] = []
    regions: set[str] = set()
    for directory in _common_prefixes(s3, bucket, root):
        label, _, account = directory.partition("=")
        if label != "accountid" or not account:
            continue
        account_regions = [
            value
            for label, _, value in (d.partition("=") for d in _common_prefixes(s3, bucket, f"{root}{directory}/"))
            if label == "region" and value
        ]
        if account_regions:
            accounts.append(account)
            regions.update(account_regions)
    return sorted(accounts), sorted(regions)


def refresh_projection(glue: Any, database: str, accounts: Iterable[str], regions: Iterable[str]) -> list[str]:
    """Add ``accounts`` and ``regions`` to every table's ``accountid`` and ``region`` enums; the tables changed.

    Values are only added (an account that left keeps its files, and its rows stay queryable).
    """
    changed: list[str] = []
    for table in TABLES:
        current = glue.get_table(DatabaseName=database, Name=table.name)["Table"]
        parameters = dict(current.get("Parameters", {}))
        updated = dict(parameters)
        for key, values in (("accountid", accounts), ("region", regions)):
            name = f"projection.{key}.values"
            known = {v for v in parameters.get(name, "").split(",") if v}
            updated[name] = ",".join(sorted(known | set(values)))
        if updated != parameters:
            table_input = {k: current[k] for k in _TABLE_INPUT_KEYS if k in current}
            glue.update_table(DatabaseName=database, TableInput={**table_input, "Parameters": updated})
            changed.append(table.name)
    return changed
