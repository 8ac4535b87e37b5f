"""Does the destination let SSM write? A static check of the bucket policy (and the key policy with SSE-KMS).

An organization-based resource data sync makes SSM, acting for each member account, call (docs/aws-behaviour.md,
"What SSM needs from the destination"):

- ``s3:GetBucketAcl`` on the bucket;
- ``s3:PutObject`` and ``s3:PutObjectTagging`` on ``arn:aws:s3:::BUCKET/PREFIX/*/accountid=*/*``, with
  ``s3:x-amz-acl = bucket-owner-full-control``, and carrying its organization (``aws:SourceOrgID`` and, as SSM
  tags what it writes, ``s3:RequestObjectTag/OrgId``);
- with SSE-KMS, ``kms:GenerateDataKey`` on the key.

It acts as ``ssm.amazonaws.com``, or ``ssm.<region>.amazonaws.com`` in an opt-in region. :func:`check_policies`
evaluates each of these requests, for every region and account given, under the policies
(:mod:`lambdas.policy`: explicit Deny first, wildcards, principal forms, conditions) and returns a
:class:`PolicyCheck`: what is missing, with the exact statement to add (bucket, prefix and organization filled
in), or the statement that denies. It is conservative: an Allow granting only through ``NotAction`` /
``NotResource`` / ``NotPrincipal``, an unknown condition operator or a policy variable is not counted, and the
check says so (:attr:`PolicyCheck.doubts`); only a problem without such a doubt is *definite*, and only a definite
problem stops a rollout before any account is touched (``Resolve targets``). The canary settles the rest.

Example::

    >>> from lambdas.models import Destination
    >>> destination = Destination("acme-inventory", "us-east-1", "default")
    >>> check = check_policies(None, None, destination, "o-abcdefghij", ["us-east-1"], ["200000000001"])
    >>> check.ok, check.definite, [p.requirement.action for p in check.problems]
    (False, True, ['s3:GetBucketAcl', 's3:PutObject', 's3:PutObjectTagging'])
    >>> check.statements_to_add("bucket")[1]["Resource"]
    'arn:aws:s3:::acme-inventory/default/*/accountid=*/*'
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lambdas.aws import AwsCallFailed, call
from lambdas.marker import marker_key
from lambdas.models import Destination
from lambdas.policy import Request, Verdict, evaluate, load_policy, statements_of
from lambdas.regions import ssm_service_principal
from lambdas.settings import DEFAULT_SYNC_NAME

#: The organization condition the statements to add use (AWS's newer form; ``s3:RequestObjectTag/OrgId`` is the
#: older one, accepted as well).
ORG_CONDITION_KEY = "aws:SourceOrgID"
BUCKET_OWNER_FULL_CONTROL = "bucket-owner-full-control"
NO_BUCKET_POLICY = frozenset({"NoSuchBucketPolicy"})


@dataclass(frozen=True)
class Requirement:
    """One call SSM makes, in which policy it must be allowed, and the documented statement that allows it."""

    policy: str  # "bucket" or "key"
    action: str
    #: The documented statement granting it (bucket, prefix, organization and principals filled in).
    statement: dict[str, Any]


@dataclass(frozen=True)
class Problem:
    """A requirement not met for one account-region's request, with the verdict that says why."""

    requirement: Requirement
    request: Request
    verdict: Verdict

    @property
    def definite(self) -> bool:
        """True when the verdict has no doubt: the policy, read exactly, refuses SSM."""
        return not self.verdict.doubts

    def describe(self) -> str:
        """One line: who may not do what, and why."""
        who = f"{self.request.principal_service} {self.request.action} on {self.request.resource}"
        if self.verdict.decision == "Deny":
            return f"statement {self.verdict.sid or '(no Sid)'} of the {self.requirement.policy} policy denies {who}"
        return f"no statement of the {self.requirement.policy} policy allows {who}"


