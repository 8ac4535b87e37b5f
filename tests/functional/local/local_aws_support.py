"""Shared by the local AWS tests (imported): a small scenario, its ids, orgsync's destination, member clients."""

from __future__ import annotations

import copy
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from workflow.local.aws import LocalAws
from workflow.local.scenario import parse_scenario

MANAGEMENT = "100000000001"
AGGREGATOR = "300000000001"
PROD = "200000000001"
NO_ROLE = "200000000002"
FULL = "200000000003"
SLOW = "200000000004"
BUCKET = "acme-inventory"
REGION = "us-east-1"
ORG_ID = "o-test000001"

#: No botocore retries: a test sees each injected fault exactly once per call.
NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})

SMALL: dict[str, Any] = {
    "organization": {
        "id": ORG_ID,
        "managementAccount": {"id": MANAGEMENT, "name": "management"},
        "ous": [
            {
                "name": "Workloads",
                "ous": [
                    {
                        "name": "Prod",
                        "accounts": [
                            {"name": "prod", "id": PROD, "instances": {REGION: 2, "eu-west-1": 1}},
                            {"name": "no-role", "id": NO_ROLE, "memberRole": False},
                            {
                                "name": "full",
                                "id": FULL,
                                "existingSyncs": [
                                    {"region": REGION, "name": f"other-{i}", "bucket": "elsewhere"} for i in range(5)
                                ],
                            },
                        ],
                    }
                ],
            },
            {
                "name": "Sandbox",
                "accounts": [
                    {"name": "slow", "id": SLOW, "markerDelaySeconds": 120, "instances": {REGION: 1}},
                    {"name": "closed", "id": "200000000005", "state": "SUSPENDED"},
                    {"name": "opt-out", "id": "200000000006", "disabledRegions": ["eu-south-1"]},
                ],
            },
            {"name": "Security", "accounts": [{"name": "log-archive", "id": AGGREGATOR}]},
        ],
    },
    "aggregator": {"accountId": AGGREGATOR, "bucket": BUCKET, "region": REGION, "prefix": "default"},
}


def small_scenario(**changes: Any) -> Any:
    """The small scenario, with top-level keys replaced (e.g. ``faults=[...]``, ``aggregator={...}``)."""
    data = copy.deepcopy(SMALL)
    data.update(changes)
    return parse_scenario(data, source="small.json")


def destination(organization: bool = True, **changes: Any) -> dict[str, Any]:
    """orgsync's S3Destination for the small scenario's bucket."""
    dest: dict[str, Any] = {"BucketName": BUCKET, "Prefix": "default", "SyncFormat": "JsonSerDe", "Region": REGION}
    if organization:
        dest["DestinationDataSharing"] = {"DestinationDataSharingType": "Organization"}
    dest.update(changes)
    return dest


def member_client(aws: LocalAws, service: str, account_id: str, region: str = REGION) -> Any:
    """A client with the member role's credentials in ``account_id``, as ReconcileSync gets them (no SDK retries)."""
    credentials = aws.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/OrgSyncMemberRole", RoleSessionName="orgsync"
    )["Credentials"]
    return boto3.client(
        service,
        region_name=region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
        config=NO_RETRIES,
    )


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    """The AWS error code and message of the ClientError ``pytest.raises`` caught."""
    error = excinfo.value.response["Error"]
    return error["Code"], error["Message"]
