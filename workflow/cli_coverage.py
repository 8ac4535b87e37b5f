"""``orgsync coverage``: which target accounts deliver inventory to the bucket, which are not targeted, what is stale.

The command exported here is :data:`coverage` (a ``click.Command``); ``workflow/cli.py`` registers it with
``main.add_command(coverage)``.

Two ways to run it:

- On AWS (read-only: S3 ListObjectsV2 and GetObject with your credentials)::

      orgsync coverage --bucket acme-inventory --prefix default --account 200000000001 --account 200000000002
      orgsync coverage --bucket acme-inventory --from-report report.json   # the accounts a run targeted

- Locally: ``orgsync coverage --scenario FILE [--input FILE] [--after-rollout]`` runs a verify (after a rollout
  if asked) over the simulated organization on the local engine and prints the coverage section of its report.

Exit status: 0 when every target account has data in the bucket, 1 when some have none (the report is printed
all the same), 2 when an option or a file is rejected (one line naming it, no traceback).

Example::

    >>> from click.testing import CliRunner
    >>> CliRunner().invoke(coverage, ["--account", "12"]).exit_code
    2
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click

from lambdas.coverage import CoverageReport, build_coverage
from lambdas.models import Outcome, Status

EXIT_OK, EXIT_NOT_COVERED, EXIT_REJECTED = 0, 1, 2

_ACCOUNT = re.compile(r"^(?P<id>\d{12})(?:=(?P<name>.*))?$")


class Rejected(Exception):
    """An option or a file the command cannot use; the message names it."""


def parse_accounts(values: tuple[str, ...]) -> dict[str, str]:
    """``--account`` values (``ID`` or ``ID=name``) as account ID -> name.

    >>> parse_accounts(("200000000001=prod", "200000000002"))
    {'200000000001': 'prod', '200000000002': ''}
    """
    accounts: dict[str, str] = {}
    for value in values:
        match = _ACCOUNT.match(value.strip())
        if not match:
            raise Rejected(f"--account: {value!r} is not a 12-digit account ID (ID or ID=name)")
        accounts[match["id"]] = match["name"] or ""
    return accounts


def accounts_from_report(report: Mapping[str, Any]) -> dict[str, str]:
    """The accounts a run targeted, from its report's ``results``: every account not SKIPPED.

    >>> accounts_from_report({"results": [
    ...     {"accountId": "200000000001", "accountName": "prod", "region": "us-east-1", "status": "IN_SYNC"},
    ...     {"accountId": "200000000002", "accountName": "old", "region": "us-east-1", "status": "SKIPPED"}]})
    {'200000000001': 'prod'}
    """
    results = report.get("results")
    if not isinstance(results, list):
        raise Rejected("--from-report: the file has no results list (is it an orgsync report?)")
    accounts: dict[str, str] = {}
    for result in results:
        if result.get("status") != Status.SKIPPED:
            accounts[str(result["accountId"])] = str(result.get("accountName", ""))
    return accounts


def _load_json(path: Path, option: str) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise Rejected(f"{option}: cannot read {path}: {exc}") from exc


def outcomes_from_report(report: Mapping[str, Any]) -> list[Outcome]:
    """A report's ``results`` as outcomes (for the per-region view); results that are not outcomes are left out.

    >>> [o.region for o in outcomes_from_report({"results": [
    ...     {"accountId": "200000000001", "region": "us-east-1", "status": "QUOTA_EXCEEDED"}, {"junk": 1}]})]
    ['us-east-1']
    """
    outcomes = []
    for result in report.get("results") or []:
        try:
            outcomes.append(Outcome.from_dict(result))
        except (KeyError, ValueError, TypeError):
            continue
    return outcomes


def coverage_on_aws(
    bucket: str,
    prefix: str,
    targets: Mapping[str, str],
    profile: str | None = None,
    outcomes: Sequence[Outcome] = (),
) -> CoverageReport:
    """Build the coverage with the caller's AWS credentials (S3 reads only); ``outcomes`` add the regions."""
    import boto3  # deferred: the local path and --help need no session
    from botocore.exceptions import BotoCoreError, ClientError

    from lambdas.errors import OrgSyncError

    try:
        session = boto3.Session(profile_name=profile) if profile else boto3.Session()
        return build_coverage(session.client("s3"), bucket=bucket, prefix=prefix, targets=targets, outcomes=outcomes)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise Rejected(f"--bucket: {bucket}: {error.get('Code', '?')}: {error.get('Message', exc)}") from exc
    except (BotoCoreError, OrgSyncError) as exc:  # OrgSyncError: the call's AWS error, named by lambdas.aws.call
        raise Rejected(f"--bucket: {bucket}: {exc}") from exc


