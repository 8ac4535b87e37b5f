"""Target resolution over a moto organization: nested OUs, OU paths, dedupe, suspended, exclusions, throttling."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from http_faults import HttpFaults
from moto import mock_aws

from lambdas import aws
from lambdas.destination_policy import bucket_statements
from lambdas.errors import DestinationPolicyIncomplete, InvalidInput, Throttled
from lambdas.input import validate_input
from lambdas.models import Status
from lambdas.settings import Settings
from lambdas.targets import Organization, resolve_run, resolve_targets, walk_organization
from workflow.local.clock import VirtualClock

BUCKET = "acme-inventory"
SETTINGS = Settings(destination_bucket=BUCKET, destination_region="us-east-1")


class Org:
    """A moto organization: /Workloads/{Prod,Dev}, /Sandbox, accounts in each, one suspended."""

    def __init__(self) -> None:
        self.client = boto3.client("organizations", region_name="us-east-1")
        self.client.create_organization(FeatureSet="ALL")
        self.root = self.client.list_roots()["Roots"][0]["Id"]
        self.ous: dict[str, str] = {}
        self.accounts: dict[str, str] = {}
        workloads = self.ou("Workloads", self.root)
        self.ou("Prod", workloads, "/Workloads/Prod")
        self.ou("Dev", workloads, "/Workloads/Dev")
        self.ou("Sandbox", self.root)
        self.account("prod-a", "/Workloads/Prod")
        self.account("prod-b", "/Workloads/Prod")
        self.account("dev-a", "/Workloads/Dev")
        self.account("workloads-shared", "/Workloads")
        self.account("sandbox-a", "/Sandbox")
        self.account("sandbox-closed", "/Sandbox")
        self.client.close_account(AccountId=self.accounts["sandbox-closed"])

    def ou(self, name: str, parent: str, path: str | None = None) -> str:
        ou_id = self.client.create_organizational_unit(ParentId=parent, Name=name)["OrganizationalUnit"]["Id"]
        self.ous[path or f"/{name}"] = ou_id
        return str(ou_id)

    def account(self, name: str, path: str) -> str:
        status = self.client.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]
        account_id = str(status["AccountId"])
        self.client.move_account(AccountId=account_id, SourceParentId=self.root, DestinationParentId=self.ous[path])
        self.accounts[name] = account_id
        return account_id


@pytest.fixture
def org() -> Iterator[Org]:
    with mock_aws():
        yield Org()


def resolve(org: Org, **raw: Any) -> tuple[list[Any], list[Any]]:
    tree = walk_organization(org.client)
    return resolve_targets(tree, validate_input({"regions": ["us-east-1"], **raw}, SETTINGS), "exec-1")


def test_walk_reads_paths_of_nested_ous(org: Org) -> None:
    tree = walk_organization(org.client)
    assert tree.root_id == org.root
    assert tree.ou_by_path["/Workloads/Prod"] == org.ous["/Workloads/Prod"]
    assert tree.ou_paths[org.ous["/Sandbox"]] == "/Sandbox"
    assert {a.name for a in tree.accounts_under(org.ous["/Workloads"])} == {
        "prod-a", "prod-b", "dev-a", "workloads-shared"}


def test_ou_path_includes_nested_ous(org: Org) -> None:
    items, skipped = resolve(org, targets=["/Workloads"])
    assert sorted((i.accountName, i.ouPath) for i in items) == [
        ("dev-a", "/Workloads/Dev"), ("prod-a", "/Workloads/Prod"), ("prod-b", "/Workloads/Prod"),
        ("workloads-shared", "/Workloads")]
    assert skipped == []


def test_ou_id_account_id_and_overlaps_are_deduplicated(org: Org) -> None:
    # GIVEN an OU, its parent's path and one of its accounts, all targeted
    targets = [org.ous["/Workloads/Prod"], "/Workloads/Prod", org.accounts["prod-a"], org.accounts["dev-a"]]
    items, _ = resolve(org, targets=targets)
    # THEN each account appears once per region
    assert sorted(i.accountName for i in items) == ["dev-a", "prod-a", "prod-b"]


def test_one_item_per_account_and_region(org: Org) -> None:
    items, _ = resolve(org, targets=["/Workloads/Prod"], regions=["us-east-1", "eu-west-1"])
    assert sorted((i.accountName, i.region) for i in items) == [
        ("prod-a", "eu-west-1"), ("prod-a", "us-east-1"), ("prod-b", "eu-west-1"), ("prod-b", "us-east-1")]
    assert all(i.run.executionName == "exec-1" and i.run.syncName == "org-inventory" for i in items)


def test_root_id_targets_the_whole_organization_with_suspended_skipped(org: Org) -> None:
    items, skipped = resolve(org, targets=[org.root])
    assert {"prod-a", "prod-b", "dev-a", "workloads-shared", "sandbox-a"} <= {i.accountName for i in items}
    assert org.accounts["sandbox-closed"] not in {i.accountId for i in items}
    assert [(o.accountName, o.status) for o in skipped] == [("sandbox-closed", Status.SKIPPED)]
    assert "SUSPENDED" in skipped[0].detail


def test_excluded_accounts_are_skipped_with_the_reason(org: Org) -> None:
    items, skipped = resolve(org, targets=["/Workloads/Prod"], excludeAccounts=[org.accounts["prod-b"]],
                             regions=["us-east-1", "eu-west-1"])
    assert {i.accountName for i in items} == {"prod-a"}
    assert sorted((o.accountName, o.region, o.detail) for o in skipped) == [
        ("prod-b", "eu-west-1", "Excluded by excludeAccounts."),
        ("prod-b", "us-east-1", "Excluded by excludeAccounts."),
    ]


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("/Workloads/Nope", 'OU path "/Workloads/Nope" does not exist'),
        ("ou-zzzz-zzzzzzzz", '"ou-zzzz-zzzzzzzz" is not an OU of this organization'),
        ("999999999999", '"999999999999" is not an account of this organization'),
        ("r-zzzz", "\"r-zzzz\" is not this organization's root"),
    ],
)
def test_unknown_targets_are_invalid_input(org: Org, target: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        resolve(org, targets=[target])


def organizations_of_the_lambda_code() -> Any:
    """An Organizations client as the Lambda code makes it: boto's standard retries, waiting on lambdas.clock."""
    aws.clear_credentials_cache()
    return aws.ClientProvider.from_environment().client("organizations", "us-east-1")


