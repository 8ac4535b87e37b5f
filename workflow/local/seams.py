"""The private moto internals the local engine and the emulated services hook, declared once and checked first.

moto is pinned exactly (pyproject.toml) because every entry here is private API of moto 5.2.5. If an upgrade moves
one, :func:`check_all` raises :class:`SeamMoved` naming the module path and attribute, and
``tests/unit/local/test_seams.py`` fails with the same message, instead of executions hanging or sleeping for real.

Example::

    >>> from workflow.local.seams import SEAMS, check_all
    >>> check_all()  # raises SeamMoved if a moto upgrade moved a hook
    >>> sorted({seam.kind for seam in SEAMS})
    ['attribute', 'method', 'module']
"""

from __future__ import annotations

import importlib
import inspect
import types
from dataclasses import dataclass
from typing import Any, Literal

#: The moto version every seam below was read from.
MOTO_VERSION = "5.2.5"

_PARSER = "moto.stepfunctions.parser"
_STATE = f"{_PARSER}.asl.component.state"
_MAP = f"{_STATE}.exec.state_map"


class SeamMoved(RuntimeError):
    """A moto internal the local engine hooks is missing or changed shape (moto upgraded?)."""


@dataclass(frozen=True)
class Seam:
    """One hook point: ``module:attribute`` and what must hold for the engine's patch to be right.

    ``kind`` is ``method`` (``attribute`` is ``Class.method``, checked against ``parameters``), ``module``
    (the attribute is an imported module, e.g. the ``time`` a retrier sleeps on) or ``attribute``
    (any object, e.g. a function imported by name into the module, checked against ``parameters``).
    """

    module: str
    attribute: str
    kind: Literal["method", "module", "attribute"]
    why: str
    parameters: tuple[str, ...] = ()
    module_name: str = ""

    @property
    def name(self) -> str:
        """``module:attribute``, the way error messages and the report name a seam."""
        return f"{self.module}:{self.attribute}"

    def resolve(self) -> tuple[Any, str, Any]:
        """``(owner, attribute name, current value)``; raises :class:`SeamMoved` naming the seam."""
        try:
            owner: Any = importlib.import_module(self.module)
        except ImportError as exc:
            raise SeamMoved(f"local engine seam {self.name}: module cannot be imported ({exc})") from exc
        *path, last = self.attribute.split(".")
        for part in path:
            if not hasattr(owner, part):
                raise SeamMoved(f"local engine seam {self.name}: {part!r} no longer exists in {self.module}")
            owner = getattr(owner, part)
        if not hasattr(owner, last):
            raise SeamMoved(f"local engine seam {self.name}: attribute {last!r} no longer exists")
        return owner, last, getattr(owner, last)

    def check(self) -> None:
        """Raise :class:`SeamMoved` unless the seam is where and what the engine expects."""
        _, _, value = self.resolve()
        if self.kind == "module":
            if not isinstance(value, types.ModuleType) or value.__name__ != self.module_name:
                raise SeamMoved(
                    f"local engine seam {self.name}: expected the {self.module_name!r} module, found {value!r}"
                )
            for needed in self.parameters:
                if not hasattr(value, needed):
                    raise SeamMoved(f"local engine seam {self.name}: {self.module_name}.{needed} is missing")
            return
        if not callable(value):
            raise SeamMoved(f"local engine seam {self.name}: expected a callable, found {value!r}")
        actual = tuple(inspect.signature(value).parameters)
        if actual != self.parameters:
            raise SeamMoved(
                f"local engine seam {self.name}: signature changed, expected parameters {self.parameters}, "
                f"found {actual}"
            )


def _method(module: str, attribute: str, parameters: tuple[str, ...], why: str) -> Seam:
    return Seam(module, attribute, "method", why, parameters)


def _imported_module(module: str, module_name: str, needed: tuple[str, ...], why: str) -> Seam:
    return Seam(module, module_name, "module", why, needed, module_name)


INVOKE_LAMBDA = _method(
    "moto.awslambda.models",
    "LambdaFunction._invoke_lambda",
    ("self", "event"),
    "runs a Lambda invocation (Docker in moto); replaced to run the Python handler in-process",
)
RETRY_TIME = _imported_module(
    f"{_PARSER}.asl.component.common.retry.retrier_decl",
    "time",
    ("sleep",),
    "the retrier sleeps IntervalSeconds (after backoff and jitter) with time.sleep; replaced by the virtual clock",
)
WAIT_INTERVAL = _method(
    f"{_STATE}.wait.wait_function.wait_function",
    "WaitFunction._wait_interval",
    ("self", "env", "wait_seconds"),
    "Wait states block on an event with a timeout; replaced to advance the virtual clock",
)
START_EXECUTION_DETAILS = _method(
    f"{_PARSER}.backend.execution",
    "Execution.get_start_execution_details",
    ("self",),
    "$$.Execution.StartTime is the execution's start datetime object (declared str): describe_execution then "
    "fails to JSON-encode any output holding it; wrapped to give AWS's ISO-8601 string",
)
BOTO_CLIENT_FOR = "boto_client_for"
_BOTO_CLIENT_PARAMETERS = ("region", "service", "state_credentials")

