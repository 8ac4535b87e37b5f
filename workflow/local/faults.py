"""Fault injection and the request boundary of the emulated AWS.

Every boto3 call that moto answers in-process passes through moto's ``BotocoreStubber`` (botocore's
``before-send`` event, named ``before-send.<service-id>.<Operation>``). While a :class:`RequestBoundary` is
installed, it sees each call first, with who makes it (the account of the access key in the SigV4
``Authorization`` header) and where (the credential scope's region), and runs its guards in order: the first
guard returning a :class:`ServiceError` answers the call with that error, serialized by moto's own serializer
for the service's protocol (JSON, query, REST), so botocore raises a real ``ClientError`` with the right
``Error.Code``, ``Message`` and HTTP status. Otherwise moto handles the call as usual.

:class:`FaultInjector` is one such guard: the scenario's ``faults`` (``api`` as ``service:Action``, ``error``,
``times`` consumed in total, optional ``account`` NAME of the caller, ``region`` and S3 object ``key`` prefix).
``times`` counts HTTP attempts: a client with botocore retries spends several per call (orgsync's clients up to 3,
boto's standard mode). Calls that reach moto without botocore (the ``responses`` mock of plain HTTP) are not seen here.

:class:`FaultRateInjector` is another: the scenario's ``faultRates`` fail a share of the matching calls (S3
``InternalError``/``SlowDown``, ``ThrottlingException`` per API and account, Lambda's ``ServiceException`` for
Step Functions' Invoke, ...). Which calls fail is drawn from a hash of the seed, the rule, the API, the caller's
account, the region and the call's number among those: the same seed fails the same share of each
account-region's calls whatever order the threads run in. The error ``ConnectionError`` (:data:`CONNECTION_ERROR`)
answers nothing: botocore raises ``ConnectionClosedError``, as when AWS drops a connection.

The boundary also charges each call's latency (:mod:`workflow.local.latency`) to the calling thread's simulated
timeline (:mod:`workflow.local.timeline`) and counts calls per API and account (:attr:`RequestBoundary.calls`).

Example::

    >>> from workflow.local.scenario import Fault
    >>> injector = FaultInjector([Fault("ssm:CreateResourceDataSync", "ThrottlingException", times=1)], {})
    >>> call = Call("ssm", "CreateResourceDataSync", "200000000001", None, "us-east-1", None)
    >>> injector(call).code, injector(call)
    ('ThrottlingException', None)
"""

from __future__ import annotations

import hashlib
import re
import threading
import warnings
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import botocore.session
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.exceptions import ConnectionClosedError

from workflow.local import handler_cpu, latency, timeline
from workflow.local.scenario import Fault, FaultRate
from workflow.local.seams import (
    BotocoreStubber,
    MockRawResponse,
    OperationModel,
    ServiceException,
    ServiceModel,
    get_serializer_class,
    get_service_model,
    iam_models,
)

#: botocore service ids (hyphenized, as in event names) whose IAM action prefix differs from the id.
IAM_PREFIXES = {"sfn": "states", "cloudwatch-logs": "logs", "cloudwatch": "cloudwatch"}
#: botocore service ids whose botocore model name differs from the id.
SERVICE_NAMES = {"sfn": "stepfunctions", "cloudwatch-logs": "logs"}

_CREDENTIAL_RE = re.compile(r"Credential=(?P<key>[^/]+)/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/")

#: HTTP status of well-known error codes when the service model does not say (it rarely does).
DEFAULT_STATUS = {
    "AccessDenied": 403,
    "AccessDeniedException": 403,
    "RegionDisabledException": 403,
    "InternalServerError": 500,
    "InternalFailure": 500,
    "InternalError": 500,
    "SlowDown": 503,
    "InternalServiceError": 500,
    "ServiceUnavailable": 503,
    "ServiceUnavailableException": 503,
}


class InjectedError(ServiceException):
    """What moto's serializer renders for a guard's error (defined outside ``moto.*``: no lookup by module)."""


@dataclass(frozen=True)
class ServiceError:
    """An error a guard answers a call with."""

    code: str
    message: str
    status: int | None = None


