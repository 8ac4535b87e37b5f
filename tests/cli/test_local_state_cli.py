"""A local world that lasts between commands (``--state DIR``): seeded once from a scenario, changed by the
``orgsync local`` commands and by runs, read back by ``report``/``watch``; written atomically, versioned."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from organizations_events import move_account_event

from lambdas.enrolment import enrolment_input
from lambdas.settings import Settings
from workflow.cli import cli
from workflow.console import state as lasting
from workflow.enrolment_definition import ROLL_OUT, build_enrolment_definition
from workflow.local.scenario import example_scenario_path

EXAMPLE = str(example_scenario_path())
TARGETS = {"targets": ["/Infrastructure"], "regions": ["ap-northeast-1", "us-east-1"]}
#: The deployment the day rehearses: TARGETS are its default targets and regions (what an enrolment rolls out to).
DEPLOYED = Settings(default_targets=tuple(TARGETS["targets"]), default_regions=tuple(TARGETS["regions"]))
MANAGEMENT = "100000000001"  # the example organization's management account
SANDBOX_BOB = "400000000006"
NETWORK_HUB, NETWORK_HUB_NODE = "500000000001", "i-af11f3583183bb368"  # one of its two counted nodes


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), env={"COLUMNS": "200"})


def run(state: Path, tmp_path: Path, **execution_input: Any) -> tuple[int, dict[str, Any]]:
    path = tmp_path / "input.json"
    path.write_text(json.dumps({**TARGETS, **execution_input}))
    result = invoke("run", "--state", str(state), "--input", str(path), "--json")
    assert result.exit_code in (0, 1), result.stderr
    return result.exit_code, json.loads(result.stdout)


def statuses(report: dict[str, Any]) -> dict[tuple[str, str], str]:
    return {(r["accountId"], r["region"]): r["status"] for r in report["results"]}


def syncs(state: Path) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Every sync of the lasting world, by account, region and name, as the state keeps it."""
    return {(s["accountId"], s["region"], s["name"]): s for s in lasting.load_state(state).syncs}


