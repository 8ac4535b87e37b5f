"""The local Step Functions engine: moto's ASL interpreter with in-process Lambdas and a virtual clock.

moto 5.2.5 carries LocalStack's Step Functions interpreter and executes real state machines when started with
``mock_aws(config={"stepfunctions": {"execute_state_machine": True}})``. :class:`LocalEngine` adds, for as long as
it is entered (patches installed on enter, the originals put back on exit):

- **In-process Lambdas.** ``moto.awslambda.models:LambdaFunction._invoke_lambda`` runs the function's Python
  handler (its dotted ``Handler``, or a callable registered for it) with AWS's context object, environment and
  error payload; see :mod:`workflow.local.lambda_runtime`.
- **Accounts.** The interpreter's own AWS clients (``boto_client_for`` in each module that imports it) land in the
  account of the Lambda function ARN they invoke, else of the task's ``Credentials.RoleArn``, else the engine's
  account (ItemReader/ResultWriter S3, aws-sdk tasks). moto would otherwise send them to its default account
  123456789012 and a function created in another account would not be found. A handler runs with credentials of
  its function's execution role (assumed through moto's STS) in its invocation environment, so its clients
  (``lambdas.aws.ClientProvider.from_environment()``) land in the function's account. Invocations run
  concurrently, up to a Map's MaxConcurrency.
- **The ResultWriter's output.** A Distributed Map's ResultWriter writes the manifest and the result files as
  Step Functions does (:mod:`workflow.local.map_results`); moto writes only an empty manifest.
- **A virtual clock.** Retry intervals (``retrier_decl:time``), Wait states (``WaitFunction._wait_interval``:
  Seconds, SecondsPath, Timestamp, TimestampPath) advance :attr:`LocalEngine.clock` instead of sleeping;
  execution dates, history event timestamps, ``$$.Execution.StartTime`` (as AWS's ``...T09:00:00.000Z``
  string; moto itself puts a datetime there, which breaks describe_execution), ``$$.State.EnteredTime`` and map
  run dates read it (``datetime`` in the modules of :data:`workflow.local.seams.DATETIME_MODULES`); and
  ``lambdas.clock.use(clock)`` makes the Lambda code read it too; a Lambda's parallel reads
  (``lambdas.parallel``) are charged on its modelled timeline at their parallel duration. Not virtual:
  ``TimeoutSeconds`` and
  ``HeartbeatSeconds`` of a state (real-time event waits in moto) and the real time handlers take to run.

Every seam is declared in :mod:`workflow.local.seams`; entering an engine raises ``SeamMoved`` naming the seam if a
moto upgrade moved one. Executions run on moto's background threads in real time; drive them through
:meth:`LocalEngine.driver` (a :class:`~workflow.local.driver.StepFunctionsDriver` over boto3), which works the
same against another endpoint (``ORGSYNC_SFN_ENDPOINT_URL``, see :mod:`workflow.local.driver`).

If no in-process ``mock_aws`` is active, the engine starts its own (and resets moto's state on exit); inside one
started by someone else (``LocalAws``) it joins it, enabling ``execute_state_machine`` for its lifetime if needed.
One engine may be entered at a time (the patches are process-wide).

Example::

    >>> with LocalEngine(account_id="300000000001", region="us-east-1") as engine:
    ...     fn = engine.create_function("Double", lambda event, context: {"n": event["n"] * 2})
    ...     sm = engine.create_state_machine(
    ...         "demo",
    ...         {"StartAt": "D", "States": {"D": {"Type": "Task", "Resource": "${DoubleArn}", "End": True}}},
    ...         substitutions={"DoubleArn": fn},
    ...     )
    ...     engine.run(sm, {"n": 21}).output
    {'n': 42}
"""

from __future__ import annotations

import datetime as _datetime
import io
import json
import os
import re
import threading
import time as _time
import types
import urllib.parse
import zipfile
from collections.abc import Callable
from typing import Any, Final
from unittest import mock

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError

