"""The Athena tables over the inventory: names, columns, partitions, projection, the workgroup, the readers' policy."""

from __future__ import annotations

from typing import Any

import pytest
from infra_support import (
    AGGREGATOR,
    FULL_CONTEXT,
    MANAGEMENT,
    REGION,
    Synthesized,
    logical_id,
    render,
    resources_of,
)

from infra.app import AGGREGATOR_STACK
from workflow.inventory_query import DATABASE, NAMED_QUERIES, WORKGROUP
from workflow.inventory_tables import PARTITION_KEYS, TABLES

ISSUE_TYPES = {
    "AWS:Application", "AWS:AWSComponent", "AWS:BillingInfo", "AWS:ComplianceItem", "AWS:ComplianceSummary",
    "AWS:InstanceDetailedInformation", "AWS:InstanceInformation", "AWS:Network", "AWS:Tag", "AWS:WindowsUpdate",
    "AWS:PatchSummary",
}  # fmt: skip


def template(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.template_json(AGGREGATOR_STACK)


def bucket(synthesized: Synthesized) -> str:
    return logical_id(template(synthesized), "AWS::S3::Bucket", "Inventory/Bucket/")


def tables(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    found = resources_of(template(synthesized), "AWS::Glue::Table").values()
    return {t["Properties"]["TableInput"]["Name"]: t["Properties"] for t in found}


def test_one_table_per_inventory_type_named_as_the_crawler_names_them(base: Synthesized) -> None:
    (database,) = resources_of(template(base), "AWS::Glue::Database").values()

    assert database["Properties"]["DatabaseInput"]["Name"] == DATABASE
    assert {t.type_name for t in TABLES} == ISSUE_TYPES
    assert set(tables(base)) == {name.lower().replace(":", "_") for name in ISSUE_TYPES}
    assert {"aws_application", "aws_instanceinformation", "aws_awscomponent"} <= set(tables(base))
    assert resources_of(template(base), "AWS::Glue::Crawler") == {}


@pytest.mark.parametrize("table", TABLES, ids=lambda t: t.name)
def test_columns_are_lower_case_strings_and_none_collides_with_a_partition_key(base: Synthesized, table: Any) -> None:
    properties = tables(base)[table.name]["TableInput"]
    columns = properties["StorageDescriptor"]["Columns"]
    names = [c["Name"] for c in columns]

    assert [k["Name"] for k in properties["PartitionKeys"]] == list(PARTITION_KEYS)
    assert all(k["Type"] == "string" for k in properties["PartitionKeys"])
    assert names == [c.name for c in table.columns] and all(n == n.lower() for n in names)
    assert all(c["Type"] == "string" for c in columns)
    assert not set(names) & set(PARTITION_KEYS)
    assert {"resourceid", "capturetime", "schemaversion"} <= set(names)
    serde = properties["StorageDescriptor"]["SerdeInfo"]
    assert serde["SerializationLibrary"] == "org.openx.data.jsonserde.JsonSerDe"
    assert properties["TableType"] == "EXTERNAL_TABLE"


def test_application_has_the_fields_of_real_files(base: Synthesized) -> None:
    columns = [c["Name"] for c in tables(base)["aws_application"]["TableInput"]["StorageDescriptor"]["Columns"]]

    assert columns == [
        "name", "applicationtype", "publisher", "version", "installedtime", "architecture", "url", "summary",
        "packageid", "release", "epoch", "resourceid", "capturetime", "schemaversion",
    ]  # fmt: skip


def test_instance_informations_resourcetype_is_read_under_another_name(base: Synthesized) -> None:
    properties = tables(base)["aws_instanceinformation"]["TableInput"]
    columns = [c["Name"] for c in properties["StorageDescriptor"]["Columns"]]

    assert "instanceresourcetype" in columns and "instancestatus" in columns and "resourcetype" not in columns
    assert properties["StorageDescriptor"]["SerdeInfo"]["Parameters"] == {
        "ignore.malformed.json": "true",
        "mapping.instanceresourcetype": "resourcetype",
    }


def test_partitions_are_projected_from_the_resourcetype_directories_never_the_marker(base: Synthesized) -> None:
    properties = tables(base)["aws_instanceinformation"]["TableInput"]
    parameters = render(properties["Parameters"])

    assert parameters == {
        "classification": "json",
        "projection.enabled": "true",
        "projection.accountid.type": "enum",
        "projection.accountid.values": f"{MANAGEMENT},{AGGREGATOR}",
        "projection.region.type": "enum",
        "projection.region.values": f"{REGION},us-east-1",
        "projection.resourcetype.type": "enum",
        "projection.resourcetype.values": "ManagedInstanceInventory",
        "storage.location.template": f"s3://<{bucket(base)}>/default/AWS:InstanceInformation/"
        "accountid=${accountid}/region=${region}/resourcetype=${resourcetype}/",
    }
    # The marker (PREFIX/AWS:InstanceInformation/accountid=ID/test.json) is under no projected location.
    assert "test.json" not in parameters["storage.location.template"]
    assert render(properties["StorageDescriptor"]["Location"]) == (
        f"s3://<{bucket(base)}>/default/AWS:InstanceInformation/"
    )


def test_workgroup_enforces_encrypted_results(base: Synthesized, full: Synthesized) -> None:
    (plain,) = resources_of(template(base), "AWS::Athena::WorkGroup").values()
    (kms,) = resources_of(template(full), "AWS::Athena::WorkGroup").values()

    for workgroup in (plain, kms):
        configuration = workgroup["Properties"]["WorkGroupConfiguration"]
        assert workgroup["Properties"]["Name"] == WORKGROUP
        assert configuration["EnforceWorkGroupConfiguration"] is True
    assert plain["Properties"]["WorkGroupConfiguration"]["ResultConfiguration"]["EncryptionConfiguration"] == {
        "EncryptionOption": "SSE_S3"
    }
    encryption = render(kms["Properties"]["WorkGroupConfiguration"]["ResultConfiguration"]["EncryptionConfiguration"])
    assert encryption["EncryptionOption"] == "SSE_KMS" and encryption["KmsKey"].startswith("<InventoryKey")


def test_the_shipped_queries_are_named_queries_of_the_workgroup(base: Synthesized) -> None:
    named = {
        q["Properties"]["Name"]: q["Properties"]
        for q in resources_of(template(base), "AWS::Athena::NamedQuery").values()
    }

    assert set(named) == {f"orgsync-{name}" for name in NAMED_QUERIES}
    for name, query in NAMED_QUERIES.items():
        assert named[f"orgsync-{name}"]["QueryString"] == query.text()
        assert (named[f"orgsync-{name}"]["Database"], named[f"orgsync-{name}"]["WorkGroup"]) == (DATABASE, WORKGROUP)


def query_policy(synthesized: Synthesized) -> dict[str, Any]:
    policies = [
        p
        for p in resources_of(template(synthesized), "AWS::IAM::ManagedPolicy").values()
        if "Catalog/QueryPolicy" in p.get("Metadata", {}).get("aws:cdk:path", "")
    ]
    (policy,) = policies
    return {s["Sid"]: render(s) for s in policy["Properties"]["PolicyDocument"]["Statement"]}


def test_readers_policy_is_least_privilege(base: Synthesized, full: Synthesized) -> None:
    plain, kms = query_policy(base), query_policy(full)

    assert set(plain) == {
        "QueriesInTheWorkgroup", "InventoryTables", "InventoryFiles", "InventoryListing", "BucketLocations",
        "QueryResults", "QueryResultsListing",
    }  # fmt: skip
    assert all(s["Effect"] == "Allow" for s in plain.values())
    assert plain["QueriesInTheWorkgroup"]["Resource"].endswith(f":workgroup/{WORKGROUP}")
    assert not any(a.startswith("glue:") and not a.startswith("glue:Get") for a in plain["InventoryTables"]["Action"])
    assert plain["InventoryFiles"]["Resource"] == f"<{bucket(base)}.Arn>/default/*"
    assert plain["InventoryListing"]["Condition"] == {"StringLike": {"s3:prefix": ["default/*"]}}
    prefix = FULL_CONTEXT["inventoryPrefix"]
    assert kms["InventoryFiles"]["Resource"] == f"<{bucket(full)}.Arn>/{prefix}/*"
    assert kms["InventoryKey"]["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert kms["InventoryKey"]["Resource"].startswith("<InventoryKey")
