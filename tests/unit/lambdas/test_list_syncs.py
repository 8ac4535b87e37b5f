"""Listing an account-region's syncs: every type counts toward the five, whatever AWS lists by default."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from lambdas.classification import Finding, classify
from lambdas.models import Destination
from lambdas.sync import list_syncs

DEST = Destination("acme-inventory", "us-east-1", "default")


def to_destination(name: str) -> dict[str, Any]:
    return {
        "SyncName": name,
        "SyncType": "SyncToDestination",
        "S3Destination": {"BucketName": f"{name}-bucket", "SyncFormat": "JsonSerDe", "Region": "us-east-1"},
    }


def from_source(name: str) -> dict[str, Any]:
    return {
        "SyncName": name,
        "SyncType": "SyncFromSource",
        "SyncSource": {"SourceType": "AWS:SSM", "SourceRegions": ["us-east-1"]},
    }


@pytest.mark.parametrize(
    "default_lists_every_type",
    [False, True],
    ids=["default-lists-SyncToDestination-only", "default-lists-every-type"],
)
def test_a_sync_from_source_counts_toward_the_quota_either_way(default_lists_every_type: bool) -> None:
    # GIVEN four SyncToDestination syncs and one SyncFromSource sync, listed by AWS in either plausible way
    destinations = [to_destination(f"team-{n}") for n in range(4)]
    source = from_source("cross-region-source")
    default_listing = [*destinations, source] if default_lists_every_type else destinations
    ssm = boto3.client("ssm", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    stubber = Stubber(ssm)
    stubber.add_response("list_resource_data_sync", {"ResourceDataSyncItems": default_listing}, {"MaxResults": 50})
    stubber.add_response(
        "list_resource_data_sync",
        {"ResourceDataSyncItems": [source]},
        {"MaxResults": 50, "SyncType": "SyncFromSource"},
    )

    # WHEN listing
    with stubber:
        syncs = list_syncs(ssm, "200000000001 us-east-1")
    stubber.assert_no_pending_responses()

    # THEN each sync is there once, and the five make the quota full
    assert sorted(s.name for s in syncs) == ["cross-region-source", "team-0", "team-1", "team-2", "team-3"]
    assert classify(syncs, "org-inventory", DEST).finding is Finding.QUOTA_FULL
