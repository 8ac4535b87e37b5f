"""Runs moto Lambda functions in-process: the function's Python handler, called as AWS's Python runtime would.

moto runs Lambda code in Docker, which these machines do not have. The local engine replaces
``moto.awslambda.models.LambdaFunction._invoke_lambda`` with :meth:`InProcessLambdaRuntime.invoke`, so a function
created through boto3 ``lambda.create_function`` (any Zip placeholder) runs the handler its ``Handler`` names
(``lambdas.handlers.resolve_targets``: module ``lambdas.handlers``, function ``resolve_targets``) or a Python
callable registered for its ARN.

What a handler sees, as on AWS:

- ``handler(event, context)``; ``context`` has ``function_name``, ``invoked_function_arn``, ``aws_request_id``,
  ``memory_limit_in_mb``, ``log_group_name`` and ``get_remaining_time_in_millis()`` (the function Timeout
  counted on the virtual clock);
- the function's ``Environment`` variables plus ``AWS_REGION``, ``AWS_LAMBDA_FUNCTION_NAME`` and credentials of
  the function's execution role, as the invocation's environment (:func:`lambdas.invocation.environment`; a
  ContextVar set in the invocation's thread, so ``os.environ`` is never changed): a
  ``lambdas.aws.ClientProvider.from_environment()`` then lands in the role's account, the function's account;
- its own clock (``lambdas.clock.during``): the engine's virtual clock, with the invocation's own time counted
  against its Timeout (other invocations' waits move the shared time, not this one's budget);
- its own simulated timeline (:mod:`workflow.local.timeline`): its waits and the latency of each AWS call it makes
  (:mod:`workflow.local.latency`). ``get_remaining_time_in_millis()`` and the Timeout read that timeline; the
  caller's timeline (a Map iteration, an execution) is charged the start-up and the invocation's duration. A start
  is cold when more invocations of the function run at once than ever before (each needs an execution
  environment of its own: as many as the peak concurrency, which a Map's MaxConcurrency bounds here as on AWS),
  warm otherwise.

An exception becomes AWS's error payload ``{"errorMessage", "errorType", "requestId", "stackTrace"}`` with
``errorType`` the class name; Step Functions then uses ``errorType`` as the error name (Retry/Catch match it)
and the payload as the cause. A handler whose simulated run (its sleeps on ``lambdas.clock`` and its calls'
latencies) passes the function Timeout fails with ``Sandbox.Timedout``, as on AWS.

Invocations run concurrently, on the interpreter's worker threads (as many as a Map's MaxConcurrency): nothing
here is process-wide but the handler code itself, and the stdout capture is per thread.

Example::

    >>> runtime = InProcessLambdaRuntime(VirtualClock())
    >>> runtime.register("arn:aws:lambda:us-east-1:300000000001:function:Echo", lambda event, context: event)
"""

from __future__ import annotations

import importlib
import io
import json
import sys
import threading
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from lambdas import clock as lambda_clock
from lambdas import invocation as lambda_invocation
from workflow.local import handler_cpu, latency, timeline
from workflow.local.clock import VirtualClock
from workflow.local.timeline import Timeline

#: A Lambda handler: ``handler(event, context) -> JSON-serialisable result``.
Handler = Callable[[Any, Any], Any]

#: What the local runtime adds to every function's environment: no X-Ray daemon listens here, so Powertools'
#: Tracer stays off (it also turns itself off outside Lambda), as AWS SAM's local runtime does.
LOCAL_ENVIRONMENT = {"POWERTOOLS_TRACE_DISABLED": "true"}


class _InvocationStdout(io.TextIOBase):
    """``sys.stdout`` during an invocation: the invoking thread's writes go to the function's log, every other
    thread's to the stream that was there before.

    A plain ``redirect_stdout`` swaps the process-wide stream from an engine worker thread: interleaved with the
    main thread's own swap (rich's live view does one) a restore could leave a stale stream that swallowed
    everything printed afterwards. This one, left behind by such an interleaving, only forwards.
    """

    def __init__(self, previous: Any, log: io.StringIO) -> None:
        super().__init__()
        self.previous = previous
        self._log: io.StringIO | None = log
        self._owner = threading.get_ident()

    def write(self, text: str) -> int:
        log = self._log
        if log is not None and threading.get_ident() == self._owner:
            return log.write(text)
        written: int = self.previous.write(text)
        return written

    def flush(self) -> None:
        self.previous.flush()

    def detach_log(self) -> None:
        self._log = None