def coverage_on_local_engine(scenario_path: Path, input_file: Path | None, after_rollout: bool) -> CoverageReport:
    """Run a verify over the scenario on the local engine (after a rollout if asked) and return its coverage.

    Without ``--input`` the whole organization (``/``) in every region the scenario mentions is verified.
    """
    # Deferred: moto (the local extra) is imported only when the local engine is asked for.
    from workflow.local import local_extra_missing

    if (missing := local_extra_missing()) is not None:
        raise Rejected(missing)
    from workflow.local.runner import LocalRun
    from workflow.local.scenario import load_scenario

    try:
        scenario = load_scenario(scenario_path)
    except (OSError, ValueError) as exc:
        raise Rejected(f"--scenario: {exc}") from exc
    execution_input: Any = (
        _load_json(input_file, "--input") if input_file else {"targets": ["/"], "regions": list(scenario.regions)}
    )
    if not isinstance(execution_input, dict):
        raise Rejected("--input: the file must hold one JSON object")
    # moto's interpreter logs every Fail state; quiet it unless someone (orgsync --debug) chose a level.
    moto_logger = logging.getLogger("moto")
    level = moto_logger.level
    if level == logging.NOTSET:
        moto_logger.setLevel(logging.CRITICAL)
    try:
        with LocalRun(scenario) as local:
            if after_rollout:
                local.run({**execution_input, "mode": "rollout"})
            result = local.run({**execution_input, "mode": "verify"})
    finally:
        moto_logger.setLevel(level)
    return _coverage_of(result, "--scenario")


def coverage_on_local_state(state_dir: str, input_file: Path | None) -> CoverageReport:
    """Run a verify on the lasting local world (``orgsync local``) and return its coverage; the world keeps the run."""
    from workflow.console import state
    from workflow.console.errors import CliError
    from workflow.console.local import LocalBackend

    try:
        loaded = state.load_state(state.resolve(state_dir or None))
        scenario = state.parse(loaded)
    except CliError as exc:
        raise Rejected(f"--state: {exc}") from exc
    execution_input: Any = (
        _load_json(input_file, "--input") if input_file else {"targets": ["/"], "regions": list(scenario.regions)}
    )
    if not isinstance(execution_input, dict):
        raise Rejected("--input: the file must hold one JSON object")
    with LocalBackend(state=loaded) as backend:
        result = backend.finish(backend.start({**execution_input, "mode": "verify"}))
    return _coverage_of(result, "--state")


def _coverage_of(result: Any, source: str) -> CoverageReport:
    """The coverage report of a finished local verify run (its input rejected: one line naming the field)."""
    if result.error == "InvalidInput":
        raise Rejected(f"--input: {result.cause_message()}")
    data = (result.report or {}).get("coverage")
    if not isinstance(data, dict):
        raise Rejected(f"{source}: the verify run ended {result.status} ({result.error}) without a coverage report")
    return CoverageReport.from_dict(data)


