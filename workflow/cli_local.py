"""``orgsync local serve``: the simulated AWS as a service, of a scenario (``--scenario FILE``) or a lasting state
(``--state DIR``), on ``127.0.0.1`` (``--port 4566``).

The command exported here is :data:`local` (a ``click.Group``); ``workflow/cli.py`` registers it. moto (the
local extra) is imported only when a subcommand runs.

``serve`` starts a :class:`~workflow.local.server.LocalServer` on ``127.0.0.1``, prints exactly two lines once it
answers (``stateMachineArn: ARN`` and ``endpoint: URL``), and runs until Ctrl-C or SIGTERM, then stops
everything and exits 0. A port in use or an unreadable scenario is one line on stderr and exit 2.

With ``--state DIR`` it serves the lasting local world instead (``orgsync local init``): restored as the last
command left it, at its simulated time; on a clean stop (Ctrl-C, SIGTERM) what clients changed is saved back, one
atomic write (:class:`workflow.console.state.LastingRun`), and its executions are saved for ``orgsync report``
and ``watch``. A state it cannot read (missing, another format version) is one line and exit 2.

Example::

    >>> from click.testing import CliRunner
    >>> result = CliRunner().invoke(local, ["serve", "--scenario", "no-such-file.json"])
    >>> result.exit_code, result.stderr.strip()
    (2, "orgsync: error: --scenario: scenario file 'no-such-file.json' does not exist")
"""

from __future__ import annotations

import gc
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import click

EXIT_OK, EXIT_REJECTED = 0, 2


@click.group()
def local() -> None:
    """The simulated AWS of a scenario, for the AWS CLI and SDKs (no AWS account needed)."""


@local.command(
    epilog="\b\nExamples:\n"
    "  orgsync local serve --scenario workflow/scenarios/example.json\n"
    "  orgsync local serve --scenario my-org.yaml --port 4567 --real-time\n"
    "  orgsync local init --scenario workflow/scenarios/example.json --state rehearsal\n"
    "  orgsync local serve --state rehearsal",
)
@click.option("--scenario", "scenario_path", metavar="FILE", help="The simulated organization (a fresh world).")
@click.option(
    "--state",
    "state_dir",
    metavar="DIR",
    help="Serve the lasting local world in DIR instead ('' for the default one); saved back on a clean stop.",
)
@click.option("--port", default=4566, show_default=True, type=click.IntRange(0, 65535), help="Port on 127.0.0.1.")
@click.option(
    "--real-time",
    is_flag=True,
    help="Wait for real: Retry intervals, Wait states, Lambda backoffs and SSM's marker delay take wall time.",
)
def serve(scenario_path: str | None, state_dir: str | None, port: int, real_time: bool) -> None:
    """Answer Step Functions, Organizations, STS, S3, SSM and Lambda on 127.0.0.1, with orgsync deployed.

    orgsync's state machine and its Lambdas are deployed in the scenario's aggregator account and region. Any
    credentials act as that account; reach a member account by assuming its OrgSyncMemberRole, as on AWS.
    Time is simulated unless --real-time. Stops on Ctrl-C or SIGTERM (with --state: then saves the world).
    """
    code = _serve(scenario_path, state_dir, port, real_time)
    sys.exit(code)


def _fail(message: str) -> int:
    click.echo(f"orgsync: error: {' '.join(message.split())}", err=True)
    return EXIT_REJECTED


def _serve(scenario_path: str | None, state_dir: str | None, port: int, real_time: bool) -> int:
    if (scenario_path is None) == (state_dir is None):
        return _fail("give --scenario FILE (a fresh world) or --state DIR (the lasting one), one of them")
    from workflow.local import local_extra_missing

    if (missing := local_extra_missing()) is not None:
        return _fail(missing)
    from workflow.console import state
    from workflow.console.errors import CliError
    from workflow.local.scenario import ScenarioError, load_scenario
    from workflow.local.server import LocalServer, ServerError

    if state_dir is not None:
        try:
            loaded = state.load_state(state.resolve(state_dir or None))
            scenario = state.parse(loaded)
        except CliError as exc:
            return _fail(f"--state: {exc}")
        options: dict[str, Any] = {"run_factory": state.lasting_run_factory(loaded), "clock_start": loaded.now}
    else:
        assert scenario_path is not None
        path = Path(scenario_path)
        if not path.exists():
            return _fail(f"--scenario: scenario file {scenario_path!r} does not exist")
        try:
            scenario = load_scenario(path)
        except (OSError, ScenarioError, ValueError) as exc:
            return _fail(f"--scenario: {exc}")
        options = {}
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server = LocalServer(scenario, port=port, real_time=real_time, **options)
        try:
            server.start()
        except ServerError as exc:
            return _fail(str(exc))
        try:
            # Flushed at once: whoever started the server waits for these two lines (stdout is a pipe then).
            sys.stdout.write(f"stateMachineArn: {server.state_machine_arn}\nendpoint: {server.endpoint_url}\n")
            sys.stdout.flush()
            while not stop.wait(0.2):
                pass
        finally:
            server.stop()
            # Everything is stopped; what is left is moto's state, which the interpreter's last collection would
            # walk for seconds on exit. Frozen objects are left out of it (the process ends right after).
            gc.freeze()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return EXIT_OK
