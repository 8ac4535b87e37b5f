"""State Manager associations on the local substrate: seeded from the scenario, created as on AWS, and collection.

The example scenario's security-tooling account has an inventory association in Tokyo only
(``"inventoryAssociation": ["ap-northeast-1"]``); every other account has one everywhere.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from local_aws_support import error_of, member_client

from lambdas.collection import ASSOCIATION_NAME, INVENTORY_DOCUMENT, Collection, collection_status, ensure_collection
from workflow.local.aws import LocalAws
from workflow.local.clock import VirtualClock
from workflow.local.scenario import example_scenario_path, load_scenario

SCENARIO = load_scenario(example_scenario_path())
TOOLING = SCENARIO.account_named("security-tooling").id
TOKYO, VIRGINIA = "ap-northeast-1", "us-east-1"
BY_NAME = [{"key": "Name", "value": INVENTORY_DOCUMENT}]
TARGETS = [{"Key": "InstanceIds", "Values": ["*"]}]


@pytest.fixture
def aws(clock: VirtualClock) -> Iterator[LocalAws]:
    with LocalAws(SCENARIO, clock=clock) as local:
        yield local


def ssm(aws: LocalAws, region: str, account: str = TOOLING) -> Any:
    return member_client(aws, "ssm", account, region)


def types_of_node(aws: LocalAws, region: str) -> set[str]:
    listing = aws.client("s3").list_objects_v2(Bucket=SCENARIO.aggregator.bucket, Prefix="default/")
    return {
        item["Key"].split("/")[1]
        for item in listing.get("Contents", [])
        if f"accountid={TOOLING}/region={region}/" in item["Key"]
    }


def test_the_scenarios_association_is_listed_where_it_collects(aws: LocalAws, clock: VirtualClock) -> None:
    (tokyo,) = ssm(aws, TOKYO).list_associations(AssociationFilterList=BY_NAME)["Associations"]

    assert tokyo["Name"] == INVENTORY_DOCUMENT and tokyo["AssociationName"].startswith("AWS-QuickSetup-SSM-")
    assert tokyo["Targets"] == TARGETS and tokyo["ScheduleExpression"] == "rate(30 minutes)"
    assert tokyo["LastExecutionDate"] == clock.now() and tokyo["Overview"]["Status"] == "Success"
    assert ssm(aws, VIRGINIA).list_associations(AssociationFilterList=BY_NAME)["Associations"] == []


def test_a_second_identical_association_is_accepted_as_on_aws(aws: LocalAws) -> None:
    client = ssm(aws, VIRGINIA)
    for _ in range(2):
        client.create_association(Name=INVENTORY_DOCUMENT, Targets=TARGETS, ScheduleExpression="rate(12 hours)")

    assert len(client.list_associations(AssociationFilterList=BY_NAME)["Associations"]) == 2


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (
            lambda c: c.create_association(
                Name=INVENTORY_DOCUMENT, Targets=TARGETS, ScheduleExpression="rate(5 minutes)"
            ),
            ("InvalidSchedule", "Schedule expression rate(5 minutes) is invalid."),
        ),
        (
            lambda c: c.create_association(Name="Acme-Nothing", Targets=TARGETS),
            ("InvalidDocument", "Document Acme-Nothing does not exist."),
        ),
        (lambda c: c.list_associations(MaxResults=51), ("ValidationException", "1 validation error detected")),
        (lambda c: c.list_associations(NextToken="not-a-token"), ("InvalidNextToken", "The specified token")),
    ],
)
def test_invalid_requests_get_aws_error_codes(aws: LocalAws, call: Any, expected: tuple[str, str]) -> None:
    with pytest.raises(ClientError) as excinfo:
        call(ssm(aws, VIRGINIA))

    code, message = error_of(excinfo)
    assert code == expected[0] and message.startswith(expected[1])


def test_pages_follow_next_token(aws: LocalAws) -> None:
    client = ssm(aws, VIRGINIA)
    for _ in range(3):
        client.create_association(Name=INVENTORY_DOCUMENT, Targets=TARGETS)

    first = client.list_associations(MaxResults=2)
    second = client.list_associations(MaxResults=2, NextToken=first["NextToken"])

    assert len(first["Associations"]) == 2 and len(second["Associations"]) == 1 and "NextToken" not in second


def test_an_association_created_after_the_sync_collects_and_the_sync_exports_it(aws: LocalAws) -> None:
    client = ssm(aws, VIRGINIA)
    client.create_resource_data_sync(
        SyncName="org-inventory",
        S3Destination={
            "BucketName": SCENARIO.aggregator.bucket,
            "Prefix": "default",
            "SyncFormat": "JsonSerDe",
            "Region": SCENARIO.aggregator.region,
            "DestinationDataSharing": {"DestinationDataSharingType": "Organization"},
        },
    )
    before = types_of_node(aws, VIRGINIA)

    client.create_association(Name=INVENTORY_DOCUMENT, Targets=TARGETS, ScheduleExpression="rate(12 hours)")

    assert before == {"AWS:InstanceInformation", "AWS:Tag"}
    assert {"AWS:Application", "AWS:Network", "AWS:InstanceDetailedInformation"} <= types_of_node(aws, VIRGINIA)


def test_ensure_collection_creates_one_where_none_exists_and_never_a_second(aws: LocalAws) -> None:
    virginia, tokyo = ssm(aws, VIRGINIA), ssm(aws, TOKYO)

    assert collection_status(virginia, "tooling/us-east-1").status is Collection.NOT_COLLECTED
    created = ensure_collection(virginia, "tooling/us-east-1")
    again = ensure_collection(virginia, "tooling/us-east-1", schedule="rate(1 day)")
    quick_setup = ensure_collection(tokyo, "tooling/ap-northeast-1")

    assert (created.status, created.associationName, created.schedule) == (
        Collection.CREATED,
        ASSOCIATION_NAME,
        "rate(12 hours)",
    )
    assert (again.status, again.associationId) == (Collection.ASSOCIATED, created.associationId)
    assert len(virginia.list_associations(AssociationFilterList=BY_NAME)["Associations"]) == 1
    assert quick_setup.status is Collection.ASSOCIATED and quick_setup.associationName != ASSOCIATION_NAME
    assert len(tokyo.list_associations(AssociationFilterList=BY_NAME)["Associations"]) == 1