@dataclass(frozen=True)
class Call:
    """One AWS call seen at the boundary."""

    service: str  # botocore service id, hyphenized: "ssm", "sts", "organizations", "sfn"
    operation: str  # "CreateResourceDataSync"
    account_id: str | None  # the account whose credentials sign the call
    access_key: str | None
    region: str | None  # the SigV4 credential scope's region
    request: AWSPreparedRequest | None

    @property
    def api(self) -> str:
        """``iam-prefix:Operation``, the form faults name APIs in (``states:StartExecution`` for sfn)."""
        return f"{IAM_PREFIXES.get(self.service, self.service)}:{self.operation}"

    @property
    def s3_key(self) -> str | None:
        """The object key of an S3 call, from its URL (virtual-hosted or path style); None for another service or a
        bucket-level call.

        >>> from botocore.awsrequest import AWSPreparedRequest
        >>> def s3_call(url):
        ...     return Call("s3", "GetObject", None, None, "us-east-1", AWSPreparedRequest("GET", url, {}, None, False))
        >>> s3_call("https://acme.s3.us-east-1.amazonaws.com/orgsync/runs/e%201/targets.json?x=1").s3_key
        'orgsync/runs/e 1/targets.json'
        >>> s3_call("http://localhost:5000/acme/orgsync/runs/e1/targets.json").s3_key
        'orgsync/runs/e1/targets.json'
        >>> s3_call("https://acme.s3.us-east-1.amazonaws.com/").s3_key is None
        True
        >>> s3_call("https://acme.s3.us-east-1.amazonaws.com/k").s3_bucket, s3_call("http://localhost:5000/acme/k").s3_bucket
        ('acme', 'acme')
        """
        return self._s3_location()[1]

    @property
    def s3_bucket(self) -> str | None:
        """The bucket of an S3 call, from its URL as :attr:`s3_key` reads it (examples there); None for another
        service."""
        return self._s3_location()[0]

    def _s3_location(self) -> tuple[str | None, str | None]:
        if self.service != "s3" or self.request is None:
            return None, None
        url = urlsplit(str(self.request.url))
        path = unquote(url.path).lstrip("/")
        host = url.hostname or ""
        if ".s3." in host or ".s3-" in host or host.endswith(".s3.amazonaws.com"):  # virtual-hosted: bucket.s3...
            bucket, key = host.partition(".s3")[0], path
        else:
            bucket, _, key = path.partition("/")
        return bucket or None, key or None

    def form(self) -> dict[str, str]:
        """The parameters of a query-protocol call (``Action=AssumeRole&RoleArn=...``)."""
        body = self.request.body if self.request is not None else None
        if isinstance(body, bytes):
            body = body.decode()
        if not isinstance(body, str):
            return {}
        return {key: values[0] for key, values in parse_qs(body).items()}


Guard = Callable[[Call], ServiceError | None]


class FaultInjector:
    """The scenario's faults as a guard; ``add`` appends one at run time. Thread-safe."""

    def __init__(self, faults: Iterable[Fault], account_names: Mapping[str, str]) -> None:
        self._lock = threading.Lock()
        self._faults: list[list[Any]] = [[fault, fault.times] for fault in faults]
        self._names = dict(account_names)
        #: Every fault raised, in order (api, account id, region, code): lets tests and the report count them.
        self.raised: list[tuple[str, str | None, str | None, str]] = []

    def add(self, fault: Fault) -> None:
        """Inject ``fault`` from now on."""
        with self._lock:
            self._faults.append([fault, fault.times])

    def remaining(self) -> list[tuple[Fault, int]]:
        """Each fault and how many times it will still fire."""
        with self._lock:
            return [(fault, left) for fault, left in self._faults]

    def name_account(self, account_id: str, name: str) -> None:
        """Let faults address an account added at run time by its name."""
        with self._lock:
            self._names[account_id] = name

    def __call__(self, call: Call) -> ServiceError | None:
        caller = self._names.get(call.account_id or "")
        with self._lock:
            for entry in self._faults:
                fault, left = entry
                if left <= 0 or not _api_matches(fault.api, call):
                    continue
                if fault.account is not None and fault.account != caller:
                    continue
                if fault.region is not None and fault.region != call.region:
                    continue
                if fault.key is not None and not (call.s3_key or "").startswith(fault.key):
                    continue
                entry[1] = left - 1
                self.raised.append((call.api, call.account_id, call.region, fault.error))
                message = fault.message or _default_message(fault.error)
                return ServiceError(fault.error, message, fault.http_status)
        return None


