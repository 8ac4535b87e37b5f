"""The organization reader stack (management account, or a delegated administrator of Organizations).

One role, ``OrgSyncOrganizationReader``, that only the ResolveTargets function's role (aggregator account) may
assume, allowed only the Organizations read calls target resolution makes, scoped to this organization's
roots, OUs and accounts where the action has resource types (Service Authorization Reference):
ListRoots and DescribeOrganization have none (``*``); DescribeAccount takes an account; DescribeOrganizationalUnit
an OU; ListChildren, ListAccountsForParent and ListOrganizationalUnitsForParent a root or an OU; ListParents an
account or an OU. With ``enrolment``, it also forwards account events to the aggregator (see constructs/enrolment).
"""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_iam as iam
from constructs import Construct

from infra.config import OrgSyncConfig
from infra.constructs.enrolment import EnrolmentForwarder, EnrolmentForwarderProps
from infra.nag import acknowledge, acknowledge_wildcards
from infra.trust import trusted_role

UNSCOPED_ACTIONS = ("organizations:ListRoots", "organizations:DescribeOrganization")
ACCOUNT_ACTIONS = ("organizations:DescribeAccount", "organizations:ListParents")
OU_ACTIONS = (
    "organizations:DescribeOrganizationalUnit",
    "organizations:ListParents",
    "organizations:ListChildren",
    "organizations:ListAccountsForParent",
    "organizations:ListOrganizationalUnitsForParent",
)
ROOT_ACTIONS = (
    "organizations:ListChildren",
    "organizations:ListAccountsForParent",
    "organizations:ListOrganizationalUnitsForParent",
)


class OrganizationReaderStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: OrgSyncConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        org = f"arn:{self.partition}:organizations::{config.management_account_id}"
        self.resolve_targets_role_arn = config.aggregator_role_arn(config.resolve_targets_role_name, self.partition)
        self.role = iam.Role(
            self,
            "Role",
            role_name=config.organization_reader_role_name,
            # By aws:PrincipalArn, not a role ARN principal: a recreated ResolveTargets role is trusted again.
            assumed_by=trusted_role(
                config.aggregator_account_id, config.resolve_targets_role_name, config.organization_id, self.partition
            ),
            description="orgsync: lets the ResolveTargets function read the organization's structure",
        )
        scoped = {
            ACCOUNT_ACTIONS: f"{org}:account/{config.organization_id}/*",
            OU_ACTIONS: f"{org}:ou/{config.organization_id}/ou-*",
            ROOT_ACTIONS: f"{org}:root/{config.organization_id}/r-*",
        }
        for actions, resource in scoped.items():
            self.role.add_to_policy(iam.PolicyStatement(actions=list(actions), resources=[resource]))
        self.role.add_to_policy(iam.PolicyStatement(actions=list(UNSCOPED_ACTIONS), resources=["*"]))
        acknowledge_wildcards(
            self.role,
            scoped.values(),
            "Targets are resolved over the whole organization's tree: every account, OU and root of this "
            "organization (its id is in the ARN) may be read, none of another.",
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "organizations:ListRoots and DescribeOrganization have no resource types "
            "(Service Authorization Reference).",
        )
        self.forwarder: EnrolmentForwarder | None = None
        if config.enrolment:
            assert config.aggregator_region is not None  # parse_config requires it with enrolment
            self.forwarder = EnrolmentForwarder(
                self,
                "EnrolmentForwarder",
                EnrolmentForwarderProps(
                    aggregator_account_id=config.aggregator_account_id, aggregator_region=config.aggregator_region
                ),
            )
        CfnOutput(self, "OrganizationReaderRoleArn", value=self.role.role_arn)
