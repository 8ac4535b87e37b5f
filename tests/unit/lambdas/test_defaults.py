"""The deployment's default targets and regions come from the file the deployment ships (not the environment)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambdas import enrolment, handlers
from lambdas.defaults import ENV_DEFAULTS_FILE, DeployedDefaultsUnreadable, defaults_document, with_deployed_defaults
from lambdas.settings import ENV_DEFAULT_REGIONS, ENV_DEFAULT_TARGETS, ENV_DESTINATION_BUCKET, Settings

BUCKET = "acme-inventory"


def defaults_file(tmp_path: Path, targets: list[str], regions: list[str]) -> str:
    path = tmp_path / "defaults.json"
    path.write_text(defaults_document(targets, regions))
    return str(path)


def test_the_file_gives_the_defaults_and_nothing_else_changes(tmp_path: Path) -> None:
    settings = Settings(destination_bucket=BUCKET, sync_name="acme", default_targets=("r-old1",))
    path = defaults_file(tmp_path, ["ou-ab12-11111111", "/Workloads"], ["eu-west-1"])
    read = with_deployed_defaults(settings, {ENV_DEFAULTS_FILE: path})
    assert (read.default_targets, read.default_regions) == (("ou-ab12-11111111", "/Workloads"), ("eu-west-1",))
    assert (read.destination_bucket, read.sync_name) == (BUCKET, "acme")


def test_without_the_file_the_environment_defaults_stay_for_local_runs() -> None:
    env = {ENV_DESTINATION_BUCKET: BUCKET, ENV_DEFAULT_TARGETS: '["r-ab12"]', ENV_DEFAULT_REGIONS: "us-east-1"}
    settings = Settings.from_env(env)
    assert with_deployed_defaults(settings, env) == settings
    assert (settings.default_targets, settings.default_regions) == (("r-ab12",), ("us-east-1",))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "No such file"),
        ("{not json", "Expecting property name"),
        ('["r-ab12"]', "expected a JSON object"),
        ('{"targets": "r-ab12", "regions": []}', "targets must be a list of strings"),
        ('{"targets": [], "regions": [1]}', "regions must be a list of strings"),
    ],
)
def test_a_broken_file_is_a_named_error_naming_the_file(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "defaults.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(DeployedDefaultsUnreadable, match=message) as raised:
        with_deployed_defaults(Settings(), {ENV_DEFAULTS_FILE: str(path)})
    assert str(path) in str(raised.value)


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """moto: an organization with one account, the bucket, the state machine; the deployment's environment."""
    with mock_aws():
        organizations = boto3.client("organizations", region_name="us-east-1")
        organizations.create_organization(FeatureSet="ALL")
        root = organizations.list_roots()["Roots"][0]["Id"]
        account = organizations.create_account(AccountName="a", Email="a@example.com")["CreateAccountStatus"]
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        iam = boto3.client("iam", region_name="us-east-1")
        role = iam.create_role(RoleName="sfn", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        sfn = boto3.client("stepfunctions", region_name="us-east-1")
        definition = json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
        machine = sfn.create_state_machine(name="orgsync", definition=definition, roleArn=role)["stateMachineArn"]
        monkeypatch.setenv(ENV_DESTINATION_BUCKET, BUCKET)
        monkeypatch.setenv("ORGSYNC_DESTINATION_REGION", "us-east-1")
        monkeypatch.setenv(enrolment.ENV_STATE_MACHINE_ARN, machine)
        monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
        yield {"root": root, "account": account["AccountId"], "sfn": sfn, "machine": machine}


def test_resolve_targets_takes_the_deployed_defaults_from_the_file(
    aws: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the deployment's defaults in the file, none in the environment
    monkeypatch.setenv(ENV_DEFAULTS_FILE, defaults_file(tmp_path, [aws["root"]], ["eu-west-1"]))
    # WHEN an execution names neither targets nor regions (no canary: this bucket has no policy for SSM)
    output = handlers.resolve_targets({"input": {"mode": "rollout", "canary": False}, "executionName": "run-1"}, None)
    # THEN the run covers the default targets (the root: every account) in the default regions
    location = output["itemsLocation"]
    body = boto3.client("s3", region_name="us-east-1").get_object(Bucket=location["bucket"], Key=location["key"])
    items = json.loads(body["Body"].read())
    assert {region for account in items for region in account["regions"]} == {"eu-west-1"}
    assert aws["account"] in {item["accountId"] for item in items}


def test_the_enrolment_function_takes_within_from_the_file(
    aws: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_DEFAULTS_FILE, defaults_file(tmp_path, ["/Workloads/Prod"], ["eu-west-1"]))
    event = {
        "id": "e-1",
        "source": "aws.organizations",
        "detail": {"eventName": "MoveAccount", "requestParameters": {"accountId": aws["account"]}},
    }
    arn = enrolment.handler(event, None)["executionArn"]
    started = aws["sfn"].describe_execution(executionArn=arn)
    expected = {"mode": "rollout", "targets": [aws["account"]], "within": ["/Workloads/Prod"]}
    assert json.loads(started["input"]) == expected