def render(report: CoverageReport) -> str:
    """The report in an operator's words, one fact a line."""
    names = {a.accountId: a.accountName for a in report.accounts}

    def label(account: str) -> str:
        return f"{account} ({names[account]})" if names.get(account) else account

    lines = [f"Coverage of s3://{report.bucket}/{report.prefix}"]
    targeted = [a for a in report.accounts if a.targeted]
    by_id = {a.accountId: a for a in report.accounts}
    lines.append(f"  target accounts with data: {len(report.covered)} of {len(targeted)}")

    def causes(account: str) -> str:
        return "; ".join(f"{r['region']}: {r['cause']}" for r in by_id[account].regionsNotDelivering)

    for account in report.notCovered:
        why = causes(account) or "roll out to it, then verify"
        lines.append(f"  NOT COVERED  {label(account)}: nothing in the bucket; {why}")
    for account in report.partlyCovered:
        delivering = ", ".join(by_id[account].deliveringRegions) or "none of the target regions"
        lines.append(f"  PARTLY       {label(account)}: delivers from {delivering}; not from {causes(account)}")
    for account in report.notTargeted:
        lines.append(f"  NOT TARGETED {label(account)}: has inventory but is not among the targets")
    for stale in report.staleInstances:
        lines.append(
            f"  STALE        {stale.accountId} {stale.region} {stale.instanceId}: {stale.reason}"
            f" ({stale.files} files remain)"
        )
    if not (report.notCovered or report.partlyCovered or report.notTargeted or report.staleInstances):
        lines.append("  every target account delivers inventory; nothing stale")
    return "\n".join(lines)


@click.command("coverage")
@click.option("--bucket", help="The destination bucket (on AWS).")
@click.option("--prefix", default="default", show_default=True, help="The SSM prefix in the bucket.")
@click.option("--account", "accounts", multiple=True, metavar="ID[=NAME]", help="A target account (repeatable).")
@click.option(
    "--from-report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="An orgsync report (JSON): its non-SKIPPED accounts are the targets.",
)
@click.option("--profile", help="The AWS profile to read the bucket with.")
@click.option(
    "--scenario",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Run a verify over this simulated organization on the local engine instead of reading AWS.",
)
@click.option(
    "--input",
    "input_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Execution input for --scenario (default: the whole organization, every region of the scenario).",
)
@click.option(
    "--state",
    "state_dir",
    metavar="DIR",
    help="Run a verify on the lasting local world (orgsync local) in DIR ('' for the default one).",
)
@click.option("--after-rollout", is_flag=True, help="With --scenario: run a rollout first, then the verify.")
@click.option("--json", "as_json", is_flag=True, help="Print exactly one JSON document, the coverage report.")
@click.pass_context
def coverage(
    ctx: click.Context,
    bucket: str | None,
    prefix: str,
    accounts: tuple[str, ...],
    from_report: Path | None,
    profile: str | None,
    scenario: Path | None,
    input_file: Path | None,
    state_dir: str | None,
    after_rollout: bool,
    as_json: bool,
) -> None:
    """Show which target accounts (and, from a run's report, which of their regions) deliver inventory to the bucket,
    which are no longer targeted, what is stale."""
    try:
        if state_dir is not None:
            if scenario is not None or bucket or accounts or from_report or after_rollout:
                raise Rejected("--state: use it alone (with --input): the verify runs on the lasting local world")
            report = coverage_on_local_state(state_dir, input_file)
        elif scenario is not None:
            if bucket or accounts or from_report:
                raise Rejected("--scenario: use it alone (with --input), not with --bucket/--account/--from-report")
            report = coverage_on_local_engine(scenario, input_file, after_rollout)
        else:
            if after_rollout:
                raise Rejected("--after-rollout: only with --scenario (on AWS, run the rollout with orgsync run)")
            if not bucket:
                raise Rejected("--bucket: required on AWS (or use --scenario FILE for the local engine)")
            targets = parse_accounts(accounts)
            outcomes: list[Outcome] = []
            if from_report is not None:
                saved = _load_json(from_report, "--from-report")
                targets = {**accounts_from_report(saved), **targets}
                outcomes = outcomes_from_report(saved)
            if not targets:
                raise Rejected("--account: give the target accounts (--account ID or --from-report FILE)")
            report = coverage_on_aws(bucket, prefix, targets, profile, outcomes)
    except Rejected as exc:
        # One line, no traceback, like every orgsync command; ctx.exit works standalone and under the group.
        click.echo(f"orgsync: error: coverage: {' '.join(str(exc).split())}", err=True)
        ctx.exit(EXIT_REJECTED)
    click.echo(json.dumps(report.to_dict(), indent=2) if as_json else render(report))
    ctx.exit(EXIT_NOT_COVERED if report.notCovered else EXIT_OK)
