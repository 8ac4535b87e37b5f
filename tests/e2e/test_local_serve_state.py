"""``orgsync local serve --state DIR``: the lasting local world served to the AWS CLI, and saved back on a clean stop.

The world is seeded and rolled out with the CLI, served (the AWS CLI sees the syncs, nodes and objects the earlier
commands left), changed by a client (a verify execution, a sync deleted by hand in a member account), stopped
with SIGTERM: the next command sees the change and reads the server's execution by its ARN. A server killed
instead leaves the previous state, whole.
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_local_serve import (
    AWS_CLI,
    Served,
    _client_env,
    aws,
    member_credentials,
    orgsync,
    serving,
    wait_for_end,
)

from workflow.cli import cli
from workflow.console import state
from workflow.local.scenario import example_scenario_path

TARGETS = {"targets": ["/Infrastructure"], "regions": ["ap-northeast-1", "us-east-1"]}
NETWORK_HUB, NETWORK_HUB_NODE = "500000000001", "i-af11f3583183bb368"
BUCKET = "acme-inventory"

pytestmark = pytest.mark.skipif(not Path(AWS_CLI[0]).exists(), reason="the AWS CLI (awscli) is not installed")


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "200"})


def run_input(tmp_path: Path, **fields: Any) -> str:
    path = tmp_path / f"input-{len(list(tmp_path.iterdir()))}.json"
    path.write_text(json.dumps({**TARGETS, **fields}))
    return str(path)


def sync_names(served: Served, account_id: str, region: str) -> list[str]:
    env = _client_env(**member_credentials(served, account_id))
    listed = aws(served, "ssm", "list-resource-data-sync", "--region", region, env=env)
    return [item["SyncName"] for item in listed["ResourceDataSyncItems"]]


def test_the_lasting_world_served_changed_by_a_client_and_saved_on_a_clean_stop(tmp_path: Path) -> None:
    directory = tmp_path / "state"
    # GIVEN a lasting world rolled out to /Infrastructure by the CLI, one of network-hub's nodes terminated
    assert invoke("local", "init", "--scenario", str(example_scenario_path()), "--state", str(directory)).exit_code == 0
    rolled = invoke("run", "--state", str(directory), "--input", run_input(tmp_path), "--json", "--no-progress")
    assert rolled.exit_code == 0, rolled.stderr
    assert invoke("local", "terminate-node", NETWORK_HUB_NODE, "--state", str(directory)).exit_code == 0
    clock_before = state.load_state(directory).now
    with serving("--state", str(directory)) as served:
        # THEN the AWS CLI sees that world: the syncs the CLI created, the terminated node's record in the bucket
        assert sync_names(served, NETWORK_HUB, "us-east-1") == ["org-inventory"]
        key = (
            f"default/AWS:InstanceInformation/accountid={NETWORK_HUB}/region=ap-northeast-1/"
            f"resourcetype=ManagedInstanceInventory/{NETWORK_HUB_NODE}.json"
        )
        result = subprocess.run(
            [*AWS_CLI, "--endpoint-url", served.endpoint, "s3", "cp", f"s3://{BUCKET}/{key}", "-"],
            capture_output=True,
            text=True,
            timeout=120,
            env=_client_env(),
        )
        assert json.loads(result.stdout.splitlines()[0])["InstanceStatus"] == "Terminated"
        # WHEN a client verifies (green), then deletes a sync by hand in the member account
        verify = aws(
            served,
            "stepfunctions",
            "start-execution",
            "--state-machine-arn",
            served.state_machine_arn,
            "--name",
            "served-verify",
            "--input",
            f"file://{run_input(tmp_path, mode='verify')}",
        )["executionArn"]
        assert wait_for_end(served, verify)["status"] == "SUCCEEDED"
        env = _client_env(**member_credentials(served, NETWORK_HUB))
        deleted = ["ssm", "delete-resource-data-sync", "--sync-name", "org-inventory", "--region", "us-east-1"]
        aws(served, *deleted, env=env)
        assert sync_names(served, NETWORK_HUB, "us-east-1") == []
        # AND stops the server cleanly
        served.process.send_signal(signal.SIGTERM)
        assert served.process.wait(timeout=120) == 0
    # THEN the next command sees the change, and the server's execution is read by its ARN
    loaded = state.load_state(directory)
    assert loaded.now >= clock_before
    kept = {(s["accountId"], s["region"], s["name"]) for s in loaded.syncs}
    assert (NETWORK_HUB, "us-east-1", "org-inventory") not in kept
    assert (NETWORK_HUB, "ap-northeast-1", "org-inventory") in kept
    report = invoke("report", verify, "--state", str(directory), "--format", "json")
    assert report.exit_code == 0, report.stderr
    assert json.loads(report.stdout)["executionName"] == "served-verify"
    watched = invoke("watch", verify, "--state", str(directory), "--no-progress")
    assert watched.exit_code == 0 and "served-verify: SUCCEEDED" in watched.stdout
    again = invoke("run", "--state", str(directory), "--input", run_input(tmp_path, mode="verify"), "--json")
    assert again.exit_code == 1
    missing = [(r["accountId"], r["region"]) for r in json.loads(again.stdout)["results"] if r["status"] == "MISSING"]
    assert missing == [(NETWORK_HUB, "us-east-1")]


def test_a_killed_server_leaves_the_previous_state_whole(tmp_path: Path) -> None:
    directory = tmp_path / "state"
    assert invoke("local", "init", "--scenario", str(example_scenario_path()), "--state", str(directory)).exit_code == 0
    before = (directory / "state.json").read_bytes()
    with serving("--state", str(directory)) as served:
        # a change a clean stop would have saved: a sync created in a member account
        env = _client_env(**member_credentials(served, NETWORK_HUB))
        destination = f"BucketName={BUCKET},Region=ap-northeast-1,SyncFormat=JsonSerDe,Prefix=default"
        aws(
            served,
            "ssm",
            "create-resource-data-sync",
            "--sync-name",
            "by-hand",
            "--s3-destination",
            destination,
            "--region",
            "ap-northeast-1",
            env=env,
        )
        served.process.kill()
        served.process.wait(timeout=30)
    assert (directory / "state.json").read_bytes() == before
    assert state.load_state(directory).syncs == json.loads(before)["syncs"]


def test_a_state_of_another_version_is_one_line_and_exit_2(tmp_path: Path) -> None:
    directory = tmp_path / "state"
    directory.mkdir()
    (directory / "state.json").write_text(json.dumps({"version": 99, "scenario": {}, "clock": ""}))
    result = orgsync_cli("local", "serve", "--state", str(directory), "--port", "0")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        f"orgsync: error: --state: {directory} holds a local state of format version 99; this orgsync reads version "
        "1: seed a new one elsewhere (--state DIR) or remove it"
    ]
    both = orgsync_cli("local", "serve", "--state", str(directory), "--scenario", "x.json")
    assert both.returncode == 2 and "--scenario FILE (a fresh world) or --state DIR" in both.stderr


def orgsync_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return orgsync(Served(None, "", "", []), *args)  # type: ignore[arg-type]