@dataclass(frozen=True)
class PolicyCheck:
    """The outcome of :func:`check_policies`."""

    destination: Destination
    problems: tuple[Problem, ...]
    #: Statements that were not evaluated or not credited (the check's conservative readings), with why.
    doubts: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when every request SSM makes is allowed."""
        return not self.problems

    @property
    def definite(self) -> bool:
        """True when some problem stands without doubt (the policies, read exactly, refuse SSM)."""
        return any(problem.definite for problem in self.problems)

    def statements_to_add(self, policy: str) -> list[dict[str, Any]]:
        """The statements to add to the ``policy`` ("bucket" or "key") for the problems allowed by none (no Deny).

        One statement per requirement, naming every principal that lacks it.
        """
        principals: dict[str, list[str]] = {}
        requirements: dict[str, Requirement] = {}
        for problem in self.problems:
            if problem.requirement.policy != policy or problem.verdict.decision == "Deny":
                continue
            sid = str(problem.requirement.statement["Sid"])
            requirements.setdefault(sid, problem.requirement)
            names = principals.setdefault(sid, [])
            if problem.request.principal_service not in names:
                names.append(problem.request.principal_service)
        return [
            {**requirement.statement, "Principal": {"Service": _one_or_list(principals[sid])}}
            for sid, requirement in requirements.items()
        ]

    def message(self) -> str:
        """What is wrong and what to do, with the JSON statements to add (empty when everything is allowed)."""
        if self.ok:
            return ""
        seen: set[str] = set()
        lines: list[str] = []
        for problem in self.problems:
            line = problem.describe()
            if line not in seen:
                seen.add(line)
                lines.append(line)
        shown = lines[:5] + ([f"... and {len(lines) - 5} more"] if len(lines) > 5 else [])
        parts = [f"SSM cannot write to {self.destination.where}: " + "; ".join(shown) + "."]
        bucket = self.statements_to_add("bucket")
        if bucket:
            parts.append(f"Add to the bucket policy of {self.destination.bucket}: {json.dumps(bucket)}")
        key = self.statements_to_add("key")
        if key:
            parts.append(f"Add to the key policy of {self.destination.kmsKeyArn}: {json.dumps(key)}")
        denials = sorted({p.verdict.sid or "(no Sid)" for p in self.problems if p.verdict.decision == "Deny"})
        if denials:
            parts.append(f"Remove or narrow the denying statement(s) {', '.join(denials)} so they spare SSM.")
        if self.doubts:
            parts.append("Not counted: " + "; ".join(self.doubts) + ".")
        return " ".join(parts)


def _one_or_list(values: Sequence[str]) -> str | list[str]:
    return values[0] if len(values) == 1 else list(values)


def objects_arn(bucket: str, prefix: str | None) -> str:
    """The objects SSM writes under ``prefix``: ``arn:aws:s3:::BUCKET/PREFIX/*/accountid=*/*``.

    >>> objects_arn("acme-inventory", "default"), objects_arn("acme-inventory", None)
    ('arn:aws:s3:::acme-inventory/default/*/accountid=*/*', 'arn:aws:s3:::acme-inventory/*/accountid=*/*')
    """
    return f"arn:aws:s3:::{bucket}/{prefix}/*/accountid=*/*" if prefix else f"arn:aws:s3:::{bucket}/*/accountid=*/*"


def bucket_statements(
    bucket: str, prefix: str | None, organization_condition: Mapping[str, str], principals: Sequence[str]
) -> list[dict[str, Any]]:
    """The documented bucket policy statements of an organization-based sync (``organization_condition`` is
    ``{"aws:SourceOrgID": "o-..."}`` or the older ``{"s3:RequestObjectTag/OrgId": "o-..."}``)."""
    principal = {"Service": _one_or_list(principals)}
    objects = objects_arn(bucket, prefix)
    return [
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
            "Resource": objects,
            "Condition": {"StringEquals": {"s3:x-amz-acl": BUCKET_OWNER_FULL_CONTROL, **organization_condition}},
        },
        {
            "Sid": "SSMBucketDeliveryTagging",
            "Effect": "Allow",
            "Principal": principal,
            "Action": "s3:PutObjectTagging",
            "Resource": objects,
        },
    ]


def key_statement(organization_id: str, principals: Sequence[str]) -> dict[str, Any]:
    """The key policy statement letting SSM encrypt for the organization's syncs.

    AWS's documented statement (Sid ``ssm-access-policy-statement``) conditions on one account
    (``aws:SourceAccount`` and ``aws:SourceArn`` ``arn:aws:ssm:*:ACCOUNT:resource-data-sync/*``); an organization's
    syncs come from every member account, so the organization replaces the account.
    """
    return {
        "Sid": "SSMResourceDataSyncEncryption",
        "Effect": "Allow",
        "Principal": {"Service": _one_or_list(principals)},
        "Action": "kms:GenerateDataKey",
        "Resource": "*",
        "Condition": {
            "StringEquals": {ORG_CONDITION_KEY: organization_id},
            "ArnLike": {"aws:SourceArn": "arn:aws:ssm:*:*:resource-data-sync/*"},
        },
    }


def ssm_context(
    account_id: str, region: str, organization_id: str | None, sync_name: str | None, kms_key_arn: str | None
) -> dict[str, str]:
    """The request context of SSM writing for ``account_id`` in ``region`` (the keys a policy may test).

    >>> ssm_context("200000000001", "us-east-1", "o-abcdefghij", "org-inventory", None)["aws:SourceArn"]
    'arn:aws:ssm:us-east-1:200000000001:resource-data-sync/org-inventory'
    """
    context = {
        "aws:SourceAccount": account_id,
        "aws:SecureTransport": "true",
        "aws:PrincipalIsAWSService": "true",
        "aws:PrincipalServiceName": ssm_service_principal(region),
        "s3:x-amz-acl": BUCKET_OWNER_FULL_CONTROL,
    }
    if sync_name:
        context["aws:SourceArn"] = f"arn:aws:ssm:{region}:{account_id}:resource-data-sync/{sync_name}"
    if organization_id:
        context[ORG_CONDITION_KEY] = organization_id
        context["s3:RequestObjectTag/OrgId"] = organization_id
    if kms_key_arn:
        context["s3:x-amz-server-side-encryption"] = "aws:kms"
        context["s3:x-amz-server-side-encryption-aws-kms-key-id"] = kms_key_arn
    return context


def requests_of(
    destination: Destination, organization_id: str, account_id: str, region: str, sync_name: str | None
) -> list[tuple[Requirement, Request]]:
    """Every request SSM makes for ``account_id`` in ``region``, with the requirement each must meet."""
    principal = ssm_service_principal(region)
    context = ssm_context(account_id, region, organization_id, sync_name, destination.kmsKeyArn)
    acl, put, tagging = bucket_statements(
        destination.bucket, destination.prefix, {ORG_CONDITION_KEY: organization_id}, [principal]
    )
    marker = f"arn:aws:s3:::{destination.bucket}/{marker_key(destination.prefix, account_id)}"
    pairs = [
        (Requirement("bucket", "s3:GetBucketAcl", acl), f"arn:aws:s3:::{destination.bucket}"),
        (Requirement("bucket", "s3:PutObject", put), marker),
        (Requirement("bucket", "s3:PutObjectTagging", tagging), marker),
    ]
    if destination.kmsKeyArn:
        pairs.append((Requirement("key", "kms:GenerateDataKey", key_statement(organization_id, [principal])),
                      destination.kmsKeyArn))
    return [(requirement, Request(principal, requirement.action, resource, context)) for requirement, resource in pairs]


def check_policies(
    bucket_policy: str | bytes | Mapping[str, Any] | None,
    key_policy: str | bytes | Mapping[str, Any] | None,
    destination: Destination,
    organization_id: str,
    regions: Iterable[str],
    account_ids: Iterable[str],
    sync_name: str = DEFAULT_SYNC_NAME,
) -> PolicyCheck:
    """Judge the policies for SSM writing for every account of ``account_ids`` from every region of ``regions``.

    ``key_policy`` is read only with ``destination.kmsKeyArn``. A requirement that fails for one account-region
    is reported once (the first account-region), so an organization of thousands costs one line per gap.
    """
    bucket_document = load_policy(bucket_policy)
    key_document = load_policy(key_policy) if destination.kmsKeyArn else None
    problems: list[Problem] = []
    doubts: dict[str, None] = {}
    failed: set[tuple[str, str]] = set()
    accounts = list(dict.fromkeys(account_ids))
    if not any(_tells_accounts_apart(document) for document in (bucket_document, key_document)):
        accounts = accounts[:1]  # every account gets the same verdict: one stands for all (thousands cost seconds)
    for region in dict.fromkeys(regions):
        for account_id in accounts:
            for requirement, request in requests_of(destination, organization_id, account_id, region, sync_name):
                if (requirement.action, request.principal_service) in failed:
                    continue
                document = bucket_document if requirement.policy == "bucket" else key_document
                verdict = evaluate(document, request, credit_negations=False)
                doubts.update(dict.fromkeys(f"{requirement.policy} policy: {d}" for d in verdict.doubts))
                if not verdict.allowed:
                    failed.add((requirement.action, request.principal_service))
                    problems.append(Problem(requirement, request, verdict))
    return PolicyCheck(destination, tuple(problems), tuple(doubts))


def _tells_accounts_apart(document: Mapping[str, Any] | None) -> bool:
    """Whether ``document`` may judge two accounts differently: it tests ``aws:SourceAccount`` or
    ``aws:SourceArn``, or an S3 resource pattern has a digit or ``?`` after ``arn:aws:s3:::`` (only those can
    single out a 12-digit account id: ``*`` alone cannot).

    >>> _tells_accounts_apart({"Statement": [{"Resource": "arn:aws:s3:::b/p/*/accountid=*/*"}]})
    False
    >>> _tells_accounts_apart({"Statement": [{"Resource": "arn:aws:s3:::b/p/*/accountid=2*/*"}]})
    True
    """
    if not document:
        return False
    text = json.dumps(document).lower()
    if "sourceaccount" in text or "sourcearn" in text:
        return True
    for statement in statements_of(document):
        for key in ("Resource", "NotResource"):
            patterns = statement.get(key)
            for pattern in patterns if isinstance(patterns, list) else [patterns]:
                # An S3 resource's account part is the key (accountid=...); a key's ARN names its owner, not them.
                key_part = pattern.split(":::", 1)[-1] if isinstance(pattern, str) and ":s3:::" in pattern else ""
                if any(c.isdigit() or c == "?" for c in key_part):
                    return True
    return False


# --- reading the policies --------------------------------------------------------------------------------------


def read_bucket_policy(s3: Any, bucket: str) -> str | None:
    """The bucket's policy JSON, or None when it has none. Raises ``AccessDenied`` when we may not read it."""
    try:
        response = call(f"s3:GetBucketPolicy on {bucket}", s3.get_bucket_policy, Bucket=bucket)
    except AwsCallFailed as exc:
        if exc.code in NO_BUCKET_POLICY:
            return None
        raise
    policy: str = response["Policy"]
    return policy


def read_key_policy(kms: Any, key_arn: str) -> str:
    """The key policy (``default``, the only name KMS has) of ``key_arn``; an alias is resolved to its key first."""
    key_id = key_arn
    if ":alias/" in key_arn:
        key_id = call(f"kms:DescribeKey on {key_arn}", kms.describe_key, KeyId=key_arn)["KeyMetadata"]["Arn"]
    policy: str = call(f"kms:GetKeyPolicy on {key_id}", kms.get_key_policy, KeyId=key_id, PolicyName="default")[
        "Policy"
    ]
    return policy


def read_policies(s3: Any, kms: Any | None, destination: Destination) -> tuple[str | None, str | None]:
    """The bucket policy and (with SSE-KMS) the key policy of ``destination``.

    Raises ``AccessDenied`` when the caller may not read one of them (the check is then out of reach).
    """
    bucket_policy = read_bucket_policy(s3, destination.bucket)
    key_policy = read_key_policy(kms, destination.kmsKeyArn) if kms is not None and destination.kmsKeyArn else None
    return bucket_policy, key_policy
