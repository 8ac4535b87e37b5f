"""The local engine inside ``LocalAws``: one clock, the aggregator's account, member roles assumed by handlers."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from lambdas import clock as lambda_clock
from lambdas import invocation
from lambdas.aws import ClientProvider
from workflow.local.aws import LocalAws
from workflow.local.driver import remote_endpoint_url
from workflow.local.engine import LocalEngine
from workflow.local.scenario import example_scenario_path, load_scenario

pytestmark = pytest.mark.skipif(remote_endpoint_url() is not None, reason="needs the in-process local engine")

MEMBER = "200000000003"  # "in-sync-already": has our sync


def list_member_syncs(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Assumes the member role (as ReconcileSync will) and lists the member's syncs in the emulated SSM."""
    sts = ClientProvider.from_environment().client("sts")
    role = f"arn:aws:iam::{event['account']}:role/OrgSyncMemberRole"
    credentials = sts.assume_role(RoleArn=role, RoleSessionName="orgsync")["Credentials"]
    ssm = boto3.client(
        "ssm",
        region_name=event["region"],
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
    lambda_clock.sleep(600)  # a backoff of the Lambda code: simulated, on the same clock as the engine
    return {
        "caller": sts.get_caller_identity()["Account"],
        "syncs": [item["SyncName"] for item in ssm.list_resource_data_sync()["ResourceDataSyncItems"]],
        "bucket": invocation.environment()["ORGSYNC_DESTINATION_BUCKET"],
        "now": lambda_clock.now().isoformat(),
    }


@pytest.mark.parametrize("account_id", [None, "300000000001"], ids=["default-credentials", "explicit-account"])
def test_engine_joins_local_aws_and_handlers_reach_member_accounts(account_id: str | None) -> None:
    scenario = load_scenario(example_scenario_path())
    with LocalAws(scenario) as aws, LocalEngine(aws.clock, account_id=account_id) as engine:
        # GIVEN the engine inside LocalAws, sharing its clock, in the aggregator account and region
        assert (engine.account_id, engine.region) == (aws.aggregator_account_id, scenario.aggregator.region)
        arn = engine.create_function(
            "ListMemberSyncs",
            f"{__name__}.list_member_syncs",
            environment={"ORGSYNC_DESTINATION_BUCKET": scenario.aggregator.bucket},
        )
        state_machine = engine.create_state_machine(
            "member",
            {"StartAt": "List", "States": {"List": {"Type": "Task", "Resource": arn, "End": True}}},
        )
        expected = aws.sync_names(MEMBER, scenario.aggregator.region)
        # WHEN a task lists a member account's syncs through the member role
        result = engine.run(state_machine, {"account": MEMBER, "region": scenario.aggregator.region})

    # THEN it ran as the aggregator's function, reached the member's emulated SSM, and slept on the shared clock
    assert result.status == "SUCCEEDED", result.cause
    assert result.output["caller"] == aws.aggregator_account_id
    assert result.output["syncs"] == expected == ["org-inventory"]
    assert result.output["bucket"] == scenario.aggregator.bucket
    assert aws.clock is engine.clock and engine.clock.elapsed >= 600
