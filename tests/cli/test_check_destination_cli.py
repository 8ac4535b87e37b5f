"""``orgsync check-destination``: the static check of the bucket (and key) policy, from files or from S3 and KMS."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
from click.testing import CliRunner

from lambdas.destination_policy import bucket_statements, key_statement
from workflow.cli import cli

BUCKET = "acme-inventory"
ORG = "o-abcdefghij"
COMMON = ["check-destination", "--bucket", BUCKET, "--organization-id", ORG]


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, [*COMMON, *args])


def documented() -> dict[str, Any]:
    return {"Version": "2012-10-17",
            "Statement": bucket_statements(BUCKET, "default", {"aws:SourceOrgID": ORG}, ["ssm.amazonaws.com"])}


def write(tmp_path: Path, document: Any, name: str = "policy.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return str(path)


def test_documented_policy_file_passes(tmp_path: Path) -> None:
    result = invoke("--policy", write(tmp_path, documented()), "--account", "200000000001")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"s3://{BUCKET}/default: SSM may write from us-east-1 for {ORG}.")


def test_missing_statement_prints_it_with_bucket_prefix_and_organization_and_exits_1(tmp_path: Path) -> None:
    policy = documented()
    del policy["Statement"][2]  # PutObjectTagging
    result = invoke("--policy", write(tmp_path, policy), "--prefix", "default", "--json")

    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False and report["definite"] is True
    assert report["bucketStatementsToAdd"] == [documented()["Statement"][2]]
    assert report["bucketStatementsToAdd"][0]["Resource"] == f"arn:aws:s3:::{BUCKET}/default/*/accountid=*/*"


def test_opt_in_region_asks_for_the_regional_principal(tmp_path: Path) -> None:
    result = invoke("--policy", write(tmp_path, documented()), "--regions", "us-east-1,af-south-1")
    assert result.exit_code == 1
    assert "Add to the bucket policy of acme-inventory" in result.stdout
    assert '"Principal": {"Service": "ssm.af-south-1.amazonaws.com"}' in result.stdout


def test_reads_the_bucket_and_key_policies_from_aws(bucket: Any, tmp_path: Path) -> None:
    bucket.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(documented()))
    kms = boto3.client("kms", region_name="us-east-1")
    key_arn = kms.create_key()["KeyMetadata"]["Arn"]
    result = CliRunner().invoke(cli, [*COMMON, "--kms-key-arn", key_arn])
    # moto's default key policy names only the account's root: SSM may not encrypt.
    assert result.exit_code == 1
    assert f"Add to the key policy of {key_arn}" in result.stdout
    assert '"Action": "kms:GenerateDataKey"' in result.stdout

    admin = json.loads(kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"])
    admin["Statement"].append(key_statement(ORG, ["ssm.amazonaws.com"]))
    kms.put_key_policy(KeyId=key_arn, PolicyName="default", Policy=json.dumps(admin))
    assert CliRunner().invoke(cli, [*COMMON, "--kms-key-arn", key_arn]).exit_code == 0


def test_bucket_without_policy_is_every_statement(bucket: Any) -> None:
    result = CliRunner().invoke(cli, [*COMMON, "--json"])
    assert result.exit_code == 1
    assert [s["Sid"] for s in json.loads(result.stdout)["bucketStatementsToAdd"]] == [
        "SSMBucketPermissionsCheck", "SSMBucketDelivery", "SSMBucketDeliveryTagging"]


def test_bad_options_are_one_line_and_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["check-destination", "--bucket", BUCKET, "--organization-id", "org-1",
                                      "--policy", write(tmp_path, documented())])
    assert result.exit_code == 2
    assert result.stderr.strip() == 'orgsync: error: --organization-id: "org-1" is not an organization id (o-...)'