def untimed(associations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Associations without their times (``created``, ``lastExecution``)."""
    return [{k: v for k, v in a.items() if k not in ("created", "lastExecution")} for a in associations]


def organization_ids(state: Path, *ou_paths: str) -> list[str]:
    """The ids the lasting world's organization gives these OU paths (what an Organizations event names)."""
    with lasting.open_world(lasting.load_state(state), save=False) as world:
        return [world.aws.ou_id(path) for path in ou_paths]


def test_a_day_in_the_life(tmp_path: Path) -> None:
    state = tmp_path / "state"
    # GIVEN a lasting local world seeded from the example organization
    seeded = invoke("local", "init", "--scenario", EXAMPLE, "--state", str(state))
    assert seeded.exit_code == 0, seeded.stderr
    # WHEN the platform team rolls out to /Infrastructure
    code, rollout = run(state, tmp_path)
    assert code == 0 and set(statuses(rollout).values()) == {"CREATED"}
    # AND a day later one of network-hub's nodes is terminated
    assert invoke("local", "advance", "1d", "--state", str(state)).exit_code == 0
    terminated = invoke("local", "terminate-node", NETWORK_HUB_NODE, "--state", str(state))
    assert terminated.exit_code == 0, terminated.stderr
    assert terminated.stdout.startswith(f"terminated {NETWORK_HUB_NODE} of {NETWORK_HUB} in ap-northeast-1")
    # THEN a verify still finds every sync in place (a node going away changes no sync)
    code, verify = run(state, tmp_path, mode="verify")
    assert code == 0 and set(statuses(verify).values()) == {"IN_SYNC"}
    # AND coverage lists the terminated node as stale, its files still in the bucket, the account still covered
    path = tmp_path / "coverage.json"
    path.write_text(json.dumps(TARGETS))
    covered = invoke("coverage", "--state", str(state), "--input", str(path), "--json")
    assert covered.exit_code == 0, covered.stderr
    coverage = json.loads(covered.stdout)
    stale = [(s["instanceId"], s["instanceStatus"]) for s in coverage["staleInstances"]]
    assert stale == [(NETWORK_HUB_NODE, "Terminated")]
    assert coverage["staleInstances"][0]["files"] == 6  # every inventory type of a Linux node stays
    hub = next(a for a in coverage["accounts"] if a["accountId"] == NETWORK_HUB)
    assert hub["instances"] == 1 and sorted(coverage["covered"]) == [NETWORK_HUB, "500000000002"]
    # AND the bucket's inventory answers queries: the node is Terminated there, one node is left active
    query = invoke("query", "--state", str(state), "--named", "terminated-nodes", "--format", "json")
    assert query.exit_code == 0, query.stderr
    terminated_nodes = [(r["accountid"], r["resourceid"]) for r in json.loads(query.stdout)]
    assert terminated_nodes == [(NETWORK_HUB, NETWORK_HUB_NODE)]
    active = invoke("query", "--state", str(state), "--named", "active-nodes", "--format", "json")
    assert {(r["accountid"], r["region"]): r["active_nodes"] for r in json.loads(active.stdout)} == {
        (NETWORK_HUB, "ap-northeast-1"): 1,
        ("500000000002", "us-east-1"): 2,
        ("200000000003", "ap-northeast-1"): 1,  # in-sync-already's sync was exporting before orgsync ran
        ("200000000003", "us-east-1"): 1,
    }
    # WHEN an account is moved into that OU
    source_ou = lasting.parse(lasting.load_state(state)).account_named("sandbox-bob").ou_path
    moved = invoke("local", "move-account", "sandbox-bob", "/Infrastructure", "--state", str(state))
    assert moved.exit_code == 0, moved.stderr
    # THEN the scheduled verify finds the syncs created yesterday in place, and the moved account MISSING
    code, verify = run(state, tmp_path, mode="verify")
    assert code == 1
    found = statuses(verify)
    assert (
        found.pop((SANDBOX_BOB, "us-east-1")) == "MISSING" and found.pop((SANDBOX_BOB, "ap-northeast-1")) == "MISSING"
    )
    assert set(found.values()) == {"IN_SYNC"}
    # WHEN the enrolment rollout runs: the input the enrolment function makes of the move's MoveAccount event, which
    # the enrolment state machine hands to the rollout as it is
    assert build_enrolment_definition()["States"][ROLL_OUT]["Parameters"]["Input.$"] == "$$.Execution.Input"
    destination, source = organization_ids(state, "/Infrastructure", source_ou)
    event = move_account_event(SANDBOX_BOB, destination, "day-1", management=MANAGEMENT, source_parent=source)
    enrolment_run = enrolment_input(event, DEPLOYED)
    assert enrolment_run == {"mode": "rollout", "targets": [SANDBOX_BOB], "within": ["/Infrastructure"]}
    before_enrolment = syncs(state)
    # (the deployed default regions complete it on AWS; the local deployment has no defaults, so run() names them)
    code, enrolment = run(state, tmp_path, **enrolment_run)
    # THEN that account alone was rolled out: its syncs created, every other sync as it was
    assert code == 0
    assert statuses(enrolment) == {(SANDBOX_BOB, region): "CREATED" for region in TARGETS["regions"]}
    after_enrolment = syncs(state)
    assert {k: v for k, v in after_enrolment.items() if k[0] != SANDBOX_BOB} == before_enrolment
    assert {k for k in after_enrolment if k[0] == SANDBOX_BOB} == {
        (SANDBOX_BOB, region, "org-inventory") for region in TARGETS["regions"]
    }
    # THEN verify is green, and its report can be read again from the state by its execution ARN
    code, green = run(state, tmp_path, mode="verify")
    assert code == 0 and set(statuses(green).values()) == {"IN_SYNC"}
    assert all(r["verification"] == "VERIFIED" for r in green["results"])
    arn = f"arn:aws:states:ap-northeast-1:300000000001:execution:orgsync:{green['executionName']}"
    again = invoke("report", arn, "--state", str(state), "--format", "json")
    assert again.exit_code == 0 and json.loads(again.stdout)["summary"] == green["summary"]
    watched = invoke("watch", arn, "--state", str(state), "--no-progress")
    assert watched.exit_code == 0 and green["executionName"] in watched.stdout
    # WHEN the rehearsal ends with a teardown
    code, teardown = run(state, tmp_path, mode="teardown", confirm="teardown")
    assert code == 0 and set(statuses(teardown).values()) == {"DELETED"}
    # THEN no sync of ours is left, and the inventory stays in the bucket (the terminated node's too)
    code, after = run(state, tmp_path, mode="verify")
    assert code == 1 and set(statuses(after).values()) == {"MISSING"}
    query = invoke("query", "--state", str(state), "--named", "terminated-nodes", "--format", "json")
    assert [r["resourceid"] for r in json.loads(query.stdout)] == [NETWORK_HUB_NODE]


def test_terminating_an_unknown_node_is_one_line_and_writes_nothing(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert invoke("local", "init", "--scenario", EXAMPLE, "--state", str(state)).exit_code == 0
    before = (state / "state.json").read_bytes()
    for node in ("i-0000000000000000f", "not-a-node"):
        result = invoke("local", "terminate-node", node, "--state", str(state))
        assert result.exit_code == 2
        assert result.stderr == f'orgsync: error: no managed node "{node}" in the local organization\n'
        assert result.stdout == ""
    assert (state / "state.json").read_bytes() == before
    assert sorted(p.name for p in state.iterdir()) == ["state.json"]


def test_terminating_a_terminated_node_changes_nothing(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert invoke("local", "init", "--scenario", EXAMPLE, "--state", str(state)).exit_code == 0
    before = (state / "state.json").read_bytes()
    # the example's dev-payments lists a node that is terminated already
    again = invoke("local", "terminate-node", "i-0a1b2c3d4e5f6073a", "--state", str(state))
    assert again.exit_code == 0, again.stderr
    assert "(it was already)" in again.stdout
    assert (state / "state.json").read_bytes() == before


def test_a_sync_deleted_by_hand_is_missing_at_the_next_verify(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert invoke("local", "init", "--scenario", EXAMPLE, "--state", str(state)).exit_code == 0
    run(state, tmp_path)
    deleted = invoke("local", "delete-sync", "network-hub", "us-east-1", "org-inventory", "--state", str(state))
    assert deleted.exit_code == 0, deleted.stderr
    code, verify = run(state, tmp_path, mode="verify")
    assert code == 1 and [key for key, s in statuses(verify).items() if s != "IN_SYNC"] == [
        ("500000000001", "us-east-1")
    ]
    assert statuses(verify)[("500000000001", "us-east-1")] == "MISSING"


def test_a_scenario_only_seeds_a_new_state(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert invoke("local", "init", "--scenario", EXAMPLE, "--state", str(state)).exit_code == 0
    again = invoke("local", "init", "--scenario", EXAMPLE, "--state", str(state))
    assert again.exit_code == 2 and "holds a local state already" in again.stderr
    path = tmp_path / "input.json"
    path.write_text(json.dumps(TARGETS))
    both = invoke("run", "--scenario", EXAMPLE, "--state", str(state), "--input", str(path))
    assert both.exit_code == 2 and "a scenario only seeds a new local state" in both.stderr


def test_a_state_of_another_version_is_one_line_and_exit_2(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "state.json").write_text(json.dumps({"version": 99, "scenario": {}, "clock": ""}))
    path = tmp_path / "input.json"
    path.write_text(json.dumps(TARGETS))
    for args in (
        ["run", "--state", str(state), "--input", str(path)],
        ["local", "advance", "1h", "--state", str(state)],
    ):
        result = invoke(*args)
        assert result.exit_code == 2
        assert result.stderr == (
            f"orgsync: error: {state} holds a local state of format version 99; this orgsync reads version 1: "
            "seed a new one elsewhere (--state DIR) or remove it\n"
        )


def test_no_state_says_how_to_seed_one(tmp_path: Path) -> None:
    result = invoke("run", "--state", str(tmp_path / "none"), "--input", "x.json")
    assert result.exit_code == 2
    assert "no local state in" in result.stderr and "orgsync local init --scenario FILE" in result.stderr


def test_a_crash_while_saving_leaves_the_previous_state_readable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from workflow.console import saved, state

    directory = tmp_path / "state"
    assert invoke("local", "init", "--scenario", EXAMPLE, "--state", str(directory)).exit_code == 0
    before = (directory / "state.json").read_bytes()
    # WHEN the process dies halfway through writing the next state
    real_dump = json.dump

    def dump_half(document: Any, file: Any, **kwargs: Any) -> None:
        file.write(json.dumps(document, **kwargs)[:100])
        raise KeyboardInterrupt  # as a kill would: mid-write

    monkeypatch.setattr(saved.json, "dump", dump_half)
    result = invoke("local", "advance", "1h", "--state", str(directory))
    monkeypatch.setattr(saved.json, "dump", real_dump)
    # THEN the state file is the previous one, whole, and no temporary file is left behind
    assert result.exit_code != 0
    assert (directory / "state.json").read_bytes() == before
    assert state.load_state(directory).clock == json.loads(before)["clock"]
    assert [p.name for p in directory.iterdir() if p.name.startswith(".")] == []


def test_the_clock_and_world_changes_last(tmp_path: Path) -> None:
    from workflow.console import state

    directory = tmp_path / "state"
    assert invoke("local", "init", "--scenario", EXAMPLE, "--state", str(directory)).exit_code == 0
    start = state.load_state(directory).now
    assert invoke("local", "advance", "90m", "--state", str(directory)).exit_code == 0
    added = invoke("local", "add-account", "new-team", "--ou", "/Infrastructure", "--state", str(directory))
    assert added.exit_code == 0, added.stderr
    loaded = state.load_state(directory)
    assert (loaded.now - start).total_seconds() == 5400
    assert state.parse(loaded).account_named("new-team").ou_path == "/Infrastructure"
    bad = invoke("local", "move-account", "new-team", "/Nowhere", "--state", str(directory))
    assert bad.exit_code == 2 and 'no OU at path "/Nowhere"' in bad.stderr


def test_coverage_runs_its_verify_on_the_lasting_world(tmp_path: Path) -> None:
    state = tmp_path / "state"
    assert invoke("local", "init", "--scenario", EXAMPLE, "--state", str(state)).exit_code == 0
    run(state, tmp_path)  # /Infrastructure rolled out
    path = tmp_path / "verify.json"
    path.write_text(json.dumps(TARGETS))
    result = invoke("coverage", "--state", str(state), "--input", str(path), "--json")
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    # the markers the earlier rollout's syncs wrote are still in the bucket
    assert sorted(report["covered"]) == ["500000000001", "500000000002"] and report["notCovered"] == []


def test_plan_over_a_lasting_state_sees_the_world_as_left_and_changes_nothing_in_it(tmp_path: Path) -> None:
    state = tmp_path / "state"
    # GIVEN a lasting world the commands changed: rolled out, a sync deleted by hand, an account moved in
    assert invoke("local", "init", "--scenario", EXAMPLE, "--state", str(state)).exit_code == 0
    run(state, tmp_path)
    assert (
        invoke("local", "delete-sync", "network-hub", "us-east-1", "org-inventory", "--state", str(state)).exit_code
        == 0
    )
    assert invoke("local", "move-account", "sandbox-bob", "/Infrastructure", "--state", str(state)).exit_code == 0
    before = json.loads((state / "state.json").read_bytes())
    kept = tmp_path / "before"
    kept.mkdir()
    (kept / "state.json").write_bytes((state / "state.json").read_bytes())
    # WHEN a plan runs over it
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(TARGETS))
    planned = invoke("plan", "--state", str(state), "--input", str(path), "--json")
    assert planned.exit_code == 0, planned.stderr
    plan = json.loads(planned.stdout)
    # THEN it sees that world: the sync deleted by hand and the moved account to create, the rest in place
    actions = {(r["accountId"], r["region"]): r["plannedAction"] for r in plan["results"]}
    assert actions == {
        (NETWORK_HUB, "ap-northeast-1"): "NONE",
        (NETWORK_HUB, "us-east-1"): "CREATE",
        ("500000000002", "ap-northeast-1"): "NONE",
        ("500000000002", "us-east-1"): "NONE",
        (SANDBOX_BOB, "ap-northeast-1"): "CREATE",
        (SANDBOX_BOB, "us-east-1"): "CREATE",
    }
    # AND changes nothing in it: the organization, the syncs, the bucket policy and every object are as they were;
    # what it adds is its own record under orgsync/ (its report, items file and Map results, as on AWS), and the
    # simulated time its run took
    after = json.loads((state / "state.json").read_bytes())
    for part in ("scenario", "syncs", "bucketPolicy"):
        assert after[part] == before[part], part
    # The associations kept are as they were; the state keeps an account-region's associations once something
    # reached it, and the plan reached the moved account: what it added there is what that world held already (the
    # scenario's, seeded when first reached; their times are that moment's)
    associations_before = {(a["accountId"], a["region"]): a["associations"] for a in before["associations"]}
    associations_after = {(a["accountId"], a["region"]): a["associations"] for a in after["associations"]}
    assert {key: associations_after[key] for key in associations_before} == associations_before
    first_reached = set(associations_after) - set(associations_before)
    assert first_reached == {(SANDBOX_BOB, "ap-northeast-1"), (SANDBOX_BOB, "us-east-1")}
    with lasting.open_world(lasting.load_state(kept), save=False) as world:
        held = {
            key: [a.to_document() for a in world.aws.associations.backend(*key).associations.values()]
            for key in first_reached
        }
    assert {key: untimed(associations_after[key]) for key in first_reached} == {
        key: untimed(documents) for key, documents in held.items()
    }
    objects_before = {o["key"]: o for o in before["objects"]}
    objects_after = {o["key"]: o for o in after["objects"]}
    assert {key: objects_after.get(key) for key in objects_before} == objects_before
    added = sorted(set(objects_after) - set(objects_before))
    execution = plan["executionName"]
    assert added and all(
        key.startswith((f"orgsync/reports/{execution}/", f"orgsync/runs/{execution}/", "orgsync/runs/map-results/"))
        for key in added
    ), added
    assert after["clock"] >= before["clock"]
    # AND the next verify still finds the world as the commands left it
    code, verify = run(state, tmp_path, mode="verify")
    assert code == 1
    assert {key for key, status in statuses(verify).items() if status == "MISSING"} == {
        (NETWORK_HUB, "us-east-1"),
        (SANDBOX_BOB, "ap-northeast-1"),
        (SANDBOX_BOB, "us-east-1"),
    }


@pytest.mark.parametrize("cache", ["XDG_CACHE_HOME", "HOME"])
def test_the_default_state_is_under_the_users_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cache: str
) -> None:
    # GIVEN no --state and no ORGSYNC_STATE_DIR: $XDG_CACHE_HOME/orgsync/local, else ~/.cache/orgsync/local
    monkeypatch.delenv("ORGSYNC_STATE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    if cache == "XDG_CACHE_HOME":
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
        expected = tmp_path / "cache" / "orgsync" / "local"
    else:
        monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
        expected = tmp_path / "home" / ".cache" / "orgsync" / "local"
    # WHEN the world is seeded and changed without --state
    seeded = invoke("local", "init", "--scenario", EXAMPLE)
    assert seeded.exit_code == 0, seeded.stderr
    assert seeded.stdout.startswith(f"seeded {expected} from ")
    start = lasting.load_state(expected).now
    assert invoke("local", "advance", "1h").exit_code == 0
    assert invoke("local", "move-account", "sandbox-bob", "/Infrastructure").exit_code == 0
    # THEN it lives there, and only there, and a plan without --state sees it
    assert sorted(p.relative_to(tmp_path).parts[0] for p in tmp_path.rglob("state.json")) == [
        expected.relative_to(tmp_path).parts[0]
    ]
    assert (lasting.load_state(expected).now - start).total_seconds() == 3600
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(TARGETS))
    planned = invoke("plan", "--input", str(path), "--json")
    assert planned.exit_code == 0, planned.stderr
    assert {r["accountId"] for r in json.loads(planned.stdout)["results"]} == {NETWORK_HUB, "500000000002", SANDBOX_BOB}