from lambdas import clock as lambda_clock
from lambdas import parallel as lambda_parallel
from workflow.local import seams, timeline
from workflow.local.clock import VirtualClock
from workflow.local.driver import ExecutionResult, StepFunctionsDriver
from workflow.local.execution_time import ExecutionTimes
from workflow.local.item_batcher import batched_map_run, hide_item_batchers
from workflow.local.lambda_runtime import (
    Handler,
    InProcessLambdaRuntime,
    Invocation,
    RoleCredentials,
)
from workflow.local.map_results import MapResults, aws_timestamp

__all__ = [
    "EngineAlreadyActive",
    "ExecutionResult",
    "LocalEngine",
    "StepFunctionsDriver",
    "moto_compatible",
    "substitute_placeholders",
]

DEFAULT_REGION = "us-east-1"
#: The runtime recorded on functions the engine creates (the code itself runs in this interpreter).
LAMBDA_RUNTIME: Final = "python3.12"
LAMBDA_ROLE_NAME = "orgsync-local-lambda"
STATES_ROLE_NAME = "orgsync-local-states"
#: Role the engine assumes (moto does not require it to exist) to act in a chosen account.
ENGINE_ROLE_NAME = "orgsync-local-engine"
_EXECUTE_CONFIG: Final[dict[str, Any]] = {"stepfunctions": {"execute_state_machine": True}}
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_.:-]+)\}")
_ARN_ACCOUNT = re.compile(r"^arn:[^:]+:[^:]+:[^:]*:(\d{12}):")
_LAMBDA_ARN_IN_PATH = re.compile(r"arn:[^:/]+:lambda:[^:/]+:(\d{12}):function:")

_active_lock = threading.Lock()
_active: LocalEngine | None = None

#: moto's backends (and the emulated SSM's writes into S3) are not thread-safe: one request at a time reaches them,
#: and the virtual clock's due callbacks (SSM's marker writes) run under the same lock. Lambda and Step Functions
#: requests are not serialised: an Invoke lasts as long as its handler, which makes its own requests meanwhile.
BACKEND_LOCK = threading.RLock()
_UNSERIALISED_HOSTS = re.compile(r"^https?://(lambda|states|sync-states)\.")


class EngineAlreadyActive(RuntimeError):
    """A LocalEngine is already entered in this process (its patches are process-wide)."""


class UnresolvedPlaceholder(ValueError):
    """A state machine definition still holds ``${...}`` placeholders after substitution."""


def substitute_placeholders(definition: dict[str, Any] | str, substitutions: dict[str, str] | None = None) -> str:
    """Replace ``${Key}`` like CloudFormation's ``DefinitionSubstitutions``; refuse leftovers.

    Example::

        >>> substitute_placeholders({"Resource": "${FnArn}"}, {"FnArn": "arn:aws:lambda:us-east-1:1:function:f"})
        '{"Resource": "arn:aws:lambda:us-east-1:1:function:f"}'
    """
    text = definition if isinstance(definition, str) else json.dumps(definition)
    values = substitutions or {}

    def replace(match: re.Match[str]) -> str:
        key = match.group(1)
        return values[key] if key in values else match.group(0)

    result = _PLACEHOLDER.sub(replace, text)
    leftover = sorted(set(_PLACEHOLDER.findall(result)))
    if leftover:
        raise UnresolvedPlaceholder(f"no substitution for placeholders: {', '.join(leftover)}")
    return result


