"""A lasting local state keeps everything a later command can observe: saved, then opened again, the world answers
every read the same (organization, syncs, associations, managed nodes, bucket objects and policy, the clock)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from workflow.console import state
from workflow.local.inventory import account_nodes
from workflow.local.runner import LocalRun
from workflow.local.scenario import example_scenario_path

EXAMPLE = str(example_scenario_path())
NETWORK_HUB, COUNTED_NODE = "500000000001", "i-af11f3583183bb368"
SECURITY_TOOLING = "300000000002"  # collects inventory in ap-northeast-1 only: ensureCollection adds us-east-1's


def _errors(call: Any) -> Any:
    try:
        return call()
    except ClientError as exc:
        return {"error": exc.response["Error"]["Code"]}


def observe(local: LocalRun) -> dict[str, Any]:
    """Everything a client of the world can read back, through the AWS APIs (and the clock)."""
    aws = local.aws
    scenario = aws.scenario
    management = aws.client("organizations", scenario.organization.management_account_id)
    tree: dict[str, Any] = {}

    def walk(parent: str, path: str) -> None:
        accounts = management.get_paginator("list_accounts_for_parent").paginate(ParentId=parent)
        tree[path] = sorted((a["Id"], a["Name"], a["Status"]) for page in accounts for a in page["Accounts"])
        ous = management.get_paginator("list_organizational_units_for_parent").paginate(ParentId=parent)
        for page in ous:
            for ou in page["OrganizationalUnits"]:
                walk(ou["Id"], f"{path.rstrip('/')}/{ou['Name']}")

    walk(aws.root_id, "/")
    per_region: dict[str, Any] = {}
    for account in scenario.accounts:
        for region in scenario.regions:
            ssm = aws.client("ssm", account.id, region)
            syncs = _errors(lambda: ssm.list_resource_data_sync()["ResourceDataSyncItems"])  # noqa: B023
            associations = _errors(
                lambda: [
                    item
                    for page in ssm.get_paginator("list_associations").paginate()  # noqa: B023
                    for item in page["Associations"]
                ]
            )
            nodes = [(n.id, n.platform, n.state, n.applications) for n in account_nodes(account, region)]
            per_region[f"{account.id}/{region}"] = {"syncs": syncs, "associations": associations, "nodes": nodes}
    s3 = aws.client("s3")
    bucket = scenario.aggregator.bucket
    objects = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            got = s3.get_object(Bucket=bucket, Key=item["Key"])
            objects[item["Key"]] = (
                item["LastModified"],
                item["Size"],
                item["ETag"],
                got["ContentType"],
                hashlib.sha256(got["Body"].read()).hexdigest(),
            )
    policy = _errors(lambda: s3.get_bucket_policy(Bucket=bucket)["Policy"])
    return {
        "clock": local.clock.now(),
        "organization": tree,
        "accounts": per_region,
        "objects": objects,
        "policy": policy,
    }


def test_every_observable_survives_a_save_and_a_load(tmp_path: Path) -> None:
    directory = tmp_path / "state"
    seeded = state.seed_state(directory, EXAMPLE)
    seeded_policy = seeded.bucket_policy
    # GIVEN a world that has lived: a terminated node and a moved account (kept in an earlier command), then a
    # rollout that created syncs and an association, a sync whose marker is still due (marker-delayed), a changed
    # bucket policy: observed in the world that made those changes, before it is saved
    state.terminate_node(seeded, COUNTED_NODE)
    state.move_account(seeded, "sandbox-bob", "/Infrastructure")
    state.save_state(seeded)
    with state.open_world(state.load_state(directory)) as local:
        local.run(
            {
                "targets": ["/Infrastructure", "/Security", "/Workloads/NonProd"],
                "regions": ["ap-northeast-1", "us-east-1"],
                "ensureCollection": True,
                "markerTimeoutSeconds": 5,
            }
        )
        local.aws.set_bucket_policy("request-object-tag")
        before = observe(local)
    saved_once = json.loads((directory / "state.json").read_text())
    # WHEN it is opened again (and saved again)
    with state.open_world(state.load_state(directory)) as local:
        after = observe(local)
    saved_twice = json.loads((directory / "state.json").read_text())
    # THEN every read answers the same, and saving what was loaded writes the same document
    assert after == before
    assert saved_twice == saved_once
    # AND the life it had is there to be seen (not an empty world compared with itself)
    hub = before["accounts"][f"{NETWORK_HUB}/ap-northeast-1"]
    assert [s["SyncName"] for s in hub["syncs"]] == ["org-inventory"]
    assert hub["nodes"][0][:3] == (COUNTED_NODE, "Linux", "terminated")
    collected = before["accounts"][f"{SECURITY_TOOLING}/us-east-1"]["associations"]
    assert [a["Name"] for a in collected] == ["AWS-GatherSoftwareInventory"]
    assert "400000000006" in {a[0] for a in before["organization"]["/Infrastructure"]}
    assert before["policy"] == saved_once["bucketPolicy"] and before["policy"] != seeded_policy
    delayed = before["accounts"]["200000000014/ap-northeast-1"]["syncs"]
    assert delayed and "LastSyncTime" not in delayed[0]  # its marker is still due
    info = f"default/AWS:InstanceInformation/accountid={NETWORK_HUB}/region=ap-northeast-1/"
    assert any(key.startswith(info) and key.endswith(f"{COUNTED_NODE}.json") for key in before["objects"])