def test_throttled_pages_are_retried_by_boto_on_the_clock(org: Org, virtual_clock: VirtualClock) -> None:
    # GIVEN Organizations throttling every page twice (the first two of every three attempts)
    organizations = organizations_of_the_lambda_code()
    faults = HttpFaults(organizations, lambda attempt: "TooManyRequestsException" if attempt % 3 else None)
    tree: Organization = walk_organization(organizations)
    # THEN the tree is complete and the waits were taken on the (virtual) clock
    assert tree.ou_by_path["/Workloads/Prod"] == org.ous["/Workloads/Prod"]
    pages = faults.attempts // 3
    assert pages > 3 and len(virtual_clock.sleeps) == 2 * pages
    assert all(0 <= s <= 2 for s in virtual_clock.sleeps)


def test_throttling_that_never_ends_raises_throttled(org: Org, virtual_clock: VirtualClock) -> None:
    organizations = organizations_of_the_lambda_code()
    HttpFaults(organizations, lambda attempt: "TooManyRequestsException")
    with pytest.raises(Throttled, match="organizations:ListRoots throttled"):
        walk_organization(organizations)


def test_resolve_run_writes_items_and_skipped_outcomes_only_when_valid(org: Org) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    # "canary": false: the items file holds every item (the destination check and the canary: test_resolve_canary_*)
    raw = {"targets": ["/Sandbox"], "regions": ["us-east-1"], "canary": False}
    output = resolve_run(raw, "exec-1", SETTINGS, lambda: org.client, lambda region: s3)
    assert output["itemsLocation"] == {"bucket": BUCKET, "key": "orgsync/runs/exec-1/targets.json"}
    assert output["counts"] == {"accounts": 2, "items": 1, "skipped": 1}
    items = json.loads(s3.get_object(Bucket=BUCKET, Key="orgsync/runs/exec-1/targets.json")["Body"].read())
    assert [(i["accountName"], i["regions"], i["ouPath"]) for i in items] == [("sandbox-a", ["us-east-1"], "/Sandbox")]
    skipped = json.loads(s3.get_object(Bucket=BUCKET, Key="orgsync/reports/exec-1/results/skipped.json")["Body"].read())
    assert [(o["accountId"], o["region"], o["status"]) for o in skipped] == [
        (org.accounts["sandbox-closed"], "us-east-1", "SKIPPED")
    ]

    # AND an invalid target writes nothing at all
    with pytest.raises(InvalidInput):
        resolve_run({**raw, "targets": ["/Nope"]}, "exec-2", SETTINGS, lambda: org.client, lambda region: s3)
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="orgsync/runs/exec-2")
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix="orgsync/reports/exec-2")


def test_resolve_canary_broken_bucket_policy_fails_before_anything_is_written(org: Org) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    raw = {"targets": ["/Workloads"], "regions": ["us-east-1"]}
    with pytest.raises(DestinationPolicyIncomplete, match="Add to the bucket policy of acme-inventory"):
        resolve_run(raw, "exec-1", SETTINGS, lambda: org.client, lambda region: s3)
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)


def test_resolve_canary_takes_the_canary_out_of_the_items_file(org: Org) -> None:
    s3 = boto3.client("s3", region_name="us-east-1")
    s3.create_bucket(Bucket=BUCKET)
    organization_id = org.client.describe_organization()["Organization"]["Id"]
    statements = bucket_statements(BUCKET, "default", {"aws:SourceOrgID": organization_id}, ["ssm.amazonaws.com"])
    s3.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps({"Statement": statements}))
    raw = {"targets": ["/Workloads"], "regions": ["eu-west-1", "us-east-1"]}
    dev_a = org.accounts["dev-a"]

    output = resolve_run(raw, "exec-1", SETTINGS, lambda: org.client, lambda region: s3, None, lambda: dev_a)

    assert output["policyCheck"] == "passed"
    assert output["canary"]["organizationId"] == organization_id
    canary = (output["canary"]["item"]["accountId"], output["canary"]["item"]["region"])
    assert canary == (dev_a, "us-east-1")  # the aggregator's own account, in the destination's region
    items = json.loads(s3.get_object(Bucket=BUCKET, Key="orgsync/runs/exec-1/targets.json")["Body"].read())
    # the items file lists accounts with their regions: the canary's region is not among its account's
    account_regions = [(account["accountId"], region) for account in items for region in account["regions"]]
    assert canary not in account_regions and len(account_regions) == 4 * 2 - 1
    assert output["counts"]["items"] == 4 * 2  # the canary counts among the run's account-regions
    recorded = json.loads(s3.get_object(Bucket=BUCKET, Key="orgsync/runs/exec-1/canary.json")["Body"].read())
    assert recorded == output["canary"]["item"]