def moto_compatible(document: str) -> str:
    """The same state machine, in the form moto's ASL parser accepts.

    moto 5.2.5's grammar refuses an integer ``ToleratedFailurePercentage`` (``50``; AWS and CDK write it so) and
    accepts ``50.0``: such values are turned into floats. It has no ``ItemBatcher``: the engine emulates it, and
    keeps it in the ItemProcessor's Comment (:mod:`workflow.local.item_batcher`). Nothing else changes.

    Example::

        >>> moto_compatible('{"ToleratedFailurePercentage": 50}')
        '{"ToleratedFailurePercentage": 50.0}'
    """
    try:
        parsed = json.loads(document)
    except json.JSONDecodeError:
        return document  # let the engine report the syntax error as AWS would
    changed = False

    def visit(node: Any) -> None:
        nonlocal changed
        if isinstance(node, dict):
            value = node.get("ToleratedFailurePercentage")
            if isinstance(value, int) and not isinstance(value, bool):
                node["ToleratedFailurePercentage"] = float(value)
                changed = True
            for child in node.values():
                visit(child)
        elif isinstance(node, list):
            for child in node:
                visit(child)

    visit(parsed)
    changed = hide_item_batchers(parsed) or changed
    return json.dumps(parsed) if changed else document


class LocalEngine:
    """moto's Step Functions interpreter running real ASL with in-process Lambdas on a virtual clock.

    ``account_id``: where the engine creates functions and state machines (and the default account of the
    interpreter's S3/aws-sdk calls); by default the account the process's default credentials land in (under
    ``LocalAws``, the aggregator account; standalone, moto's 123456789012). ``region``: ``us-east-1`` by default.

    Attributes after entering: ``clock``, ``session`` (a boto3 session landing in ``account_id``),
    ``retry_sleeps`` and ``wait_sleeps`` (simulated seconds each Retry and Wait took, in order) and
    ``invocations`` (every in-process Lambda invocation).

    Example::

        with LocalEngine(account_id="300000000001") as engine:
            arn = engine.create_function("ResolveTargets", "lambdas.handlers.resolve_targets", environment=env)
            sm = engine.create_state_machine("orgsync", build_definition(), substitutions={...: arn})
            result = engine.run(sm, {"targets": ["r-abcd"], "regions": ["us-east-1"]})
    """

    def __init__(
        self,
        clock: VirtualClock | None = None,
        *,
        account_id: str | None = None,
        region: str | None = None,
    ) -> None:
        self.clock = clock or VirtualClock()
        self._requested_account = account_id
        self._requested_region = region
        self.region = region or DEFAULT_REGION
        self.retry_sleeps: list[float] = []
        self.wait_sleeps: list[float] = []
        self.runtime = InProcessLambdaRuntime(self.clock, self._role_credentials, backend_lock=BACKEND_LOCK)
        #: The modelled time on AWS of each execution (workflow.local.execution_time).
        self.times = ExecutionTimes()
        #: The Distributed Map Runs' child executions and their ResultWriter output (workflow.local.map_results).
        self.results = MapResults(self.clock)
        self._patches: list[seams.Patch] = []
        self._mock: Any = None
        self._config_patch: Any = None
        self._previous_lambda_clock: lambda_clock.Clock | None = None
        self._previous_tracker: lambda_parallel.Tracker | None = None
        self._session: boto3.Session | None = None
        self._account_id: str | None = None
        self._driver: StepFunctionsDriver | None = None
        self._interpreter_session: boto3.Session | None = None
        self._clients: dict[tuple[str, str, str], BaseClient] = {}
        self._clients_lock = threading.Lock()
        self._role_credentials_cache: dict[str, RoleCredentials] = {}

    # -- lifecycle ---------------------------------------------------------------------------------------------

    def __enter__(self) -> LocalEngine:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        """Check the seams, join or start moto, install the patches and the Lambda clock (what ``with`` does)."""
        global _active
        with _active_lock:
            if _active is not None:
                raise EngineAlreadyActive("a LocalEngine is already active in this process; exit it first")
            _active = self
        try:
            # Checked before anything changes, so a moved seam fails here, naming it, rather than mid-execution.
            seams.check_all()
            self._join_or_start_moto()
            # Read at start, after whoever set up moto (LocalAws) has pointed the environment at its region.
            self.region = (
                self._requested_region
                or os.environ.get("AWS_REGION")
                or os.environ.get("AWS_DEFAULT_REGION")
                or DEFAULT_REGION
            )
            self._interpreter_session = boto3.Session(
                aws_access_key_id="orgsync-local-interpreter", aws_secret_access_key="unused", region_name=self.region
            )
            self._session, self._account_id = self._engine_session()
            self._install_patches()
            self._previous_lambda_clock = lambda_clock.use(self.clock)
            self._previous_tracker = lambda_parallel.use(timeline.ParallelTimelines())
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Put every original back and leave moto as found (what leaving ``with`` does); safe to call twice."""
        global _active
        self._abort_running_executions()
        if self._previous_lambda_clock is not None:
            lambda_clock.use(self._previous_lambda_clock)
            self._previous_lambda_clock = None
            lambda_parallel.use(self._previous_tracker)
            self._previous_tracker = None
        while self._patches:
            self._patches.pop().uninstall()
        self._clients.clear()
        self._driver = None
        if self._config_patch is not None:
            self._config_patch.stop()
            self._config_patch = None
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        with _active_lock:
            if _active is self:
                _active = None

    # -- public API --------------------------------------------------------------------------------------------

    @property
    def account_id(self) -> str:
        """The account the engine creates functions and state machines in."""
        if self._account_id is None:
            raise RuntimeError("the engine is not started: use it as a context manager")
        return self._account_id

    @property
    def session(self) -> boto3.Session:
        """A boto3 session whose calls land in :attr:`account_id` and :attr:`region`."""
        if self._session is None:
            raise RuntimeError("the engine is not started: use it as a context manager")
        return self._session

    @property
    def invocations(self) -> list[Invocation]:
        """Every in-process Lambda invocation so far, in order."""
        return self.runtime.invocations

    def create_function(
        self,
        name: str,
        handler: str | Handler,
        *,
        environment: dict[str, str] | None = None,
        timeout: int = 900,
        role_arn: str | None = None,
        memory_size: int = 512,
    ) -> str:
        """Create (or reconfigure) the moto Lambda function ``name`` and return its ARN.

        ``handler`` is a dotted ``Handler`` (``lambdas.handlers.resolve_targets``) imported at invocation, or a
        Python callable run for this function. ``environment`` becomes the function's Environment variables, as
        CDK sets them. ``role_arn`` defaults to a role the engine creates in its account.

        Example::

            arn = engine.create_function("CheckMarker", "lambdas.handlers.check_marker", environment={"K": "v"})
        """
        client = self.session.client("lambda")
        role = role_arn or self._ensure_role(LAMBDA_ROLE_NAME, "lambda.amazonaws.com")
        dotted = handler if isinstance(handler, str) else _callable_name(handler)
        config: dict[str, Any] = {
            "Role": role,
            "Handler": dotted,
            "Timeout": timeout,
            "MemorySize": memory_size,
            "Environment": {"Variables": dict(environment or {})},
        }
        try:
            response = client.create_function(
                FunctionName=name, Runtime=LAMBDA_RUNTIME, Code={"ZipFile": _placeholder_zip()}, **config
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceConflictException":
                raise
            response = client.update_function_configuration(FunctionName=name, **config)
        arn = str(response["FunctionArn"])
        if not isinstance(handler, str):
            self.runtime.register(arn, handler)
        return arn

    def simulated_seconds(self, execution_arn: str) -> float | None:
        """Seconds the execution would take on AWS, modelled from the run's own durations (None if it did not run here).

        Not the local wall time: each call's latency, sleep, state transition and Lambda start-up on the timeline
        it happened on, and each Map's makespan of its children (see :mod:`workflow.local.execution_time`).
        """
        return self.times.seconds(execution_arn)

    def register_handler(self, function_arn: str, handler: Handler) -> None:
        """Run ``handler`` for an existing function (created by someone else) instead of its dotted Handler."""
        self.runtime.register(function_arn, handler)

    def create_state_machine(
        self,
        name: str,
        definition: dict[str, Any] | str,
        *,
        substitutions: dict[str, str] | None = None,
        role_arn: str | None = None,
    ) -> str:
        """Create or update the state machine ``name`` after ``${Key}`` substitution; return its ARN.

        Example::

            sm = engine.create_state_machine("orgsync", definition, substitutions={"CheckMarkerFunctionArn": arn})
        """
        document = moto_compatible(substitute_placeholders(definition, substitutions))
        return self.driver().deploy(name, document, role_arn or self.states_role_arn())

    def states_role_arn(self) -> str:
        """The execution role the engine gives state machines by default (created in its account on first use)."""
        return self._ensure_role(STATES_ROLE_NAME, "states.amazonaws.com")

    def driver(self) -> StepFunctionsDriver:
        """A :class:`StepFunctionsDriver` over a boto3 client of this engine's account and region."""
        if self._driver is None:
            self._driver = StepFunctionsDriver(self.session.client("stepfunctions"))
        return self._driver

    def run(
        self, state_machine_arn: str, execution_input: Any, *, name: str | None = None, timeout: float = 120
    ) -> ExecutionResult:
        """Start an execution and wait for its end (``timeout`` real seconds at most).

        Example::

            result = engine.run(sm, {"regions": ["us-east-1"]})
            assert result.status == "SUCCEEDED", result.cause
        """
        return self.driver().run(state_machine_arn, execution_input, name=name, timeout=timeout)

    def _abort_running_executions(self) -> None:
        """Stop executions still running (a test that gave up waiting), before their seams go back to real time.

        moto marks them ABORTED, and the interpreter ends them once the state they are in returns; a state that
        had not started yet may still run (moto does not check between states), then without the engine's seams.
        """
        if self._session is None or not self._patches:
            return
        client = self.driver().client
        try:
            for page in client.get_paginator("list_state_machines").paginate():
                for machine in page["stateMachines"]:
                    running = client.list_executions(
                        stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING"
                    )["executions"]
                    for execution in running:
                        client.stop_execution(
                            executionArn=execution["executionArn"], error="LocalEngine.Stopped", cause="engine exited"
                        )
        except ClientError:
            pass  # best effort: nothing to stop is the usual case

    # -- moto and accounts -------------------------------------------------------------------------------------

    def _join_or_start_moto(self) -> None:
        if not seams.botocore_stubber.enabled:
            self._mock = seams.mock_aws(config=_EXECUTE_CONFIG)  # type: ignore[call-overload]
            self._mock.start()
            return
        if not seams.default_user_config.get("stepfunctions", {}).get("execute_state_machine", False):
            self._config_patch = mock.patch.dict(seams.default_user_config, _EXECUTE_CONFIG)
            self._config_patch.start()

    def _engine_session(self) -> tuple[boto3.Session, str]:
        default = boto3.Session(region_name=self.region)
        default_account = str(default.client("sts").get_caller_identity()["Account"])
        if self._requested_account in (None, default_account):
            return default, default_account
        requested = str(self._requested_account)
        role = f"arn:aws:iam::{requested}:role/{ENGINE_ROLE_NAME}"
        # Created behind moto's back: nobody has credentials in that account yet, and an AssumeRole into a
        # missing role is refused under LocalAws (as on AWS).
        iam = seams.iam_backends[requested]["aws"]
        try:
            iam.get_role_by_arn(role)
        except seams.IamNotFoundException:
            trust = {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}],
            }
            iam.create_role(
                role_name=ENGINE_ROLE_NAME,
                assume_role_policy_document=json.dumps(trust),
                path="/",
                permissions_boundary=None,
                description="orgsync local engine: acts in this account",
                tags=[],
                max_session_duration="3600",
            )
        credentials = self._assume(role, "orgsync-local-engine")
        session = boto3.Session(
            aws_access_key_id=credentials.access_key_id,
            aws_secret_access_key=credentials.secret_access_key,
            aws_session_token=credentials.session_token,
            region_name=self.region,
        )
        return session, requested

    def _assume(self, role_arn: str, session_name: str) -> RoleCredentials:
        assert self._interpreter_session is not None
        with self._clients_lock:
            sts = self._interpreter_session.client("sts")
        # moto's AssumeRole issues keys that belong to the role's account, whoever calls it.
        issued = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
        return RoleCredentials(issued["AccessKeyId"], issued["SecretAccessKey"], issued["SessionToken"])

    def _role_credentials(self, role_arn: str) -> RoleCredentials:
        if role_arn not in self._role_credentials_cache:
            self._role_credentials_cache[role_arn] = self._assume(role_arn, "orgsync-local-lambda")
        return self._role_credentials_cache[role_arn]

    def _ensure_role(self, name: str, service: str) -> str:
        iam = self.session.client("iam")
        try:
            return str(iam.get_role(RoleName=name)["Role"]["Arn"])
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "NoSuchEntity":
                raise
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
        }
        return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])

    # -- the patches -------------------------------------------------------------------------------------------

    def _install_patches(self) -> None:
        runtime = self.runtime

        def invoke_lambda(function: Any, event: Any = None) -> tuple[str, bool, str]:
            return runtime.invoke(function, event)

        def wait_interval(wait_function: Any, env: Any, wait_seconds: int) -> None:
            if wait_seconds > 0 and env.is_running():
                with BACKEND_LOCK:
                    self.wait_sleeps.append(float(wait_seconds))
                    self.clock.sleep(wait_seconds)

        _, _, original_details = seams.START_EXECUTION_DETAILS.resolve()

        def start_execution_details(execution: Any) -> Any:
            details = original_details(execution)
            if isinstance(details.start_time, _datetime.datetime):
                details.start_time = aws_timestamp(details.start_time)
            return details

        plan: list[tuple[seams.Seam, Any]] = [
            (seams.INVOKE_LAMBDA, invoke_lambda),
            (seams.DISTRIBUTED_MAP_RUN, batched_map_run(seams.DISTRIBUTED_MAP_RUN.resolve()[2])),
            (seams.LAMBDA_TASK_ERROR, _lambda_service_error_names(seams.LAMBDA_TASK_ERROR.resolve()[2])),
            (seams.RETRY_TIME, self._time_module()),
            (seams.WAIT_INTERVAL, wait_interval),
            (seams.START_EXECUTION_DETAILS, start_execution_details),
        ]
        plan += [(seam, self._client_for) for seam in seams.BOTO_CLIENT_SEAMS]
        datetime_module = self._datetime_module()
        plan += [(seam, datetime_module) for seam in seams.DATETIME_SEAMS]
        plan += self.times.patches()
        for seam, replacement in plan:
            owner, attribute, _ = seam.resolve()
            patch = seams.Patch(owner, attribute, replacement)
            patch.install()
            self._patches.append(patch)
        # Resolved now, so that they wrap the timeline's wrappers of the same seams (put back in reverse order).
        for seam, replacement in self.results.patches():
            owner, attribute, _ = seam.resolve()
            patch = seams.Patch(owner, attribute, replacement)
            patch.install()
            self._patches.append(patch)
        # seams.SERIALISED_REQUESTS, patched on the registered stubber instance (the class keeps moto's method).
        stubber = seams.botocore_stubber
        patch = seams.Patch(stubber, "process_request", _serialised(stubber.process_request))
        patch.install()
        self._patches.append(patch)

    def _retry_sleep(self, seconds: float) -> None:
        # No lock around the clock: a running handler's Timeout is measured on its own waits
        # (lambda_runtime.InvocationClock), so other Map iterations' retries do not eat into it.
        with BACKEND_LOCK:
            self.retry_sleeps.append(float(seconds))
            self.clock.sleep(seconds)

    def _time_module(self) -> types.ModuleType:
        shim = types.ModuleType("time", "time, with sleep() advancing the local engine's virtual clock")
        shim.__dict__.update({k: v for k, v in vars(_time).items() if not k.startswith("__")})
        shim.sleep = self._retry_sleep  # type: ignore[attr-defined]
        shim.time = self.clock.time  # type: ignore[attr-defined]
        return shim

    def _datetime_module(self) -> types.ModuleType:
        clock = self.clock

        class VirtualDatetime(_datetime.datetime):
            """datetime whose now() reads the virtual clock."""

            @classmethod
            def now(cls, tz: _datetime.tzinfo | None = None) -> _datetime.datetime:  # type: ignore[override]
                current = clock.now()
                # Naive "now" is UTC: moto compares it with Timestamp waits parsed from "...Z" as naive values.
                return current.astimezone(tz) if tz is not None else current.replace(tzinfo=None)

            @classmethod
            def utcnow(cls) -> _datetime.datetime:  # type: ignore[override]
                return clock.now().replace(tzinfo=None)

        shim = types.ModuleType("datetime", "datetime, with datetime.now() reading the local engine's virtual clock")
        shim.__dict__.update({k: v for k, v in vars(_datetime).items() if not k.startswith("__")})
        shim.datetime = VirtualDatetime  # type: ignore[attr-defined]
        return shim

    def _client_for(self, region: str, service: str, state_credentials: Any = None) -> BaseClient:
        """Stands in for moto's ``boto_client_for``: the same client settings, landing in the right account."""
        role_arn = getattr(state_credentials, "role_arn", None)
        account = _account_of(role_arn) if role_arn else None
        account = account or self.account_id
        key = (service, region, account)
        with self._clients_lock:
            client = self._clients.get(key)
            if client is not None:
                return client
            assert self._interpreter_session is not None
            kwargs: dict[str, Any] = {}
            if not seams.botocore_stubber.enabled:
                kwargs["endpoint_url"] = f"http://localhost:{seams.moto_server_port()}"
            client = self._interpreter_session.client(
                service,  # type: ignore[call-overload]
                region_name=region,
                config=Config(
                    parameter_validation=False,
                    retries={"max_attempts": 0, "total_max_attempts": 1},
                    connect_timeout=seams.TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                    read_timeout=seams.TimeoutSeconds.DEFAULT_TIMEOUT_SECONDS,
                ),
                **kwargs,
            )
            client.meta.events.register("before-call", _account_header(service, account))
            self._clients[key] = client
            return client  # type: ignore[no-any-return]


