"""The ``orgsync`` command: demo, run, watch, report, graph, validate, check-destination, and coverage (registered
here).

Each command parses its arguments and hands them to plain functions in ``workflow.console``, ``workflow.graph``
and ``workflow.local``. Errors the user can fix end the command with one line on stderr and exit code 2,
never a traceback (``--debug`` or ``ORGSYNC_DEBUG=1`` shows it). A run exits 0 when the execution SUCCEEDED,
1 when it ended with account-regions that need attention (the report is printed all the same) or failed
without a report, 2 when the input or a file was rejected.

Example::

    >>> from click.testing import CliRunner
    >>> result = CliRunner().invoke(cli, ["validate", "--input", "no-such-file.json"])
    >>> result.exit_code, result.stderr.strip()
    (2, "orgsync: error: input file 'no-such-file.json' does not exist")
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console

from lambdas.errors import InvalidInput
from lambdas.models import Outcome, Summary
from workflow.console.errors import CliError
from workflow.console.history import readable_cause
from workflow.runs import ExecutionResult, RunBackend

STATE_HELP = "The lasting local world's directory (default: $ORGSYNC_STATE_DIR, else $XDG_CACHE_HOME/orgsync/local)."

#: Exit codes: the contract of ``orgsync run`` (issue 3), shared by demo and watch.
EXIT_SUCCEEDED = 0
EXIT_NEEDS_ATTENTION = 1
EXIT_REJECTED = 2


def exit_code_for(status: str, error: str | None) -> int:
    """The exit code of a finished execution."""
    if status == "SUCCEEDED":
        return EXIT_SUCCEEDED
    if error == InvalidInput.__name__:
        return EXIT_REJECTED
    return EXIT_NEEDS_ATTENTION


def _debug_requested(args: Sequence[str]) -> bool:
    return "--debug" in args or os.environ.get("ORGSYNC_DEBUG", "") not in {"", "0", "false"}


def _error_line(message: str) -> None:
    """One line on stderr: newlines in messages (botocore's, graphviz's) would break the one-line promise."""
    click.echo(f"orgsync: error: {' '.join(str(message).split())}", err=True)


class OrgSyncGroup(click.Group):
    """A click group that turns every error into one line and exit 2 (a traceback only with ``--debug``)."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        debug = _debug_requested(argv)
        code: int
        try:
            result = super().main(argv, prog_name or "orgsync", complete_var, standalone_mode=False, **extra)
            code = result if isinstance(result, int) else 0
        except click.exceptions.Exit as exc:  # --help, --version
            code = exc.exit_code
        except click.exceptions.NoArgsIsHelpError as exc:
            click.echo(exc.ctx.get_help() if exc.ctx else str(exc))
            code = EXIT_REJECTED
        except click.ClickException as exc:  # usage errors: missing option, bad choice
            if debug:
                traceback.print_exc()
            hint = f" (see '{exc.ctx.command_path} --help')" if isinstance(exc, click.UsageError) and exc.ctx else ""
            _error_line(exc.format_message() + hint)
            code = EXIT_REJECTED
        except click.Abort:
            _error_line("interrupted")
            code = 130
        except KeyboardInterrupt:
            _error_line("interrupted")
            code = 130
        except BrokenPipeError:
            # `orgsync report ... | head`: the reader left; stop quietly, as a shell tool does on SIGPIPE.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            code = 141
        except (CliError, InvalidInput) as exc:
            if debug:
                traceback.print_exc()
            prefix = "invalid input: " if isinstance(exc, InvalidInput) else ""
            _error_line(prefix + str(exc))
            code = exc.exit_code if isinstance(exc, CliError) else EXIT_REJECTED
        except Exception as exc:  # the promise is one line for every error, the unexpected ones included
            if debug:
                traceback.print_exc()
            _error_line(f"{type(exc).__name__}: {exc} (run with --debug for the traceback)")
            code = EXIT_REJECTED
        if standalone_mode:
            sys.exit(code)
        return code


