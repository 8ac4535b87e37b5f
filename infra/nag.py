"""cdk-nag's AwsSolutions pack and the one way orgsync acknowledges a finding: with a reason, per finding.

cdk-nag 3 is a CDK validation plugin: synthesis fails (and writes ``validation-report.json``) when a finding is
not acknowledged. Each IAM5 (wildcard) finding is acknowledged on its own, by its exact id, which names the
resource as cdk-nag renders it (``<LogicalId.Arn>/orgsync/runs/*``); :func:`acknowledge_wildcards` computes
those ids from the statement's resources so no suppression is wider than the one resource it is about.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aws_cdk import Acknowledgment, App, Stack, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct


def add_nag_checks(app: App) -> None:
    """Run the AwsSolutions pack over the whole app at synthesis."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge one finding on ``scope`` (and the constructs below it), saying why it is acceptable."""
    if len(reason) < 20:
        raise ValueError(f"the reason for {rule_id} must say why, not just acknowledge: {reason!r}")
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def render_for_nag(value: Any) -> str:
    """Render a resolved CloudFormation value the way cdk-nag names it in a finding id."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and len(value) == 1:
        ((fn, arg),) = value.items()
        if fn == "Ref":
            return f"<{arg}>"
        if fn == "Fn::GetAtt":
            return f"<{arg[0]}.{arg[1]}>"
        if fn == "Fn::Join":
            separator, parts = arg
            return str(separator).join(render_for_nag(part) for part in parts)
    raise ValueError(f"cannot name {value!r} as cdk-nag does")


def acknowledge_wildcards(scope: IConstruct, resources: Iterable[str], reason: str) -> None:
    """Acknowledge AwsSolutions-IAM5 for each of ``resources`` (ARNs, tokens allowed) that holds a wildcard."""
    stack = Stack.of(scope)
    for resource in resources:
        rendered = render_for_nag(stack.resolve(resource))
        if "*" in rendered:
            acknowledge(scope, f"AwsSolutions-IAM5[Resource::{rendered}]", reason)


def acknowledge_wildcard_actions(scope: IConstruct, actions: Iterable[str], reason: str) -> None:
    """Acknowledge AwsSolutions-IAM5 for each wildcard action (CDK-generated statements only)."""
    for action in actions:
        acknowledge(scope, f"AwsSolutions-IAM5[Action::{action}]", reason)


#: The actions orgsync allows on ``Resource: "*"`` in an identity policy, each with why no narrower resource
#: exists (Service Authorization Reference: the action has no resource type). tests/infra/test_infra_security.py
#: fails on any other action granted on ``*``, so a new one is added here, with its reason, or scoped.
UNSCOPED_ACTIONS: dict[str, str] = {
    **dict.fromkeys(
        (
            "xray:PutTraceSegments",
            "xray:PutTelemetryRecords",
            "xray:GetSamplingRules",
            "xray:GetSamplingTargets",
        ),
        "X-Ray tracing (Lambda active tracing, Step Functions tracing): X-Ray has no resource-level permissions.",
    ),
    **dict.fromkeys(
        (
            "logs:CreateLogDelivery",
            "logs:GetLogDelivery",
            "logs:UpdateLogDelivery",
            "logs:DeleteLogDelivery",
            "logs:ListLogDeliveries",
            "logs:PutResourcePolicy",
            "logs:DescribeResourcePolicies",
            "logs:DescribeLogGroups",
        ),
        "Step Functions logging to CloudWatch Logs (vended log delivery): AWS documents Resource '*' for these.",
    ),
    **dict.fromkeys(
        ("organizations:ListRoots", "organizations:DescribeOrganization"),
        "The organization reader: these Organizations actions have no resource type.",
    ),
    "ssm:ListResourceDataSync": "The member role: ListResourceDataSync has no resource type.",
    "ssm:ListAssociations": "The member role (inventory collection): ListAssociations has no resource type.",
}

#: Allow statements of resource policies whose actions are a service wildcard, each with the reason.
WILDCARD_ACTION_GRANTS: dict[tuple[str, str], str] = {
    ("AWS::KMS::Key", "kms:*"): (
        "The key's default policy statement for the key's own account (KMS Developer Guide, 'Default key policy'): "
        "it lets IAM policies in that account grant use of the key and keeps the key manageable; it grants nothing "
        "by itself. The uses orgsync grants are the exact kms: actions in the roles' policies."
    ),
}
