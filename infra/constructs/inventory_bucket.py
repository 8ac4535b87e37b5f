"""The inventory bucket SSM writes to from every account, its bucket policy, its optional KMS key, its grants.

The bucket policy is the one AWS documents for organization-based resource data syncs (docs/aws-behaviour.md):
``ssm.amazonaws.com`` may read the bucket ACL and write under ``PREFIX/*/accountid=*/*``, only on behalf of
accounts of our organization (``aws:SourceOrgID``) and only with ``bucket-owner-full-control``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.nag import acknowledge
from lambdas import report
from lambdas.regions import OPT_IN_REGIONS, ssm_service_principal

#: Where orgsync keeps its own objects (the Lambdas' own prefixes, as key patterns): the items file and Map
#: results of each execution, and the outcome records and reports.
RUNS_PREFIX = f"{report.RUNS_PREFIX}/"
REPORTS_PREFIX = f"{report.REPORTS_PREFIX}/"
SSM_PRINCIPAL = "ssm.amazonaws.com"


@dataclass(frozen=True)
class InventoryBucketProps:
    organization_id: str
    inventory_prefix: str
    bucket_name: str | None = None
    kms: bool = False
    reader_role_arns: Sequence[str] = ()
    regions: Sequence[str] = ()
    """The deployed default regions: SSM acts as ``ssm.<region>.amazonaws.com`` in opt-in regions."""
    noncurrent_version_expiration_days: int = 30
    """SSM overwrites inventory files every ~30 minutes: old versions would pile up without this."""


class InventoryBucket(Construct):
    """The destination bucket (with its access-log bucket and, on request, its KMS key)."""

    def __init__(self, scope: Construct, construct_id: str, props: InventoryBucketProps) -> None:
        super().__init__(scope, construct_id)
        self.props = props
        # SSM's principal: the global one, plus the regional one of each opt-in region among the defaults.
        self.opt_in_regions = tuple(region for region in props.regions if region in OPT_IN_REGIONS)
        self.ssm_principals = [SSM_PRINCIPAL] + [ssm_service_principal(region) for region in self.opt_in_regions]
        ssm = [iam.ServicePrincipal(name) for name in self.ssm_principals]
        self.key: kms.Key | None = None
        if props.kms:
            self.key = kms.Key(
                self,
                "Key",
                description="orgsync inventory bucket: SSE-KMS for the organization's SSM inventory",
                enable_key_rotation=True,
                # Objects encrypted with the key are retained with the bucket: so is the key.
                removal_policy=RemovalPolicy.RETAIN,
            )
            self.key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid="SsmResourceDataSyncOfTheOrganization",
                    principals=ssm,
                    actions=["kms:GenerateDataKey", "kms:Decrypt"],
                    resources=["*"],
                    conditions={"StringEquals": {"aws:SourceOrgID": props.organization_id}},
                )
            )
            if props.reader_role_arns:
                self.key.add_to_resource_policy(
                    iam.PolicyStatement(
                        sid="InventoryReadersDecryptThroughS3",
                        principals=[iam.ArnPrincipal(arn) for arn in props.reader_role_arns],
                        actions=["kms:Decrypt"],
                        resources=["*"],
                        conditions={"StringEquals": {"kms:ViaService": f"s3.{Stack.of(self).region}.amazonaws.com"}},
                    )
                )

        # Server access logs go to a bucket of their own (SSE-S3: S3 log delivery cannot use SSE-KMS).
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            self.access_logs,
            "AwsSolutions-S1",
            "This is the access-log bucket of the inventory bucket; logging it would log the logs, without end.",
        )

        self.bucket = s3.Bucket(
            self,
            "Bucket",
            bucket_name=props.bucket_name,
            encryption=s3.BucketEncryption.KMS if self.key else s3.BucketEncryption.S3_MANAGED,
            encryption_key=self.key,
            bucket_key_enabled=bool(self.key),
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            # ACLs disabled; SSM's bucket-owner-full-control ACL is still accepted under BucketOwnerEnforced.
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            # Inventory is never lost to a `cdk destroy`. No Object Lock: SSM cannot write to such buckets.
            removal_policy=RemovalPolicy.RETAIN,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="inventory-bucket/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireOverwrittenInventoryVersions",
                    noncurrent_version_expiration=Duration.days(props.noncurrent_version_expiration_days),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
        )
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="SsmBucketPermissionsCheck",
                principals=ssm,
                actions=["s3:GetBucketAcl"],
                resources=[self.bucket.bucket_arn],
            )
        )
        ssm_write_arn = self.bucket.arn_for_objects(f"{props.inventory_prefix}/*/accountid=*/*")
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="SsmBucketDelivery",
                principals=ssm,
                actions=["s3:PutObject"],
                resources=[ssm_write_arn],
                conditions={
                    "StringEquals": {
                        "s3:x-amz-acl": "bucket-owner-full-control",
                        "aws:SourceOrgID": props.organization_id,
                    }
                },
            )
        )
        # Tagging requests carry no ACL header: conditioning them on s3:x-amz-acl would deny them all.
        self.bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="SsmBucketDeliveryTagging",
                principals=ssm,
                actions=["s3:PutObjectTagging"],
                resources=[ssm_write_arn],
                conditions={"StringEquals": {"aws:SourceOrgID": props.organization_id}},
            )
        )

    # Keys and prefixes -------------------------------------------------------------------------------------

    @property
    def marker_keys(self) -> str:
        """The test.json marker SSM writes on creation: one per account, whatever the region."""
        return f"{self.props.inventory_prefix}/AWS:InstanceInformation/accountid=*/test.json"

    @property
    def marker_prefixes(self) -> str:
        """The s3:prefix of a listing that looks for one account's marker (``.../accountid=<id>/...``)."""
        return f"{self.props.inventory_prefix}/AWS:InstanceInformation/accountid=*"

    @property
    def instance_information_keys(self) -> str:
        return f"{self.props.inventory_prefix}/AWS:InstanceInformation/*"

    # Grants: each exact, on the keys named, plus the KMS permission the operation needs when the key is on. -

    def grant_get(self, grantee: iam.IGrantable, *key_patterns: str) -> list[str]:
        """s3:GetObject on ``key_patterns``; returns the object ARNs granted (for nag acknowledgments)."""
        resources = [self.bucket.arn_for_objects(pattern) for pattern in key_patterns]
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=resources)
        )
        if self.key is not None:
            self._grant_key(grantee, "kms:Decrypt")
        return resources

    def grant_put(self, grantee: iam.IGrantable, *key_patterns: str) -> list[str]:
        """s3:PutObject on ``key_patterns``; returns the object ARNs granted."""
        resources = [self.bucket.arn_for_objects(pattern) for pattern in key_patterns]
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:PutObject"], resources=resources)
        )
        if self.key is not None:
            self._grant_key(grantee, "kms:GenerateDataKey")
        return resources

    def grant_list(self, grantee: iam.IGrantable, *prefixes: str) -> None:
        """s3:ListBucket limited to keys under ``prefixes`` (StringLike on s3:prefix)."""
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[self.bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": list(prefixes)}},
            )
        )

    def _grant_key(self, grantee: iam.IGrantable, action: str) -> None:
        assert self.key is not None
        grantee.grant_principal.add_to_principal_policy(
            iam.PolicyStatement(actions=[action], resources=[self.key.key_arn])
        )
