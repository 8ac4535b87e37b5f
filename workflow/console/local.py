"""``orgsync demo`` and ``orgsync run --scenario``: the local engine as a :class:`~workflow.runs.RunBackend`.

:class:`LocalBackend` deploys the real definition and Lambda handlers on the local engine
(:class:`~workflow.local.runner.LocalRun`) against the scenario's simulated organization. The execution runs on
the engine's threads; the live view follows it through the same Step Functions and S3 APIs as on AWS
(:class:`~workflow.console.poller.ExecutionPoller`). When it ends, the backend saves what ``orgsync report`` and
``orgsync watch`` need (the execution's description, history and report) under the local state directory
(:mod:`workflow.console.saved`), so the execution ARN it printed can be used after the process is gone.

Example::

    >>> demo_input()["targets"]
    ['/Workloads', '/Sandbox']
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from importlib import resources
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from workflow.console.errors import CliError
from workflow.console.remote import mode_of
from workflow.runs import ExecutionResult

if TYPE_CHECKING:
    from rich.console import Console

    from workflow.console.state import LocalState
    from workflow.local.runner import LocalRun
    from workflow.local.scenario import Scenario

#: The demo's input, shipped with the example scenario; ``docs/examples/rollout-input.json`` is the same document
#: (a test keeps them equal), so ``orgsync demo`` runs exactly the README's example.
DEMO_INPUT = "example-input.json"


def demo_input() -> dict[str, Any]:
    """The input ``orgsync demo`` runs: the README's example, ``docs/examples/rollout-input.json``."""
    document: dict[str, Any] = json.loads(resources.files("workflow.scenarios").joinpath(DEMO_INPUT).read_text())
    return document


def load(path: str | None) -> Scenario:
    """The scenario at ``path`` (the bundled example when None); a bad file is one :class:`CliError` line."""
    from workflow.local.scenario import ScenarioError, example_scenario_path, load_scenario

    file = Path(path) if path else example_scenario_path()
    if path and not file.exists():
        raise CliError(f"scenario file {path!r} does not exist")
    try:
        return load_scenario(file)
    except ScenarioError as exc:
        raise CliError(f"scenario {exc}") from exc


class LocalBackend:
    """orgsync on the local engine against a scenario, as a :class:`~workflow.runs.RunBackend`.

    Example::

        with LocalBackend(load(None)) as backend:
            arn = backend.start(demo_input())
            backend.follow(arn, None, interval=0.1)
            result = backend.finish(arn)
    """

    def __init__(
        self, scenario: Scenario | None = None, *, state: LocalState | None = None, timeout: float = 600
    ) -> None:
        if (scenario is None) == (state is None):
            raise ValueError("a LocalBackend runs on a scenario (one-off) or on a lasting state, one of them")
        self.scenario = scenario
        self.state = state
        self.timeout = timeout
        #: Where finished executions are saved for report/watch: the lasting state's, else the default one.
        self.state_dir = state.directory if state is not None else None
        self._local: LocalRun | None = None
        self._stack = ExitStack()
        self._modes: dict[str, Any] = {}

    def __enter__(self) -> LocalBackend:
        from workflow.console.state import open_world
        from workflow.local.runner import LocalRun

        if self.state is not None:
            # The lasting world: opened from the state, saved back when the block ends without an error.
            self._local = self._stack.enter_context(open_world(self.state))
        else:
            assert self.scenario is not None
            self._local = self._stack.enter_context(LocalRun(self.scenario))
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._local = None
        self._stack.__exit__(exc_type, exc, tb)

    @property
    def local(self) -> LocalRun:
        """The running local deployment (only inside ``with``)."""
        if self._local is None:
            raise RuntimeError("LocalBackend is used inside a with block")
        return self._local

    def start(self, execution_input: dict[str, Any], name: str | None = None) -> str:
        """Start an execution on the local engine; returns its ARN."""
        arn, _ = self.local.start(execution_input, name)
        self._modes[arn] = mode_of(execution_input)
        return arn

    def follow(self, execution_arn: str, console: Console | None, interval: float) -> None:
        """Draw the live view on ``console`` until the execution ends (``None``: nothing to draw, the wait is in
        :meth:`finish`)."""
        if console is None:
            return
        from workflow.console.poller import ExecutionPoller, follow_poller

        local = self.local
        poller = ExecutionPoller(
            local.engine.session.client("stepfunctions"),
            local.aws.client("s3", local.scenario.aggregator.account_id),
            execution_arn,
            mode=self._modes[execution_arn],
            bucket=local.scenario.aggregator.bucket,
            # The local engine's Map children are not listable: it counts each retry's sleep instead, and each
            # wait of a batch before it tries account-regions again or checks pending markers again.
            retry_counter=lambda: len(local.engine.retry_sleeps) + len(local.engine.wait_sleeps),
        )
        follow_poller(poller, console, interval)

    def finish(self, execution_arn: str) -> ExecutionResult:
        """Wait for the execution's end, save it for ``report``/``watch`` and return it with its report."""
        from workflow.console import saved

        result = self.local.wait(execution_arn, execution_arn.rsplit(":", 1)[-1], timeout=self.timeout)
        description = self.local.engine.session.client("stepfunctions").describe_execution(executionArn=execution_arn)
        history = self.local.history(execution_arn)
        saved.save_execution(dict(description), history, result.report, state_dir=self.state_dir)
        return result