#: The error of a fault that drops the connection instead of answering.
CONNECTION_ERROR = "ConnectionError"


class FaultRateInjector:
    """The scenario's ``faultRates`` as a guard: each rule fails its share of the matching calls. Thread-safe.

    Example::

        >>> from workflow.local.scenario import FaultRate
        >>> injector = FaultRateInjector([FaultRate("s3:*", "SlowDown", 0.25)], {}, seed=7)
        >>> call = Call("s3", "PutObject", "200000000001", None, "us-east-1", None)
        >>> sum(injector(call) is not None for _ in range(4000))  # about a quarter
        1029
    """

    def __init__(self, rates: Iterable[FaultRate], account_names: Mapping[str, str], seed: int = 0) -> None:
        self._rates = list(rates)
        self._names = dict(account_names)
        self._seed = seed
        self._lock = threading.Lock()
        self._counts: Counter[tuple[int, str, str | None, str | None]] = Counter()
        #: Every fault raised, in order (api, account id, region, code), as :attr:`FaultInjector.raised`.
        self.raised: list[tuple[str, str | None, str | None, str]] = []

    def name_account(self, account_id: str, name: str) -> None:
        """Let rules address an account added at run time by its name."""
        with self._lock:
            self._names[account_id] = name

    def __call__(self, call: Call) -> ServiceError | None:
        caller = self._names.get(call.account_id or "")
        for number, rule in enumerate(self._rates):
            if not _api_pattern_matches(rule.api, call):
                continue
            if (rule.account is not None and rule.account != caller) or (
                rule.region is not None and rule.region != call.region
            ):
                continue
            key = (number, call.api, call.account_id, call.region)
            with self._lock:
                self._counts[key] += 1
                nth = self._counts[key]
            if _draw(f"{self._seed}|{number}|{call.api}|{call.account_id}|{call.region}|{nth}") < rule.rate:
                with self._lock:
                    self.raised.append((call.api, call.account_id, call.region, rule.error))
                return ServiceError(rule.error, rule.message or _default_message(rule.error), rule.http_status)
        return None


