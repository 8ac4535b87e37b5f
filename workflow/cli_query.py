"""``orgsync query``: SQL over the organization's inventory, in Athena's dialect, on AWS or on the local engine.

The command exported here is :data:`query` (a ``click.Command``); ``workflow/cli.py`` registers it.

- On AWS: ``orgsync query "SELECT ..."`` runs in the deployment's Athena workgroup and Glue database
  (``--workgroup``/``--database``, defaults from the CDK app), printing progress on stderr while it runs.
- Locally: ``orgsync query --scenario FILE "SELECT ..."`` rolls the scenario out on the local engine and runs
  the same text over the simulated bucket through DuckDB (see :mod:`workflow.inventory_query`);
  ``orgsync query --state DIR "SELECT ..."`` runs it over the bucket of the lasting local world (``orgsync
  local``) as it is, without running anything (and changing nothing).
- ``--named NAME`` runs a shipped query instead (``--list-named`` shows them); ``--format table|csv|json``.

Exit status: 0 with the rows printed, 1 when Athena's query failed (its reason on one line), 2 when the query or an
option is rejected (one line naming the problem, no traceback).

Example::

    >>> from click.testing import CliRunner
    >>> result = CliRunner().invoke(query, ["SELECT * FROM"])
    >>> result.exit_code, result.output.strip()
    (2, 'orgsync: error: query: malformed query: Expected table name ... (line 1, column 13)')
"""

from __future__ import annotations

import csv
import io
import json
import logging
import sys
from pathlib import Path
from typing import Any

import click

from workflow.inventory_query import (
    DATABASE,
    NAMED_QUERIES,
    WORKGROUP,
    QueryFailed,
    QueryRejected,
    QueryResult,
    Value,
    parse_query,
)

EXIT_OK, EXIT_FAILED, EXIT_REJECTED = 0, 1, 2
FORMATS = ("table", "csv", "json")