#: Serialises the engine threads' swaps of ``sys.stdout``: a read-then-assign interleaved with another thread's
#: would install a stream whose ``previous`` skips the other's, and that thread's prints would leak past its log.
_STDOUT_SWAP = threading.Lock()


@contextmanager
def captured_stdout(log: io.StringIO) -> Iterator[None]:
    """Capture what the current thread prints into ``log``; other threads print where they did before."""
    with _STDOUT_SWAP:
        stream = _InvocationStdout(sys.stdout, log)
        sys.stdout = stream
    try:
        yield
    finally:
        with _STDOUT_SWAP:
            stream.detach_log()
            _unlink(stream)


def _unlink(stream: _InvocationStdout) -> None:
    """Take ``stream`` out of the chain of invocation streams, wherever a later invocation left it."""
    if sys.stdout is stream:
        sys.stdout = stream.previous
        return
    # An invocation that started later and is still running wraps it: link that one past it.
    current = sys.stdout
    while isinstance(current, _InvocationStdout):
        if current.previous is stream:
            current.previous = stream.previous
            return
        current = current.previous


class MotoLambdaFunction(Protocol):
    """The attributes of ``moto.awslambda.models.LambdaFunction`` the runtime reads."""

    account_id: str
    region: str
    function_name: str
    function_arn: str
    handler: str | None
    role: str
    timeout: int
    memory_size: int
    version: str
    environment_vars: dict[str, str]
    logs_group_name: str


class HandlerNotFound(Exception):
    """The function's Handler does not name an importable callable."""


@dataclass(frozen=True)
class RoleCredentials:
    """Temporary credentials of a function's execution role."""

    access_key_id: str
    secret_access_key: str
    session_token: str


#: Simulated time every invocation moves the shared clock by before its handler runs: a millisecond, SSM's precision
#: for SyncCreatedTime, far below any latency of the table (so it only orders events, never models a duration).
INVOCATION_DISPATCH_SECONDS = 0.001


class InvocationClock:
    """The engine's virtual clock as one invocation sees it: the same "now", and its own time counted.

    Concurrent invocations each advance the shared clock when they wait; their Timeout is measured on their own
    timeline (what each waited, and its calls' latencies: on AWS each runs in its own execution environment, in
    parallel).
    """

    def __init__(
        self, clock: VirtualClock, lock: AbstractContextManager[Any] | None = None, own: Timeline | None = None
    ) -> None:
        self.clock = clock
        self.waited = 0.0
        self.timeline = own or Timeline("invocation")
        self._lock = lock or nullcontext()

    @property
    def elapsed(self) -> float:
        """Simulated seconds the invocation has run: its waits and its calls' latencies."""
        return self.timeline.elapsed

    def now(self) -> datetime:
        return self.clock.now()

    def sleep(self, seconds: float) -> None:
        self.waited += float(seconds)
        # The callbacks falling due (the emulated SSM's writes into S3) run in this thread: under the backend lock.
        with self._lock:
            self.clock.sleep(seconds)


@dataclass
class LambdaContext:
    """The context object AWS's Python runtime passes to a handler."""

    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    timeout: float
    clock: InvocationClock = field(repr=False)
    identity: Any = None
    client_context: Any = None

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's Timeout, on the invocation's own simulated timeline."""
        return max(0, round((self.timeout - self.clock.elapsed) * 1000))


@dataclass(frozen=True)
class Invocation:
    """A record of one in-process invocation (for tests and the benchmark)."""

    function_name: str
    request_id: str
    error_type: str | None
    #: What the invocation printed (its log lines), as CloudWatch Logs would hold them.
    output: str = field(default="", repr=False)
    #: Simulated seconds it ran (its waits and calls, at most its Timeout), as AWS bills the duration.
    simulated_seconds: float = 0.0
    #: The function's memory, for GB-seconds.
    memory_mb: int = 0
    #: Whether it started a new execution environment (a cold start).
    cold: bool = False


def resolve_handler(dotted: str) -> Handler:
    """Import the handler a Lambda ``Handler`` setting names (``package.module.function`` or ``path/module.fn``).

    Example::

        >>> resolve_handler("os.path.join").__name__
        'join'
    """
    module_name, sep, attribute = dotted.rpartition(".")
    if not sep or not module_name:
        raise HandlerNotFound(f"Bad handler {dotted!r}: expected 'module.function'")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as exc:
        raise HandlerNotFound(f"Unable to import module {module_name!r}: {exc}") from exc
    handler = getattr(module, attribute, None)
    if not callable(handler):
        raise HandlerNotFound(f"Handler {attribute!r} missing on module {module_name!r}")
    return handler  # type: ignore[no-any-return]


def error_payload(exc: BaseException, request_id: str, *, error_type: str | None = None) -> dict[str, Any]:
    """The payload AWS's Python runtime returns for an exception a handler raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "requestId": request_id,
        "stackTrace": traceback.format_list(frames),
    }


