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

import random
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from lambdas import clock, invocation
from lambdas.errors import OrgSyncError, S3WriteFailed, Throttled

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

#: AWS's transient server-side faults: retried like throttling by :func:`with_backoff`.
TRANSIENT_CODES = frozenset(
    {"InternalServerError", "InternalFailure", "InternalError", "ServiceUnavailable", "RequestTimeout",
     "RequestTimeoutException"}
)

#: No botocore retries: botocore sleeps in real time and hides the attempts. Throttling and transient faults
#: are retried by :func:`with_backoff` (on lambdas.clock, virtual locally) and then by the state's Retry.
BOTO_CONFIG = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=5, read_timeout=30)


class AccessDenied(OrgSyncError):
    """A role could not be assumed, or a call was denied; the message names the role or the action."""


class RegionDisabled(OrgSyncError):
    """The region is not enabled for the account."""


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
    return AwsCallFailed(f"{action} failed ({said})", code, message)


def call(action: str, function: Callable[..., T], /, **kwargs: Any) -> T:
    """Call ``function(**kwargs)``, turning a ``ClientError`` into our named error.

    >>> call("sts:Nothing", lambda **kw: kw["x"], x=1)
    1
    """
    try:
        return function(**kwargs)
    except ClientError as exc:
        raise translate(exc, action) from exc


def with_backoff(
    action: str,
    function: Callable[..., T],
    /,
    *,
    attempts: int = 6,
    base_seconds: float = 1.0,
    max_seconds: float = 20.0,
    **kwargs: Any,
) -> T:
    """Like :func:`call`, but a throttled (or transiently failing) call is retried with backoff and full jitter.

    Waits use :func:`lambdas.clock.sleep` (virtual on the local engine). The last ``Throttled`` is raised
    after ``attempts`` tries, so the state machine's own Retry takes over.

    >>> with_backoff("x:Y", lambda **kw: "ok")
    'ok'
    """
    for attempt in range(attempts):
        try:
            return call(action, function, **kwargs)
        except (Throttled, AwsCallFailed) as exc:
            transient = isinstance(exc, Throttled) or exc.code in TRANSIENT_CODES
            if not transient or attempt == attempts - 1:
                raise
            clock.sleep(random.uniform(0, min(max_seconds, base_seconds * 2**attempt)))
    raise AssertionError("unreachable")  # pragma: no cover


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


#: Refresh cached credentials this long before they expire (a slow account-region must not outlive them).
CREDENTIALS_REFRESH_MARGIN = timedelta(minutes=10)
SESSION_DURATION_SECONDS = 3600

_credentials_lock = threading.Lock()
_credentials_cache: dict[tuple[str, str], Credentials] = {}


def assume_role(sts: Any, role_arn: str, session_name: str) -> Credentials:
    """Assume ``role_arn``; ``AccessDenied`` names the role when that is refused.

    Example (with moto)::

        credentials = assume_role(clients.client("sts"), "arn:aws:iam::200000000001:role/OrgSyncMemberRole", "orgsync")
    """
    try:
        response = sts.assume_role(
            RoleArn=role_arn, RoleSessionName=session_name[:64], DurationSeconds=SESSION_DURATION_SECONDS
        )
    except ClientError as exc:
        error = translate(exc, f"sts:AssumeRole on {role_arn}")
        if isinstance(error, AwsCallFailed) and error.code in {"NoSuchEntity", "ValidationError"}:
            error = AccessDenied(str(error))
        raise error from exc
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
    credentials = assume_role(sts_factory(), role_arn, f"orgsync-{cache_scope}")
    with _credentials_lock:
        _credentials_cache[key] = credentials
    return credentials


def clear_credentials_cache() -> None:
    """Forget every cached credential and client (tests and the local runner call this between runs)."""
    with _credentials_lock:
        _credentials_cache.clear()
    with _clients_lock:
        _clients.clear()


def cached_credentials_count() -> int:
    """How many role credentials are cached (lets tests prove an account's regions share one AssumeRole)."""
    with _credentials_lock:
        return len(_credentials_cache)