def _text(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def render(result: QueryResult, output_format: str) -> str:
    """The rows as an aligned table, CSV, or one JSON array of objects keyed by column name.

    >>> print(render(QueryResult(["name", "nodes"], [["openssl", 3], ["nginx", None]]), "table"))
    name    | nodes
    --------+------
    openssl | 3
    nginx   |
    (2 rows)
    >>> render(QueryResult(["name", "nodes"], [["openssl", 3]]), "json")
    '[{"name": "openssl", "nodes": 3}]'
    """
    if output_format == "json":
        return json.dumps(result.records())
    if output_format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(result.columns)
        writer.writerows([_text(v) for v in row] for row in result.rows)
        return buffer.getvalue().rstrip("\n")
    cells = [[_text(v) for v in row] for row in result.rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(result.columns)]
    lines = [" | ".join(c.ljust(w) for c, w in zip(result.columns, widths, strict=True)).rstrip()]
    lines.append("-+-".join("-" * w for w in widths))
    lines.extend(" | ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip() for row in cells)
    lines.append(f"({len(cells)} row{'' if len(cells) == 1 else 's'})")
    return "\n".join(lines)


def query_on_local_engine(scenario_path: Path, input_file: Path | None, sql: str) -> QueryResult:
    """Roll the scenario out on the local engine, then run ``sql`` over the simulated bucket."""
    # Deferred: moto and DuckDB start only when the local engine is asked for.
    from workflow.inventory_query import LocalInventory
    from workflow.local.runner import LocalRun
    from workflow.local.scenario import load_scenario

    parse_query(sql)  # a malformed query is refused before the rollout runs
    try:
        scenario = load_scenario(scenario_path)
    except (OSError, ValueError) as exc:
        raise QueryRejected(f"--scenario: {exc}") from exc
    execution_input: Any = {"targets": ["/"], "regions": list(scenario.regions)}
    if input_file is not None:
        try:
            execution_input = json.loads(input_file.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise QueryRejected(f"--input: cannot read {input_file}: {exc}") from exc
        if not isinstance(execution_input, dict):
            raise QueryRejected("--input: the file must hold one JSON object")
    destination = execution_input.get("destination")
    prefix = scenario.aggregator.prefix
    if isinstance(destination, dict) and isinstance(destination.get("prefix"), str):
        prefix = destination["prefix"]
    moto_logger = logging.getLogger("moto")
    level = moto_logger.level
    if level == logging.NOTSET:
        moto_logger.setLevel(logging.CRITICAL)  # moto's interpreter logs every Fail state
    try:
        with LocalRun(scenario) as local:
            result = local.run({**execution_input, "mode": "rollout"})
            if result.error == "InvalidInput":
                raise QueryRejected(f"--input: {result.cause_message()}")
            inventory = LocalInventory(now=local.now())
            inventory.load_bucket(local.aws.client("s3"), scenario.aggregator.bucket, prefix)
    finally:
        moto_logger.setLevel(level)
    return inventory.run(sql)


def query_on_local_state(state_dir: str, sql: str) -> QueryResult:
    """Run ``sql`` over the bucket of the lasting local world in ``state_dir`` ('' for the default one), as it is.

    The world is opened (so that what SSM has written by its simulated time is there) and not saved: a query
    changes nothing.
    """
    from workflow.console import state
    from workflow.console.errors import CliError
    from workflow.inventory_query import LocalInventory
    from workflow.local import local_extra_missing

    parse_query(sql)  # a malformed query is refused before the world opens
    if (missing := local_extra_missing()) is not None:
        raise QueryRejected(missing)
    try:
        loaded = state.load_state(state.resolve(state_dir or None))
        with state.open_world(loaded, save=False) as local:
            inventory = LocalInventory(now=local.now())
            aggregator = local.scenario.aggregator
            inventory.load_bucket(local.aws.client("s3"), aggregator.bucket, aggregator.prefix)
    except CliError as exc:
        raise QueryRejected(f"--state: {exc}") from exc
    return inventory.run(sql)


def query_on_athena(sql: str, workgroup: str, database: str, region: str | None, profile: str | None) -> QueryResult:
    """Run ``sql`` in the deployment's Athena workgroup, with progress on stderr."""
    import boto3  # deferred: the local path and --help need no session
    from botocore.exceptions import BotoCoreError, ClientError

    from workflow.inventory_query import run_on_athena

    def progress(message: str) -> None:
        click.echo(f"orgsync: query: {message}", err=True)

    try:
        session = boto3.Session(profile_name=profile, region_name=region)
        athena = session.client("athena")
        return run_on_athena(athena, sql, workgroup=workgroup, database=database, progress=progress)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise QueryFailed(f"{error.get('Code', '?')}: {error.get('Message', exc)}") from exc
    except BotoCoreError as exc:
        raise QueryFailed(str(exc)) from exc


_EPILOG = "\b\nExamples:\n" + "\n".join(
    f"  {line}"
    for line in (
        "orgsync query --named software",
        'orgsync query --format csv "SELECT accountid, region, count(*) AS nodes FROM aws_instanceinformation '
        'GROUP BY 1, 2"',
        "orgsync query --scenario workflow/scenarios/example.json --named terminated-nodes",
        "orgsync query --state ~/.cache/orgsync/local --named software",
    )
)


def refresh_on_aws(bucket: str, prefix: str, database: str, region: str | None, profile: str | None) -> str:
    """Add the bucket's accounts and regions to the tables' partition projection; says what changed."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    from workflow.inventory_query import partitions_in_bucket, refresh_projection

    try:
        session = boto3.Session(profile_name=profile, region_name=region)
        accounts, regions = partitions_in_bucket(session.client("s3"), bucket, prefix)
        changed = refresh_projection(session.client("glue"), database, accounts, regions)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise QueryFailed(f"{error.get('Code', '?')}: {error.get('Message', exc)}") from exc
    except BotoCoreError as exc:
        raise QueryFailed(str(exc)) from exc
    summary = f"{len(accounts)} accounts, {len(regions)} regions in s3://{bucket}/{prefix}"
    return f"{summary}: {len(changed)} tables updated" if changed else f"{summary}: every table already projects them"


def _require_query_extra() -> None:
    """sqlglot (both paths) and DuckDB (the local one) come with the ``query`` extra."""
    import importlib.util

    missing = [name for name in ("sqlglot", "duckdb") if importlib.util.find_spec(name) is None]
    if missing:
        raise QueryRejected(f"needs {' and '.join(missing)}: pip install 'orgsync[query]'")


@click.command("query", epilog=_EPILOG)
@click.argument("sql", required=False)
@click.option("--named", "named", metavar="NAME", help="Run a shipped query (see --list-named) instead of SQL.")
@click.option("--list-named", is_flag=True, help="List the shipped queries and exit.")
@click.option("--days", type=click.IntRange(min=0), default=7, show_default=True, help="N for stale-inventory.")
@click.option("--format", "output_format", type=click.Choice(FORMATS), default="table", show_default=True)
@click.option(
    "--scenario",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Roll this simulated organization out on the local engine and query its bucket instead of Athena.",
)
@click.option(
    "--input",
    "input_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Execution input of the rollout for --scenario (default: the whole organization, every region).",
)
@click.option(
    "--state",
    "state_dir",
    metavar="DIR",
    help="Query the bucket of the lasting local world (orgsync local) in DIR ('' for the default one), as it is.",
)
@click.option(
    "--refresh-partitions",
    is_flag=True,
    help="On AWS: add the accounts and regions the bucket (--bucket, --prefix) holds to the tables' projection.",
)
@click.option("--bucket", help="With --refresh-partitions: the inventory bucket.")
@click.option("--prefix", default="default", show_default=True, help="With --refresh-partitions: the SSM prefix.")
@click.option("--workgroup", default=WORKGROUP, show_default=True, help="The Athena workgroup (on AWS).")
@click.option("--database", default=DATABASE, show_default=True, help="The Glue database (on AWS).")
@click.option("--region", help="The deployment's region (on AWS; default: your profile's).")
@click.option("--profile", help="The AWS profile to run the query with.")
@click.pass_context
def query(
    ctx: click.Context,
    sql: str | None,
    named: str | None,
    list_named: bool,
    days: int,
    output_format: str,
    scenario: Path | None,
    input_file: Path | None,
    state_dir: str | None,
    refresh_partitions: bool,
    bucket: str | None,
    prefix: str,
    workgroup: str,
    database: str,
    region: str | None,
    profile: str | None,
) -> None:
    """Run SQL (Athena's dialect) over the organization's inventory: on Athena, or locally with --scenario or
    --state."""
    if list_named:
        for item in NAMED_QUERIES.values():
            click.echo(f"{item.name:<18} {item.description}")
        ctx.exit(EXIT_OK)
    if refresh_partitions:
        try:
            local_or_query = any(value is not None for value in (sql, named, scenario, state_dir))
            if local_or_query or not bucket:
                raise QueryRejected(
                    "--refresh-partitions: give --bucket (and --prefix), and no query, --scenario or --state"
                )
            click.echo(refresh_on_aws(bucket, prefix, database, region, profile))
        except QueryRejected as exc:
            click.echo(f"orgsync: error: query: {' '.join(str(exc).split())}", err=True)
            ctx.exit(EXIT_REJECTED)
        except QueryFailed as exc:
            click.echo(f"orgsync: error: query: {' '.join(str(exc).split())}", err=True)
            ctx.exit(EXIT_FAILED)
        ctx.exit(EXIT_OK)
    try:
        _require_query_extra()
        if (sql is None) == (named is None):
            raise QueryRejected("give either SQL or --named NAME (one of them)")
        if named is not None:
            if named not in NAMED_QUERIES:
                raise QueryRejected(f"--named: {named!r} is not one of {', '.join(NAMED_QUERIES)}")
            sql = NAMED_QUERIES[named].text(days)
        assert sql is not None
        if state_dir is not None:
            if scenario is not None or input_file is not None:
                raise QueryRejected("--state: use it alone: the query reads the lasting world's bucket as it is")
            result = query_on_local_state(state_dir, sql)
        elif scenario is not None:
            result = query_on_local_engine(scenario, input_file, sql)
        else:
            if input_file is not None:
                raise QueryRejected("--input: only with --scenario")
            parse_query(sql)
            result = query_on_athena(sql, workgroup, database, region, profile)
    except QueryRejected as exc:
        click.echo(f"orgsync: error: query: {' '.join(str(exc).split())}", err=True)
        ctx.exit(EXIT_REJECTED)
    except QueryFailed as exc:
        click.echo(f"orgsync: error: query failed on Athena: {' '.join(str(exc).split())}", err=True)
        ctx.exit(EXIT_FAILED)
    click.echo(render(result, output_format))
    sys.stdout.flush()
    ctx.exit(EXIT_OK)
