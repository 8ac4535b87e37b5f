"""The CDK context: one typed parse, defaults from lambdas.settings, and an error naming the key for each mistake."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.config import CONTEXT_KEYS, ConfigError, parse_config
from lambdas.models import Mode
from lambdas.settings import DEFAULT_MEMBER_ROLE_NAME, DEFAULT_PREFIX, DEFAULT_SYNC_NAME
from workflow.definition import PROCESS, build_definition

REPO = Path(__file__).resolve().parents[2]
MINIMAL: dict[str, Any] = {
    "organizationId": "o-abcdefghij",
    "managementAccountId": "111111111111",
    "aggregatorAccountId": "222222222222",
    "targets": ["r-ab12"],
}


def parse(**overrides: Any) -> Any:
    context = {**MINIMAL, **overrides}
    return parse_config({k: v for k, v in context.items() if v is not None})


def test_minimal_context_takes_the_documented_defaults() -> None:
    cfg = parse()
    assert cfg.sync_name == DEFAULT_SYNC_NAME
    assert cfg.member_role_name == DEFAULT_MEMBER_ROLE_NAME
    assert cfg.inventory_prefix == DEFAULT_PREFIX
    assert cfg.schedule == "rate(1 day)"
    assert cfg.schedule_mode is Mode.VERIFY
    assert cfg.kms is False
    assert cfg.bucket_name is None
    assert cfg.aggregator_region is None
    assert cfg.management_region == "us-east-1"
    assert cfg.member_role_region == "us-east-1"
    assert cfg.member_role_organizational_units == ("r-ab12",)
    assert cfg.stack_set_call_as == "SELF"
    assert cfg.enrolment is False
    assert cfg.organization_reader_role_arn == "arn:aws:iam::111111111111:role/OrgSyncOrganizationReader"


def test_command_line_strings_are_parsed_like_json_values() -> None:
    # -c key=value gives strings: lists comma-separated or JSON, booleans true/false.
    cfg = parse(targets="ou-ab12-abcdefgh, 123456789012", regions='["eu-west-1","us-east-1"]', kms="true")
    assert cfg.targets == ("ou-ab12-abcdefgh", "123456789012")
    assert cfg.regions == ("eu-west-1", "us-east-1")
    assert cfg.kms is True
    assert cfg.member_role_organizational_units == ("ou-ab12-abcdefgh",)


def test_the_maps_batch_size_and_concurrency_reach_the_definition() -> None:
    # unset: the definition's own defaults, which the local engine runs too
    assert parse().definition_shape() == {}
    cfg = parse(accountsPerBatch="25", maxConcurrency=200)
    definition = build_definition(**cfg.definition_shape())
    process = definition["States"][PROCESS]
    assert (process["ItemBatcher"]["MaxItemsPerBatch"], process["MaxConcurrency"]) == (25, 200)


def test_schedule_can_be_turned_off_and_set_to_rollout() -> None:
    assert parse(schedule="off").schedule is None
    cfg = parse(schedule="cron(0 6 * * ? *)", scheduleMode="rollout")
    assert (cfg.schedule, cfg.schedule_mode) == ("cron(0 6 * * ? *)", Mode.ROLLOUT)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"organizationId": None}, "context organizationId is required (the organization's id)"),
        ({"organizationId": "o-short"}, "context organizationId='o-short' is not an organization ID"),
        ({"organizationId": "O-ABCDEFGHIJ"}, "context organizationId='O-ABCDEFGHIJ' is not an organization ID"),
        ({"managementAccountId": None}, "context managementAccountId is required"),
        ({"managementAccountId": "12345"}, "context managementAccountId='12345' is not a 12-digit account ID"),
        ({"aggregatorAccountId": 222222222222}, "context aggregatorAccountId=222222222222 is not a 12-digit"),
        ({"aggregatorRegion": "Europe"}, "context aggregatorRegion='Europe' is not a known AWS region with SSM"),
        ({"targets": ["ou-x"]}, "context targets[0]='ou-x' is not an OU ID (ou-xxxx-xxxxxxxx), a root ID"),
        ({"targets": "[not json"}, "context targets='[not json' is invalid: not a JSON list"),
        ({"targets": ["r-ab12", "r-ab12"]}, "context targets=['r-ab12', 'r-ab12'] is invalid: duplicate entries"),
        ({"regions": ["eu-west-1", "mars-1"]}, "context regions[1]='mars-1' is not a known AWS region with SSM"),
        ({"syncName": "has space"}, "context syncName='has space' is not a sync name"),
        ({"inventoryPrefix": "/leading"}, "context inventoryPrefix='/leading' is not an S3 key prefix"),
        ({"bucketName": "Upper_Case"}, "context bucketName='Upper_Case' is not a valid S3 bucket name"),
        ({"kms": "yes"}, "context kms='yes' is invalid: expected true or false"),
        ({"schedule": "every day"}, "context schedule='every day' is not an EventBridge Scheduler expression"),
        ({"scheduleMode": "teardown"}, "context scheduleMode='teardown' is invalid: expected verify or rollout"),
        ({"targets": ["/Workloads"]}, "context memberRoleOrganizationalUnits is required when targets name no root"),
        ({"stackSetCallAs": "ME"}, "context stackSetCallAs='ME' is invalid"),
        (
            {"enrolment": True, "targets": None, "memberRoleOrganizationalUnits": ["r-ab12"]},
            "context targets is required with enrolment=true",
        ),
        ({"enrolment": True}, "context regions is required with enrolment=true"),
        ({"enrolment": True, "regions": ["eu-west-1"]}, "context aggregatorRegion is required with enrolment=true"),
        (
            {
                "enrolment": True,
                "regions": ["eu-west-1"],
                "aggregatorRegion": "eu-west-1",
                "managementRegion": "eu-west-1",
            },
            "context managementRegion='eu-west-1' is invalid with enrolment=true",
        ),
        ({"readerRoleArns": ["arn:aws:s3:::bucket"]}, "context readerRoleArns[0]='arn:aws:s3:::bucket' is not an IAM"),
        ({"notificationEmail": "not-an-address"}, "context notificationEmail='not-an-address' is not an e-mail"),
        ({"accountsPerBatch": 0}, "context accountsPerBatch=0 is invalid: expected a whole number from 1 to 100"),
        ({"maxConcurrency": "many"}, "context maxConcurrency='many' is invalid: expected a whole number from 1 to"),
    ],
)
def test_each_mistake_is_named(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse(**overrides)
    assert str(raised.value).startswith(message), str(raised.value)


def test_every_key_in_cdk_json_is_a_known_context_key() -> None:
    import json

    cdk_json = json.loads((REPO / "infra" / "cdk.json").read_text())
    unknown = {key for key in cdk_json["context"] if not key.startswith("@aws-cdk/")} - set(CONTEXT_KEYS)
    assert unknown == set()


def test_the_app_exits_with_the_message_when_the_context_is_wrong() -> None:
    # GIVEN the app run as `cdk synth` runs it, without organizationId
    env = {**os.environ, "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1", "CDK_CONTEXT_JSON": "{}"}
    result = subprocess.run(
        [sys.executable, "-m", "infra.app"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    # THEN it stops before synthesizing anything, naming the key and how to give it
    assert result.returncode == 1
    assert "orgsync: context organizationId is required" in result.stderr
    assert "pass -c organizationId=..." in result.stderr


@pytest.mark.slow
def test_cdk_json_app_command_synthesizes_from_infra(tmp_path: Path) -> None:
    # GIVEN the exact command `npx cdk synth` runs from infra/ (CDK passes context and outdir in the environment)
    import json

    command = json.loads((REPO / "infra" / "cdk.json").read_text())["app"]
    context = {**MINIMAL, "regions": ["eu-west-1"], "aggregatorRegion": "eu-west-1"}
    env = {
        **os.environ,
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
        "CDK_CONTEXT_JSON": json.dumps(context),
        "CDK_OUTDIR": str(tmp_path),
    }
    # WHEN it runs (no AWS credentials are involved: accounts and regions come from the context)
    result = subprocess.run(
        ["sh", "-c", command], cwd=REPO / "infra", env=env, capture_output=True, text=True, timeout=300
    )
    # THEN the three stacks are in the cloud assembly, each pinned to its account
    assert result.returncode == 0, result.stderr[-2000:]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    environments = {
        name: artifact["environment"]
        for name, artifact in manifest["artifacts"].items()
        if artifact["type"] == "aws:cloudformation:stack"
    }
    assert environments == {
        "OrgSyncAggregator": "aws://222222222222/eu-west-1",
        "OrgSyncOrganizationReader": "aws://111111111111/us-east-1",
        "OrgSyncMemberRole": "aws://111111111111/us-east-1",
    }
