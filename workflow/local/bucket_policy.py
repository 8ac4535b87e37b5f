"""Does the bucket policy let SSM write the marker? The emulated SSM's check, on orgsync's policy evaluator.

moto's own S3 policy check (``FakeBucket.allow_action`` over ``moto.iam.access_control.IAMPolicyStatement``)
only considers ``Principal: "*"`` statements and ignores conditions, so it cannot tell a policy scoped to
``ssm.amazonaws.com`` and ``aws:SourceOrgID`` from a wrong one. The emulated SSM judges the policy with
:mod:`lambdas.policy` (read exactly as IAM does: an explicit Deny wins, then an Allow; an Allow through
``NotAction`` counts here) for the requests :mod:`lambdas.destination_policy` lists: ``s3:GetBucketAcl`` on the
bucket, ``s3:PutObject`` and ``s3:PutObjectTagging`` (SSM tags what it writes with the OrgId) on the marker.

SSM's write carries the request context of a service principal writing on behalf of the source account
(:func:`lambdas.destination_policy.ssm_context`). In opt-in regions SSM acts as its regional principal
``ssm.<region>.amazonaws.com`` (docs/aws-behaviour.md: opt-in regions may need the regional principal): we take
the strict reading, only the regional principal matches there.

Example::

    >>> doc = policy_document("source-org-id", "acme-inventory", "default", "o-abcdefghij")
    >>> ssm_write_denial(doc, "acme-inventory", "default", "200000000001", "us-east-1", "o-abcdefghij") is None
    True
    >>> ssm_write_denial(doc, "acme-inventory", "default", "200000000001", "us-east-1", "o-zzzzzzzzzz")[:55]
    'no statement allows ssm.amazonaws.com s3:PutObject on a'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from lambdas.destination_policy import bucket_statements, ssm_context
from lambdas.marker import marker_key
from lambdas.policy import Request, evaluate, load_policy
from lambdas.regions import OPT_IN_REGIONS, ssm_service_principal

__all__ = ["POLICY_KINDS", "Request", "evaluate", "policy_document", "ssm_write_denial"]

POLICY_KINDS = ("source-org-id", "request-object-tag", "none")


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
    principals = ["ssm.amazonaws.com", *(ssm_service_principal(r) for r in sorted(opt_in_regions))]
    statements = bucket_statements(bucket, prefix, org_condition, principals)
    for statement in statements:
        statement["Principal"] = {"Service": principals}
        if statement["Action"] != "s3:GetBucketAcl":
            statement["Resource"] = [statement["Resource"]]
    return {"Version": "2012-10-17", "Statement": statements}


def ssm_write_denial(
    policy: str | bytes | Mapping[str, Any] | None,
    bucket: str,
    prefix: str | None,
    account_id: str,
    region: str,
    organization_id: str | None,
) -> str | None:
    """Why SSM (syncing ``account_id`` in ``region``) may not write its marker into ``bucket``; None if it may."""
    document = load_policy(policy)
    principal = ssm_service_principal(region)
    context = ssm_context(account_id, region, organization_id, None, None)
    marker = f"arn:aws:s3:::{bucket}/{marker_key(prefix, account_id)}"
    requests = (
        Request(principal, "s3:GetBucketAcl", f"arn:aws:s3:::{bucket}", context),
        Request(principal, "s3:PutObject", marker, context),
        Request(principal, "s3:PutObjectTagging", marker, context),
    )
    for request in requests:
        verdict = evaluate(document, request)
        if verdict.decision == "Deny":
            return f"statement {verdict.sid or '(no Sid)'} denies {principal} {request.action} on {request.resource}"
        if not verdict.allowed:
            return f"no statement allows {principal} {request.action} on {request.resource}"
    return None
