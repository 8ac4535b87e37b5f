"""``orgsync demo`` and ``orgsync run --scenario``: the workflow on the local engine, followed live.

:class:`~workflow.local.runner.LocalRun` deploys the real definition and Lambda handlers on the local engine
against the scenario's simulated organization. The execution runs on the engine's threads; meanwhile the live
view polls it exactly as it polls AWS (:class:`~workflow.console.remote.ExecutionPoller`: the history for
retries and errors, the map run for the item count, the outcome records in the bucket for the statuses).

Example::

    >>> from workflow.local.scenario import example_scenario_path, load_scenario
    >>> demo_input(load_scenario(example_scenario_path()))
    {'targets': ['/'], 'regions': ['ap-east-1', 'ap-northeast-1', 'us-east-1']}
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from workflow.console.errors import CliError
from workflow.console.live import follow
from workflow.console.remote import ExecutionPoller, mode_of
from workflow.console.report import Report


@dataclass(frozen=True)
class LocalResult:
    """How a local execution ended, with its report (None when it wrote none, e.g. ``InvalidInput``)."""

    execution_arn: str
    status: str
    error: str | None
    cause: str | None
    report: Report | None


def demo_input(scenario: Any) -> dict[str, Any]:
    """The demo's input: the whole organization (``/`` is the root), every region the scenario mentions.

    The destination, sync name and member role come from the deployed defaults, as they would on AWS.
    """
    return {"targets": ["/"], "regions": list(scenario.regions)}


def load(path: str | None) -> Any:
    """The scenario at ``path`` (the bundled example when None); a bad file is one :class:`CliError` line."""
    from workflow.local.scenario import ScenarioError, example_scenario_path, load_scenario

    file = Path(path) if path else example_scenario_path()
    if path and not file.exists():
        raise CliError(f"scenario file {path!r} does not exist")
    try:
        return load_scenario(file)
    except ScenarioError as exc:
        raise CliError(f"scenario {exc}") from exc


def run(
    scenario_path: str | None,
    execution_input: dict[str, Any] | None,
    *,
    console: Console | None,
    interval: float = 0.1,
    timeout: float = 600,
    name: str | None = None,
) -> LocalResult:
    """Run one execution on the local engine; draw the live view on ``console`` unless it is None."""
    from workflow.local.runner import LocalRun

    scenario = load(scenario_path)
    execution_input = demo_input(scenario) if execution_input is None else execution_input
    with LocalRun(scenario) as local:
        arn, name = local.start(execution_input, name)
        if console is not None:
            poller = ExecutionPoller(
                local.engine.session.client("stepfunctions"),
                local.aws.client("s3", scenario.aggregator.account_id),
                arn,
                mode=mode_of(execution_input),
                bucket=scenario.aggregator.bucket,
                retry_counter=lambda: len(local.engine.retry_sleeps),
            )
            follow(poller.snapshot, console, interval=interval)
        result = local.wait(arn, name, timeout=timeout)
    report = Report.from_dict(result.report, source=f"report of {name}") if result.report else None
    return LocalResult(
        execution_arn=result.execution_arn,
        status=result.status,
        error=result.error,
        cause=result.cause_message(),
        report=report,
    )
