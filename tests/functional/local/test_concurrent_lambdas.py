"""The orgsync Lambdas on the local engine run as on AWS: a Map's children at once, each invocation with its own
credentials and environment (never the process's), and Powertools' JSON log lines that carry no credential."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from lambdas import aws as lambda_aws
from lambdas import handlers, invocation, sync
from lambdas.batch import Batch
from workflow.functions import RECONCILE_SYNC
from workflow.local.driver import remote_endpoint_url
from workflow.local.runner import LocalRun
from workflow.local.scenario import Scenario, example_scenario_path, load_scenario

pytestmark = pytest.mark.skipif(remote_endpoint_url() is not None, reason="needs the in-process local engine")

REGION = "ap-northeast-1"
PROD_PAYMENTS = "200000000001"
PROD_WEB = "200000000002"
NO_ROLE = "400000000004"


@pytest.fixture(scope="module")
def scenario() -> Scenario:
    return load_scenario(example_scenario_path())


@pytest.fixture
def local(scenario: Scenario) -> Iterator[LocalRun]:
    # Five accounts per child: the example organization makes several children whatever the deployed default.
    with LocalRun(scenario, accounts_per_batch=5) as run:
        yield run


def test_two_childrens_lambdas_overlap_in_time_each_with_its_own_accounts_credentials(local: LocalRun) -> None:
    # GIVEN ReconcileSync wrapped so that two children (two batches of accounts) must both be inside it at once to
    # go on: serialised invocations would break the barrier (BrokenBarrierError after its timeout) and fail them
    together = threading.Barrier(2)
    seen: dict[str, dict[str, Any]] = {}

    def reconcile(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if "Items" in event:  # a child's first step
            together.wait(timeout=60)
            entered = time.monotonic()
            batch = Batch.from_event(event)
            item = batch.item({"accountId": batch.accounts[0].accountId, "region": REGION})
            own = lambda_aws.ClientProvider.from_environment()
            member = own.assuming(sync.member_role_arn(item), item.run.executionName)
            identity = member.client("sts").get_caller_identity()
            together.wait(timeout=60)  # the other child is still inside too
            seen[item.accountId] = {
                "entered": entered,
                "left": time.monotonic(),
                "caller": identity["Account"],
                "member_key": member.credentials.access_key_id if member.credentials else None,
                "own_key": invocation.environment()["AWS_ACCESS_KEY_ID"],
            }
        return handlers.reconcile_sync(event, context)

    local.engine.register_handler(local.function_arns[RECONCILE_SYNC.substitution_key], reconcile)

    # WHEN a rollout of the whole organization runs (five accounts per child: more than one child; without a
    # canary, so every account-region goes through the Map's children)
    local.run({"targets": ["/"], "regions": [REGION], "canary": False})

    # THEN children's Lambdas were running at the same time, in real time (the barrier let them through in pairs)
    assert len(seen) >= 2, seen
    runs = sorted(seen.values(), key=lambda run: run["entered"])
    first, second = runs[0], runs[1]
    assert max(first["entered"], second["entered"]) < min(first["left"], second["left"])
    # AND each acted with its own first account's member-role credentials
    assert [seen[key]["caller"] for key in sorted(seen)] == sorted(seen)
    assert len({run["member_key"] for run in runs}) == len(runs)
    # AND with the function role's own keys, which never were the process's
    assert first["own_key"] == second["own_key"] != os.environ.get("AWS_ACCESS_KEY_ID")


def test_log_lines_are_json_with_the_run_keys_and_no_credential(local: LocalRun) -> None:
    # WHEN a rollout runs (one account denies the member role: its error is logged too)
    result = local.run({"targets": ["/Workloads/Prod", "400000000004"], "regions": [REGION]})
    assert result.report is not None, result.cause

    # THEN every line a Lambda printed is JSON; ReconcileSync's name the execution and sync (a batch's accounts and
    # regions are in its input and output)
    lines = [line for call in local.engine.invocations for line in call.output.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]
    reconciles = [r for r in records if r.get("function") == "ReconcileSync"]
    assert reconciles
    for record in reconciles:
        assert record["executionName"] == result.execution_name and record["syncName"] == "org-inventory"
    # AND the summary's metrics, one per outcome status, in EMF
    metrics = [r for r in records if "_aws" in r and "Outcomes" in r]
    assert {m["status"] for m in metrics} == set(result.statuses().values())
    assert all(m["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "orgsync" for m in metrics)
    # AND no access key, secret or session token of any identity used appears in any line
    for credential in credentials_in_play(local):
        assert not [line for line in lines if credential in line], "a credential reached a log line"


def credentials_in_play(local: LocalRun) -> set[str]:
    """Every key, secret and token the run used: the process's, the functions' roles' and the assumed roles'."""
    found = {os.environ.get(name, "") for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}
    for role in local.engine._role_credentials_cache.values():
        found |= {role.access_key_id, role.secret_access_key, role.session_token}
    for assumed in lambda_aws._credentials_cache.values():
        found |= {assumed.access_key_id, assumed.secret_access_key, assumed.session_token}
    found.discard("")
    assert len(found) >= 6  # the functions' role and at least one member role, each with three parts
    return found


def test_no_credential_in_logs_reports_output_or_errors_when_sts_fails(local: LocalRun) -> None:
    # GIVEN a rollout where STS refuses one member account's role (its AccessDenied message lands in the report)
    reported = local.run({"targets": ["/Workloads/Prod", NO_ROLE], "regions": [REGION]})
    # AND a rollout where STS fails the organization reader's AssumeRole (its message fails the execution)
    local.aws.add_fault("sts:AssumeRole", "ExpiredToken", times=1, message="The security token included is expired")
    failed = local.run({"targets": ["/Workloads/Prod"], "regions": [REGION]})

    # THEN the STS errors reached messages: the report, the execution's cause, the log lines...
    assert reported.report is not None and failed.status == "FAILED"
    texts = {
        "logs": "\n".join(call.output for call in local.engine.invocations),
        "report": json.dumps(reported.report),
        "output": json.dumps(reported.output),
        "error": f"{failed.error} {failed.cause}",
        "history": json.dumps([local.history(r.execution_arn) for r in (reported, failed)], default=str),
        "objects": "\n".join(stored_objects(local)),
    }
    assert "sts:AssumeRole" in texts["report"] and "ExpiredToken" in texts["error"]
    assert "ExpiredToken" in texts["logs"] and "ExpiredToken" in texts["history"]
    # ...and no access key, secret or session token of any identity used appears anywhere
    for credential in credentials_in_play(local):
        for where, text in texts.items():
            assert credential not in text, f"a credential reached the {where}"


def stored_objects(local: LocalRun) -> list[str]:
    s3 = local.aws.client("s3")
    bucket = local.scenario.aggregator.bucket
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="orgsync/").get("Contents", [])]
    return [s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode() for key in keys]
