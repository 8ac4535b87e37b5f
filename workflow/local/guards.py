"""AWS's access rules moto does not enforce, as guards of the request boundary (:mod:`workflow.local.faults`).

- :func:`disabled_region_guard`: a call signed by an account for a region in its ``disabledRegions`` fails as on
  AWS for a region the account has not opted in to: STS answers ``RegionDisabledException`` (403, "STS is not
  activated in this region for account:ID. ..."), every other service ``UnrecognizedClientException`` (400,
  "The security token included in the request is invalid.").
- :func:`missing_role_guard`: ``sts:AssumeRole`` into a role that does not exist is ``AccessDenied`` (403,
  "User: <caller arn> is not authorized to perform: sts:AssumeRole on resource: <role arn>"), as on AWS (moto
  alone hands out credentials for any ARN).

:class:`AccessKeyAccounts` makes finding who signs a call cheap.

Example::

    >>> guard = disabled_region_guard(lambda account_id: None)
    >>> guard(Call("ssm", "ListResourceDataSync", "200000000001", None, "ap-east-1", None)) is None
    True
"""

from __future__ import annotations

from collections.abc import Callable

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
    """moto's access key -> account lookup, remembering what it found.

    moto scans every account's IAM backend for each request's key, which makes a rollout over N accounts cost
    O(N^2). An access key never changes account, so every answer is kept, misses (moto's default account, e.g.
    for the interpreter's fixed key) included: a key is issued before anyone signs with it, so a key that was
    unknown when first used stays unknown.

    Example::

        >>> lookups = []
        >>> accounts = AccessKeyAccounts(lambda key: lookups.append(key) or "300000000001")
        >>> accounts("AKIAEXAMPLE"), accounts("AKIAEXAMPLE"), lookups
        ('300000000001', '300000000001', ['AKIAEXAMPLE'])
    """

    def __init__(self, lookup: Callable[[str], str]) -> None:
        self._lookup = lookup
        self._known: dict[str, str] = {}

    def __call__(self, access_key: str) -> str:
        account_id = self._known.get(access_key)
        if account_id is None:
            account_id = self._known[access_key] = self._lookup(access_key)
        return account_id
