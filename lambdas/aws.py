"""The AWS boundary of the Lambda code: clients, member-account sessions, retries and error translation.

- Clients come from one shared boto3 session (model loading is the expensive part) with explicit credentials,
  and with botocore's own retries kept small: botocore sleeps in real time, our retries use
  :mod:`lambdas.clock` (virtual on the local engine) and the state machine's Retry, where they are visible.
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

import os
import random
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from lambdas import clock
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


_session_lock = threading.Lock()
_session: boto3.session.Session | None = None
#: Least recently used clients beyond this are dropped (a client holds its models' references, ~100 KB).
MAX_CACHED_CLIENTS = 64
_clients: OrderedDict[tuple[str, str, str, str], Any] = OrderedDict()


def _own_credentials() -> dict[str, str]:
    # Read per call, not cached: Lambda (and the local engine, per function) put the role's keys in the
    # environment, and a cached key would send calls to another account.
    keys = {
        "aws_access_key_id": os.environ.get("AWS_ACCESS_KEY_ID"),
        "aws_secret_access_key": os.environ.get("AWS_SECRET_ACCESS_KEY"),
        "aws_session_token": os.environ.get("AWS_SESSION_TOKEN"),
    }
    if not keys["aws_access_key_id"] or not keys["aws_secret_access_key"]:
        return {}
    return {key: value for key, value in keys.items() if value}


def own_region() -> str:
    """The region the function runs in (``AWS_REGION`` on Lambda)."""
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"


def client(service: str, region: str | None = None, credentials: Credentials | None = None) -> Any:
    """A client for ``service`` in ``region``, with the function's own credentials or ``credentials``.

    >>> client("s3", "us-east-1").meta.region_name
    'us-east-1'
    """
    global _session
    keys = credentials.as_client_kwargs() if credentials else _own_credentials()
    region_name = region or own_region()
    # Clients are reused while their credentials are (a warm container, an account's regions); the key holds the
    # access key so credentials of another role or account never share a client.
    cache_key = (service, region_name, keys.get("aws_access_key_id", ""), keys.get("aws_session_token", ""))
    # One session per process: it caches the service models. Session.client is not thread-safe: serialise.
    with _session_lock:
        cached = _clients.get(cache_key)
        if cached is not None:
            _clients.move_to_end(cache_key)
            return cached
        if _session is None:
            _session = boto3.session.Session()
        session: Any = _session  # the service name is a runtime string, not one of the stubs' literals
        made = session.client(service, region_name=region_name, config=BOTO_CONFIG, **keys)
        _clients[cache_key] = made
        while len(_clients) > MAX_CACHED_CLIENTS:
            _clients.popitem(last=False)
        return made


@dataclass(frozen=True)
class Credentials:
    """Temporary credentials of an assumed role."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime

    def as_client_kwargs(self) -> dict[str, str]:
        """The keyword arguments of ``Session.client`` for these credentials."""
        return {
            "aws_access_key_id": self.access_key_id,
            "aws_secret_access_key": self.secret_access_key,
            "aws_session_token": self.session_token,
        }


#: Refresh cached credentials this long before they expire (a slow account-region must not outlive them).
CREDENTIALS_REFRESH_MARGIN = timedelta(minutes=10)
SESSION_DURATION_SECONDS = 3600

_credentials_lock = threading.Lock()
_credentials_cache: dict[tuple[str, str], Credentials] = {}


def assume_role(sts: Any, role_arn: str, session_name: str) -> Credentials:
    """Assume ``role_arn``; ``AccessDenied`` names the role when that is refused.

    Example (with moto)::

        credentials = assume_role(client("sts"), "arn:aws:iam::200000000001:role/OrgSyncMemberRole", "orgsync")
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


def cached_role_credentials(
    role_arn: str, cache_scope: str, sts_factory: Callable[[], Any] | None = None
) -> Credentials:
    """Credentials of ``role_arn``, assumed once per ``cache_scope`` (the execution) while they stay valid.

    The scope keeps a warm container from reusing credentials of an earlier run (on the local engine, an
    earlier simulated AWS). Expiry is compared with the wall clock: STS sets it in real time.

    Example::

        credentials = cached_role_credentials("arn:aws:iam::200000000001:role/OrgSyncMemberRole", "exec-1")
    """
    key = (cache_scope, role_arn)
    with _credentials_lock:
        cached = _credentials_cache.get(key)
    if cached is not None and cached.expiration - CREDENTIALS_REFRESH_MARGIN > datetime.now(UTC):
        return cached
    sts = sts_factory() if sts_factory else client("sts")
    credentials = assume_role(sts, role_arn, f"orgsync-{cache_scope}")
    with _credentials_lock:
        _credentials_cache[key] = credentials
    return credentials


def clear_credentials_cache() -> None:
    """Forget every cached credential and client (tests and the local runner call this between runs)."""
    with _credentials_lock:
        _credentials_cache.clear()
    with _session_lock:
        _clients.clear()


def cached_credentials_count() -> int:
    """How many role credentials are cached (lets tests prove an account's regions share one AssumeRole)."""
    with _credentials_lock:
        return len(_credentials_cache)
