"""A local world that lasts between commands (``--state DIR``): seeded once from a scenario, changed by the
``orgsync local`` commands and by runs, read back by ``report``/``watch``; written atomically, versioned."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from workflow.cli import cli
from workflow.local.scenario import example_scenario_path

EXAMPLE = str(example_scenario_path())
TARGETS = {"targets": ["/Infrastructure"], "regions": ["ap-northeast-1", "us-east-1"]}
SANDBOX_BOB = "400000000006"


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


def test_a_day_in_the_life(tmp_path: Path) -> None:
    state = tmp_path / "state"
    # GIVEN a lasting local world seeded from the example organization
    seeded = invoke("local", "init", "--scenario", EXAMPLE, "--state", str(state))
    assert seeded.exit_code == 0, seeded.stderr
    # WHEN the platform team rolls out to /Infrastructure
    code, rollout = run(state, tmp_path)
    assert code == 0 and set(statuses(rollout).values()) == {"CREATED"}
    # AND a day later an account is moved into that OU
    assert invoke("local", "advance", "1d", "--state", str(state)).exit_code == 0
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
    # WHEN the enrolment rollout runs
    code, enrolment = run(state, tmp_path)
    assert code == 0
    assert statuses(enrolment)[(SANDBOX_BOB, "us-east-1")] == "CREATED"
    assert {s for key, s in statuses(enrolment).items() if key[0] != SANDBOX_BOB} == {"IN_SYNC"}
    # THEN verify is green, and its report can be read again from the state by its execution ARN
    code, green = run(state, tmp_path, mode="verify")
    assert code == 0 and set(statuses(green).values()) == {"IN_SYNC"}
    assert all(r["verification"] == "VERIFIED" for r in green["results"])
    arn = f"arn:aws:states:ap-northeast-1:300000000001:execution:orgsync:{green['executionName']}"
    again = invoke("report", arn, "--state", str(state), "--format", "json")
    assert again.exit_code == 0 and json.loads(again.stdout)["summary"] == green["summary"]


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