def _lambda_service_error_names(from_error: Callable[[Any, Any, Exception], Any]) -> Callable[..., Any]:
    """A Lambda task failed by a Lambda service error (the Invoke call failed) is named ``Lambda.<code>``, as on AWS."""

    def named(task: Any, env: Any, ex: Exception) -> Any:
        event = from_error(task, env, ex)
        if isinstance(ex, ClientError):
            name = f"Lambda.{ex.response['Error']['Code']}"
            event.error_name = seams.CustomErrorName(name)
            details = (event.event_details or {}).get("lambdaFunctionFailedEventDetails")
            if details is not None:
                details["error"] = name
        return event

    return named


def _serialised(process_request: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def process(request: Any) -> Any:
        if _UNSERIALISED_HOSTS.match(str(request.url)):
            return process_request(request)
        with BACKEND_LOCK:
            return process_request(request)

    return process


def _account_header(service: str, account: str) -> Callable[..., None]:
    def add_header(params: dict[str, Any], **_: Any) -> None:
        target = account
        if service == "lambda":
            # Invoke's FunctionName is in the URL path; a cross-account function is found in its own account.
            found = _LAMBDA_ARN_IN_PATH.search(urllib.parse.unquote(str(params.get("url_path", ""))))
            if found:
                target = found.group(1)
        # moto routes a request by this header before the access key (moto.core.responses.get_current_account).
        params.setdefault("headers", {})["x-moto-account-id"] = target

    return add_header


def _account_of(arn: str) -> str | None:
    found = _ARN_ACCOUNT.match(arn)
    return found.group(1) if found else None


def _callable_name(handler: Handler) -> str:
    module = getattr(handler, "__module__", None) or "inprocess"
    name = getattr(handler, "__qualname__", None) or type(handler).__name__
    return f"{module}.{re.sub(r'[^A-Za-z0-9_.]', '_', name)}"


def _placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "orgsync local engine: the handler runs in-process, not from this archive.\n")
    return buffer.getvalue()