def _draw(text: str) -> float:
    """A number in [0, 1) that depends on ``text`` alone."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2**64


def _api_pattern_matches(pattern: str, call: Call) -> bool:
    if pattern == "*":
        return True
    service, _, operation = pattern.partition(":")
    if operation == "*":
        return service.lower() in (call.service, call.api.partition(":")[0])
    return _api_matches(pattern, call)


def _api_matches(api: str, call: Call) -> bool:
    service, _, operation = api.partition(":")
    return operation == call.operation and service.lower() in (call.service, call.api.partition(":")[0])


def _default_message(code: str) -> str:
    if "Throttl" in code or "TooManyRequests" in code:
        return "Rate exceeded"
    if code == "SlowDown":
        return "Please reduce your request rate."
    if code == "InternalError":
        return "We encountered an internal error. Please try again."
    return f"Injected fault: {code}"


# --- the boundary ---------------------------------------------------------------------------------------------


@cache
def _service_name(service_id: str) -> str:
    if service_id in SERVICE_NAMES:
        return SERVICE_NAMES[service_id]
    session = botocore.session.get_session()
    available = session.get_available_services()
    if service_id in available:
        return service_id
    for name in available:  # rare: scan once for ids that differ from the model name
        model = session.get_service_model(name)
        if model.service_id.hyphenize() == service_id:
            return str(name)
    return service_id


def render_error(service_id: str, operation: str, error: ServiceError) -> tuple[int, dict[str, str], str]:
    """The wire response (status, headers, body) of ``error`` for ``service_id``'s protocol, via moto's serializer."""
    service_model: ServiceModel = get_service_model(_service_name(service_id))
    try:
        operation_model = service_model.operation_model(operation)
    except Exception:  # an operation unknown to the model: serialize against an empty one, as moto does
        operation_model = OperationModel({}, service_model)
    protocol = str(service_model.metadata.get("protocols", [service_model.protocol])[0])
    serializer = get_serializer_class(service_model.service_name, protocol)(operation_model=operation_model)
    exception = InjectedError(error.code, error.message)
    with warnings.catch_warnings():
        # moto warns when a code is not in the service model; throttling codes rarely are, and that is fine.
        warnings.simplefilter("ignore")
        serialized = serializer.serialize(exception)
    status = error.status
    if status is None:
        status = int(serialized["status_code"])
        if status == 400:
            status = DEFAULT_STATUS.get(error.code, 400)
    headers = {str(k): str(v) for k, v in serialized["headers"].items()}
    body = serialized["body"]
    return status, headers, body.decode() if isinstance(body, bytes) else str(body)


class RequestBoundary:
    """Sees every in-process moto call first and lets guards answer it with an AWS error.

    Installed by patching ``BotocoreStubber.__call__`` (the class attribute: the stubber instance registered in
    botocore's handlers stays the same); :meth:`uninstall` restores the original exactly.
    """

    _lock = threading.Lock()
    _active: RequestBoundary | None = None
    _original: Any = None

    def __init__(self, guards: Iterable[Guard] = ()) -> None:
        self.guards: list[Guard] = list(guards)
        #: Calls seen, per (``service:Action`` as faults name it, account id of the caller).
        self.calls: Counter[tuple[str, str | None]] = Counter()
        self._calls_lock = threading.Lock()

    def install(self) -> None:
        """Start intercepting. Only one boundary can be installed at a time."""
        cls = type(self)
        with cls._lock:
            if cls._active is not None:
                raise RuntimeError("a RequestBoundary is already installed")
            cls._original = BotocoreStubber.__call__
            original = cls._original

            # Named like the method it replaces (``self`` first) so the seam guard sees the same signature.
            def intercepting_call(
                self: BotocoreStubber, event_name: str, request: AWSPreparedRequest, **kwargs: Any
            ) -> AWSResponse | None:
                boundary = cls._active
                with handler_cpu.answering():  # AWS's side of the call: its latency is charged, not its CPU
                    if self.enabled and boundary is not None:
                        answer = boundary.intercept(event_name, request)
                        if answer is not None:
                            return answer
                    result: AWSResponse | None = original(self, event_name, request, **kwargs)
                    return result

            BotocoreStubber.__call__ = intercepting_call  # type: ignore[method-assign]
            cls._active = self

    def uninstall(self) -> None:
        """Stop intercepting (idempotent)."""
        cls = type(self)
        with cls._lock:
            if cls._active is self:
                BotocoreStubber.__call__ = cls._original  # type: ignore[method-assign]
                cls._active = None
                cls._original = None

    @classmethod
    def installed(cls) -> RequestBoundary | None:
        """The boundary intercepting now, if any."""
        return cls._active

    def intercept(self, event_name: str, request: AWSPreparedRequest) -> AWSResponse | None:
        """Run the guards on the call; an AWSResponse carrying the first error, or None to let moto answer."""
        call = describe_call(event_name, request)
        if call is None:
            return None
        with self._calls_lock:
            self.calls[(call.api, call.account_id)] += 1
        # Answered or refused, the call took its time on the caller's timeline.
        timeline.charge(latency.active().seconds(call.api))
        for guard in self.guards:
            error = guard(call)
            if error is not None:
                if error.code == CONNECTION_ERROR:
                    raise ConnectionClosedError(endpoint_url=request.url)
                status, headers, body = render_error(call.service, call.operation, error)
                return AWSResponse(request.url, status, headers, MockRawResponse(body))  # type: ignore[arg-type]
        return None


def describe_call(event_name: str, request: AWSPreparedRequest) -> Call | None:
    """Who calls what where, from the event name and the signed request (None for an unsigned/unknown event)."""
    parts = event_name.split(".")
    if len(parts) < 3:
        return None
    service, operation = parts[1], parts[2]
    auth = request.headers.get("Authorization", b"")
    auth_text = auth.decode() if isinstance(auth, bytes) else str(auth)
    match = _CREDENTIAL_RE.search(auth_text)
    access_key = match.group("key") if match else None
    region = match.group("region") if match else None
    # Looked up through the module at call time: LocalAws wraps moto's lookup with a cache.
    account_id = iam_models.get_account_id_from(access_key) if access_key else None
    return Call(service, operation, account_id, access_key, region, request)
