"""How the other accounts trust the aggregator's Lambda roles: the account, narrowed to one role by its ARN.

A trust policy whose principal is a role ARN is stored by IAM as the role's unique id (``AROA...``): if the
aggregator stack is destroyed and deployed again, the new role of the same name has another id, the trust
shows a bare ``AROA...`` and every AssumeRole is denied until the trusting stacks are deployed again (IAM
User Guide, "AWS JSON policy elements: Principal", IAM roles). A trust of the account principal with
``aws:PrincipalArn`` naming the role holds no id: a recreated role of that name is trusted again, and IAM does
not need the role to exist when the trust is created, so the stacks may be deployed in any order.
``aws:PrincipalOrgID`` keeps the caller inside the organization.

Example::

    >>> statement = trust_statement("222222222222", "OrgSyncReconcileSyncRole", "o-abcdefghij", "aws")
    >>> statement["Principal"]
    {'AWS': 'arn:aws:iam::222222222222:root'}
    >>> statement["Condition"]["ArnEquals"]
    {'aws:PrincipalArn': 'arn:aws:iam::222222222222:role/OrgSyncReconcileSyncRole'}
"""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_iam as iam


def trust_conditions(account_id: str, role_name: str, organization_id: str, partition: str) -> dict[str, Any]:
    """The conditions that narrow a trust of ``account_id`` to its role ``role_name``, inside the organization."""
    return {
        "ArnEquals": {"aws:PrincipalArn": f"arn:{partition}:iam::{account_id}:role/{role_name}"},
        "StringEquals": {"aws:PrincipalOrgID": organization_id},
    }


def trust_statement(account_id: str, role_name: str, organization_id: str, partition: str) -> dict[str, Any]:
    """An ``sts:AssumeRole`` trust statement for a plain template (``partition`` may be ``${AWS::Partition}``)."""
    return {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
        "Action": "sts:AssumeRole",
        "Condition": trust_conditions(account_id, role_name, organization_id, partition),
    }


def trusted_role(account_id: str, role_name: str, organization_id: str, partition: str) -> iam.IPrincipal:
    """The same trust as a CDK principal, for ``iam.Role(assumed_by=...)``."""
    return iam.AccountPrincipal(account_id).with_conditions(
        trust_conditions(account_id, role_name, organization_id, partition)
    )
