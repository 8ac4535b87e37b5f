"""The moto internals the local substrate uses: imported here and nowhere else, declared once and checked first.

moto is pinned exactly (pyproject.toml) because most entries here are private API of moto 5.2.5. Two kinds:

- **hooks** the local engine and the emulated services patch (:data:`ENGINE_SEAMS`, :data:`EMULATION_SEAMS`);
- **imports**, the moto names the rest of ``workflow.local`` uses (backends, response classes, the serializer,
  ``mock_aws``), re-exported from this module (:data:`IMPORTED_SEAMS`), and the backend methods the seeding calls
  (:data:`BACKEND_SEAMS`), and the interpreter methods the engine calls as they are (:data:`CALLED_SEAMS`).
  ``tests/unit/local/test_seams.py`` fails if any other module of ``workflow`` imports
  moto, or if this module imports a moto name it does not declare.

If an upgrade moves one, importing this module or :func:`check_all` (run when a ``LocalAws`` or a ``LocalEngine``
starts) raises :class:`SeamMoved` naming the module path and attribute, and the guard test fails with the same
message, instead of executions hanging or sleeping for real. Without moto installed at all, importing this module
raises ``ModuleNotFoundError`` for ``moto`` (the local substrate is an optional part of orgsync).

Example::

    >>> from workflow.local.seams import SEAMS, check_all
    >>> check_all()  # raises SeamMoved if a moto upgrade moved a hook
    >>> sorted({seam.kind for seam in SEAMS})
    ['attribute', 'import', 'method', 'module']
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


import moto  # noqa: E402 - a missing moto is ModuleNotFoundError (install the local extra), not SeamMoved

try:
    from moto import mock_aws
    from moto.core.botocore_stubber import BotocoreStubber, MockRawResponse
    from moto.core.config import default_user_config
    from moto.core.exceptions import ServiceException
    from moto.core.model import OperationModel, ServiceModel
    from moto.core.models import botocore_stubber
    from moto.core.request import normalize_request
    from moto.core.responses import ActionResult, EmptyResult
    from moto.core.routing import get_service_router
    from moto.core.serialize import get_serializer_class
    from moto.core.utils import get_service_model
    from moto.iam import models as iam_models
    from moto.iam.exceptions import NotFoundException as IamNotFoundException
    from moto.iam.models import IAMBackend, iam_backends
    from moto.organizations import utils as organizations_utils
    from moto.organizations.models import OrganizationsBackend, organizations_backends
    from moto.s3.models import FakeBucket, S3Backend, s3_backends
    from moto.settings import moto_server_port
    from moto.ssm.responses import SimpleSystemManagerResponse
    from moto.stepfunctions.parser.api import HistoryEventType, MapRunFailedEventDetails
    from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.failure_event import (
        FailureEvent,
        FailureEventException,
    )
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name import StatesErrorName
    from moto.stepfunctions.parser.asl.component.common.error_name.states_error_name_type import StatesErrorNameType
    from moto.stepfunctions.parser.asl.component.common.timeouts.timeout import TimeoutSeconds
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.iteration.distributed_iteration_component import (
        DistributedIterationComponent,
    )
    from moto.stepfunctions.parser.asl.component.state.exec.state_map.result_writer.resource_eval import (
        resource_eval_s3 as result_writer_s3,
    )
    from moto.stepfunctions.parser.asl.eval.event.event_detail import EventDetails
    from moto.stepfunctions.parser.asl.eval.program_state import ProgramEnded, ProgramStopped, ProgramTimedOut
    from moto.sts.models import STSBackend, sts_backends
except ImportError as exc:  # moto is there, but not as the seams below were read from it
    raise SeamMoved(
        f"a moto internal the local substrate imports moved (moto {moto.__version__}, read from {MOTO_VERSION}): {exc}"
    ) from exc


@dataclass(frozen=True)
class Seam:
    """One hook point: ``module:attribute`` and what must hold for the engine's patch to be right.

    ``kind`` is ``method`` (``attribute`` is ``Class.method``, checked against ``parameters``), ``module``
    (the attribute is an imported module, e.g. the ``time`` a retrier sleeps on), ``attribute``
    (any callable, e.g. a function imported by name into the module, checked against ``parameters``) or
    ``import`` (a name this module imports for the rest of the substrate: it must exist, and a callable with
    ``parameters`` must take exactly those).
    """

    module: str
    attribute: str
    kind: Literal["method", "module", "attribute", "import"]
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
        if self.kind == "import" and not self.parameters:
            return
        if not callable(value):
            raise SeamMoved(f"local engine seam {self.name}: expected a callable, found {value!r}")
        actual = tuple(inspect.signature(value).parameters)
        if actual != self.parameters:
            raise SeamMoved(
                f"local engine seam {self.name}: signature changed, expected parameters {self.parameters}, "
                f"found {actual}"
            )


class Patch:
    """One attribute replaced on an object, restorable exactly (class attributes included)."""

    def __init__(self, owner: Any, attribute: str, replacement: Any) -> None:
        self.owner = owner
        self.attribute = attribute
        self.replacement = replacement
        # A class, module or instance: put back exactly what it owned (an inherited attribute is deleted again).
        owned = vars(owner) if hasattr(owner, "__dict__") else None
        self._had_own = owned is None or attribute in owned
        self._original = owned[attribute] if owned is not None and attribute in owned else getattr(owner, attribute)

    def install(self) -> None:
        setattr(self.owner, self.attribute, self.replacement)

    def uninstall(self) -> None:
        if self._had_own:
            setattr(self.owner, self.attribute, self._original)
        else:
            delattr(self.owner, self.attribute)


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
STATE_ENTERED = _method(
    f"{_STATE}.state",
    "CommonStateField._eval_body",
    ("self", "env"),
    "runs once per state entered (a Standard workflow's state transition); wrapped to charge the transition on "
    "the modelled timeline (workflow.local.execution_time)",
)
MAP_WORKER_LAUNCHED = _method(
    f"{_MAP}.iteration.inline_iteration_component",
    "InlineIterationComponent._launch_worker",
    ("self", "env", "eval_input", "job_pool"),
    "a Map starts one worker per concurrent slot, on the parent's thread; wrapped to open the Map's run on the "
    "parent's modelled timeline",
)
INLINE_ITERATION = _method(
    f"{_MAP}.iteration.iteration_worker",
    "IterationWorker._eval_job",
    ("self", "env", "job"),
    "one inline Map iteration on a worker thread; wrapped to give it its own modelled timeline",
)
DISTRIBUTED_ITERATION = _method(
    f"{_MAP}.iteration.itemprocessor.distributed_item_processor_worker",
    "DistributedItemProcessorWorker._eval_job",
    ("self", "env", "job"),
    "one Distributed Map child execution on a worker thread; wrapped to give it its own modelled timeline",
)
DISTRIBUTED_MAP_RUN = _method(
    f"{_MAP}.iteration.distributed_iteration_component",
    "DistributedIterationComponent._map_run",
    ("self", "env", "eval_input"),
    "starts a Distributed Map's children over the items on env.stack (moto has no ItemBatcher); wrapped to batch "
    "the items first as ItemBatcher documents it (workflow.local.item_batcher)",
)
STATES_INPUT = _method(
    f"{_PARSER}.asl.eval.states",
    "States.get_input",
    ("self", "query"),
    "the Map state's input, read by a JSONPath in ItemBatcher's BatchInput and ...Path fields",
)
STATES_CONTEXT = _method(
    f"{_PARSER}.asl.eval.states",
    "States.get_context",
    ("self", "query"),
    "the context object, read by a $$ path in ItemBatcher's BatchInput",
)
PROGRAM_THREADING = _imported_module(
    "moto.stepfunctions.parser.asl.component.program.program",
    "threading",
    ("Thread",),
    "a program (an execution's or a Map iteration's states) runs on a thread of its own; replaced by threads that "
    "carry their creator's modelled timeline",
)
STATE_THREAD = Seam(
    f"{_STATE}.exec.execute_state",
    "Thread",
    "attribute",
    "a Task or Map state's body runs on a thread of its own (for TimeoutSeconds); replaced by threads that carry "
    "their creator's modelled timeline",
    ("group", "target", "name", "args", "kwargs", "daemon"),
)
CHILD_INPUT = _method(
    f"{_MAP}.iteration.itemprocessor.inline_item_processor_worker",
    "InlineItemProcessorWorker._eval_input",
    ("self", "env_frame"),
    "applies ItemSelector/Parameters to a Map iteration's item; wrapped to note a Distributed Map child's input "
    "for its entry in the ResultWriter's result files (workflow.local.map_results)",
)
RESULT_WRITER_PUT_OBJECT = _method(
    f"{_MAP}.result_writer.resource_eval.resource_eval_s3",
    "ResourceEvalS3._handle_put_object",
    ("env", "resource_runtime_part", "state_credentials"),
    "the ResultWriter's s3:putObject (a staticmethod), which writes only an empty manifest.json; replaced to write "
    "the result files and the manifest as Step Functions does (workflow.local.map_results)",
)
ITEM_READER_GET_OBJECT = _method(
    f"{_MAP}.item_reader.eval.resource_eval_s3",
    "ResourceEvalS3._handle_get_object",
    ("env", "resource_runtime_part", "state_credentials"),
    "the ItemReader's s3:getObject (a staticmethod), whose S3 error moto lets escape as States.Runtime; wrapped to "
    "fail the Map with States.ItemReaderFailed as Step Functions does (workflow.local.map_io)",
)
RESULT_SEAMS: tuple[Seam, ...] = (CHILD_INPUT, RESULT_WRITER_PUT_OBJECT, ITEM_READER_GET_OBJECT)
TIMING_SEAMS: tuple[Seam, ...] = (
    STATE_ENTERED,
    MAP_WORKER_LAUNCHED,
    INLINE_ITERATION,
    DISTRIBUTED_ITERATION,
    PROGRAM_THREADING,
    STATE_THREAD,
)

LAMBDA_TASK_ERROR = _method(
    f"{_STATE}.exec.state_task.state_task_lambda",
    "StateTaskLambda._from_error",
    ("self", "env", "ex"),
    "moto names a Lambda service error of a function-ARN task 'Exception'; wrapped to give AWS's "
    "'Lambda.<code>' (Lambda.ServiceException, Lambda.TooManyRequestsException), which Retry policies match",
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
SERIALISED_REQUESTS = _method(
    "moto.core.botocore_stubber",
    "BotocoreStubber.process_request",
    ("self", "request"),
    "answers each in-process request from moto's backends, which are not thread-safe; wrapped on the registered "
    "stubber so that concurrent Lambdas' requests reach the backends one at a time",
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
BOTOCORE_CLIENT_CLASS = _method(
    "botocore.client",
    "ClientCreator._create_client_class",
    ("self", "service_name", "service_model"),
    "botocore (not moto, pinned by boto3's range) builds a new class per client; wrapped to make one per service "
    "and session while the substrate runs (workflow.local.client_classes, which also reads the creator's "
    "_event_emitter and the model's _service_description)",
)
STS_ISSUED_KEY = _method(
    "moto.sts.models",
    "STSBackend._create_access_key",
    ("self", "role"),
    "makes the temporary key of an AssumeRole in the role's account; wrapped so that the key's account is known "
    "before its first use (ACCESS_KEY_ACCOUNT would otherwise scan every account once per new key: O(N^2))",
)
S3_PREFIX_LISTING = _method(
    "moto.s3.models",
    "S3Backend.list_objects",
    ("self", "bucket", "prefix", "delimiter", "marker", "max_keys"),
    "moto reads every object of the bucket (its version list) before comparing its name with the prefix: O(objects) "
    "per listing, O(N^2) for N accounts' marker listings; wrapped so that only the names under the prefix are read "
    "(workflow.local.s3_listing)",
)
EMULATION_SEAMS: tuple[Seam, ...] = (
    BOTOCORE_CLIENT_CLASS,
    STS_ISSUED_KEY,
    S3_LAST_MODIFIED,
    S3_PREFIX_LISTING,
    REQUEST_BOUNDARY,
    SERIALISED_REQUESTS,
    SSM_WIRE,
    ACCESS_KEY_ACCOUNT,
)


def _import(module: str, attribute: str, why: str, parameters: tuple[str, ...] = ()) -> Seam:
    return Seam(module, attribute, "import", why, parameters)


#: Every moto name imported above, for the rest of ``workflow.local`` (the guard test holds the two lists equal).
IMPORTED_SEAMS: tuple[Seam, ...] = (
    _import("moto", "mock_aws", "moto in-process (public API): LocalAws and the engine start it"),
    _import("moto.core.botocore_stubber", "BotocoreStubber", "the request boundary patches its __call__"),
    _import(
        "moto.core.botocore_stubber", "MockRawResponse", "the body of a guard's error response", ("response_input",)
    ),
    _import("moto.core.config", "default_user_config", "the engine enables execute_state_machine in a running moto"),
    _import("moto.core.exceptions", "ServiceException", "base of the emulated errors moto serializes"),
    _import("moto.core.model", "OperationModel", "an empty operation model for an unknown action's error"),
    _import("moto.core.model", "ServiceModel", "the service model a guard's error is serialized with"),
    _import("moto.core.models", "botocore_stubber", "its .enabled tells whether an in-process mock_aws is active"),
    _import(
        "moto.core.request",
        "normalize_request",
        "the local endpoint turns an HTTP request into the request the router reads",
        ("request",),
    ),
    _import("moto.core.responses", "ActionResult", "what the SSM sync actions return", ("result",)),
    _import("moto.core.responses", "EmptyResult", "what Create/DeleteResourceDataSync return"),
    _import(
        "moto.core.routing",
        "get_service_router",
        "the local endpoint names the operation of an HTTP request (for the request boundary) as moto routes it",
        ("service_name",),
    ),
    _import(
        "moto.core.serialize",
        "get_serializer_class",
        "moto's serializer renders a guard's error",
        ("service_name", "protocol"),
    ),
    _import("moto.core.utils", "get_service_model", "the service model of a call's service", ("service_name",)),
    Seam(
        "moto.iam",
        "models",
        "module",
        "the request boundary looks a key's account up through the module (LocalAws caches the lookup)",
        ("get_account_id_from",),
        "moto.iam.models",
    ),
    _import("moto.iam.exceptions", "NotFoundException", "a missing role, when the engine creates its own"),
    _import("moto.iam.models", "IAMBackend", "users, access keys and roles are seeded into it"),
    _import("moto.iam.models", "iam_backends", "IAM state per account"),
    _import("moto.organizations", "utils", "its random id makers are patched to give the scenario's ids"),
    _import("moto.organizations.models", "OrganizationsBackend", "the organization is seeded into it"),
    _import("moto.organizations.models", "organizations_backends", "Organizations state per account"),
    _import("moto.s3.models", "FakeBucket", "the bucket SSM checks and writes into"),
    _import("moto.s3.models", "S3Backend", "the aggregator bucket, its policy and SSM's objects"),
    _import("moto.s3.models", "s3_backends", "S3 state per account; .bucket_accounts finds a bucket's owner"),
    _import("moto.settings", "moto_server_port", "the endpoint of a moto server when none runs in-process"),
    _import("moto.ssm.responses", "SimpleSystemManagerResponse", "the SSM wire layer the sync actions join"),
    _import(
        "moto.stepfunctions.parser.asl.component.common.timeouts.timeout",
        "TimeoutSeconds",
        "the interpreter's client timeouts, kept by the engine's clients",
    ),
    _import(
        f"{_MAP}.iteration.distributed_iteration_component",
        "DistributedIterationComponent",
        "tells a Distributed Map (children started at a rate) from an inline one on the modelled timeline",
    ),
    Seam(
        f"{_MAP}.result_writer.resource_eval",
        "resource_eval_s3",
        "module",
        "the ResultWriter's S3 client (ResourceEvalS3._get_s3_client, on the interpreter's patched boto_client_for)",
        ("ResourceEvalS3",),
        f"{_MAP}.result_writer.resource_eval.resource_eval_s3",
    ),
    _import(f"{_PARSER}.asl.eval.program_state", "ProgramEnded", "a child execution that succeeded"),
    _import(f"{_PARSER}.asl.eval.program_state", "ProgramStopped", "a child execution that was aborted"),
    _import(f"{_PARSER}.asl.eval.program_state", "ProgramTimedOut", "a child execution that timed out"),
    _import(
        f"{_PARSER}.asl.component.common.error_name.custom_error_name",
        "CustomErrorName",
        "the error name a Lambda service error of a task is given (Lambda.<code>)",
    ),
    _import(f"{_PARSER}.api", "HistoryEventType", "the event type of a Map's own S3 failure (TaskFailed, as moto's)"),
    _import(f"{_PARSER}.api", "MapRunFailedEventDetails", "the error and cause of a Map's own S3 failure"),
    _import(f"{_PARSER}.asl.eval.event.event_detail", "EventDetails", "the details a FailureEvent carries"),
    _import(
        f"{_PARSER}.asl.component.common.error_name.failure_event",
        "FailureEvent",
        "a Map's own S3 failure, named as Step Functions names it (workflow.local.map_io)",
        ("env", "error_name", "event_type", "event_details"),
    ),
    _import(
        f"{_PARSER}.asl.component.common.error_name.failure_event",
        "FailureEventException",
        "what fails a state with a named error that its Retry and Catch match",
        ("failure_event",),
    ),
    _import(
        f"{_PARSER}.asl.component.common.error_name.states_error_name",
        "StatesErrorName",
        "a States.* error name (States.TaskFailed does not match it, as on AWS)",
        ("typ",),
    ),
    _import(
        f"{_PARSER}.asl.component.common.error_name.states_error_name_type",
        "StatesErrorNameType",
        "States.ItemReaderFailed and States.ResultWriterFailed, as moto's grammar names them",
    ),
    _import("moto.sts.models", "STSBackend", "who called, for the missing-role AccessDenied message"),
    _import("moto.sts.models", "sts_backends", "STS state per account"),
)


def _backend_method(module: str, attribute: str, parameters: tuple[str, ...]) -> Seam:
    return _method(module, attribute, parameters, "the local substrate seeds state by calling it")


#: The backend methods the seeding and the guards call directly (not through a request).
BACKEND_SEAMS: tuple[Seam, ...] = (
    _backend_method("moto.iam.models", "IAMBackend.create_user", ("self", "region_name", "user_name", "path", "tags")),
    _backend_method("moto.iam.models", "IAMBackend.create_access_key", ("self", "user_name", "prefix", "status")),
    _backend_method(
        "moto.iam.models",
        "IAMBackend.create_role",
        (
            "self",
            "role_name",
            "assume_role_policy_document",
            "path",
            "permissions_boundary",
            "description",
            "tags",
            "max_session_duration",
            "linked_service",
        ),
    ),
    _backend_method("moto.iam.models", "IAMBackend.get_role_by_arn", ("self", "arn")),
    _backend_method(
        "moto.organizations.models", "OrganizationsBackend.create_organization", ("self", "region", "kwargs")
    ),
    _backend_method("moto.organizations.models", "OrganizationsBackend.create_organizational_unit", ("self", "kwargs")),
    _backend_method("moto.organizations.models", "OrganizationsBackend.create_account", ("self", "kwargs")),
    _backend_method("moto.organizations.models", "OrganizationsBackend.get_account_by_id", ("self", "account_id")),
    _backend_method("moto.organizations.utils", "make_random_org_id", ()),
    _backend_method("moto.organizations.utils", "make_random_root_id", ()),
    _backend_method("moto.organizations.utils", "make_random_ou_id", ("root_id",)),
    _backend_method("moto.organizations.utils", "make_random_account_id", ()),
    _backend_method(
        "moto.s3.models", "S3Backend.create_bucket", ("self", "bucket_name", "region_name", "bucket_namespace")
    ),
    _backend_method("moto.s3.models", "S3Backend.put_bucket_policy", ("self", "bucket_name", "policy")),
    _backend_method("moto.s3.models", "S3Backend.delete_bucket_policy", ("self", "bucket_name")),
    _backend_method("moto.s3.models", "S3Backend.get_bucket", ("self", "bucket_name")),
    _backend_method(
        "moto.s3.models",
        "S3Backend.put_object",
        (
            "self",
            "bucket_name",
            "key_name",
            "value",
            "storage",
            "etag",
            "multipart",
            "encryption",
            "kms_key_id",
            "bucket_key_enabled",
            "lock_mode",
            "lock_legal_status",
            "lock_until",
            "checksum_value",
            "request_method",
            "disable_notification",
        ),
    ),
    _backend_method("moto.sts.models", "STSBackend.get_caller_identity", ("self", "access_key_id", "region")),
)

#: The engine's seams, in the order it installs them.
ENGINE_SEAMS: tuple[Seam, ...] = (
    INVOKE_LAMBDA,
    DISTRIBUTED_MAP_RUN,
    RETRY_TIME,
    WAIT_INTERVAL,
    START_EXECUTION_DETAILS,
    LAMBDA_TASK_ERROR,
    *BOTO_CLIENT_SEAMS,
    *DATETIME_SEAMS,
    *TIMING_SEAMS,
    *RESULT_SEAMS,
)
#: Interpreter methods the engine's ItemBatcher calls without patching them (workflow.local.item_batcher).
CALLED_SEAMS: tuple[Seam, ...] = (STATES_INPUT, STATES_CONTEXT)
#: Every seam the local substrate hooks, imports or calls.
SEAMS: tuple[Seam, ...] = (*ENGINE_SEAMS, *EMULATION_SEAMS, *IMPORTED_SEAMS, *BACKEND_SEAMS, *CALLED_SEAMS)


def check_moto_version() -> None:
    """Raise :class:`SeamMoved` unless the installed moto is the version the seams were read from."""
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


__all__ = [
    "ActionResult",
    "BotocoreStubber",
    "CustomErrorName",
    "DistributedIterationComponent",
    "EmptyResult",
    "EventDetails",
    "FailureEvent",
    "FailureEventException",
    "FakeBucket",
    "HistoryEventType",
    "IAMBackend",
    "IamNotFoundException",
    "MapRunFailedEventDetails",
    "MockRawResponse",
    "OperationModel",
    "OrganizationsBackend",
    "ProgramEnded",
    "ProgramStopped",
    "ProgramTimedOut",
    "S3Backend",
    "STSBackend",
    "SeamMoved",
    "ServiceException",
    "ServiceModel",
    "SimpleSystemManagerResponse",
    "StatesErrorName",
    "StatesErrorNameType",
    "TimeoutSeconds",
    "botocore_stubber",
    "default_user_config",
    "get_serializer_class",
    "get_service_model",
    "get_service_router",
    "iam_backends",
    "iam_models",
    "mock_aws",
    "moto_server_port",
    "normalize_request",
    "organizations_backends",
    "organizations_utils",
    "result_writer_s3",
    "s3_backends",
    "sts_backends",
]
