"""``orgsync check-destination``: does the bucket policy (and the key policy) let SSM write, before deploying?

The same check ``Resolve targets`` runs before a rollout (:mod:`lambdas.destination_policy`), on the policies read
from S3 and KMS (``--endpoint-url`` for a local server) or from files (``--policy``, ``--key-policy``: offline).
It prints what SSM lacks and the exact JSON statements to add, bucket, prefix and organization filled in, or the
statement that denies. Exit 0 when SSM may write, 1 when it may not (or the check could not be sure), 2 when the
options or files are wrong.

Example::

    >>> from click.testing import CliRunner
    >>> from workflow.cli import cli
    >>> result = CliRunner().invoke(cli, ["check-destination", "--bucket", "acme-inventory", "--organization-id",
    ...                                   "o-abcdefghij", "--policy", "/dev/null"])
    >>> result.exit_code, result.stderr.split(":")[:3]
    (2, ['orgsync', ' error', " policy file '/dev/null' is not JSON"])
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from lambdas.destination_policy import check_policies, read_policies
from lambdas.identifiers import ACCOUNT_ID, BUCKET_NAME, KMS_KEY_ARN, PREFIX, REGION, SYNC_NAME
from lambdas.models import Destination
from lambdas.settings import DEFAULT_PREFIX, DEFAULT_SYNC_NAME
from workflow.console.errors import CliError

#: The account a check stands for when none is given: a policy naming accounts is then judged for this one only.
SAMPLE_ACCOUNT = "000000000000"
ORGANIZATION_ID_SHAPE = r"o-[a-z0-9]{10,32}"


def _policy_file(path: str, what: str) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read {what} file {path!r}: {exc.strerror or exc}") from exc
    try:
        return json.loads(text)
    except ValueError as exc:
        raise CliError(f"{what} file {path!r} is not JSON: {exc}") from exc


def _checked(rule: Any, value: str | None, option: str) -> None:
    if value is not None and (why := rule.problem(value)) is not None:
        raise CliError(f"{option}: {json.dumps(value)} {why}")


@click.command(
    "check-destination",
    epilog="\b\nExamples:\n"
    "  orgsync check-destination --bucket acme-inventory --region ap-northeast-1 --organization-id o-a1b2c3d4e5\n"
    "  orgsync check-destination --bucket acme-inventory --organization-id o-a1b2c3d4e5 \\\n"
    "      --policy bucket-policy.json --regions us-east-1,af-south-1",
)
@click.option("--bucket", required=True, help="The destination bucket.")
@click.option("--prefix", default=DEFAULT_PREFIX, show_default=True, help="The syncs' key prefix.")
@click.option("--region", "bucket_region", default="us-east-1", show_default=True, help="The bucket's region.")
@click.option("--sync-name", default=DEFAULT_SYNC_NAME, show_default=True, help="The syncs' name (aws:SourceArn).")
@click.option("--organization-id", required=True, metavar="o-...", help="The organization whose syncs write.")
@click.option("--kms-key-arn", metavar="ARN", help="The SSE-KMS key the syncs encrypt with (checks its key policy).")
@click.option("--regions", metavar="R1,R2", help="The regions the syncs write from (default: the bucket's region).")
@click.option("--account", "accounts", multiple=True, metavar="ID",
              help=f"An account whose syncs write (repeatable; default: a sample, {SAMPLE_ACCOUNT}).")
@click.option("--policy", "policy_file", metavar="FILE", help="Check this bucket policy document instead of S3's.")
@click.option("--key-policy", "key_policy_file", metavar="FILE", help="Check this key policy instead of KMS's.")
@click.option("--endpoint-url", metavar="URL", help="S3 and KMS endpoint (a local engine's server).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON document.")
def check_destination(
    bucket: str,
    prefix: str,
    bucket_region: str,
    sync_name: str,
    organization_id: str,
    kms_key_arn: str | None,
    regions: str | None,
    accounts: tuple[str, ...],
    policy_file: str | None,
    key_policy_file: str | None,
    endpoint_url: str | None,
    as_json: bool,
) -> int:
    """Check that the bucket policy (and, with --kms-key-arn, the key policy) lets SSM write the syncs' data.

    Conservative: an Allow granting only through NotAction/NotResource/NotPrincipal, a condition operator it does
    not compare, or a policy variable is not counted, and the output says so.
    """
    import re

    _checked(BUCKET_NAME, bucket, "--bucket")
    _checked(PREFIX, prefix, "--prefix")
    _checked(SYNC_NAME, sync_name, "--sync-name")
    _checked(REGION, bucket_region, "--region")
    _checked(KMS_KEY_ARN, kms_key_arn, "--kms-key-arn")
    if not re.fullmatch(ORGANIZATION_ID_SHAPE, organization_id):
        raise CliError(f"--organization-id: {json.dumps(organization_id)} is not an organization id (o-...)")
    writing_regions = [r.strip() for r in (regions or bucket_region).split(",") if r.strip()]
    for region in writing_regions:
        _checked(REGION, region, "--regions")
    for account in accounts:
        _checked(ACCOUNT_ID, account, "--account")
    destination = Destination(bucket, bucket_region, prefix, kms_key_arn)
    bucket_policy: Any
    key_policy: Any
    if policy_file is not None and (kms_key_arn is None or key_policy_file is not None):
        bucket_policy = _policy_file(policy_file, "policy")
        key_policy = _policy_file(key_policy_file, "key policy") if key_policy_file else None
    else:
        import boto3

        s3 = boto3.client("s3", region_name=bucket_region, endpoint_url=endpoint_url)
        kms = boto3.client("kms", region_name=bucket_region, endpoint_url=endpoint_url) if kms_key_arn else None
        bucket_policy, key_policy = read_policies(s3, kms, destination)
        if policy_file is not None:
            bucket_policy = _policy_file(policy_file, "policy")
        if key_policy_file is not None:
            key_policy = _policy_file(key_policy_file, "key policy")
    if bucket_policy is not None and not isinstance(bucket_policy, str | dict):
        raise CliError("the bucket policy must be a JSON object")
    check = check_policies(
        bucket_policy, key_policy, destination, organization_id, writing_regions, accounts or [SAMPLE_ACCOUNT],
        sync_name,
    )
    if as_json:
        click.echo(json.dumps({
            "ok": check.ok,
            "definite": check.definite,
            "problems": [problem.describe() for problem in check.problems],
            "bucketStatementsToAdd": check.statements_to_add("bucket"),
            "keyStatementsToAdd": check.statements_to_add("key"),
            "doubts": list(check.doubts),
        }, indent=2))
    elif check.ok:
        click.echo(f"{destination.where}: SSM may write from {', '.join(writing_regions)} for {organization_id}.")
        for doubt in check.doubts:
            click.echo(f"note: not counted: {doubt}")
    else:
        click.echo(check.message().replace(" Add to", "\nAdd to").replace(" Remove or", "\nRemove or")
                   .replace(" Not counted:", "\nNot counted:"))
    if not accounts and not as_json:
        click.echo(f"note: judged for a sample account ({SAMPLE_ACCOUNT}); give --account to judge conditions "
                   "naming accounts.", err=True)
    return 0 if check.ok else 1
