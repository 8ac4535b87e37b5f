"""The AWS boundary of the Lambda code: clients, member-account sessions, retries and error translation.

- Clients come from a :class:`ClientProvider` the handler passes into the plain functions (the invocation's own
  credentials and region, never read from ``os.environ`` behind the caller's back), made from one shared boto3
  session (model loading is the expensive part), and with botocore's own retries kept small: botocore sleeps in
  real time, our retries use :mod:`lambdas.clock` (virtual on the local engine) and the state machine's Retry,
  where they are visible.
- Member-account credentials are cached per (execution, role) with their expiry, so a warm Lambda container
  reuses one AssumeRole across an account's regions.
- ``ClientError`` codes are turned into named errors here, at the boundary: :class:`~lambdas.errors.Throttled`,
  :class:`AccessDenied`, :class:`RegionDisabled`, :class:`~lambdas.errors.S3WriteFailed`; anything else is
  :class:`AwsCallFailed`, wrapped ``from`` the original.

Example::

    >>> from botocore.exceptions import ClientError
    >>> error = ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "slow down"}}, "ListRoots")
    >>> translate(error, "organizations:ListRoots")
    Throttled('organizations:ListRoots throttled (TooManyRequestsException: slow down)')
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotoConnectionError
from botocore.retries import standard as standard_retries

from lambdas import clock, invocation
from lambdas.errors import AwsUnavailable, OrgSyncError, OutOfTime, S3WriteFailed, Throttled
from lambdas.parallel import READ_WORKERS

T = TypeVar("T")

THROTTLING_CODES = frozenset(
    {
        "TooManyRequestsException",
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "ProvisionedThroughputExceededException",
    }
)
ACCESS_DENIED_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError", "UnauthorizedException"}
)
#: What a call into a region that is not enabled for the account returns (STS tokens are not valid there).
REGION_DISABLED_CODES = frozenset(
    {"UnrecognizedClientException", "RegionDisabledException", "InvalidClientTokenId", "OptInRequired"}
)
INVALID_CONFIGURATION = "ResourceDataSyncInvalidConfigurationException"
S3_WRITE_FAILED_TEXT = "s3 write failed"

#: AWS's transient server-side faults (boto's standard mode retries them, and 5xx answers, first).
TRANSIENT_CODES = frozenset(
    {"InternalServerError", "InternalFailure", "InternalError", "ServiceUnavailable", "RequestTimeout",
     "RequestTimeoutException", "PriorRequestNotComplete"}
)

#: Every client retries with boto's standard mode: throttling, transient faults (5xx, RequestTimeout) and
#: connection errors and timeouts, with its truncated exponential backoff and full jitter. What is still failing
#: after MAX_ATTEMPTS surfaces as a named error (Throttled, AwsUnavailable) that the state machine retries.
MAX_ATTEMPTS = 3
CONNECT_TIMEOUT_SECONDS = 2
#: SSM, STS, Organizations and S3 answer these calls in well under a second; a stalled answer is retried.
READ_TIMEOUT_SECONDS = 5
#: Standard mode's backoff before attempt i+1 is at most min(2**(i-1), 20) s, plus up to 5 s more when AWS
#: sends x-amz-retry-after; every attempt may wait out both timeouts.
WORST_CASE_CALL_SECONDS = MAX_ATTEMPTS * (CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS) + sum(
    min(2**attempt, 20) + 5 for attempt in range(MAX_ATTEMPTS - 1)
)
BOTO_CONFIG = Config(
    retries={"mode": "standard", "total_max_attempts": MAX_ATTEMPTS},
    connect_timeout=CONNECT_TIMEOUT_SECONDS,
    read_timeout=READ_TIMEOUT_SECONDS,
    # One connection per thread of a parallel read (lambdas.parallel); botocore's default pool holds 10.
    max_pool_connections=READ_WORKERS,
)


class AccessDenied(OrgSyncError):
    """A role could not be assumed, or a call was denied; the message names the role or the action."""


class RegionDisabled(OrgSyncError):
    """The region is not enabled for the account."""


def _retry_sleeps_on_the_clock(client: Any) -> None:
    """Make ``client``'s standard-mode retries wait on :mod:`lambdas.clock` instead of ``time.sleep``.

    botocore's retry handler (``needs-retry`` event) returns the delay and its endpoint sleeps it in real time.
    The same handler, made by botocore's own ``register_retry_handler``, is wrapped so that its delay is waited
    here, on the invocation's clock (the wall clock on AWS, the virtual one on the local engine, where it then
    counts against the function's Timeout), and botocore is told to wait 0 s.
    """
    service = client.meta.service_model.service_id.hyphenize()
    event, unique_id = f"needs-retry.{service}", f"retry-config-{service}"
    client.meta.events.unregister(event, unique_id=unique_id)
    handler = standard_retries.register_retry_handler(client, MAX_ATTEMPTS)
    client.meta.events.unregister(event, unique_id=unique_id)

    def needs_retry(**kwargs: Any) -> Any:
        delay = handler.needs_retry(**kwargs)
        if delay is None or delay is False:
            return delay  # no retry
        clock.sleep(float(delay))
        return 0

    client.meta.events.register(event, needs_retry, unique_id=unique_id)




class AwsCallFailed(OrgSyncError):
    """An AWS call failed with an error orgsync has no rule for; the message names the action, code and message."""

    def __init__(self, message: str, code: str = "", aws_message: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.aws_message = aws_message


def error_code(error: ClientError) -> str:
    """The AWS error code of ``error`` ("" when absent)."""
    return str(error.response.get("Error", {}).get("Code", ""))


def error_message(error: ClientError) -> str:
    """The AWS error message of ``error`` ("" when absent)."""
    return str(error.response.get("Error", {}).get("Message", ""))


def translate(error: ClientError, action: str) -> OrgSyncError:
    """Our named error for an AWS ``ClientError`` raised by ``action`` (e.g. ``"ssm:CreateResourceDataSync"``)."""
    code, message = error_code(error), error_message(error)
    said = f"{code}: {message}" if message else code
    if code in THROTTLING_CODES:
        return Throttled(f"{action} throttled ({said})")
    if code in ACCESS_DENIED_CODES:
        return AccessDenied(f"{action} was denied ({said})")
    if code in REGION_DISABLED_CODES:
        return RegionDisabled(f"{action} was refused: the region is not enabled for the account ({said})")
    if code == INVALID_CONFIGURATION and S3_WRITE_FAILED_TEXT in message.lower():
        return S3WriteFailed(f"{action}: {said}")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    if code in TRANSIENT_CODES or (isinstance(status, int) and status >= 500):
        return AwsUnavailable(f"{action} failed after {MAX_ATTEMPTS} attempts ({said})")
    return AwsCallFailed(f"{action} failed ({said})", code, message)


def call(action: str, function: Callable[..., T], /, **kwargs: Any) -> T:
    """Call ``function(**kwargs)`` (a client method: boto retries it), turning its failure into our named error.

    Connection errors and timeouts become :class:`AwsUnavailable`, like AWS's transient faults. The call is
    refused with :class:`OutOfTime` when the invocation has less left than :data:`WORST_CASE_CALL_SECONDS`.

    >>> call("sts:Nothing", lambda **kw: kw["x"], x=1)
    1
    """
    left = invocation.remaining_seconds()
    if left is not None and left < WORST_CASE_CALL_SECONDS:
        raise OutOfTime(
            f"{action} not started: {left:.0f} s left of the function's timeout, a call may take "
            f"{WORST_CASE_CALL_SECONDS} s with its retries"
        )
    try:
        return function(**kwargs)
    except ClientError as exc:
        raise translate(exc, action) from exc
    except (BotoConnectionError, HTTPClientError) as exc:
        # EndpointConnectionError, ConnectTimeoutError (ConnectionError), ReadTimeoutError, ConnectionClosedError
        # (HTTPClientError): their text names the endpoint, never a credential.
        raise AwsUnavailable(f"{action} failed after {MAX_ATTEMPTS} attempts ({type(exc).__name__}: {exc})") from exc


def read_object(s3: Any, bucket: str, key: str) -> tuple[bytes, str]:
    """The body and ETag of ``s3://bucket/key``, the body read inside :func:`call`: a read timeout or a dropped
    connection while the body streams is translated like one during the request.

    >>> class Body:
    ...     def read(self): return b"{}"
    >>> class S3:
    ...     def get_object(self, **kw): return {"Body": Body(), "ETag": '"abc"'}
    >>> read_object(S3(), "b", "k")
    (b'{}', '"abc"')
    """

    def get(**kwargs: Any) -> tuple[bytes, str]:
        response = s3.get_object(**kwargs)
        return response["Body"].read(), str(response.get("ETag", ""))

    return call(f"s3:GetObject on s3://{bucket}/{key}", get, Bucket=bucket, Key=key)


def list_object_pages(s3: Any, bucket: str, prefix: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every page of ``ListObjectsV2`` of ``prefix`` in ``bucket`` (``kwargs``: ``Delimiter``, ``MaxKeys``), each
    page one :func:`call`: a paginator's iteration would make its calls outside it, untranslated and unchecked
    against the time left.

    >>> class S3:
    ...     def list_objects_v2(self, **kw):
    ...         token = int(kw.get("ContinuationToken", 0))
    ...         return {"Contents": [{"Key": f"p/{token}"}], "IsTruncated": token < 1, "NextContinuationToken": "1"}
    >>> [page["Contents"][0]["Key"] for page in list_object_pages(S3(), "b", "p/")]
    ['p/0', 'p/1']
    """
    action = f"s3:ListObjectsV2 on s3://{bucket}/{prefix}"
    token: str | None = None
    while True:
        page: dict[str, Any] = call(
            action, s3.list_objects_v2, Bucket=bucket, Prefix=prefix, **kwargs,
            **({"ContinuationToken": token} if token else {}),
        )
        yield page
        if not page.get("IsTruncated"):
            return
        token = page["NextContinuationToken"]


