"""``LocalRun``: a scenario's simulated AWS with orgsync's state machine deployed on the local engine.

Entering a :class:`LocalRun` enters :class:`~workflow.local.aws.LocalAws` (moto, the organization, the bucket,
the SSM emulation) and :class:`~workflow.local.engine.LocalEngine` (moto's ASL interpreter, in-process Lambdas,
the virtual clock) in the aggregator account and region, creates the five functions of
:mod:`workflow.functions` with the deployment's environment (destination = the scenario's aggregator, the
organization reader role) and deploys :func:`workflow.definition.build_definition` with its substitutions:
the document that runs here is the document CDK deploys.

:meth:`LocalRun.run` starts an execution, waits for it (optionally reporting progress as outcome records
appear) and returns a :class:`RunResult` with the report read back from S3.

Example::

    >>> from workflow.local.scenario import example_scenario_path, load_scenario
    >>> with LocalRun(load_scenario(example_scenario_path())) as local:
    ...     result = local.run({"targets": ["/Workloads/Prod"], "regions": ["ap-northeast-1"]})
    >>> result.status, result.error
    ('FAILED', 'RolloutIncomplete')
    >>> result.report["summary"]["byStatus"]
    {'CONFLICT': 1, 'CREATED': 4, 'IN_SYNC': 1}
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from lambdas import aws as lambda_aws
from lambdas.models import Outcome
from lambdas.report import items_key, report_key, results_prefix
from lambdas.settings import Settings
from workflow.definition import build_definition, substitutions
from workflow.functions import ALL_FUNCTIONS
from workflow.local.aws import LocalAws
from workflow.local.clock import VirtualClock
from workflow.local.driver import ExecutionResult
from workflow.local.engine import LocalEngine
from workflow.local.scenario import Scenario, load_scenario

STATE_MACHINE_NAME = "orgsync"

#: Progress callback: the outcomes recorded so far and the number of account-regions expected.
ProgressHook = Callable[[list[Outcome], int | None], None]


@dataclass(frozen=True)
class RunResult:
    """How a local execution ended, with the report it wrote.

    ``report`` is the S3 report (None when the execution failed before writing one, e.g. ``InvalidInput``);
    ``output`` the execution's output (None unless it succeeded).
    """

    execution_arn: str
    execution_name: str
    status: str
    error: str | None
    cause: str | None
    output: Any | None
    report: dict[str, Any] | None

    @property
    def succeeded(self) -> bool:
        """True when the execution SUCCEEDED (nothing needs attention)."""
        return self.status == "SUCCEEDED"

    def cause_message(self) -> str | None:
        """The cause in words: a Lambda error's ``errorMessage`` (InvalidInput's field and value), else the cause."""
        if self.cause is None:
            return None
        try:
            parsed = json.loads(self.cause)
        except ValueError:
            return self.cause
        if isinstance(parsed, dict) and "errorMessage" in parsed:
            return str(parsed["errorMessage"])
        return self.cause

    def statuses(self) -> dict[tuple[str, str], str]:
        """``{(accountId, region): status}`` from the report (empty without one)."""
        results = (self.report or {}).get("results", [])
        return {(r["accountId"], r["region"]): r["status"] for r in results}

    def result(self, account_id: str, region: str) -> dict[str, Any]:
        """One account-region's result from the report (KeyError if absent)."""
        for result in (self.report or {}).get("results", []):
            if result["accountId"] == account_id and result["region"] == region:
                return dict(result)
        raise KeyError(f"no result for {account_id} {region}")


