"""The organization reader stack: one role, trusted only by ResolveTargets' role, reading only the organization."""

from __future__ import annotations

from typing import Any

import pytest
from infra_support import (
    AGGREGATOR,
    MANAGEMENT,
    ORG_ID,
    REGION,
    Synthesized,
    logical_id,
    render,
    resources_of,
    role_statements,
)

from infra.app import ORGANIZATION_READER_STACK
from infra.config import parse_config
from infra.stacks.organization_reader import ACCOUNT_ACTIONS, OU_ACTIONS, ROOT_ACTIONS, UNSCOPED_ACTIONS


@pytest.fixture(scope="module")
def reader(base: Synthesized) -> dict[str, Any]:
    return base.template_json(ORGANIZATION_READER_STACK)


def test_stack_is_pinned_to_the_management_account(base: Synthesized) -> None:
    stack = base.stacks.organization_reader
    assert (stack.account, stack.region) == (MANAGEMENT, "us-east-1")


def test_role_is_trusted_only_by_the_resolve_targets_role(reader: dict[str, Any]) -> None:
    (role,) = resources_of(reader, "AWS::IAM::Role").values()
    assert role["Properties"]["RoleName"] == "OrgSyncOrganizationReader"
    # The aggregator account, narrowed to the ResolveTargets role by aws:PrincipalArn (a role ARN principal would
    # be pinned to the role's unique id and break when the aggregator stack is recreated), inside the organization.
    assert render(role["Properties"]["AssumeRolePolicyDocument"]["Statement"]) == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:<AWS::Partition>:iam::{AGGREGATOR}:root"},
            "Condition": {
                "ArnEquals": {
                    "aws:PrincipalArn": f"arn:<AWS::Partition>:iam::{AGGREGATOR}:role/OrgSyncResolveTargetsRole"
                },
                "StringEquals": {"aws:PrincipalOrgID": ORG_ID},
            },
        }
    ]
    assert "ManagedPolicyArns" not in role["Properties"]


def test_the_trusted_role_is_the_one_the_aggregator_deploys(base: Synthesized) -> None:
    template = base.template_json("OrgSyncAggregator")
    role_id = logical_id(template, "AWS::IAM::Role", "/Tasks/ResolveTargets/Role/")
    assert template["Resources"][role_id]["Properties"]["RoleName"] == "OrgSyncResolveTargetsRole"


def test_role_may_only_read_this_organization(reader: dict[str, Any]) -> None:
    (role_id,) = resources_of(reader, "AWS::IAM::Role")
    org = f"arn:<AWS::Partition>:organizations::{MANAGEMENT}"
    assert role_statements(reader, role_id) == [
        {"Action": list(ACCOUNT_ACTIONS), "Resource": [f"{org}:account/{ORG_ID}/*"]},
        {"Action": list(OU_ACTIONS), "Resource": [f"{org}:ou/{ORG_ID}/ou-*"]},
        {"Action": list(ROOT_ACTIONS), "Resource": [f"{org}:root/{ORG_ID}/r-*"]},
        {"Action": list(UNSCOPED_ACTIONS), "Resource": ["*"]},
    ]
    granted = {a for s in role_statements(reader, role_id) for a in s["Action"]}
    assert granted == {
        "organizations:ListRoots",
        "organizations:ListOrganizationalUnitsForParent",
        "organizations:ListAccountsForParent",
        "organizations:ListChildren",
        "organizations:ListParents",
        "organizations:DescribeOrganizationalUnit",
        "organizations:DescribeOrganization",
        "organizations:DescribeAccount",
    }


def test_no_forwarder_without_enrolment(reader: dict[str, Any]) -> None:
    assert resources_of(reader, "AWS::Events::Rule") == {}


def test_with_enrolment_account_events_are_forwarded_to_the_aggregator_bus(full: Synthesized) -> None:
    template = full.template_json(ORGANIZATION_READER_STACK)
    (rule,) = resources_of(template, "AWS::Events::Rule").values()
    assert rule["Properties"]["EventPattern"] == {
        "source": ["aws.organizations"],
        "detail-type": ["AWS API Call via CloudTrail", "AWS Service Event via CloudTrail"],
        "detail": {"eventSource": ["organizations.amazonaws.com"], "eventName": ["MoveAccount", "CreateAccountResult"]},
    }
    (target,) = rule["Properties"]["Targets"]
    bus = f"arn:<AWS::Partition>:events:{REGION}:{AGGREGATOR}:event-bus/default"
    assert render(target["Arn"]) == bus
    role_id = target["RoleArn"]["Fn::GetAtt"][0]
    assert role_statements(template, role_id) == [{"Action": ["events:PutEvents"], "Resource": [bus]}]


def test_reader_role_arn_in_the_functions_settings_matches_the_stack() -> None:
    cfg = parse_config(
        {
            "organizationId": ORG_ID,
            "managementAccountId": MANAGEMENT,
            "aggregatorAccountId": AGGREGATOR,
            "targets": ["r-ab12"],
        }
    )
    assert cfg.organization_reader_role_arn == f"arn:aws:iam::{MANAGEMENT}:role/{cfg.organization_reader_role_name}"
