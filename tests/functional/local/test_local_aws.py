"""LocalAws through boto3: the seeded organization, accounts and roles, environment, faults, and clean exits."""

from __future__ import annotations

import os

import boto3
import pytest
from botocore.exceptions import ClientError
from local_aws_support import (
    AGGREGATOR,
    BUCKET,
    FULL,
    MANAGEMENT,
    NO_RETRIES,
    NO_ROLE,
    ORG_ID,
    PROD,
    REGION,
    destination,
    member_client,
    small_scenario,
)
from moto.core.botocore_stubber import BotocoreStubber
from moto.ssm.responses import SimpleSystemManagerResponse

from workflow.local import seams, ssm_sync
from workflow.local.aws import LocalAws
from workflow.local.faults import RequestBoundary


def error_of(excinfo: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    response = excinfo.value.response
    return response["Error"]["Code"], response["Error"]["Message"], response["ResponseMetadata"]["HTTPStatusCode"]


# --- organization ---------------------------------------------------------------------------------------------


def test_organization_is_seeded_with_the_scenarios_ids_tree_and_states(aws: LocalAws) -> None:
    organizations = aws.client("organizations", MANAGEMENT)

    organization = organizations.describe_organization()["Organization"]
    (root,) = organizations.list_roots()["Roots"]
    top = organizations.list_organizational_units_for_parent(ParentId=root["Id"])["OrganizationalUnits"]
    workloads = next(ou for ou in top if ou["Name"] == "Workloads")
    (prod_ou,) = organizations.list_organizational_units_for_parent(ParentId=workloads["Id"])["OrganizationalUnits"]
    prod_accounts = organizations.list_accounts_for_parent(ParentId=prod_ou["Id"])["Accounts"]
    sandbox = next(ou for ou in top if ou["Name"] == "Sandbox")
    sandbox_accounts = organizations.list_accounts_for_parent(ParentId=sandbox["Id"])["Accounts"]
    root_accounts = organizations.list_accounts_for_parent(ParentId=root["Id"])["Accounts"]

    assert organization["Id"] == ORG_ID == aws.organization_id
    assert organization["MasterAccountId"] == MANAGEMENT
    assert root["Id"] == aws.root_id
    assert sorted(ou["Name"] for ou in top) == ["Sandbox", "Security", "Workloads"]
    assert prod_ou["Name"] == "Prod" and prod_ou["Id"] == aws.ou_id("/Workloads/Prod")
    assert [(a["Id"], a["Name"], a["Status"]) for a in prod_accounts] == [
        (PROD, "prod", "ACTIVE"),
        (NO_ROLE, "no-role", "ACTIVE"),
        ("200000000003", "full", "ACTIVE"),
    ]
    closed = next(a for a in sandbox_accounts if a["Name"] == "closed")
    assert (closed["Status"], closed["State"]) == ("SUSPENDED", "SUSPENDED")
    assert [(a["Id"], a["Name"], a["Email"]) for a in root_accounts] == [
        (MANAGEMENT, "management", "management@example.com")
    ]


def test_member_accounts_see_the_organization_and_ids_are_stable_across_runs() -> None:
    with LocalAws(small_scenario()) as first:
        seen_by_member = first.client("organizations", PROD).describe_organization()["Organization"]["Id"]
        ou_id = first.ou_id("/Workloads/Prod")
    with LocalAws(small_scenario()) as second:
        assert second.ou_id("/Workloads/Prod") == ou_id

    assert seen_by_member == ORG_ID


def test_reader_role_in_the_management_account_reads_the_organization(aws: LocalAws) -> None:
    credentials = aws.client("sts").assume_role(RoleArn=aws.organization_reader_role_arn, RoleSessionName="reader")[
        "Credentials"
    ]
    organizations = boto3.client(
        "organizations",
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )

    assert aws.organization_reader_role_arn == f"arn:aws:iam::{MANAGEMENT}:role/OrgSyncOrganizationReader"
    assert organizations.list_roots()["Roots"][0]["Id"] == aws.root_id


def test_add_account_and_move_account(aws: LocalAws) -> None:
    organizations = aws.client("organizations", MANAGEMENT)

    new_id = aws.add_account("/Workloads/Prod", "prod-new", memberRole=False, instances={REGION: 1})
    generated = aws.add_account("/Sandbox", "sandbox-new")
    aws.move_account(PROD, "/Sandbox")

    prod_ids = [
        a["Id"] for a in organizations.list_accounts_for_parent(ParentId=aws.ou_id("/Workloads/Prod"))["Accounts"]
    ]
    sandbox_ids = [a["Id"] for a in organizations.list_accounts_for_parent(ParentId=aws.ou_id("/Sandbox"))["Accounts"]]
    assert new_id in prod_ids and PROD not in prod_ids
    assert PROD in sandbox_ids and generated in sandbox_ids
    assert aws.scenario.account(PROD).ou_path == "/Sandbox"
    assert aws.scenario.account(new_id).member_role is False
    with pytest.raises(ClientError) as excinfo:
        aws.client("sts").assume_role(RoleArn=f"arn:aws:iam::{new_id}:role/OrgSyncMemberRole", RoleSessionName="x1")
    assert error_of(excinfo)[0] == "AccessDenied"
    member_client(aws, "ssm", generated).create_resource_data_sync(SyncName="s", S3Destination=destination())
    assert aws.sync_names(generated, REGION) == ["s"]
    with pytest.raises(ValueError, match="no OU at path '/Nowhere'"):
        aws.add_account("/Nowhere", "lost")
    with pytest.raises(ValueError, match="an account named 'prod-new' exists already"):
        aws.add_account("/Sandbox", "prod-new")


# --- accounts, STS and credentials --------------------------------------------------------------------------------


def test_default_credentials_land_in_the_aggregator_account_and_region(aws: LocalAws) -> None:
    assert boto3.client("sts").get_caller_identity()["Account"] == AGGREGATOR
    assert os.environ["AWS_DEFAULT_REGION"] == REGION
    assert aws.aggregator_account_id == AGGREGATOR
    assert aws.client("s3").list_buckets()["Buckets"][0]["Name"] == BUCKET


def test_sessions_and_clients_land_in_the_account_asked_for(aws: LocalAws) -> None:
    assert aws.session(PROD).client("sts").get_caller_identity()["Account"] == PROD
    assert aws.client("sts", NO_ROLE).get_caller_identity()["Account"] == NO_ROLE
    assert aws.session(PROD, "eu-west-1").region_name == "eu-west-1"


def test_assumed_member_role_lands_in_the_member_account(aws: LocalAws) -> None:
    sts = member_client(aws, "sts", PROD)

    identity = sts.get_caller_identity()

    assert identity["Account"] == PROD
    assert identity["Arn"] == f"arn:aws:sts::{PROD}:assumed-role/OrgSyncMemberRole/orgsync"


def test_assume_role_into_a_missing_role_is_access_denied(aws: LocalAws) -> None:
    role = f"arn:aws:iam::{NO_ROLE}:role/OrgSyncMemberRole"

    with pytest.raises(ClientError) as excinfo:
        aws.client("sts").assume_role(RoleArn=role, RoleSessionName="orgsync")

    assert error_of(excinfo) == (
        "AccessDenied",
        f"User: arn:aws:iam::{AGGREGATOR}:user/orgsync-local is not authorized to perform: sts:AssumeRole on "
        f"resource: {role}",
        403,
    )


def test_access_denied_names_the_assumed_role_that_called(aws: LocalAws) -> None:
    member_sts = member_client(aws, "sts", PROD)
    role = f"arn:aws:iam::{NO_ROLE}:role/OrgSyncMemberRole"

    with pytest.raises(ClientError) as excinfo:
        member_sts.assume_role(RoleArn=role, RoleSessionName="hop")

    assert error_of(excinfo)[1] == (
        f"User: arn:aws:sts::{PROD}:assumed-role/OrgSyncMemberRole/orgsync is not authorized to perform: "
        f"sts:AssumeRole on resource: {role}"
    )


def test_disabled_region_fails_like_an_opt_in_region_not_enabled(aws: LocalAws) -> None:
    opt_out = "200000000006"
    ssm = member_client(aws, "ssm", opt_out, "eu-south-1")
    sts = member_client(aws, "sts", opt_out, "eu-south-1")

    with pytest.raises(ClientError) as ssm_error:
        ssm.list_resource_data_sync()
    with pytest.raises(ClientError) as sts_error:
        sts.get_caller_identity()

    assert error_of(ssm_error) == (
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
        400,
    )
    assert error_of(sts_error) == (
        "RegionDisabledException",
        f"STS is not activated in this region for account:{opt_out}. Your account administrator can activate STS "
        "in this region using the IAM Console.",
        403,
    )
    assert member_client(aws, "ssm", opt_out, REGION).list_resource_data_sync()["ResourceDataSyncItems"] == []


# --- faults on the wire ---------------------------------------------------------------------------------------------


def test_faults_are_real_client_errors_in_every_protocol(aws: LocalAws) -> None:
    aws.add_fault("ssm:ListResourceDataSync", "ThrottlingException", account="prod")
    aws.add_fault("sts:GetCallerIdentity", "Throttling", message="Rate exceeded", account="log-archive")
    aws.add_fault("s3:ListObjectsV2", "SlowDown", message="Please reduce your request rate.", http_status=503)
    aws.add_fault("organizations:ListRoots", "TooManyRequestsException", account="management")
    aws.add_fault("states:ListStateMachines", "ThrottlingException")
    clients = {
        "ssm": boto3.client("ssm", config=NO_RETRIES, **aws.credentials(PROD)),
        "sts": boto3.client("sts", config=NO_RETRIES),
        "s3": boto3.client("s3", config=NO_RETRIES),
        "organizations": boto3.client("organizations", config=NO_RETRIES, **aws.credentials(MANAGEMENT)),
        "stepfunctions": boto3.client("stepfunctions", config=NO_RETRIES),
    }

    results = {}
    for name, call in [
        ("ssm", lambda: clients["ssm"].list_resource_data_sync()),
        ("sts", lambda: clients["sts"].get_caller_identity()),
        ("s3", lambda: clients["s3"].list_objects_v2(Bucket=BUCKET)),
        ("organizations", lambda: clients["organizations"].list_roots()),
        ("stepfunctions", lambda: clients["stepfunctions"].list_state_machines()),
    ]:
        with pytest.raises(ClientError) as excinfo:
            call()
        results[name] = error_of(excinfo)
        call()  # consumed: the next call goes through

    assert results == {
        "ssm": ("ThrottlingException", "Rate exceeded", 400),
        "sts": ("Throttling", "Rate exceeded", 400),
        "s3": ("SlowDown", "Please reduce your request rate.", 503),
        "organizations": ("TooManyRequestsException", "Rate exceeded", 400),
        "stepfunctions": ("ThrottlingException", "Rate exceeded", 400),
    }


def test_scenario_fault_matches_account_name_and_region_and_is_consumed() -> None:
    faults = [
        {
            "api": "ssm:CreateResourceDataSync",
            "error": "ThrottlingException",
            "times": 2,
            "account": "prod",
            "region": REGION,
        }
    ]
    with LocalAws(small_scenario(faults=faults)) as aws:
        other_account = boto3.client("ssm", region_name=REGION, config=NO_RETRIES, **aws.credentials("200000000004"))
        other_region = boto3.client("ssm", region_name="eu-west-1", config=NO_RETRIES, **aws.credentials(PROD))
        prod = boto3.client("ssm", region_name=REGION, config=NO_RETRIES, **aws.credentials(PROD))
        other_account.create_resource_data_sync(SyncName="a", S3Destination=destination())
        other_region.create_resource_data_sync(SyncName="a", S3Destination=destination())
        codes = []
        for _ in range(3):
            try:
                prod.create_resource_data_sync(SyncName="a", S3Destination=destination())
                codes.append("ok")
            except ClientError as exc:
                codes.append(exc.response["Error"]["Code"])
        remaining = aws.faults.remaining()[0][1]
        raised = list(aws.faults.raised)

    assert codes == ["ThrottlingException", "ThrottlingException", "ok"]
    assert remaining == 0
    assert raised == [("ssm:CreateResourceDataSync", PROD, REGION, "ThrottlingException")] * 2


def test_botocore_retries_consume_fault_attempts(aws: LocalAws) -> None:
    aws.add_fault("ssm:ListResourceDataSync", "ThrottlingException", times=1, account="prod")
    from botocore.config import Config

    retrying = boto3.client(
        "ssm", config=Config(retries={"mode": "standard", "max_attempts": 2}), **aws.credentials(PROD)
    )

    response = retrying.list_resource_data_sync()

    assert response["ResponseMetadata"]["RetryAttempts"] == 1
    assert aws.faults.remaining()[0][1] == 0


def test_add_fault_validates_like_the_scenario(aws: LocalAws) -> None:
    with pytest.raises(ValueError, match=r"fault\.account: 'nobody' is not the name of an account of the scenario"):
        aws.add_fault("ssm:ListResourceDataSync", "ThrottlingException", account="nobody")


# --- lifecycle: nothing leaks ---------------------------------------------------------------------------------------


def test_entering_twice_leaves_no_patch_behind_and_restores_the_environment() -> None:
    original_call = BotocoreStubber.__call__
    os.environ["AWS_PROFILE"] = "someone"
    try:
        for _ in range(2):
            with LocalAws(small_scenario()) as aws:
                assert BotocoreStubber.__call__ is not original_call
                assert ssm_sync.installed() is aws.syncs
                assert "AWS_PROFILE" not in os.environ
                aws.client("ssm", PROD, REGION).create_resource_data_sync(SyncName="a", S3Destination=destination())
            assert BotocoreStubber.__call__ is original_call
            assert RequestBoundary.installed() is None
            assert ssm_sync.installed() is None
            assert not any(hasattr(SimpleSystemManagerResponse, name) for name in ssm_sync.responses.ACTIONS.actions)
            assert os.environ["AWS_PROFILE"] == "someone"
    finally:
        del os.environ["AWS_PROFILE"]


def test_same_instance_can_be_entered_again_with_a_fresh_state() -> None:
    local = LocalAws(small_scenario())
    with local as aws:
        aws.client("ssm", PROD, REGION).create_resource_data_sync(SyncName="a", S3Destination=destination())
        assert aws.sync_names(PROD, REGION) == ["a"]
    with local as aws:
        assert aws.sync_names(PROD, REGION) == []
        assert aws.client("ssm", PROD, REGION).list_resource_data_sync()["ResourceDataSyncItems"] == []


def test_outside_local_aws_ssm_is_plain_moto_again() -> None:
    from moto import mock_aws

    with LocalAws(small_scenario()):
        pass
    with mock_aws(), pytest.raises(NotImplementedError, match="list_resource_data_sync action has not been"):
        boto3.client("ssm", region_name=REGION).list_resource_data_sync()


def test_a_failing_enter_cleans_up_and_nesting_is_refused() -> None:
    original_call = BotocoreStubber.__call__
    with LocalAws(small_scenario()), pytest.raises(RuntimeError, match="another LocalAws is active"):
        LocalAws(small_scenario()).__enter__()
    assert BotocoreStubber.__call__ is original_call
    assert ssm_sync.installed() is None


def test_the_account_of_a_key_sts_issued_is_known_without_scanning_every_account(aws: LocalAws) -> None:
    # GIVEN moto's lookup of a key's account (a scan of every account's IAM backend), counted
    accounts = seams.ACCESS_KEY_ACCOUNT.resolve()[2]
    scanned: list[str] = []
    moto_lookup = accounts._lookup
    accounts._lookup = lambda key: scanned.append(key) or moto_lookup(key)
    # WHEN a member role is assumed and its key signs a call
    credentials = aws.client("sts").assume_role(
        RoleArn=f"arn:aws:iam::{PROD}:role/OrgSyncMemberRole", RoleSessionName="issued"
    )["Credentials"]
    member = boto3.client(
        "sts",
        region_name=REGION,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    # THEN the call is the member account's, and its key was never looked for
    assert member.get_caller_identity()["Account"] == PROD
    assert credentials["AccessKeyId"] not in scanned


def test_clients_of_one_service_share_a_class_and_each_signs_as_its_own_account(aws: LocalAws) -> None:
    # WHEN two member accounts' STS clients and an S3 client are made (boto3's default session, as the Lambdas do)
    prod, full = member_client(aws, "sts", PROD), member_client(aws, "sts", FULL)
    s3 = member_client(aws, "s3", PROD)
    # THEN the two STS clients are of one class, built once; S3's is another
    assert type(prod) is type(full)
    assert type(s3) is not type(prod)
    # AND each client still calls as its own account, with its own credentials
    assert prod.get_caller_identity()["Account"] == PROD
    assert full.get_caller_identity()["Account"] == FULL
    assert prod._request_signer._credentials.access_key != full._request_signer._credentials.access_key
