"""``LocalRun``: a scenario's simulated AWS with orgsync's state machine deployed on the local engine.

Entering a :class:`LocalRun` enters :class:`~workflow.local.aws.LocalAws` (moto, the organization, the bucket,
the SSM emulation) and :class:`~workflow.local.engine.LocalEngine` (moto's ASL interpreter, in-process Lambdas,
the virtual clock) in the aggregator account and region, creates the functions of
:mod:`workflow.functions` with the deployment's environment (destination = the scenario's aggregator, the
organization reader role) and deploys :func:`workflow.definition.build_definition` with its substitutions:
the document that runs here is the document CDK deploys.

:meth:`LocalRun.run` starts an execution, waits for it (optionally reporting progress as outcome records
appear) and returns a :class:`~workflow.runs.ExecutionResult` with the report read back from S3.

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

import dataclasses
import json
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from lambdas import aws as lambda_aws
from lambdas.canary import canary_key
from lambdas.models import AccountTargets, Outcome
from lambdas.report import items_key
from lambdas.settings import Settings
from workflow.definition import ACCOUNTS_PER_BATCH, MAX_CONCURRENCY, build_definition, substitutions
from workflow.functions import ALL_FUNCTIONS
from workflow.local import handler_cpu
from workflow.local.aws import LocalAws
from workflow.local.clock import VirtualClock
from workflow.local.engine import LocalEngine
from workflow.local.scenario import Scenario, load_scenario
from workflow.runs import ExecutionResult, list_outcomes, read_report

STATE_MACHINE_NAME = "orgsync"

#: Progress callback: the outcomes recorded so far and the number of account-regions expected.
ProgressHook = Callable[[list[Outcome], int | None], None]


class LocalRun:
    """orgsync deployed on the local engine against ``scenario``'s simulated organization.

    Attributes once entered: ``aws`` (:class:`LocalAws`), ``engine`` (:class:`LocalEngine`), ``clock``,
    ``settings`` (the deployed defaults), ``state_machine_arn`` and ``function_arns``.
    """

    def __init__(
        self,
        scenario: Scenario | str | Path,
        clock: VirtualClock | None = None,
        *,
        accounts_per_batch: int = ACCOUNTS_PER_BATCH,
        max_concurrency: int = MAX_CONCURRENCY,
        charge_handler_cpu: bool = False,
    ) -> None:
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
        # What CDK's ``accountsPerBatch`` and ``maxConcurrency`` set on the deployed definition.
        self.accounts_per_batch = accounts_per_batch
        self.max_concurrency = max_concurrency
        self.state_machine_arn = ""
        self.function_arns: dict[str, str] = {}
        #: The handlers' own CPU on the modelled timeline, when asked for (:mod:`workflow.local.handler_cpu`).
        self.handler_cpu = handler_cpu.HandlerCpu() if charge_handler_cpu else None
        self._previous_handler_cpu: handler_cpu.HandlerCpu | None = None
        self._entered = False

    def __enter__(self) -> LocalRun:
        lambda_aws.clear_credentials_cache()
        self.aws.__enter__()
        self._previous_handler_cpu = handler_cpu.use(self.handler_cpu)
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
            handler_cpu.use(self._previous_handler_cpu)
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
            build_definition(accounts_per_batch=self.accounts_per_batch, max_concurrency=self.max_concurrency),
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
        return list_outcomes(self.aws.client("s3"), self.scenario.aggregator.bucket, execution_name)

    def expected_items(self, execution_name: str) -> int | None:
        """How many ACTIVE account-regions the execution processes (None until ``Resolve targets`` wrote them):
        the regions of the Map's items (one per account) and the canary, which runs before them
        (:mod:`lambdas.canary`)."""
        s3 = self.aws.client("s3")
        try:
            body = s3.get_object(Bucket=self.scenario.aggregator.bucket, Key=items_key(execution_name))
        except s3.exceptions.NoSuchKey:
            return None
        listed = s3.list_objects_v2(Bucket=self.scenario.aggregator.bucket, Prefix=canary_key(execution_name))
        accounts = [AccountTargets.from_dict(raw) for raw in json.loads(body["Body"].read())]
        return sum(len(account.regions) for account in accounts) + int(listed.get("KeyCount", 0))

    def wait(
        self,
        execution_arn: str,
        execution_name: str,
        *,
        timeout: float = 600,
        on_progress: ProgressHook | None = None,
        poll_interval: float = 0.25,
    ) -> ExecutionResult:
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
        finished = driver.wait(execution_arn, timeout=timeout)
        return dataclasses.replace(finished, report=self.read_report(execution_name))

    def run(
        self,
        execution_input: dict[str, Any],
        *,
        name: str | None = None,
        timeout: float = 600,
        on_progress: ProgressHook | None = None,
    ) -> ExecutionResult:
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
        return read_report(self.aws.client("s3"), self.scenario.aggregator.bucket, execution_name)

    def history(self, execution_arn: str) -> list[dict[str, Any]]:
        """The parent execution's history events."""
        return self.engine.driver().history(execution_arn)

    def now(self) -> datetime:
        """The simulated time."""
        return self.clock.now()