def _stdout() -> Console:
    return Console(highlight=False)


def _stderr() -> Console:
    return Console(stderr=True, highlight=False)


def read_json_file(path: str, what: str) -> Any:
    """A JSON file's content; a missing or malformed file is a one-line :class:`CliError`."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise CliError(f"{what} file {path!r} does not exist") from exc
    except IsADirectoryError as exc:
        raise CliError(f"{what} file {path!r} is a directory") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {what} file {path!r}: {exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(
            f"{what} file {path!r} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from exc


def read_input(path: str) -> dict[str, Any]:
    """An execution input file: a JSON object."""
    data = read_json_file(path, "input")
    if not isinstance(data, dict):
        raise CliError(f"input file {path!r} must hold a JSON object, not {type(data).__name__}")
    return data


def _examples(*lines: str) -> str:
    """An epilog with examples that click prints verbatim (``\\b`` stops rewrapping)."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


@click.group(
    cls=OrgSyncGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110},
    epilog=_examples(
        "orgsync demo",
        "orgsync run --scenario workflow/scenarios/example.json --input docs/examples/rollout-input.json",
        "orgsync graph --format svg --output docs/img/state-machine.svg",
    ),
)
@click.option("--debug", is_flag=True, help="Show the traceback of an error (also ORGSYNC_DEBUG=1).")
@click.version_option(package_name="orgsync", prog_name="orgsync")
def cli(debug: bool) -> None:
    """Roll out organization-based SSM resource data syncs to every account and region of an AWS Organization."""
    # moto's Step Functions interpreter logs every Fail state and unsupported field at WARNING/ERROR; on the
    # local engine that is noise around the report (Python's last-resort handler would print it to stderr).
    logging.getLogger("moto").setLevel(logging.DEBUG if debug else logging.CRITICAL)
    if debug:
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")


# ---------------------------------------------------------------------------------------------------- demo / run


def _finish(result: ExecutionResult, *, as_json: bool, title: str) -> int:
    """Print a finished run's report (or its one-line rejection) and return the exit code."""
    from workflow.console.report import Report, print_unbroken, render_json, render_table

    code = exit_code_for(result.status, result.error)
    cause = result.cause_message()
    if code == EXIT_REJECTED:
        raise CliError(f"invalid input: {cause or result.error}")
    if result.report is None:
        # It ran but did not finish its job (a Lambda bug, a timeout, an abort): not a rejected input.
        message = f"the execution ended {result.status} ({result.error}) without a report: {cause or 'no cause given'}"
        raise CliError(message, exit_code=EXIT_NEEDS_ATTENTION)
    report = Report.from_dict(result.report, source=f"report of {result.execution_name}")
    if as_json:
        click.echo(render_json(report), nl=False)
        return code
    out = _stdout()
    planned = report.summary.to_dict().get("byPlannedAction") or Summary.of(list(report.outcomes)).byPlannedAction
    if planned:
        out.print("Plan: " + "  ".join(f"{action} {count}" for action, count in sorted(planned.items())))
    print_unbroken(out, render_table(report, title=title))
    out.print()
    attention = report.summary.needsAttention
    if code == EXIT_SUCCEEDED and attention and planned:
        out.print(
            f"[green]{result.status}[/]: the plan is above; {attention} account-region{'s' if attention != 1 else ''} "
            "would need attention after a rollout. Nothing was changed."
        )
    elif code == EXIT_SUCCEEDED:
        out.print(f"[green]{result.status}[/]: nothing needs attention.")
    else:
        attention = report.summary.needsAttention
        out.print(
            f"[red]{result.status}[/] ({result.error}): {attention} account-region{'s' if attention != 1 else ''} "
            "need attention; the action for each is above."
        )
    return code


