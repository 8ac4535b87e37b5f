"""AWS's access rules moto does not enforce, as guards of the request boundary (:mod:`workflow.local.faults`).

- :func:`disabled_region_guard`: a call signed by an account for a region in its ``disabledRegions`` fails as on
  AWS for a region the account has not opted in to: STS answers ``RegionDisabledException`` (403, "STS is not
  activated in this region for account:ID. ..."), every other service ``UnrecognizedClientException`` (400,
  "The security token included in the request is invalid.").
- :func:`missing_role_guard`: ``sts:AssumeRole`` into a role that does not exist is ``AccessDenied`` (403,
  "User: <caller arn> is not authorized to perform: sts:AssumeRole on resource: <role arn>"), as on AWS (moto
  alone hands out credentials for any ARN).
- :func:`role_session_name_guard`: ``sts:AssumeRole`` with a ``RoleSessionName`` STS refuses (2 to 64 of
  ``[\\w+=,.@-]``) is ``ValidationError`` (400) with AWS's message.

:class:`AccessKeyAccounts` makes finding who signs a call cheap.

Example::

    >>> guard = disabled_region_guard(lambda account_id: None)
    >>> guard(Call("ssm", "ListResourceDataSync", "200000000001", None, "ap-east-1", None)) is None
    True
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from lambdas.identifiers import MAX_ROLE_SESSION_NAME_LENGTH
from workflow.local.faults import Call, Guard, ServiceError
from workflow.local.scenario import Account
from workflow.local.seams import iam_backends, sts_backends

PARTITION = "aws"


def disabled_region_guard(account_of: Callable[[str], Account | None]) -> Guard:
    """The guard refusing calls of an account to the regions it has not enabled (``account_of`` finds it by id)."""

    def guard(call: Call) -> ServiceError | None:
        account = account_of(call.account_id or "")
        if account is None or call.region not in account.disabled_regions:
            return None
        if call.service == "sts":
            return ServiceError(
                "RegionDisabledException",
                f"STS is not activated in this region for account:{account.id}. Your account administrator can "
                "activate STS in this region using the IAM Console.",
                403,
            )
        return ServiceError(
            "UnrecognizedClientException", "The security token included in the request is invalid.", 400
        )

    return guard


def missing_role_guard(call: Call) -> ServiceError | None:
    """``AccessDenied`` for ``sts:AssumeRole`` into a role that does not exist; None for every other call."""
    if call.service != "sts" or call.operation != "AssumeRole":
        return None
    role_arn = call.form().get("RoleArn", "")
    parts = role_arn.split(":")
    if len(parts) < 6 or not parts[4].isdigit():
        return None  # moto validates the ARN itself
    try:
        iam_backends[parts[4]]["global"].get_role_by_arn(role_arn)
        return None
    except Exception:  # moto's NotFoundException: the role does not exist
        pass
    caller = call.account_id or ""
    caller_arn = sts_backends[caller][PARTITION].get_caller_identity(call.access_key or "", call.region or "")[1]
    return ServiceError(
        "AccessDenied",
        f"User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
        403,
    )


class AccessKeyAccounts:
    """moto's access key -> account lookup, remembering what it found and told of the keys STS issues.

    moto scans every account's IAM backend for each request's key, which makes a rollout over N accounts cost
    O(N^2). An access key never changes account, so every answer is kept, misses (moto's default account, e.g.
    for the interpreter's fixed key) included: a key is issued before anyone signs with it, so a key that was
    unknown when first used stays unknown. The temporary keys ``AssumeRole`` issues (one per account and run) are
    told to it as they are made (:meth:`issuing`), so their first use does not scan either.

    Example::

        >>> lookups = []
        >>> accounts = AccessKeyAccounts(lambda key: lookups.append(key) or "300000000001")
        >>> accounts("AKIAEXAMPLE"), accounts("AKIAEXAMPLE"), lookups
        ('300000000001', '300000000001', ['AKIAEXAMPLE'])
        >>> issue = accounts.issuing(lambda backend, role: ("200000000001", type("Key", (), {
        ...     "physical_resource_id": "ASIAEXAMPLE"})()))
        >>> _ = issue(None, "arn:aws:iam::200000000001:role/OrgSyncMemberRole")
        >>> accounts("ASIAEXAMPLE"), lookups
        ('200000000001', ['AKIAEXAMPLE'])
    """

    def __init__(self, lookup: Callable[[str], str]) -> None:
        self._lookup = lookup
        self._known: dict[str, str] = {}

    def __call__(self, access_key: str) -> str:
        account_id = self._known.get(access_key)
        if account_id is None:
            account_id = self._known[access_key] = self._lookup(access_key)
        return account_id

    def issuing(self, create_access_key: Callable[[Any, str], tuple[str, Any]]) -> Callable[[Any, str], Any]:
        """moto STS's ``_create_access_key(self, role)`` (``(account, key)`` for a role ARN), remembering each key's
        account as it is made."""

        @functools.wraps(create_access_key)  # moto's signature, which the seam check reads while installed
        def create(backend: Any, role: str) -> tuple[str, Any]:
            account_id, key = create_access_key(backend, role)
            self._known[key.physical_resource_id] = account_id
            return account_id, key

        return create


#: STS's constraints on ``RoleSessionName`` (its API reference): 2 to 64 characters of ``[\w+=,.@-]*``.
ROLE_SESSION_NAME = re.compile(r"[\w+=,.@-]*", re.ASCII)
ROLE_SESSION_NAME_LENGTH = (2, MAX_ROLE_SESSION_NAME_LENGTH)


def role_session_name_guard(call: Call) -> ServiceError | None:
    """``sts:AssumeRole`` with a session name STS refuses: ``ValidationError`` (400) with AWS's message.

    moto checks only the maximum length; AWS reports every violated constraint, as its input validation does.

    >>> from botocore.awsrequest import AWSPreparedRequest
    >>> body = "Action=AssumeRole&RoleArn=arn%3Aaws%3Aiam%3A%3A200000000001%3Arole%2Fr&RoleSessionName=a%23b"
    >>> request = AWSPreparedRequest("POST", "https://sts.amazonaws.com/", {}, body, False)
    >>> error = role_session_name_guard(Call("sts", "AssumeRole", None, None, "us-east-1", request))
    >>> error.code, error.message.split(": Member ")[0]
    ('ValidationError', "1 validation error detected: Value 'a#b' at 'roleSessionName' failed to satisfy constraint")
    """
    if call.service != "sts" or call.operation != "AssumeRole":
        return None
    name = call.form().get("RoleSessionName")
    if name is None:
        return None  # a missing parameter is moto's to refuse
    shortest, longest = ROLE_SESSION_NAME_LENGTH
    problems = []
    if len(name) > longest:
        problems.append(f"Member must have length less than or equal to {longest}")
    if len(name) < shortest:
        problems.append(f"Member must have length greater than or equal to {shortest}")
    if not ROLE_SESSION_NAME.fullmatch(name):
        problems.append(f"Member must satisfy regular expression pattern: {ROLE_SESSION_NAME.pattern}")
    if not problems:
        return None
    count = f"{len(problems)} validation error{'s' if len(problems) > 1 else ''} detected"
    details = "; ".join(
        f"Value '{name}' at 'roleSessionName' failed to satisfy constraint: {problem}" for problem in problems
    )
    return ServiceError("ValidationError", f"{count}: {details}", 400)