@dataclass(frozen=True)
class Credentials:
    """Credentials of an identity: the function's own role (from its environment) or an assumed role.

    The secret and the token never appear in a repr (a log line or an error message may show one).

    >>> Credentials("ASIAEXAMPLE", "secret", "token")
    Credentials(access_key_id='ASIAEXAMPLE', expiration=None)
    """

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(default="", repr=False)
    expiration: datetime | None = None

    def as_client_kwargs(self) -> dict[str, str]:
        """The keyword arguments of ``Session.client`` for these credentials."""
        kwargs = {"aws_access_key_id": self.access_key_id, "aws_secret_access_key": self.secret_access_key}
        if self.session_token:
            kwargs["aws_session_token"] = self.session_token
        return kwargs


DEFAULT_REGION = "us-east-1"
#: Least recently used clients beyond this are dropped (a client holds its models' references, ~100 KB).
MAX_CACHED_CLIENTS = 64

# One boto3 session for the process: it caches the service models, the expensive part of making a client.
# boto3's Session.client is not thread-safe, so every client is made under _clients_lock; clients themselves are.
_clients_lock = threading.Lock()
_default_session: boto3.session.Session | None = None
_clients: OrderedDict[tuple[int, str, str, str, str], Any] = OrderedDict()


@dataclass(frozen=True)
class ClientProvider:
    """Makes the boto3 clients of one identity: ``credentials`` (None: the session's own chain), ``region``
    (where a client goes unless told otherwise) and ``session`` (None: one shared by the process).

    The Lambda code takes one as a parameter, as Powertools' persistence layers take a ``boto3_session``; a
    handler builds it from its invocation's environment (:meth:`from_environment`). Thread-safe; clients are
    cached per session, service, region and credentials, so a warm container reuses them.

    >>> clients = ClientProvider.from_environment({"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
    ...                                            "AWS_SECRET_ACCESS_KEY": "secret"})
    >>> clients
    ClientProvider(region='eu-west-1', credentials=Credentials(access_key_id='AKIDEXAMPLE', expiration=None))
    >>> clients.client("s3").meta.region_name, clients.client("s3", "us-east-1").meta.region_name
    ('eu-west-1', 'us-east-1')
    """

    region: str = DEFAULT_REGION
    credentials: Credentials | None = None
    session: boto3.session.Session | None = field(default=None, repr=False, compare=False)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> ClientProvider:
        """The function's own identity: its role's keys and region, as Lambda puts them in its environment.

        ``environ`` is the invocation's environment (:func:`lambdas.invocation.environment` by default).
        """
        env = invocation.environment() if environ is None else environ
        region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
        key, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
        credentials = Credentials(key, secret, env.get("AWS_SESSION_TOKEN") or "") if key and secret else None
        return cls(region, credentials)

    def client(self, service: str, region: str | None = None) -> Any:
        """A client for ``service`` in ``region`` (this provider's region by default), made once and reused."""
        global _default_session
        region_name = region or self.region
        keys = self.credentials.as_client_kwargs() if self.credentials else {}
        # The key holds the access key and token, so another role's or account's credentials never share a client.
        cache_key = (
            id(self.session),
            service,
            region_name,
            keys.get("aws_access_key_id", ""),
            keys.get("aws_session_token", ""),
        )
        with _clients_lock:
            cached = _clients.get(cache_key)
            if cached is not None:
                _clients.move_to_end(cache_key)
                return cached
            if self.session is None and _default_session is None:
                _default_session = boto3.session.Session()
            session: Any = self.session or _default_session  # the service is a runtime string, not a stub literal
            made = session.client(service, region_name=region_name, config=BOTO_CONFIG, **keys)
            _retry_sleeps_on_the_clock(made)
            _clients[cache_key] = made
            while len(_clients) > MAX_CACHED_CLIENTS:
                _clients.popitem(last=False)
            return made

    def assuming(self, role_arn: str, cache_scope: str) -> ClientProvider:
        """The same session and region with ``role_arn``'s credentials, assumed once per ``cache_scope``.

        Example::

            member = clients.assuming("arn:aws:iam::200000000001:role/OrgSyncMemberRole", "exec-1")
            member.client("ssm", "eu-west-1").list_resource_data_sync()
        """
        credentials = cached_role_credentials(role_arn, cache_scope, lambda: self.client("sts"))
        return ClientProvider(self.region, credentials, self.session)