class InProcessLambdaRuntime:
    """Runs moto Lambda functions' handlers in this process; see the module docstring for what a handler sees.

    ``credentials_for(role_arn)`` returns credentials of a function's execution role (the engine assumes the role
    through moto's STS, so the keys belong to the role's account). ``backend_lock`` is held while an invocation's
    wait moves the clock (the callbacks falling due write into moto's backends).
    """

    def __init__(
        self,
        clock: VirtualClock,
        credentials_for: Callable[[str], RoleCredentials] | None = None,
        *,
        backend_lock: AbstractContextManager[Any] | None = None,
    ) -> None:
        self.clock = clock
        self._backend_lock = backend_lock
        self._credentials_for = credentials_for
        self._callables: dict[str, Handler] = {}
        self._credentials: dict[str, RoleCredentials] = {}
        self._credentials_lock = threading.Lock()
        self._invocations_lock = threading.Lock()
        #: Per function: (invocations running now, execution environments started so far).
        self._environments: dict[str, tuple[int, int]] = {}
        #: Every invocation, in the order they ended.
        self.invocations: list[Invocation] = []

    def register(self, function_arn: str, handler: Handler) -> None:
        """Run ``handler`` for the function ``function_arn`` instead of importing its ``Handler`` setting."""
        self._callables[_unqualified(function_arn)] = handler

    def invoke(self, function: MotoLambdaFunction, event: Any) -> tuple[str, bool, str]:
        """Run one invocation: ``(payload JSON, errored, log text)``, the contract of moto's ``_invoke_lambda``."""
        if isinstance(event, str | bytes):
            # moto hands over "{}" (a string) when the request had no payload.
            event = json.loads(event or "{}")
        request_id = str(uuid.uuid4())
        # No invocation takes no time on AWS. Without this tick, a run's last create and the next run's claim (or an
        # attempt's create and its retry's claim) would share one instant, which AWS's clocks never do: SSM's
        # SyncCreatedTime (milliseconds) could not tell whose sync is whose.
        with self._backend_lock or nullcontext():
            self.clock.advance(INVOCATION_DISPATCH_SECONDS)
        caller = timeline.current()
        cold = self._starts_environment(function)
        own_clock = InvocationClock(self.clock, self._backend_lock, Timeline("invocation", function.function_name))
        context = LambdaContext(
            function_name=function.function_name,
            function_version=str(function.version),
            invoked_function_arn=function.function_arn,
            memory_limit_in_mb=int(function.memory_size),
            aws_request_id=request_id,
            log_group_name=function.logs_group_name,
            log_stream_name=f"{self.clock.now():%Y/%m/%d}/[{function.version}]{request_id.replace('-', '')}",
            timeout=float(function.timeout),
            clock=own_clock,
        )
        output = io.StringIO()
        error_type: str | None = None
        payload: dict[str, Any] | None
        with (
            lambda_invocation.environment_of(self._environment(function)),
            lambda_clock.during(own_clock),
            timeline.entered(own_clock.timeline),
            captured_stdout(output),
        ):
            try:
                handler = self._handler_for(function)
                with handler_cpu.running(int(function.memory_size)):
                    result = handler(event, context)
            except HandlerNotFound as exc:
                payload = error_payload(exc, request_id, error_type="Runtime.ImportModuleError")
            except Exception as exc:
                payload = error_payload(exc, request_id)
            except SystemExit as exc:
                payload = error_payload(exc, request_id, error_type="Runtime.ExitError")
                payload["errorMessage"] = (
                    f"RequestId: {request_id} Error: Runtime exited with error: exit status {exc.code}"
                )
            else:
                payload = None
                try:
                    body = json.dumps(result)
                except (TypeError, ValueError) as exc:
                    payload = error_payload(exc, request_id, error_type="Runtime.MarshalError")
                    payload["errorMessage"] = f"Unable to marshal response: {exc}"
        self._ends(function)
        ran = min(own_clock.elapsed, context.timeout)
        if caller is not None:
            # The init phase is the caller's wait, not the function's Timeout (AWS bounds init separately).
            caller.charge(latency.active().seconds("lambda:ColdStart" if cold else "lambda:WarmStart") + ran)
        if own_clock.elapsed > context.timeout:
            # As on AWS, overrunning the Timeout fails the invocation, whatever the handler returned; here the
            # overrun is in simulated time (sleeps on lambdas.clock and calls' latencies past its Timeout).
            payload = {
                "errorType": "Sandbox.Timedout",
                "errorMessage": (
                    f"RequestId: {request_id} Error: Task timed out after {float(function.timeout):.2f} seconds"
                ),
            }
        if payload is not None:
            error_type = str(payload["errorType"])
            body = json.dumps(payload)
        with self._invocations_lock:
            self.invocations.append(
                Invocation(
                    function.function_name,
                    request_id,
                    error_type,
                    output.getvalue(),
                    simulated_seconds=ran,
                    memory_mb=int(function.memory_size),
                    cold=cold,
                )
            )
        logs = (
            f"START RequestId: {request_id} Version: {function.version}\n"
            f"{output.getvalue()}"
            f"END RequestId: {request_id}\n"
        )
        return body, error_type is not None, logs

    def _starts_environment(self, function: MotoLambdaFunction) -> bool:
        """An invocation of ``function`` begins: True if it needs a new execution environment (a cold start)."""
        arn = _unqualified(function.function_arn)
        with self._invocations_lock:
            running, started = self._environments.get(arn, (0, 0))
            cold = running + 1 > started
            self._environments[arn] = (running + 1, started + 1 if cold else started)
            return cold

    def _ends(self, function: MotoLambdaFunction) -> None:
        arn = _unqualified(function.function_arn)
        with self._invocations_lock:
            running, started = self._environments[arn]
            self._environments[arn] = (running - 1, started)

    def _handler_for(self, function: MotoLambdaFunction) -> Handler:
        registered = self._callables.get(_unqualified(function.function_arn))
        if registered is not None:
            return registered
        if not function.handler:
            raise HandlerNotFound(f"function {function.function_name} has no Handler")
        return resolve_handler(function.handler)

    def _role_credentials(self, function: MotoLambdaFunction) -> RoleCredentials | None:
        if self._credentials_for is None:
            return None
        with self._credentials_lock:
            if function.role not in self._credentials:
                self._credentials[function.role] = self._credentials_for(function.role)
            return self._credentials[function.role]

    def _environment(self, function: MotoLambdaFunction) -> dict[str, str]:
        """The invocation's environment, as Lambda builds it: its own variables over the runtime's."""
        variables = {
            "AWS_REGION": function.region,
            "AWS_DEFAULT_REGION": function.region,
            "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": str(function.version),
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
            "AWS_LAMBDA_LOG_GROUP_NAME": function.logs_group_name,
            "_HANDLER": function.handler or "",
            **LOCAL_ENVIRONMENT,
        }
        credentials = self._role_credentials(function)
        if credentials is not None:
            variables.update(
                AWS_ACCESS_KEY_ID=credentials.access_key_id,
                AWS_SECRET_ACCESS_KEY=credentials.secret_access_key,
                AWS_SESSION_TOKEN=credentials.session_token,
            )
        variables.update({str(key): str(value) for key, value in function.environment_vars.items()})
        return variables


def _unqualified(function_arn: str) -> str:
    # arn:aws:lambda:region:account:function:name[:qualifier] -> without the qualifier
    parts = function_arn.split(":")
    return ":".join(parts[:7])