def _run(backend: RunBackend, execution_input: dict[str, Any], options: RunOptions) -> int:
    """Start, follow and finish one execution on ``backend``; print its report and return the exit code."""
    with backend:
        arn = backend.start(execution_input, options.name)
        if not options.as_json and not options.local:  # a local run ends with this process: nothing to find again
            _stderr().print(f"Started {arn}", soft_wrap=True)
        try:
            backend.follow(arn, _stderr() if options.progress else None, options.interval)
        except KeyboardInterrupt:
            if options.local:
                raise
            # Stopping the CLI does not stop the execution: say how to find it again.
            raise CliError(f"interrupted; the execution keeps running: orgsync watch {arn}", exit_code=130) from None
        result = backend.finish(arn)
    return _finish(result, as_json=options.as_json, title=f"{options.title}: {arn}")


@dataclass(frozen=True)
class RunOptions:
    """How ``run`` and ``demo`` present a run."""

    title: str
    as_json: bool
    progress: bool
    name: str | None = None
    interval: float = 0.1
    local: bool = True


def _require_local_extra() -> None:
    """One line naming what to install when the local engine's extra (moto) is missing."""
    from workflow.local import local_extra_missing

    if (missing := local_extra_missing()) is not None:
        raise CliError(missing)


def _local_backend(scenario: str | None) -> RunBackend:
    """The local engine's backend over ``scenario`` (None: the bundled example); one line if moto is missing."""
    _require_local_extra()
    from workflow.console.local import LocalBackend, load

    return LocalBackend(load(scenario))


@cli.command(epilog=_examples("orgsync demo", "orgsync demo --json > report.json"))
@click.option("--json", "as_json", is_flag=True, help="Print only the report, as one JSON document.")
@click.option("--no-progress", is_flag=True, help="Do not draw the live progress view.")
def demo(as_json: bool, no_progress: bool) -> int:
    """Run the README's example rollout (docs/examples/rollout-input.json) over the bundled example organization
    on the local engine (no AWS account needed).

    Shows live progress, then the report grouped by status with the action to take. Exits like run: 0 when
    nothing needs attention, 1 when something does (the example organization has some on purpose).
    """
    backend = _local_backend(None)
    from workflow.console.local import demo_input

    options = RunOptions("orgsync demo", as_json, progress=not no_progress and not as_json)
    return _run(backend, demo_input(), options)


