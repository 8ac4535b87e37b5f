"""Does the bucket policy let SSM write the marker? A small evaluator of S3 bucket policies for the SSM principal.

moto's own S3 policy check (``FakeBucket.allow_action`` over ``moto.iam.access_control.IAMPolicyStatement``)
only considers ``Principal: "*"`` statements and ignores conditions, so it cannot tell a policy scoped to
``ssm.amazonaws.com`` and ``aws:SourceOrgID`` from a wrong one. This module evaluates what the decision needs:
``Effect`` (an explicit Deny wins, then an Allow, else implicit deny), ``Principal`` / ``NotPrincipal``
(``*``, ``{"Service": ...}`` string or list), ``Action`` / ``NotAction`` and ``Resource`` / ``NotResource``
with ``*`` and ``?`` wildcards, and conditions ``StringEquals``, ``StringNotEquals``, ``StringLike``,
``StringNotLike``, ``StringEqualsIgnoreCase``, ``Bool``, ``ArnLike``, ``ArnEquals`` (and their ``IfExists``
forms). An operator it does not know makes its statement not apply (a conservative reading for Allow).

SSM's write carries the request context of a service principal writing on behalf of the source account:
``aws:SourceOrgID``, ``aws:SourceAccount``, ``s3:x-amz-acl=bucket-owner-full-control``,
``s3:RequestObjectTag/OrgId`` (SSM tags organization objects with the OrgId), ``aws:SecureTransport=true``.
In opt-in regions SSM acts as its regional principal ``ssm.<region>.amazonaws.com`` (docs/aws-behaviour.md:
opt-in regions may need the regional principal): we take the strict reading, only the regional principal matches
there.

Example::

    >>> doc = policy_document("source-org-id", "acme-inventory", "default", "o-abcdefghij")
    >>> ssm_write_denial(doc, "acme-inventory", "default", "200000000001", "us-east-1", "o-abcdefghij") is None
    True
    >>> ssm_write_denial(doc, "acme-inventory", "default", "200000000001", "us-east-1", "o-zzzzzzzzzz")[:55]
    'no statement allows ssm.amazonaws.com s3:PutObject on a'
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lambdas.marker import marker_key
from lambdas.regions import OPT_IN_REGIONS, ssm_service_principal

POLICY_KINDS = ("source-org-id", "request-object-tag", "none")


@dataclass(frozen=True)
class Request:
    """One request to judge: who (a service principal), what, on which resource, with which context keys."""

    principal_service: str
    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)


def policy_document(
    kind: str,
    bucket: str,
    prefix: str | None,
    organization_id: str,
    opt_in_regions: Iterable[str] = OPT_IN_REGIONS,
) -> dict[str, Any] | None:
    """The documented bucket policy of ``kind`` (``source-org-id`` / ``request-object-tag``), or None for ``none``.

    SSM's principal is the global one plus the regional one of each of ``opt_in_regions`` (all of them by
    default: a seeded organization may use any), since in an opt-in region SSM writes as its regional principal.
    """
    if kind == "none":
        return None
    if kind == "source-org-id":
        org_condition = {"aws:SourceOrgID": organization_id}
    elif kind == "request-object-tag":
        org_condition = {"s3:RequestObjectTag/OrgId": organization_id}
    else:
        raise ValueError(f"unknown bucket policy kind {kind!r} (one of {', '.join(POLICY_KINDS)})")
    objects = f"arn:aws:s3:::{bucket}/{prefix}/*/accountid=*/*" if prefix else f"arn:aws:s3:::{bucket}/*/accountid=*/*"
    principal = {"Service": ["ssm.amazonaws.com", *(ssm_service_principal(r) for r in sorted(opt_in_regions))]}
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "SSMBucketPermissionsCheck",
                "Effect": "Allow",
                "Principal": principal,
                "Action": "s3:GetBucketAcl",
                "Resource": f"arn:aws:s3:::{bucket}",
            },
            {
                "Sid": "SSMBucketDelivery",
                "Effect": "Allow",
                "Principal": principal,
                "Action": "s3:PutObject",
                "Resource": [objects],
                "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", **org_condition}},
            },
            {
                "Sid": "SSMBucketDeliveryTagging",
                "Effect": "Allow",
                "Principal": principal,
                "Action": "s3:PutObjectTagging",
                "Resource": [objects],
            },
        ],
    }


def ssm_write_denial(
    policy: str | bytes | Mapping[str, Any] | None,
    bucket: str,
    prefix: str | None,
    account_id: str,
    region: str,
    organization_id: str | None,
) -> str | None:
    """Why SSM (syncing ``account_id`` in ``region``) may not write its marker into ``bucket``; None if it may."""
    document = _load(policy)
    principal = ssm_service_principal(region)
    context = {
        "aws:SourceAccount": account_id,
        "aws:SecureTransport": "true",
        "s3:x-amz-acl": "bucket-owner-full-control",
    }
    if organization_id:
        context["aws:SourceOrgID"] = organization_id
        context["s3:RequestObjectTag/OrgId"] = organization_id
    requests = (
        Request(principal, "s3:GetBucketAcl", f"arn:aws:s3:::{bucket}", context),
        Request(principal, "s3:PutObject", f"arn:aws:s3:::{bucket}/{marker_key(prefix, account_id)}", context),
    )
    for request in requests:
        decision, sid = evaluate(document, request)
        if decision == "Deny":
            return f"statement {sid or '(no Sid)'} denies {principal} {request.action} on {request.resource}"
        if decision != "Allow":
            return f"no statement allows {principal} {request.action} on {request.resource}"
    return None


def evaluate(document: Mapping[str, Any] | None, request: Request) -> tuple[str, str | None]:
    """``("Allow" | "Deny" | "ImplicitDeny", Sid of the deciding statement)`` for ``request`` under ``document``."""
    if not document:
        return "ImplicitDeny", None
    statements = document.get("Statement", [])
    if isinstance(statements, Mapping):
        statements = [statements]
    allowed_by: str | None = None
    allowed = False
    for statement in statements:
        if not _applies(statement, request):
            continue
        if statement.get("Effect") == "Deny":
            return "Deny", statement.get("Sid")
        if statement.get("Effect") == "Allow" and not allowed:
            allowed, allowed_by = True, statement.get("Sid")
    return ("Allow", allowed_by) if allowed else ("ImplicitDeny", None)


# --- matching --------------------------------------------------------------------------------------------------


def _load(policy: str | bytes | Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if policy is None:
        return None
    if isinstance(policy, Mapping):
        return policy
    text = policy.decode() if isinstance(policy, bytes) else policy
    loaded = json.loads(text)
    return loaded if isinstance(loaded, Mapping) else None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _glob(pattern: str, value: str, ignore_case: bool = False) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL) is not None


def _principal_matches(principal: Any, service: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    if principal.get("AWS") == "*":
        return True
    return service in _as_list(principal.get("Service"))


def _applies(statement: Mapping[str, Any], request: Request) -> bool:
    if "Principal" in statement:
        if not _principal_matches(statement["Principal"], request.principal_service):
            return False
    elif "NotPrincipal" in statement:
        if _principal_matches(statement["NotPrincipal"], request.principal_service):
            return False
    else:
        return False  # a bucket policy statement without a principal grants nothing
    if "Action" in statement:
        if not any(_glob(p, request.action, ignore_case=True) for p in _as_list(statement["Action"])):
            return False
    elif "NotAction" in statement:
        if any(_glob(p, request.action, ignore_case=True) for p in _as_list(statement["NotAction"])):
            return False
    else:
        return False
    if "Resource" in statement:
        if not any(_glob(p, request.resource) for p in _as_list(statement["Resource"])):
            return False
    elif "NotResource" in statement:
        if any(_glob(p, request.resource) for p in _as_list(statement["NotResource"])):
            return False
    else:
        return False
    return _conditions_hold(statement.get("Condition") or {}, request.context)


_NEGATED = ("StringNotEquals", "StringNotLike", "StringNotEqualsIgnoreCase", "ArnNotEquals", "ArnNotLike")


def _conditions_hold(conditions: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    lowered = {key.lower(): value for key, value in context.items()}
    for operator, clauses in conditions.items():
        if_exists = operator.endswith("IfExists")
        base = operator.removesuffix("IfExists")
        if not isinstance(clauses, Mapping):
            return False
        for key, expected in clauses.items():
            actual = lowered.get(str(key).lower())
            if actual is None:
                if if_exists or base in _NEGATED:
                    continue
                return False
            if not _compare(base, actual, [str(v).lower() if base == "Bool" else str(v) for v in _as_list(expected)]):
                return False
    return True


def _compare(operator: str, actual: str, expected: Sequence[str]) -> bool:
    if operator in ("StringEquals", "ArnEquals"):
        return actual in expected
    if operator in ("StringNotEquals", "ArnNotEquals"):
        return actual not in expected
    if operator == "StringEqualsIgnoreCase":
        return actual.lower() in (e.lower() for e in expected)
    if operator == "StringNotEqualsIgnoreCase":
        return actual.lower() not in (e.lower() for e in expected)
    if operator in ("StringLike", "ArnLike"):
        return any(_glob(e, actual) for e in expected)
    if operator in ("StringNotLike", "ArnNotLike"):
        return not any(_glob(e, actual) for e in expected)
    if operator == "Bool":
        return actual.lower() in expected
    return False  # unknown operator: the statement does not apply
