"""The member role, deployed to every account of the target OUs by a service-managed StackSet.

The StackSet (management account, or a delegated StackSets administrator with ``stackSetCallAs``) deploys
automatically to accounts that join a target OU and removes the role from accounts that leave. Its template is
built here as plain JSON (:func:`member_role_template`): one role, ``<memberRoleName>``, that only the
ReconcileSync function's role (aggregator account) may assume, from inside the organization (trusted by
``aws:PrincipalArn``, so a recreated aggregator stack is trusted again: infra/trust.py), allowed only the
resource data sync calls orgsync makes: Create and Delete on ``resource-data-sync/<syncName>`` (the actions'
resource type, Service Authorization Reference) and List, which has no resource type; and for inventory
collection, ListAssociations and CreateAssociation of the ``AWS-GatherSoftwareInventory`` document only.

Note: service-managed StackSets never deploy to the management account itself; if it is a target, deploy
``member_role_template()`` there as an ordinary stack (docs/deployment.md).
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import CfnOutput, Stack
from aws_cdk import aws_cloudformation as cloudformation
from constructs import Construct

from infra.config import OrgSyncConfig
from infra.trust import trust_statement
from lambdas.collection import INVENTORY_DOCUMENT

MEMBER_ROLE_STACK_SET_NAME = "OrgSyncMemberRole"


def sub(value: Any) -> Any:
    """``value`` with every string holding ``${...}`` wrapped in ``Fn::Sub`` (recursively)."""
    if isinstance(value, str):
        return {"Fn::Sub": value} if "${" in value else value
    if isinstance(value, dict):
        return {key: sub(item) for key, item in value.items()}
    if isinstance(value, list):
        return [sub(item) for item in value]
    return value


def member_role_template(config: OrgSyncConfig) -> dict[str, Any]:
    """The CloudFormation template each member account gets (IAM is global: one region suffices)."""
    sync_arn = {"Fn::Sub": f"arn:${{AWS::Partition}}:ssm:*:${{AWS::AccountId}}:resource-data-sync/{config.sync_name}"}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "orgsync member role: lets orgsync's ReconcileSync function manage its resource data sync",
        "Resources": {
            "MemberRole": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": config.member_role_name,
                    "Description": "orgsync: create, list and delete the organization inventory resource data sync",
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            sub(
                                trust_statement(
                                    config.aggregator_account_id,
                                    config.reconcile_sync_role_name,
                                    config.organization_id,
                                    "${AWS::Partition}",
                                )
                            )
                        ],
                    },
                    "Policies": [
                        {
                            "PolicyName": "ResourceDataSync",
                            "PolicyDocument": {
                                "Version": "2012-10-17",
                                "Statement": [
                                    {
                                        "Sid": "OurSyncOnly",
                                        "Effect": "Allow",
                                        "Action": ["ssm:CreateResourceDataSync", "ssm:DeleteResourceDataSync"],
                                        "Resource": sync_arn,
                                    },
                                    {
                                        "Sid": "ListHasNoResourceType",
                                        "Effect": "Allow",
                                        "Action": "ssm:ListResourceDataSync",
                                        "Resource": "*",
                                    },
                                ],
                            },
                        },
                        collection_policy(),
                    ],
                },
            }
        },
        "Outputs": {"MemberRoleArn": {"Value": {"Fn::GetAtt": ["MemberRole", "Arn"]}}},
    }


def collection_policy() -> dict[str, Any]:
    """Inventory collection (``lambdas.collection``): list associations, create only the inventory one.

    ListAssociations has no resource type; CreateAssociation is limited to AWS's ``AWS-GatherSoftwareInventory``
    document, on the account's associations and managed nodes (its resource types, Service Authorization Reference).
    """
    return {
        "PolicyName": "InventoryCollection",
        "PolicyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ListAssociationsHasNoResourceType",
                    "Effect": "Allow",
                    "Action": "ssm:ListAssociations",
                    "Resource": "*",
                },
                {
                    "Sid": "CreateTheInventoryAssociationOnly",
                    "Effect": "Allow",
                    "Action": "ssm:CreateAssociation",
                    "Resource": [
                        {"Fn::Sub": f"arn:${{AWS::Partition}}:ssm:*::document/{INVENTORY_DOCUMENT}"},
                        {"Fn::Sub": "arn:${AWS::Partition}:ssm:*:${AWS::AccountId}:association/*"},
                        {"Fn::Sub": "arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:instance/*"},
                        {"Fn::Sub": "arn:${AWS::Partition}:ssm:*:${AWS::AccountId}:managed-instance/*"},
                    ],
                },
            ],
        },
    }


class MemberRoleStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: OrgSyncConfig, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.template = member_role_template(config)
        self.stack_set = cloudformation.CfnStackSet(
            self,
            "StackSet",
            stack_set_name=MEMBER_ROLE_STACK_SET_NAME,
            description="orgsync member role in every account of the target OUs",
            permission_model="SERVICE_MANAGED",
            auto_deployment=cloudformation.CfnStackSet.AutoDeploymentProperty(
                enabled=True, retain_stacks_on_account_removal=False
            ),
            call_as=config.stack_set_call_as,
            capabilities=["CAPABILITY_NAMED_IAM"],
            managed_execution={"Active": True},
            operation_preferences=cloudformation.CfnStackSet.OperationPreferencesProperty(
                failure_tolerance_percentage=10, max_concurrent_percentage=25, region_concurrency_type="PARALLEL"
            ),
            stack_instances_group=[
                cloudformation.CfnStackSet.StackInstancesProperty(
                    deployment_targets=cloudformation.CfnStackSet.DeploymentTargetsProperty(
                        organizational_unit_ids=list(config.member_role_organizational_units)
                    ),
                    regions=[config.member_role_region],
                )
            ],
            template_body=json.dumps(self.template, indent=1),
        )
        CfnOutput(self, "StackSetId", value=self.stack_set.attr_stack_set_id)