def _execution_options(command: Callable[..., int]) -> Callable[..., int]:
    """The options of a command that starts one execution (``run``, ``plan``): where, with what, how shown."""
    options = [
        click.option("--input", "input_path", required=True, metavar="FILE", help="The execution input (JSON)."),
        click.option("--scenario", metavar="FILE", help="A one-off local run against this simulated organization."),
        click.option("--state-machine-arn", metavar="ARN", help="Start an execution of this deployed state machine."),
        click.option("--state", "state_dir", metavar="DIR", help=STATE_HELP),
        click.option(
            "--name", metavar="NAME", help="Execution name (default: generated); names the report's S3 folder."
        ),
        click.option(
            "--endpoint-url", metavar="URL", help="Step Functions and S3 endpoint of --state-machine-arn (not locally)."
        ),
        click.option("--json", "as_json", is_flag=True, help="Print only the report, as one JSON document."),
        click.option("--no-progress", is_flag=True, help="Do not draw the live progress view."),
        click.option(
            "--interval",
            type=float,
            metavar="SECONDS",
            help="Seconds between polls of a deployed execution [default: 2].",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _run_command(
    *,
    title: str,
    input_path: str,
    scenario: str | None,
    state_machine_arn: str | None,
    state_dir: str | None,
    name: str | None,
    endpoint_url: str | None,
    as_json: bool,
    no_progress: bool,
    interval: float | None,
    mode: str | None = None,
) -> int:
    """Start one execution of ``input_path`` (its mode replaced by ``mode`` if given), follow it, print its report."""
    backend, options = _backend_for(
        scenario, state_dir, state_machine_arn, endpoint_url, interval, as_json, name, title=title
    )
    execution_input = read_input(input_path)
    if mode is not None:
        execution_input = {**execution_input, "mode": mode}
    options = dataclasses.replace(options, progress=not no_progress and not as_json)
    return _run(backend, execution_input, options)


@cli.command(
    epilog=_examples(
        "orgsync run --scenario workflow/scenarios/example.json --input docs/examples/rollout-input.json",
        "orgsync run --scenario my-org.json --input input.json --json > report.json",
        "orgsync local init --scenario workflow/scenarios/example.json && orgsync run --input input.json",
        "orgsync run --state-machine-arn arn:aws:states:eu-west-1:111122223333:stateMachine:orgsync \\",
        "            --input input.json",
    )
)
@_execution_options
def run(**options: Any) -> int:
    """Run the workflow with an input: on a deployed state machine (--state-machine-arn), once against a scenario
    (--scenario), or on the lasting local world (neither: see `orgsync local`).

    Exit 0 when the execution SUCCEEDED, 1 when it ended RolloutIncomplete, VerificationFailed or
    TeardownIncomplete (the report is printed all the same), 2 when the input or a file was rejected.
    """
    return _run_command(title="orgsync run", **options)


def _backend_for(
    scenario: str | None,
    state_dir: str | None,
    state_machine_arn: str | None,
    endpoint_url: str | None,
    interval: float | None,
    as_json: bool,
    name: str | None,
    *,
    title: str,
) -> tuple[RunBackend, RunOptions]:
    """The backend ``run`` and ``plan`` start on (AWS, a one-off scenario, or the lasting local world)."""
    if state_machine_arn and (scenario or state_dir):
        raise CliError("--state-machine-arn runs on AWS: not with --scenario or --state (the local engine)")
    if scenario and state_dir:
        raise CliError(
            "a scenario only seeds a new local state: 'orgsync local init --scenario FILE --state DIR', "
            "then 'orgsync run --state DIR --input FILE'"
        )
    if not state_machine_arn:
        # The local engine runs in this process: there is no endpoint to point at, and nothing to poll remotely.
        where = "--scenario" if scenario else "the local state"
        for flag, value in (("--endpoint-url", endpoint_url), ("--interval", interval)):
            if value is not None:
                raise CliError(f"{flag} applies to --state-machine-arn, not to {where} (the local engine)")
    if state_machine_arn:
        from workflow.console.remote import AwsBackend

        options = RunOptions(title, as_json, False, name, interval=interval or 2.0, local=False)
        return AwsBackend(state_machine_arn, endpoint_url), options
    options = RunOptions(title, as_json, False, name)
    if scenario:
        return _local_backend(scenario), options
    _require_local_extra()
    from workflow.console import state
    from workflow.console.local import LocalBackend

    return LocalBackend(state=state.load_state(state.resolve(state_dir))), options


@cli.command(
    epilog=_examples(
        "orgsync plan --scenario workflow/scenarios/example.json --input docs/examples/rollout-input.json",
        "orgsync plan --state-machine-arn arn:aws:states:eu-west-1:111122223333:stateMachine:orgsync \\",
        "             --input input.json --json > plan.json",
    )
)
@_execution_options
def plan(**options: Any) -> int:
    """Show what a rollout with this input would do and report, account-region by account-region, without
    writing anything (the input's mode is replaced by plan).

    Each account-region shows the action the rollout would take (CREATE, REPLACE, NONE) and the status it would
    report. Exit 0 when the plan was computed, whatever it found; 2 when the input or a file was rejected.
    """
    return _run_command(title="orgsync plan", mode="plan", **options)


# ---------------------------------------------------------------------------------------------------- local


@cli.group(
    epilog=_examples(
        "orgsync local init --scenario workflow/scenarios/example.json",
        "orgsync run --input docs/examples/rollout-input.json",
        "orgsync local advance 1d",
        "orgsync local terminate-node i-ef38aa6d3f1571f4f",
        "orgsync local move-account sandbox-bob /Workloads/Prod",
        "orgsync run --input docs/examples/verify-input.json",
    )
)
def local() -> None:
    """The lasting local world: an organization, its syncs, the bucket and a simulated clock kept between commands.

    A scenario file seeds it once (init); `orgsync run` without --scenario or --state-machine-arn runs on it, and
    `orgsync report ARN` / `orgsync watch ARN` read its executions, `orgsync coverage --state` and `orgsync query
    --state` look at it. The other commands change the world as someone outside orgsync would: move or add an
    account, delete a sync by hand, terminate a managed node, let time pass; serve answers the AWS CLI and SDKs
    (a scenario's world, or this one with --state).
    """


_state_option = click.option("--state", "state_dir", metavar="DIR", help=STATE_HELP)


def _changed(state_dir: str | None, change: Callable[[Any], str], *, save: bool = True) -> int:
    """Load the state, apply ``change`` (which returns what it did, in words), save (unless the change saved it
    itself: one that runs the world), and say so."""
    from workflow.console import state

    loaded = state.load_state(state.resolve(state_dir))
    done = change(loaded)
    if save:
        state.save_state(loaded)
    _stdout().print(f"{done} (simulated time {loaded.clock})", soft_wrap=True)
    return EXIT_SUCCEEDED


@local.command("init")
@click.option("--scenario", required=True, metavar="FILE", help="The simulated organization to start from.")
@click.option("--force", is_flag=True, help="Replace the state the directory holds.")
@_state_option
def local_init(scenario: str, force: bool, state_dir: str | None) -> int:
    """Seed a new local state from a scenario file."""
    from workflow.console import state

    seeded = state.seed_state(state.resolve(state_dir), scenario, force=force)
    _stdout().print(f"seeded {seeded.directory} from {scenario} (simulated time {seeded.clock})", soft_wrap=True)
    return EXIT_SUCCEEDED


@local.command("move-account")
@click.argument("account")
@click.argument("ou_path")
@_state_option
def local_move_account(account: str, ou_path: str, state_dir: str | None) -> int:
    """Move ACCOUNT (an id or a name) to the OU at OU_PATH (/ is the root)."""
    from workflow.console import state

    return _changed(state_dir, lambda s: f"moved {state.move_account(s, account, ou_path)} to {ou_path}")


@local.command("add-account")
@click.argument("name")
@click.option("--ou", "ou_path", required=True, metavar="PATH", help="The OU to add it to (/ is the root).")
@click.option("--id", "account_id", metavar="ID", help="Its 12-digit id (default: derived from the name).")
@click.option("--no-member-role", is_flag=True, help="Without orgsync's member role (as before the StackSet).")
@_state_option
def local_add_account(
    name: str, ou_path: str, account_id: str | None, no_member_role: bool, state_dir: str | None
) -> int:
    """Add an account called NAME to an OU."""
    from workflow.console import state

    def add(s: Any) -> str:
        added = state.add_account(s, name, ou_path, id=account_id, memberRole=False if no_member_role else None)
        return f"added {name} ({added}) to {ou_path}"

    return _changed(state_dir, add)


@local.command("delete-sync")
@click.argument("account")
@click.argument("region")
@click.argument("sync_name")
@_state_option
def local_delete_sync(account: str, region: str, sync_name: str, state_dir: str | None) -> int:
    """Delete the sync SYNC_NAME of ACCOUNT (an id or a name) in REGION, as someone would by hand."""
    from workflow.console import state

    def delete(s: Any) -> str:
        state.delete_sync(s, account, region, sync_name)
        return f"deleted {sync_name} of {account} in {region}"

    return _changed(state_dir, delete)


@local.command("terminate-node")
@click.argument("node_id")
@_state_option
def local_terminate_node(node_id: str, state_dir: str | None) -> int:
    """Terminate the managed node NODE_ID (i-... or mi-...), as EC2's TerminateInstances would.

    SSM then reports it Terminated (its AWS:InstanceInformation, exported by the account-region's syncs) and
    keeps its inventory files in the bucket; `orgsync coverage` lists it as stale, `orgsync query --named
    terminated-nodes` finds it. An unknown node is one line and exit 2, with nothing changed. The ids of the nodes
    that reach the bucket: orgsync query --state DIR "SELECT accountid, region, resourceid FROM
    aws_instanceinformation".
    """
    _require_local_extra()
    from workflow.console import state

    def terminate(s: Any) -> str:
        account_id, region, was_running = state.terminate_node(s, node_id)
        return f"terminated {node_id} of {account_id} in {region}" + ("" if was_running else " (it was already)")

    return _changed(state_dir, terminate, save=False)


@local.command("advance")
@click.argument("duration")
@_state_option
def local_advance(duration: str, state_dir: str | None) -> int:
    """Let DURATION of simulated time pass: seconds, or 90m, 6h, 1d."""
    from workflow.console import state

    seconds = state.parse_duration(duration)

    def advance(s: Any) -> str:
        state.advance(s, seconds)
        return f"advanced {duration}"

    return _changed(state_dir, advance)


# ---------------------------------------------------------------------------------------------------- watch


@cli.command(
    epilog=_examples(
        "orgsync watch arn:aws:states:eu-west-1:111122223333:execution:orgsync:rollout-2026-11-28",
        "orgsync watch --endpoint-url http://localhost:5000 \\",
        "    arn:aws:states:us-east-1:123456789012:execution:orgsync:demo",
    )
)
@click.argument("execution_arn")
@click.option("--endpoint-url", metavar="URL", help="Step Functions and S3 endpoint (a local engine's server).")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between polls.")
@click.option("--no-progress", is_flag=True, help="Do not draw the live view; print the table when it ends.")
@click.option("--state", "state_dir", metavar="DIR", help="Where a local execution was saved. " + STATE_HELP)
def watch(
    execution_arn: str, endpoint_url: str | None, interval: float, no_progress: bool, state_dir: str | None
) -> int:
    """Follow a running (or finished) execution: per account-region progress, retries and errors.

    Reads the execution history (paged and ordered here, whatever the server does), the Distributed Map's
    run and child executions when the endpoint lists them, and the outcome records in the destination bucket.
    Exits like run once the execution has finished.
    """
    from workflow.console import remote
    from workflow.console.history import analyze
    from workflow.console.poller import ExecutionPoller, follow_poller
    from workflow.console.report import print_unbroken
    from workflow.console.saved import load_execution
    from workflow.console.watch import render_items

    parsed = remote.parse_execution_arn(execution_arn)
    saved = None if endpoint_url else load_execution(execution_arn, state_dir=Path(state_dir) if state_dir else None)
    warnings: list[str] = []
    if saved is not None:
        # A local execution: its engine is gone, what it left is its saved history and report.
        view = analyze(saved.history)
        outcomes = [Outcome.from_dict(result) for result in (saved.report or {}).get("results", [])]
    else:
        sfn, s3 = remote.clients(parsed.region, endpoint_url)
        poller = ExecutionPoller(sfn, s3, execution_arn)
        _describe_or_fail(sfn, execution_arn)
        follow_poller(poller, None if no_progress else _stderr(), interval)
        view, outcomes, warnings = poller.view, poller.outcomes(), poller.warnings
    out = _stdout()
    print_unbroken(out, render_items(view, outcomes, title=f"{parsed.name}: {view.status}"))
    for warning in warnings:
        _stderr().print(f"[yellow]note:[/] {warning}")
    if view.error:
        out.print(f"{view.status}: {view.error}: {' '.join(readable_cause(view.cause).split())[:300]}", soft_wrap=True)
    return exit_code_for(view.status, view.error)


def _describe_or_fail(sfn: Any, arn: str) -> None:
    """Fail with one line when the execution does not exist (rather than polling an empty history)."""
    from botocore.exceptions import ClientError

    try:
        sfn.describe_execution(executionArn=arn)
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise CliError(f"execution {arn}: {error.get('Code', '')} {error.get('Message', '')}".strip()) from exc


# ---------------------------------------------------------------------------------------------------- report


@cli.command(
    epilog=_examples(
        "orgsync report report.json",
        "orgsync report report.json --format markdown > report.md",
        "orgsync report s3://acme-inventory/orgsync/reports/rollout-1/report.json --format csv",
        "orgsync report arn:aws:states:eu-west-1:111122223333:execution:orgsync:rollout-1",
    )
)
@click.argument("source")
@click.option(
    "--format", "fmt", type=click.Choice(["table", "json", "csv", "markdown"]), default="table", show_default=True
)
@click.option("--endpoint-url", metavar="URL", help="Step Functions and S3 endpoint (a local engine's server).")
@click.option("--region", metavar="REGION", help="Region of the S3 bucket or Step Functions (default: from the ARN).")
@click.option("--state", "state_dir", metavar="DIR", help="Where a local execution was saved. " + STATE_HELP)
def report(source: str, fmt: str, endpoint_url: str | None, region: str | None, state_dir: str | None) -> int:
    """Render a saved report: an execution ARN, an s3:// URI, or a file (e.g. from `orgsync run --json`).

    Exit 0 when nothing needs attention, 1 when something does.
    """
    from workflow.console import remote
    from workflow.console.report import Report, print_unbroken, render, render_table

    if source.startswith("arn:"):
        from workflow.console.saved import load_execution

        parsed = remote.parse_execution_arn(source)
        saved = None if endpoint_url else load_execution(source, state_dir=Path(state_dir) if state_dir else None)
        if saved is not None:  # a local execution (orgsync demo, run --scenario): the report it saved
            if saved.report is None:
                error = saved.description.get("error")
                raise CliError(
                    f"local execution {parsed.name} ended {saved.description.get('status')} ({error}) without a report"
                )
            loaded = Report.from_dict(saved.report, source=f"local execution {parsed.name}")
        else:
            sfn, s3 = remote.clients(region or parsed.region, endpoint_url)
            loaded = remote.load_report_for_execution(sfn, s3, source)
    elif source.startswith("s3://"):
        _, s3 = remote.clients(region, endpoint_url)
        loaded = remote.load_report_from_s3(s3, source)
    else:
        loaded = Report.from_dict(read_json_file(source, "report"), source=f"report file {source!r}")
    if fmt == "table":
        print_unbroken(_stdout(), render_table(loaded))
    else:
        click.echo(render(loaded, fmt), nl=False)
    return EXIT_NEEDS_ATTENTION if loaded.summary.needsAttention else EXIT_SUCCEEDED


# ---------------------------------------------------------------------------------------------------- graph


@cli.command(
    epilog=_examples(
        "orgsync graph --format svg --output docs/img/state-machine.svg",
        "orgsync graph --format png --output state-machine.png",
        "orgsync graph --format json > definition.asl.json",
    )
)
@click.option("--format", "fmt", type=click.Choice(["svg", "png", "json", "dot"]), default="svg", show_default=True)
@click.option("--output", "-o", metavar="FILE", help="Write here instead of stdout (required for png on a terminal).")
def graph(fmt: str, output: str | None) -> int:
    """Draw the state machine (SVG, PNG, DOT) or print its definition (ASL JSON, with ARN placeholders).

    SVG, PNG and DOT need the graph extra (pip install 'orgsync[graph]'); SVG and PNG also graphviz's dot program.
    """
    from workflow.graph import render

    data = render(_definition(), fmt)
    if output:
        try:
            Path(output).write_bytes(data)
        except OSError as exc:
            raise CliError(f"cannot write {output!r}: {exc.strerror or exc}") from exc
        _stderr().print(f"wrote {output} ({len(data)} bytes)")
        return EXIT_SUCCEEDED
    if fmt == "png" and sys.stdout.isatty():
        raise CliError("PNG is binary: give --output FILE or redirect stdout")
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
    return EXIT_SUCCEEDED


def _definition() -> dict[str, Any]:
    try:
        from workflow.definition import build_definition
    except ImportError as exc:
        raise CliError(f"the state machine definition is not available: {exc}") from exc
    definition: dict[str, Any] = build_definition()
    return definition


# ---------------------------------------------------------------------------------------------------- validate


@cli.command(
    epilog=_examples(
        "orgsync validate --input docs/examples/rollout-input.json",
        "ORGSYNC_DESTINATION_BUCKET=acme-inventory ORGSYNC_DESTINATION_REGION=ap-northeast-1 \\",
        "    orgsync validate --input docs/examples/minimal-input.json",
    )
)
@click.option("--input", "input_path", required=True, metavar="FILE", help="The execution input (JSON).")
def validate(input_path: str) -> int:
    """Check an execution input offline, with the messages the workflow's InvalidInput would give.

    \b
    Defaults a deployed state machine supplies are read from the same variables the Lambda functions use:
      ORGSYNC_DESTINATION_BUCKET, ORGSYNC_DESTINATION_REGION (required unless the input has destination.bucket
      and destination.region), ORGSYNC_DESTINATION_PREFIX, ORGSYNC_KMS_KEY_ARN, ORGSYNC_SYNC_NAME,
      ORGSYNC_MEMBER_ROLE_NAME, ORGSYNC_DEFAULT_TARGETS, ORGSYNC_DEFAULT_REGIONS.
    OU paths and account IDs are checked for shape only: whether they exist in the organization is known only
    when the workflow runs.
    """
    from lambdas.settings import Settings

    raw = read_input(input_path)
    validator = _validator()
    validator(raw, Settings.from_env())
    _stdout().print(f"{input_path}: valid")
    return EXIT_SUCCEEDED


def _validator() -> Callable[[Any, Any], Any]:
    # Imported when asked for: the workflow's own validation, so the messages are the workflow's messages.
    from lambdas.input import validate_input

    return validate_input


# ---------------------------------------------------------------------------------------------------- coverage
# `orgsync coverage` is H6's (lifecycle issue): when workflow/cli_coverage.py exists and defines a click command
# named `coverage`, it is registered here. Until then the command does not exist rather than faking it.


def _register_optional_commands() -> None:
    try:
        cli_coverage = importlib.import_module("workflow.cli_coverage")
    except ImportError:
        return
    command = getattr(cli_coverage, "coverage", None)
    if isinstance(command, click.Command):
        if not command.epilog:  # every command's --help shows examples; these are the ones its module documents
            command.epilog = _examples(
                "orgsync coverage --bucket acme-inventory --account 200000000001 --account 200000000002",
                "orgsync coverage --bucket acme-inventory --from-report report.json",
                "orgsync coverage --scenario workflow/scenarios/example.json --after-rollout",
            )
        cli.add_command(command, "coverage")


_register_optional_commands()
cli.add_command(importlib.import_module("workflow.cli_query").query)  # orgsync query: the inventory issue's
cli.add_command(importlib.import_module("workflow.cli_destination").check_destination)  # issue 12: the bucket policy
local.add_command(importlib.import_module("workflow.cli_local").serve)  # orgsync local serve (issue 14)


def main(argv: Sequence[str] | None = None) -> NoReturn:
    """The console script's entry point."""
    cli.main(args=argv, prog_name="orgsync")
    raise SystemExit(0)  # unreachable: main() always exits; keeps the NoReturn promise for mypy


if __name__ == "__main__":
    main()