SESSION_NAME_PREFIX = "orgsync-"
MAX_SESSION_NAME_LENGTH = 64
_SESSION_NAME_FORBIDDEN = re.compile(r"[^\w+=,.@-]", re.ASCII)

#: Refresh cached credentials this long before they expire (a slow account-region must not outlive them).
CREDENTIALS_REFRESH_MARGIN = timedelta(minutes=10)
SESSION_DURATION_SECONDS = 3600

_credentials_lock = threading.Lock()
_credentials_cache: dict[tuple[str, str], Credentials] = {}


def session_name(execution_name: str) -> str:
    """The role session name of an execution's AssumeRole calls, valid for STS and traceable in CloudTrail.

    STS takes 2 to 64 characters of ``[\\w+=,.@-]`` (ASCII); an execution name may have 80 characters and others
    (Step Functions allows any but whitespace, brackets, wildcards, some punctuation and control characters).
    A name that fits is used as it is after ``orgsync-``; any other is cleaned, cut, and followed by a hash of the
    whole name, so two executions never share a session name.

    >>> session_name("rollout-2026-01-01")
    'orgsync-rollout-2026-01-01'
    >>> session_name("déploiement#1")
    'orgsync-d-ploiement-1-d8b11dde'
    >>> len(session_name("x" * 80))
    64
    """
    cleaned = _SESSION_NAME_FORBIDDEN.sub("-", execution_name)
    whole = f"{SESSION_NAME_PREFIX}{cleaned}"
    if cleaned == execution_name and len(whole) <= MAX_SESSION_NAME_LENGTH:
        return whole
    digest = hashlib.sha256(execution_name.encode()).hexdigest()[:8]
    room = MAX_SESSION_NAME_LENGTH - len(SESSION_NAME_PREFIX) - len(digest) - 1
    return f"{SESSION_NAME_PREFIX}{cleaned[:room]}-{digest}"


