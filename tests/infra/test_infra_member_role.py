"""The member role: a service-managed StackSet with automatic deployment over the target OUs."""

from __future__ import annotations

import json
from typing import Any

import cfnlint.api
import pytest
from infra_support import AGGREGATOR, MANAGEMENT, ORG_ID, OU, Synthesized, resources_of

from infra.app import MEMBER_ROLE_STACK


@pytest.fixture(scope="module")
def stack_set(base: Synthesized) -> dict[str, Any]:
    (resource,) = resources_of(base.template_json(MEMBER_ROLE_STACK), "AWS::CloudFormation::StackSet").values()
    props: dict[str, Any] = resource["Properties"]
    return props


def test_stack_set_is_service_managed_and_follows_accounts_in_and_out(stack_set: dict[str, Any]) -> None:
    assert stack_set["StackSetName"] == "OrgSyncMemberRole"
    assert stack_set["PermissionModel"] == "SERVICE_MANAGED"
    assert stack_set["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    assert stack_set["Capabilities"] == ["CAPABILITY_NAMED_IAM"]
    assert stack_set["CallAs"] == "SELF"
    # IAM is global: one region per account is enough. Only OU/root ids of the targets (not OU paths).
    assert stack_set["StackInstancesGroup"] == [
        {"DeploymentTargets": {"OrganizationalUnitIds": [OU]}, "Regions": ["us-east-1"]}
    ]


def test_stack_set_is_deployed_from_the_management_account(base: Synthesized) -> None:
    assert base.stacks.member_role.account == MANAGEMENT


def member_template(stack_set: dict[str, Any]) -> dict[str, Any]:
    template: dict[str, Any] = json.loads(stack_set["TemplateBody"])
    return template


def test_member_role_is_trusted_only_by_reconcile_sync_from_inside_the_organization(stack_set: dict[str, Any]) -> None:
    (role,) = member_template(stack_set)["Resources"].values()
    assert role["Type"] == "AWS::IAM::Role"
    assert role["Properties"]["RoleName"] == "OrgSyncMemberRole"
    # The aggregator account, narrowed to the ReconcileSync role by aws:PrincipalArn (not a role ARN principal,
    # which IAM would pin to the role's unique id: a recreated aggregator stack would no longer be trusted).
    assert role["Properties"]["AssumeRolePolicyDocument"]["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"AWS": {"Fn::Sub": f"arn:${{AWS::Partition}}:iam::{AGGREGATOR}:root"}},
            "Action": "sts:AssumeRole",
            "Condition": {
                "ArnEquals": {
                    "aws:PrincipalArn": {
                        "Fn::Sub": f"arn:${{AWS::Partition}}:iam::{AGGREGATOR}:role/OrgSyncReconcileSyncRole"
                    }
                },
                "StringEquals": {"aws:PrincipalOrgID": ORG_ID},
            },
        }
    ]


def test_member_role_may_only_manage_its_own_resource_data_sync(stack_set: dict[str, Any]) -> None:
    (role,) = member_template(stack_set)["Resources"].values()
    policy, _collection = role["Properties"]["Policies"]
    assert policy["PolicyName"] == "ResourceDataSync"
    assert "ManagedPolicyArns" not in role["Properties"]
    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Sid": "OurSyncOnly",
            "Effect": "Allow",
            "Action": ["ssm:CreateResourceDataSync", "ssm:DeleteResourceDataSync"],
            "Resource": {"Fn::Sub": "arn:${AWS::Partition}:ssm:*:${AWS::AccountId}:resource-data-sync/org-inventory"},
        },
        {"Sid": "ListHasNoResourceType", "Effect": "Allow", "Action": "ssm:ListResourceDataSync", "Resource": "*"},
    ]


def test_names_follow_the_context(full: Synthesized) -> None:
    (resource,) = resources_of(full.template_json(MEMBER_ROLE_STACK), "AWS::CloudFormation::StackSet").values()
    (role,) = json.loads(resource["Properties"]["TemplateBody"])["Resources"].values()
    assert role["Properties"]["RoleName"] == "AcmeOrgSyncMember"
    statement = role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"][0]
    assert statement["Resource"]["Fn::Sub"].endswith(":resource-data-sync/acme-inventory")


def test_the_member_template_passes_cfn_lint(stack_set: dict[str, Any]) -> None:
    matches = cfnlint.api.lint(stack_set["TemplateBody"], regions=["us-east-1"])
    assert [f"{m.rule.id}: {m.message}" for m in matches] == []


def test_member_role_may_only_create_the_inventory_association(stack_set: dict[str, Any]) -> None:
    (role,) = member_template(stack_set)["Resources"].values()
    _sync, policy = role["Properties"]["Policies"]
    assert policy["PolicyName"] == "InventoryCollection"
    assert policy["PolicyDocument"]["Statement"] == [
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
                {"Fn::Sub": "arn:${AWS::Partition}:ssm:*::document/AWS-GatherSoftwareInventory"},
                {"Fn::Sub": "arn:${AWS::Partition}:ssm:*:${AWS::AccountId}:association/*"},
                {"Fn::Sub": "arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:instance/*"},
                {"Fn::Sub": "arn:${AWS::Partition}:ssm:*:${AWS::AccountId}:managed-instance/*"},
            ],
        },
    ]
