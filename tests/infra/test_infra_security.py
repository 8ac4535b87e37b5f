"""Security, proven on the synthesized templates: every policy of every stack (and the member role's StackSet
template) is read, not only the ones a construct test names.

- No Allow statement grants ``*`` or a ``service:*`` action (the KMS default key statement is the one listed
  exception, with its reason, in ``infra.nag.WILDCARD_ACTION_GRANTS``); none uses NotAction or NotResource.
- An identity policy grants ``Resource: "*"`` only for actions that have no resource type, each listed with its
  reason in ``infra.nag.UNSCOPED_ACTIONS``; no role carries a managed policy.
- Every role is trusted by a service, or by another account narrowed to one role (``aws:PrincipalArn``) inside
  the organization (``aws:PrincipalOrgID``): no role ARN principal (see infra/trust.py).
- Every bucket is encrypted, blocks public access, denies requests without TLS and allows nobody at large.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from infra_support import AGGREGATOR, ORG_ID, Synthesized, render, resources_of

from infra.app import MEMBER_ROLE_STACK
from infra.nag import UNSCOPED_ACTIONS, WILDCARD_ACTION_GRANTS

IDENTITY = "identity"
RESOURCE = "resource"


@dataclass(frozen=True)
class Statement:
    where: str
    """``<stack>/<logical id>`` (``<stack>/StackSet/<logical id>`` for the member role template)."""
    resource_type: str
    kind: str
    """identity (a role's policy) or resource (a bucket, key, topic or bus policy)."""
    body: dict[str, Any]

    def listed(self, key: str) -> list[Any]:
        value = self.body.get(key, [])
        return value if isinstance(value, list) else [value]


def templates(synthesized: Synthesized) -> Iterator[tuple[str, dict[str, Any]]]:
    for name in synthesized.stack_names:
        template = synthesized.template_json(name)
        yield name, template
    for logical, stack_set in resources_of(
        synthesized.template_json(MEMBER_ROLE_STACK), "AWS::CloudFormation::StackSet"
    ).items():
        yield f"{MEMBER_ROLE_STACK}/{logical}", json.loads(stack_set["Properties"]["TemplateBody"])


def statements(synthesized: Synthesized) -> list[Statement]:
    found: list[Statement] = []

    def add(where: str, resource_type: str, kind: str, document: dict[str, Any]) -> None:
        body = document.get("Statement", [document])
        for statement in body if isinstance(body, list) else [body]:
            found.append(Statement(where, resource_type, kind, statement))

    for name, template in templates(synthesized):
        for logical, resource in template["Resources"].items():
            where, kind, props = f"{name}/{logical}", resource["Type"], resource.get("Properties", {})
            if kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
                add(where, kind, IDENTITY, props["PolicyDocument"])
            elif kind == "AWS::IAM::Role":
                for policy in props.get("Policies", []):
                    add(where, kind, IDENTITY, policy["PolicyDocument"])
            elif kind in ("AWS::S3::BucketPolicy", "AWS::SNS::TopicPolicy"):
                add(where, kind, RESOURCE, props["PolicyDocument"])
            elif kind == "AWS::KMS::Key":
                add(where, kind, RESOURCE, props["KeyPolicy"])
            elif kind == "AWS::Events::EventBusPolicy":
                add(where, kind, RESOURCE, props["Statement"])
    return found


def roles(synthesized: Synthesized) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, template in templates(synthesized):
        for logical, role in resources_of(template, "AWS::IAM::Role").items():
            yield f"{name}/{logical}", role["Properties"]


@pytest.fixture(scope="module", params=["base", "full"])
def synthesized(request: pytest.FixtureRequest) -> Synthesized:
    value: Synthesized = request.getfixturevalue(request.param)
    return value


def test_every_kind_of_policy_is_read(synthesized: Synthesized) -> None:
    # The checks below would pass vacuously over nothing: each kind of document is there to be read.
    kinds = {(s.resource_type, s.kind) for s in statements(synthesized)}
    assert {
        ("AWS::IAM::Policy", IDENTITY),
        ("AWS::IAM::Role", IDENTITY),  # the member role's inline policy (StackSet template)
        ("AWS::S3::BucketPolicy", RESOURCE),
        ("AWS::SNS::TopicPolicy", RESOURCE),
        ("AWS::KMS::Key", RESOURCE),
    } <= kinds


def test_no_statement_allows_every_action_of_a_service(synthesized: Synthesized) -> None:
    offending = []
    for statement in statements(synthesized):
        if statement.body["Effect"] != "Allow":
            continue  # a Deny of s3:* is what makes the bucket TLS-only
        if "NotAction" in statement.body or "NotResource" in statement.body:
            offending.append(f"{statement.where}: NotAction/NotResource in an Allow")
        for action in statement.listed("Action"):
            if "*" not in action:
                continue
            if (statement.resource_type, action) in WILDCARD_ACTION_GRANTS:
                continue
            offending.append(f"{statement.where}: {action}")
    assert offending == []


def test_the_listed_wildcard_grant_is_only_the_default_key_statement_for_the_own_account(
    synthesized: Synthesized,
) -> None:
    for statement in statements(synthesized):
        if statement.body["Effect"] == "Allow" and "kms:*" in statement.listed("Action"):
            assert statement.resource_type == "AWS::KMS::Key"
            # the key's own account (the aggregator), not another account or a service
            assert render(statement.body["Principal"]) == {"AWS": f"arn:<AWS::Partition>:iam::{AGGREGATOR}:root"}


def test_identity_policies_grant_resource_star_only_for_actions_without_a_resource_type(
    synthesized: Synthesized,
) -> None:
    unscoped: set[str] = set()
    for statement in statements(synthesized):
        if statement.kind == IDENTITY and "*" in statement.listed("Resource"):
            unscoped.update(statement.listed("Action"))
    assert unscoped - set(UNSCOPED_ACTIONS) == set()
    assert unscoped  # X-Ray at least: the check above reads real statements


def test_every_unscoped_action_has_a_reason() -> None:
    for action, reason in {**UNSCOPED_ACTIONS, **{k[1]: v for k, v in WILDCARD_ACTION_GRANTS.items()}}.items():
        assert len(reason) >= 40, action


def test_no_role_carries_a_managed_policy(synthesized: Synthesized) -> None:
    assert [where for where, role in roles(synthesized) if role.get("ManagedPolicyArns")] == []


def test_roles_are_trusted_by_a_service_or_one_role_of_another_account_inside_the_organization(
    synthesized: Synthesized,
) -> None:
    cross_account: dict[str, list[Any]] = {}
    for where, role in roles(synthesized):
        for statement in role["AssumeRolePolicyDocument"]["Statement"]:
            assert statement["Effect"] == "Allow", where
            principal = render(statement["Principal"])
            if set(principal) == {"Service"}:
                continue
            # Not a role ARN (IAM would keep the role's unique id: a recreated role is no longer trusted)
            assert set(principal) == {"AWS"}, where
            trusted = principal["AWS"] if isinstance(principal["AWS"], str) else principal["AWS"]["Fn::Sub"]
            assert trusted.endswith(f":iam::{AGGREGATOR}:root"), (where, trusted)
            condition = render(statement["Condition"])
            assert condition["StringEquals"] == {"aws:PrincipalOrgID": ORG_ID}, where
            (arn,) = condition["ArnEquals"].values()
            assert set(condition["ArnEquals"]) == {"aws:PrincipalArn"}
            cross_account.setdefault(where.split("/")[0], []).append(arn if isinstance(arn, str) else arn["Fn::Sub"])
    # The reader trusts ResolveTargets, the member role ReconcileSync: nothing else is trusted from outside
    assert cross_account == {
        "OrgSyncOrganizationReader": [f"arn:<AWS::Partition>:iam::{AGGREGATOR}:role/OrgSyncResolveTargetsRole"],
        "OrgSyncMemberRole": [f"arn:${{AWS::Partition}}:iam::{AGGREGATOR}:role/OrgSyncReconcileSyncRole"],
    }


def test_every_bucket_is_encrypted_private_and_tls_only(synthesized: Synthesized) -> None:
    for _, template in templates(synthesized):
        policies = resources_of(template, "AWS::S3::BucketPolicy").values()
        for logical, bucket in resources_of(template, "AWS::S3::Bucket").items():
            props = bucket["Properties"]
            (rule,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms"), logical
            assert props["PublicAccessBlockConfiguration"] == dict.fromkeys(
                ("BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"), True
            ), logical
            assert props["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}, logical
            (policy,) = [p for p in policies if p["Properties"]["Bucket"] == {"Ref": logical}]
            document = render(policy["Properties"]["PolicyDocument"]["Statement"])
            tls = [
                s
                for s in document
                if s["Effect"] == "Deny" and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
            ]
            assert len(tls) == 1, logical
            assert tls[0]["Principal"] == {"AWS": "*"} and tls[0]["Action"] == "s3:*"
            assert sorted(tls[0]["Resource"]) == sorted([f"<{logical}.Arn>", f"<{logical}.Arn>/*"])
            # Nobody at large is allowed anything
            assert [s for s in document if s["Effect"] == "Allow" and s["Principal"] in ("*", {"AWS": "*"})] == []