class LocalRun:
    """orgsync deployed on the local engine against ``scenario``'s simulated organization.

    Attributes once entered: ``aws`` (:class:`LocalAws`), ``engine`` (:class:`LocalEngine`), ``clock``,
    ``settings`` (the deployed defaults), ``state_machine_arn`` and ``function_arns``.
    """

    def __init__(self, scenario: Scenario | str | Path, clock: VirtualClock | None = None) -> None:
        if not isinstance(scenario, Scenario):
            scenario = load_scenario(scenario)
        self.scenario = scenario
        self.clock = clock or VirtualClock()
        self.aws = LocalAws(scenario, self.clock)
        aggregator = scenario.aggregator
        self.engine = LocalEngine(self.clock, account_id=aggregator.account_id, region=aggregator.region)
        self.settings = Settings(
            destination_bucket=aggregator.bucket,
            destination_region=aggregator.region,
            destination_prefix=aggregator.prefix,
            organization_reader_role_arn=self.aws.organization_reader_role_arn,
        )
        self.state_machine_arn = ""
        self.function_arns: dict[str, str] = {}
        self._entered = False

    def __enter__(self) -> LocalRun:
        lambda_aws.clear_credentials_cache()
        self.aws.__enter__()
        try:
            self.engine.__enter__()
            self._deploy()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        self._entered = True
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._entered = False
        try:
            self.engine.stop()
        finally:
            self.aws.__exit__(exc_type, exc, tb)
            lambda_aws.clear_credentials_cache()

    def _deploy(self) -> None:
        environment = self.settings.to_env()
        self.function_arns = {
            function.substitution_key: self.engine.create_function(
                function.name,
                function.handler,
                environment=environment,
                timeout=function.timeout_seconds,
                memory_size=function.memory_mb,
            )
            for function in ALL_FUNCTIONS
        }
        self.state_machine_arn = self.engine.create_state_machine(
            STATE_MACHINE_NAME,
            build_definition(),
            substitutions=substitutions(self.function_arns, self.scenario.aggregator.bucket),
        )

    # -- running -----------------------------------------------------------------------------------------------

    def start(self, execution_input: dict[str, Any], name: str | None = None) -> tuple[str, str]:
        """Start an execution; returns ``(execution_arn, execution_name)`` without waiting.

        Example::

            arn, name = local.start({"targets": ["r-abcd"], "regions": ["us-east-1"]})
        """
        execution_name = name or f"orgsync-{uuid.uuid4().hex[:12]}"
        arn = self.engine.driver().start(self.state_machine_arn, execution_input, name=execution_name)
        return arn, execution_name

    def outcomes(self, execution_name: str) -> list[Outcome]:
        """The outcome records written so far by ``execution_name`` (for live progress), by account and region."""
        s3 = self.aws.client("s3")
        bucket, prefix = self.scenario.aggregator.bucket, results_prefix(execution_name)
        outcomes: list[Outcome] = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                outcomes.append(Outcome.from_dict(json.loads(body)))
        return sorted(outcomes, key=lambda o: (o.accountId, o.region))

    def expected_items(self, execution_name: str) -> int | None:
        """How many ACTIVE account-regions the execution processes (None until ``Resolve targets`` wrote them)."""
        s3 = self.aws.client("s3")
        try:
            body = s3.get_object(Bucket=self.scenario.aggregator.bucket, Key=items_key(execution_name))
        except s3.exceptions.NoSuchKey:
            return None
        return len(json.loads(body["Body"].read()))

    def wait(
        self,
        execution_arn: str,
        execution_name: str,
        *,
        timeout: float = 600,
        on_progress: ProgressHook | None = None,
        poll_interval: float = 0.25,
    ) -> RunResult:
        """Wait for an execution started by :meth:`start`, calling ``on_progress`` while it runs."""
        driver = self.engine.driver()
        if on_progress is not None:
            deadline = time.monotonic() + timeout
            client = self.engine.session.client("stepfunctions")
            while client.describe_execution(executionArn=execution_arn)["status"] == "RUNNING":
                on_progress(self.outcomes(execution_name), self.expected_items(execution_name))
                if time.monotonic() > deadline:
                    break
                time.sleep(poll_interval)
            on_progress(self.outcomes(execution_name), self.expected_items(execution_name))
        return self._result(driver.wait(execution_arn, timeout=timeout), execution_name)

    def run(
        self,
        execution_input: dict[str, Any],
        *,
        name: str | None = None,
        timeout: float = 600,
        on_progress: ProgressHook | None = None,
    ) -> RunResult:
        """Run one execution to its end and read its report back.

        Outside a ``with`` block, the run is a one-off: the simulated AWS is started for it and stopped after.

        Example::

            result = local.run({"targets": ["/Workloads/Prod"], "regions": ["ap-northeast-1"]})
            result.statuses()[("200000000001", "ap-northeast-1")]  # 'CREATED'
        """
        if not self._entered:
            with self:
                return self.run(execution_input, name=name, timeout=timeout, on_progress=on_progress)
        arn, execution_name = self.start(execution_input, name)
        return self.wait(arn, execution_name, timeout=timeout, on_progress=on_progress)

    def read_report(self, execution_name: str) -> dict[str, Any] | None:
        """The report of ``execution_name`` from S3 (None if it wrote none)."""
        s3 = self.aws.client("s3")
        try:
            body = s3.get_object(Bucket=self.scenario.aggregator.bucket, Key=report_key(execution_name))
        except s3.exceptions.NoSuchKey:
            return None
        report: dict[str, Any] = json.loads(body["Body"].read())
        return report

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        """The parent execution's history events."""
        return self.engine.driver().history(execution_arn)

    def _result(self, result: ExecutionResult, execution_name: str) -> RunResult:
        return RunResult(
            execution_arn=result.execution_arn,
            execution_name=execution_name,
            status=result.status,
            error=result.error,
            cause=result.cause,
            output=result.output,
            report=self.read_report(execution_name),
        )

    def now(self) -> datetime:
        """The simulated time."""
        return self.clock.now()
