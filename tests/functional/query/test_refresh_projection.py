"""Partition projection kept current from the bucket: the accounts and regions with inventory join the enums."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from click.testing import CliRunner
from moto import mock_aws

from infra.constructs.inventory_catalog import projection_parameters
from workflow.cli_query import EXIT_OK, query
from workflow.inventory_query import DATABASE, partitions_in_bucket, refresh_projection
from workflow.inventory_tables import TABLES

BUCKET, PREFIX, REGION = "acme-inventory", "default", "ap-northeast-1"


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    with mock_aws():
        s3, glue = boto3.client("s3", region_name=REGION), boto3.client("glue", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        glue.create_database(DatabaseInput={"Name": DATABASE})
        for table in TABLES:
            parameters = projection_parameters(table, BUCKET, PREFIX, ["100000000001"], [REGION])
            glue.create_table(
                DatabaseName=DATABASE,
                TableInput={
                    "Name": table.name,
                    "TableType": "EXTERNAL_TABLE",
                    "Parameters": parameters,
                    "PartitionKeys": [{"Name": "accountid", "Type": "string"}],
                    "StorageDescriptor": {"Location": table.location(BUCKET, PREFIX)},
                },
            )
        yield s3, glue


def put(s3: Any, key: str) -> None:
    s3.put_object(Bucket=BUCKET, Key=f"{PREFIX}/{key}", Body=b"{}\n")


def test_accounts_with_inventory_and_their_regions_join_every_tables_enums(aws: tuple[Any, Any]) -> None:
    s3, glue = aws
    put(s3, "AWS:InstanceInformation/accountid=200000000001/test.json")  # a marker and nothing else: no rows yet
    put(s3, "AWS:InstanceInformation/accountid=200000000002/test.json")
    for account, region in (("200000000002", "us-east-1"), ("200000000003", "ap-east-1")):
        node = f"accountid={account}/region={region}/resourcetype=ManagedInstanceInventory/i-0123456789abcdef0.json"
        put(s3, f"AWS:InstanceInformation/{node}")

    accounts, regions = partitions_in_bucket(s3, BUCKET, PREFIX)
    changed = refresh_projection(glue, DATABASE, accounts, regions)

    assert (accounts, regions) == (["200000000002", "200000000003"], ["ap-east-1", "us-east-1"])
    assert changed == [t.name for t in TABLES]
    parameters = glue.get_table(DatabaseName=DATABASE, Name="aws_application")["Table"]["Parameters"]
    assert parameters["projection.accountid.values"] == "100000000001,200000000002,200000000003"
    assert parameters["projection.region.values"] == f"ap-east-1,{REGION},us-east-1"
    assert parameters["storage.location.template"].endswith("resourcetype=${resourcetype}/")
    assert refresh_projection(glue, DATABASE, accounts, regions) == []  # idempotent


def test_the_command_refreshes_and_says_so(aws: tuple[Any, Any]) -> None:
    s3, _ = aws
    put(
        s3,
        "AWS:InstanceInformation/accountid=200000000002/region=us-east-1/resourcetype=ManagedInstanceInventory/i-1.json",
    )

    first = CliRunner().invoke(query, ["--refresh-partitions", "--bucket", BUCKET, "--region", REGION])
    second = CliRunner().invoke(query, ["--refresh-partitions", "--bucket", BUCKET, "--region", REGION])

    assert first.exit_code == second.exit_code == EXIT_OK
    assert first.output.strip() == f"1 accounts, 1 regions in s3://{BUCKET}/{PREFIX}: {len(TABLES)} tables updated"
    assert second.output.strip().endswith("every table already projects them")
