"""Enrolment: Organizations CloudTrail events (as EventBridge delivers them) to a one-account rollout input."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambdas.enrolment import (
    EVENT_PATTERN,
    enrolled_account,
    enrolment_input,
    execution_name,
    start_enrolment,
)
from lambdas.settings import Settings

MANAGEMENT = "100000000000"
NEW_ACCOUNT = "200000000009"
SETTINGS = Settings(
    destination_bucket="acme-inventory",
    default_targets=("/Workloads/Prod", "ou-ab12-22222222"),
    default_regions=("us-east-1", "eu-west-1"),
)

# The shape EventBridge delivers for a CloudTrail-recorded MoveAccount API call (management account, us-east-1).
MOVE_ACCOUNT_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "AWS API Call via CloudTrail",
    "source": "aws.organizations",
    "account": MANAGEMENT,
    "time": "2026-11-28T12:00:00Z",
    "region": "us-east-1",
    "resources": [],
    "detail": {
        "eventVersion": "1.08",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLE:admin",
            "arn": f"arn:aws:sts::{MANAGEMENT}:assumed-role/Admin/admin",
            "accountId": MANAGEMENT,
        },
        "eventTime": "2026-11-28T12:00:00Z",
        "eventSource": "organizations.amazonaws.com",
        "eventName": "MoveAccount",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.10",
        "userAgent": "aws-cli/2.15.0",
        "requestParameters": {
            "accountId": NEW_ACCOUNT,
            "sourceParentId": "r-ab12",
            "destinationParentId": "ou-ab12-11111111",
        },
        "responseElements": None,
        "requestID": "5a0b1c2d-0000-4000-8000-000000000001",
        "eventID": "9e0f1a2b-0000-4000-8000-000000000002",
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": MANAGEMENT,
        "eventCategory": "Management",
    },
}

# The shape of the service event Organizations records when an asynchronous CreateAccount completes.
CREATE_ACCOUNT_RESULT_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "0c8a7e6f-5b4c-4d3e-9f2a-1b0c9d8e7f6a",
    "detail-type": "AWS Service Event via CloudTrail",
    "source": "aws.organizations",
    "account": MANAGEMENT,
    "time": "2026-11-28T12:05:00Z",
    "region": "us-east-1",
    "resources": [],
    "detail": {
        "eventVersion": "1.08",
        "userIdentity": {"accountId": MANAGEMENT, "invokedBy": "AWS Internal"},
        "eventTime": "2026-11-28T12:05:00Z",
        "eventSource": "organizations.amazonaws.com",
        "eventName": "CreateAccountResult",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "AWS Internal",
        "userAgent": "AWS Internal",
        "requestParameters": None,
        "responseElements": None,
        "eventID": "3d2c1b0a-0000-4000-8000-000000000003",
        "readOnly": False,
        "eventType": "AwsServiceEvent",
        "managementEvent": True,
        "recipientAccountId": MANAGEMENT,
        "serviceEventDetails": {
            "createAccountStatus": {
                "id": "car-0123456789abcdef0123456789abcdef",
                "state": "SUCCEEDED",
                "accountName": "prod-new",
                "accountId": NEW_ACCOUNT,
                "requestedTimestamp": "Nov 28, 2026 12:01:00 PM",
                "completedTimestamp": "Nov 28, 2026 12:05:00 PM",
            }
        },
        "eventCategory": "Management",
    },
}


def with_detail(event: dict[str, Any], **changes: Any) -> dict[str, Any]:
    copied = copy.deepcopy(event)
    copied["detail"].update(changes)
    return copied


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """EventBridge's exact-value matching, enough for our pattern: every key's value is among the listed ones."""
    for key, expected in pattern.items():
        if key not in event:
            return False
        if isinstance(expected, dict):
            if not isinstance(event[key], dict) or not matches(expected, event[key]):
                return False
        elif event[key] not in expected:
            return False
    return True


@pytest.mark.parametrize("event", [MOVE_ACCOUNT_EVENT, CREATE_ACCOUNT_RESULT_EVENT], ids=["move", "create"])
def test_account_event_gives_a_rollout_of_that_account_within_the_default_targets(event: dict[str, Any]) -> None:
    assert matches(EVENT_PATTERN, event)
    assert enrolment_input(event, SETTINGS) == {
        "mode": "rollout",
        "targets": [NEW_ACCOUNT],
        "within": ["/Workloads/Prod", "ou-ab12-22222222"],
    }


def test_failed_account_creation_enrols_nothing() -> None:
    event = copy.deepcopy(CREATE_ACCOUNT_RESULT_EVENT)
    status = event["detail"]["serviceEventDetails"]["createAccountStatus"]
    status.update(state="FAILED", failureReason="EMAIL_ALREADY_EXISTS")
    del status["accountId"]
    assert matches(EVENT_PATTERN, event)  # the rule lets it through; the function drops it
    assert enrolment_input(event, SETTINGS) is None


def test_failed_move_call_enrols_nothing() -> None:
    event = with_detail(MOVE_ACCOUNT_EVENT, errorCode="AccessDenied", errorMessage="not authorized")
    assert enrolment_input(event, SETTINGS) is None


@pytest.mark.parametrize("name", ["CreateOrganizationalUnit", "RemoveAccountFromOrganization", "DescribeAccount"])
def test_other_organizations_events_enrol_nothing(name: str) -> None:
    event = with_detail(MOVE_ACCOUNT_EVENT, eventName=name)
    assert not matches(EVENT_PATTERN, event)
    assert enrolment_input(event, SETTINGS) is None


def test_events_of_other_sources_enrol_nothing() -> None:
    event = copy.deepcopy(MOVE_ACCOUNT_EVENT)
    event["source"] = "aws.ssm"
    assert not matches(EVENT_PATTERN, event)
    assert enrolled_account(event) is None


def test_malformed_account_id_enrols_nothing() -> None:
    event = copy.deepcopy(MOVE_ACCOUNT_EVENT)
    event["detail"]["requestParameters"]["accountId"] = "2000"
    assert enrolment_input(event, SETTINGS) is None


def test_without_default_targets_or_regions_nothing_is_enrolled() -> None:
    assert enrolment_input(MOVE_ACCOUNT_EVENT, Settings(destination_bucket="acme-inventory")) is None
    no_regions = Settings(destination_bucket="acme-inventory", default_targets=("/Workloads/Prod",))
    assert enrolment_input(MOVE_ACCOUNT_EVENT, no_regions) is None


def test_execution_name_is_valid_and_stable_per_event() -> None:
    name = execution_name(MOVE_ACCOUNT_EVENT, NEW_ACCOUNT)
    assert name == execution_name(copy.deepcopy(MOVE_ACCOUNT_EVENT), NEW_ACCOUNT)
    assert len(name) <= 80 and all(c.isalnum() or c in "-_" for c in name)
    assert name != execution_name(CREATE_ACCOUNT_RESULT_EVENT, NEW_ACCOUNT)


@pytest.fixture
def state_machine() -> Iterator[tuple[Any, str]]:
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1")
        role = iam.create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        definition = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
        arn = sfn.create_state_machine(name="orgsync", definition=json.dumps(definition), roleArn=role)[
            "stateMachineArn"
        ]
        yield sfn, arn


def test_start_enrolment_starts_once_per_event(state_machine: tuple[Any, str]) -> None:
    sfn, arn = state_machine
    # WHEN the same event is delivered twice
    first = start_enrolment(MOVE_ACCOUNT_EVENT, SETTINGS, sfn, arn)
    second = start_enrolment(MOVE_ACCOUNT_EVENT, SETTINGS, sfn, arn)
    # THEN one execution exists, with the enrolment input
    executions = sfn.list_executions(stateMachineArn=arn)["executions"]
    assert len(executions) == 1
    assert first == second == executions[0]["executionArn"]
    described = sfn.describe_execution(executionArn=executions[0]["executionArn"])
    assert json.loads(described["input"]) == enrolment_input(MOVE_ACCOUNT_EVENT, SETTINGS)


def test_start_enrolment_starts_nothing_for_an_ignored_event(state_machine: tuple[Any, str]) -> None:
    sfn, arn = state_machine
    event = with_detail(MOVE_ACCOUNT_EVENT, errorCode="AccessDenied")
    assert start_enrolment(event, SETTINGS, sfn, arn) is None
    assert sfn.list_executions(stateMachineArn=arn)["executions"] == []