def assume_role(sts: Any, role_arn: str, session_name: str) -> Credentials:
    """Assume ``role_arn``; ``AccessDenied`` names the role when that is refused.

    Example (with moto)::

        credentials = assume_role(clients.client("sts"), "arn:aws:iam::200000000001:role/OrgSyncMemberRole", "orgsync")
    """
    try:
        response = call(
            f"sts:AssumeRole on {role_arn}",
            sts.assume_role,
            RoleArn=role_arn,
            RoleSessionName=session_name,
            DurationSeconds=SESSION_DURATION_SECONDS,
        )
    except AwsCallFailed as error:
        # A missing role is AccessDenied (deploy the member role). A ValidationError (a bad session name) is not:
        # it stays the AWS error it is, with AWS's message.
        if error.code == "NoSuchEntity":
            raise AccessDenied(str(error)) from error
        raise
    raw = response["Credentials"]
    expiration = raw["Expiration"]
    if expiration.tzinfo is None:
        expiration = expiration.replace(tzinfo=UTC)
    return Credentials(raw["AccessKeyId"], raw["SecretAccessKey"], raw["SessionToken"], expiration)


def cached_role_credentials(role_arn: str, cache_scope: str, sts_factory: Callable[[], Any]) -> Credentials:
    """Credentials of ``role_arn``, assumed once per ``cache_scope`` (the execution) while they stay valid.

    The scope keeps a warm container from reusing credentials of an earlier run (on the local engine, an
    earlier simulated AWS). Expiry is compared with the wall clock: STS sets it in real time.

    Example::

        credentials = cached_role_credentials(
            "arn:aws:iam::200000000001:role/OrgSyncMemberRole", "exec-1", lambda: clients.client("sts")
        )
    """
    key = (cache_scope, role_arn)
    with _credentials_lock:
        cached = _credentials_cache.get(key)
    if cached is not None and cached.expiration and cached.expiration - CREDENTIALS_REFRESH_MARGIN > datetime.now(UTC):
        return cached
    credentials = assume_role(sts_factory(), role_arn, session_name(cache_scope))
    with _credentials_lock:
        _credentials_cache[key] = credentials
    return credentials


def clear_credentials_cache() -> None:
    """Forget every cached credential, client and the shared session (tests and the local runner call this between
    runs: a session made before moto was imported has none of its hooks and would reach real AWS)."""
    global _default_session
    with _credentials_lock:
        _credentials_cache.clear()
    with _clients_lock:
        _clients.clear()
        _default_session = None


def cached_credentials_count() -> int:
    """How many role credentials are cached (lets tests prove an account's regions share one AssumeRole)."""
    with _credentials_lock:
        return len(_credentials_cache)