#: Modules that import ``boto_client_for`` by name: each one's copy is replaced, so that calls the interpreter
#: makes (Lambda invoke, ItemReader/ResultWriter S3, aws-sdk tasks) land in the right account.
BOTO_CLIENT_IMPORTERS: tuple[str, ...] = (
    f"{_STATE}.exec.state_task.lambda_eval_utils",
    f"{_MAP}.item_reader.eval.resource_eval_s3",
    f"{_MAP}.result_writer.resource_eval.resource_eval_s3",
    f"{_STATE}.exec.state_task.service.state_task_service_aws_sdk",
    f"{_STATE}.exec.state_task.service.state_task_service_sfn",
    f"{_STATE}.exec.state_task.service.state_task_service_sqs",
    f"{_STATE}.exec.state_task.service.state_task_service_sns",
    f"{_STATE}.exec.state_task.service.state_task_service_events",
    f"{_STATE}.exec.state_task.service.state_task_service_dynamodb",
)
BOTO_CLIENT_SEAMS: tuple[Seam, ...] = tuple(
    Seam(
        module,
        BOTO_CLIENT_FOR,
        "attribute",
        "the interpreter's AWS clients use a fixed access key that lands in moto's default account; replaced by "
        "clients that land in the account of the function ARN, the task's Credentials.RoleArn or the engine",
        _BOTO_CLIENT_PARAMETERS,
    )
    for module in (f"{_PARSER}.asl.utils.boto_client", *BOTO_CLIENT_IMPORTERS)
)

#: Modules whose ``datetime.datetime.now()`` stamps execution dates, history events, $$.State.EnteredTime,
#: map runs, and the Timestamp Wait's "now": each one's ``datetime`` is replaced by a virtual-clock view.
DATETIME_MODULES: tuple[str, ...] = (
    f"{_PARSER}.models",
    f"{_PARSER}.backend.execution",
    f"{_PARSER}.backend.state_machine",
    f"{_PARSER}.asl.eval.event.event_manager",
    f"{_STATE}.state",
    f"{_STATE}.wait.wait_function.timestamp",
    f"{_MAP}.iteration.itemprocessor.map_run_record",
    f"{_STATE}.exec.state_parallel.branches_decl",
)
DATETIME_SEAMS: tuple[Seam, ...] = tuple(
    _imported_module(module, "datetime", ("datetime", "timezone"), "execution timestamps read the virtual clock")
    for module in DATETIME_MODULES
)

STUBBER = Seam(
    "moto.core.models",
    "botocore_stubber",
    "attribute",
    "its .enabled tells whether an in-process mock_aws is active (then clients need no endpoint URL)",
)

# The emulated services' hooks (workflow.local.aws and its modules), checked here with the engine's.
S3_LAST_MODIFIED = Seam(
    "moto.s3.models",
    "utcnow",
    "attribute",
    "S3 stamps LastModified with it (wall clock); replaced so objects are stamped on the virtual clock, which "
    "the marker check compares with the sync's creation time",
)
REQUEST_BOUNDARY = _method(
    "moto.core.botocore_stubber",
    "BotocoreStubber.__call__",
    ("self", "event_name", "request", "kwargs"),
    "every in-process request passes through it; wrapped for fault injection, disabled regions and the STS "
    "missing-role check",
)
SSM_WIRE = _method(
    "moto.ssm.responses",
    "SimpleSystemManagerResponse.__init__",
    ("self",),
    "the SSM wire layer the resource data sync actions are added to while the emulation is installed",
)
ACCESS_KEY_ACCOUNT = Seam(
    "moto.iam.models",
    "get_account_id_from",
    "attribute",
    "moto finds the account of every request's access key by scanning all accounts' IAM backends (O(accounts) "
    "per request); wrapped with a cache so a rollout over N accounts does not cost O(N^2)",
    ("access_key",),
)
EMULATION_SEAMS: tuple[Seam, ...] = (S3_LAST_MODIFIED, REQUEST_BOUNDARY, SSM_WIRE, ACCESS_KEY_ACCOUNT)

#: The engine's seams, in the order it installs them.
ENGINE_SEAMS: tuple[Seam, ...] = (
    INVOKE_LAMBDA,
    RETRY_TIME,
    WAIT_INTERVAL,
    START_EXECUTION_DETAILS,
    *BOTO_CLIENT_SEAMS,
    *DATETIME_SEAMS,
)
#: Every seam the local substrate hooks.
SEAMS: tuple[Seam, ...] = (*ENGINE_SEAMS, *EMULATION_SEAMS)


def check_moto_version() -> None:
    """Raise :class:`SeamMoved` unless the installed moto is the version the seams were read from."""
    import moto

    if moto.__version__ != MOTO_VERSION:
        raise SeamMoved(
            f"local engine seams were read from moto {MOTO_VERSION}, but moto {moto.__version__} is installed: "
            "re-check every seam in workflow/local/seams.py before changing the pin"
        )


def check_all() -> None:
    """Check the moto version and every seam; raise :class:`SeamMoved` naming the first that moved."""
    check_moto_version()
    for seam in SEAMS:
        seam.check()
    _, _, stubber = STUBBER.resolve()
    if not hasattr(stubber, "enabled"):
        raise SeamMoved(f"local engine seam {STUBBER.name}: .enabled is missing")
