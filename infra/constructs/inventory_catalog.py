"""The inventory as Athena tables: a Glue database, one table per inventory type, an encrypted Athena workgroup.

The tables are :data:`workflow.inventory_tables.TABLES` (the definitions ``orgsync query`` also reads locally):
named as the Glue crawler names them, lower-case string columns, partitioned by ``accountid``, ``region`` and
``resourcetype``. There is no crawler and no ``MSCK REPAIR``: partitions are projected. The projection's
``storage.location.template`` points at the ``resourcetype=`` directories, so the test.json marker (which sits beside
the ``region=`` directories of ``AWS:InstanceInformation``) is never read.

``accountid`` is an ``enum`` projection: ``injected`` would make every query filter on one account (no org-wide
question could be asked), and account ids have no range to project. The enum starts with the accounts the app knows
(the management and aggregator accounts) and ``orgsync query --refresh-partitions`` sets it, and the ``region``
enum, to what the bucket holds (``workflow.inventory_query.refresh_projection``); that needs ``glue:UpdateTable``,
which only the deployer's role has, not the readers' policy.

Readers get :attr:`InventoryCatalog.query_policy` (a managed policy to attach to the roles that run queries): the
workgroup's query actions, Glue reads of this database, S3 reads of the inventory prefix, the results bucket, and
with SSE-KMS the key's Decrypt and GenerateDataKey (results are encrypted with the same key).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_athena as athena
from aws_cdk import aws_glue as glue
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constructs.inventory_bucket import InventoryBucket
from infra.nag import acknowledge_wildcards
from workflow.inventory_query import DATABASE, NAMED_QUERIES, WORKGROUP
from workflow.inventory_tables import PARTITION_KEYS, RESOURCE_TYPE, SERDE, TABLES, InventoryTable

INPUT_FORMAT = "org.apache.hadoop.mapred.TextInputFormat"
OUTPUT_FORMAT = "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"


@dataclass(frozen=True)
class InventoryCatalogProps:
    inventory: InventoryBucket
    inventory_prefix: str
    accounts: Sequence[str]
    """The first values of the ``accountid`` enum (``orgsync query --refresh-partitions`` keeps it current)."""
    regions: Sequence[str]
    """The first values of the ``region`` enum."""
    results_expiration_days: int = 30


def projection_parameters(
    table: InventoryTable, bucket: str, prefix: str, accounts: Sequence[str], regions: Sequence[str]
) -> dict[str, str]:
    """The table parameters of partition projection (Athena's names)."""
    return {
        "classification": "json",
        "projection.enabled": "true",
        "projection.accountid.type": "enum",
        "projection.accountid.values": ",".join(sorted(set(accounts))),
        "projection.region.type": "enum",
        "projection.region.values": ",".join(sorted(set(regions))),
        "projection.resourcetype.type": "enum",
        "projection.resourcetype.values": RESOURCE_TYPE,
        "storage.location.template": table.location_template(bucket, prefix),
    }


class InventoryCatalog(Construct):
    """The Glue database and tables over the inventory bucket, the Athena workgroup, and the readers' policy."""

    def __init__(self, scope: Construct, construct_id: str, props: InventoryCatalogProps) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        inventory = props.inventory
        bucket_name = inventory.bucket.bucket_name

        self.results = s3.Bucket(
            self,
            "Results",
            encryption=s3.BucketEncryption.KMS if inventory.key else s3.BucketEncryption.S3_MANAGED,
            encryption_key=inventory.key,
            bucket_key_enabled=bool(inventory.key),
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=RemovalPolicy.RETAIN,
            server_access_logs_bucket=inventory.access_logs,
            server_access_logs_prefix="query-results/",
            # Query results are copies of inventory rows: they expire rather than pile up.
            lifecycle_rules=[
                s3.LifecycleRule(id="ExpireQueryResults", expiration=Duration.days(props.results_expiration_days))
            ],
        )

        self.database = glue.CfnDatabase(
            self,
            "Database",
            catalog_id=stack.account,
            database_input=glue.CfnDatabase.DatabaseInputProperty(
                name=DATABASE, description="orgsync: the organization's SSM inventory (resource data sync)"
            ),
        )
        self.tables: dict[str, glue.CfnTable] = {}
        for table in TABLES:
            serde_parameters = {"ignore.malformed.json": "true"}
            # The JsonSerDe lower-cases JSON keys; a renamed column reads its key through a mapping.
            serde_parameters.update({f"mapping.{c.name}": c.key.lower() for c in table.mapped_columns})
            cfn_table = glue.CfnTable(
                self,
                table.name,
                catalog_id=stack.account,
                database_name=DATABASE,
                table_input=glue.CfnTable.TableInputProperty(
                    name=table.name,
                    description=f"SSM inventory type {table.type_name}",
                    table_type="EXTERNAL_TABLE",
                    parameters=projection_parameters(
                        table, bucket_name, props.inventory_prefix, props.accounts, props.regions
                    ),
                    partition_keys=[glue.CfnTable.ColumnProperty(name=key, type="string") for key in PARTITION_KEYS],
                    storage_descriptor=glue.CfnTable.StorageDescriptorProperty(
                        columns=[glue.CfnTable.ColumnProperty(name=c.name, type="string") for c in table.columns],
                        location=table.location(bucket_name, props.inventory_prefix),
                        input_format=INPUT_FORMAT,
                        output_format=OUTPUT_FORMAT,
                        serde_info=glue.CfnTable.SerdeInfoProperty(
                            serialization_library=SERDE, parameters=serde_parameters
                        ),
                    ),
                ),
            )
            cfn_table.node.add_dependency(self.database)
            self.tables[table.name] = cfn_table

        encryption = (
            athena.CfnWorkGroup.EncryptionConfigurationProperty(
                encryption_option="SSE_KMS", kms_key=inventory.key.key_arn
            )
            if inventory.key
            else athena.CfnWorkGroup.EncryptionConfigurationProperty(encryption_option="SSE_S3")
        )
        self.workgroup = athena.CfnWorkGroup(
            self,
            "WorkGroup",
            name=WORKGROUP,
            description="orgsync: queries over the organization's SSM inventory",
            recursive_delete_option=True,
            work_group_configuration=athena.CfnWorkGroup.WorkGroupConfigurationProperty(
                # Enforced: a client cannot send results elsewhere or unencrypted.
                enforce_work_group_configuration=True,
                publish_cloud_watch_metrics_enabled=True,
                result_configuration=athena.CfnWorkGroup.ResultConfigurationProperty(
                    output_location=f"s3://{self.results.bucket_name}/",
                    encryption_configuration=encryption,
                ),
            ),
        )
        for query in NAMED_QUERIES.values():
            named = athena.CfnNamedQuery(
                self,
                f"Query-{query.name}",
                name=f"orgsync-{query.name}",
                description=query.description,
                database=DATABASE,
                work_group=WORKGROUP,
                query_string=query.text(),
            )
            named.node.add_dependency(self.workgroup, self.database)

        self.query_policy = iam.ManagedPolicy(
            self, "QueryPolicy", description="orgsync: run queries over the inventory in the orgsync workgroup"
        )
        self._grant_readers(props)

    def _grant_readers(self, props: InventoryCatalogProps) -> None:
        stack = Stack.of(self)
        inventory = props.inventory
        workgroup_arn = stack.format_arn(service="athena", resource="workgroup", resource_name=WORKGROUP)
        glue_arns = [
            stack.format_arn(service="glue", resource="catalog"),
            stack.format_arn(service="glue", resource="database", resource_name=DATABASE),
            stack.format_arn(service="glue", resource="table", resource_name=f"{DATABASE}/*"),
        ]
        inventory_objects = inventory.bucket.arn_for_objects(f"{props.inventory_prefix}/*")
        result_objects = self.results.arn_for_objects("*")
        statements = [
            iam.PolicyStatement(
                sid="QueriesInTheWorkgroup",
                actions=[
                    "athena:StartQueryExecution",
                    "athena:GetQueryExecution",
                    "athena:GetQueryResults",
                    "athena:StopQueryExecution",
                    "athena:GetWorkGroup",
                    "athena:ListNamedQueries",
                    "athena:BatchGetNamedQuery",
                    "athena:GetNamedQuery",
                ],
                resources=[workgroup_arn],
            ),
            iam.PolicyStatement(
                sid="InventoryTables",
                actions=[
                    "glue:GetDatabase",
                    "glue:GetTable",
                    "glue:GetTables",
                    "glue:GetPartition",
                    "glue:GetPartitions",
                ],
                resources=glue_arns,
            ),
            iam.PolicyStatement(sid="InventoryFiles", actions=["s3:GetObject"], resources=[inventory_objects]),
            iam.PolicyStatement(
                sid="InventoryListing",
                actions=["s3:ListBucket"],
                resources=[inventory.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{props.inventory_prefix}/*"]}},
            ),
            iam.PolicyStatement(
                sid="BucketLocations",
                actions=["s3:GetBucketLocation"],
                resources=[inventory.bucket.bucket_arn, self.results.bucket_arn],
            ),
            iam.PolicyStatement(
                sid="QueryResults",
                actions=["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                resources=[result_objects],
            ),
            iam.PolicyStatement(
                sid="QueryResultsListing",
                actions=["s3:ListBucket", "s3:ListBucketMultipartUploads"],
                resources=[self.results.bucket_arn],
            ),
        ]
        if inventory.key is not None:
            statements.append(
                iam.PolicyStatement(
                    sid="InventoryKey",
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[inventory.key.key_arn],
                )
            )
        for statement in statements:
            self.query_policy.add_statements(statement)
        acknowledge_wildcards(
            self.query_policy,
            [glue_arns[2], inventory_objects, result_objects],
            "Readers query every inventory table, read every file under the inventory prefix (one per node and "
            "type) and their own query results, which Athena names per query: no narrower resource exists.",
        )
