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
