"""Fuzzing a run: a malformed execution input ends the execution in Resolve targets with InvalidInput naming the
field, before any write (every AWS call is recorded at the emulation's boundary); ``run --scenario`` exits 2 in one
line. And a deployment's own limits, end to end: its settings reach the Lambda through its environment and an input
it cannot honour is refused the same way."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from call_recording import CallRecorder, writes
from click.testing import CliRunner
from fuzzing import FUZZ_RUN, malformed_inputs
from hypothesis import given, settings

from workflow.cli import cli
from workflow.local.runner import LocalRun
from workflow.local.scenario import example_scenario_path, load_scenario
from workflow.runs import ExecutionResult

BUCKET = "acme-inventory"
VALID: dict[str, Any] = {
    "targets": ["/Workloads/Prod"],
    "regions": ["ap-northeast-1"],
    "destination": {"bucket": BUCKET, "region": "ap-northeast-1", "prefix": "default"},
}


# One LocalAws may be active in a process at a time: each group of tests has its own run (class scope), and the
# CLI test, which starts its own, runs outside both.
@pytest.fixture(scope="class")
def local() -> Iterator[LocalRun]:
    with LocalRun(load_scenario(example_scenario_path())) as run:
        yield run


def refused_before_any_write(local: LocalRun, execution_input: dict[str, Any]) -> tuple[ExecutionResult, list[str]]:
    """Run ``execution_input``; return the result and the writes recorded, after checking where it stopped."""
    invoked_before = len(local.engine.invocations)
    with CallRecorder() as recorder:
        result = local.run(execution_input)
    assert recorder.calls, "the recorder saw the run"
    assert [i.function_name for i in local.engine.invocations[invoked_before:]] == ["ResolveTargets"]
    return result, writes(recorder.calls, BUCKET)


class TestMalformedInputs:
    @FUZZ_RUN
    @given(malformed_inputs(VALID))
    def test_a_malformed_input_fails_in_resolve_targets_naming_the_field_with_no_write(
        self, local: LocalRun, case: tuple[dict[str, Any], str]
    ) -> None:
        broken, field = case
        result, written = refused_before_any_write(local, broken)
        assert (result.status, result.error) == ("FAILED", "InvalidInput")
        assert (result.cause_message() or "").startswith(f"{field}: "), (field, result.cause_message())
        assert result.report is None
        assert written == []


@settings(FUZZ_RUN, max_examples=3)
@given(malformed_inputs(VALID))
def test_run_scenario_refuses_a_malformed_input_in_one_line_with_exit_2(
    tmp_path_factory: pytest.TempPathFactory, case: tuple[dict[str, Any], str]
) -> None:
    broken, field = case
    path = Path(tmp_path_factory.mktemp("input")) / "input.json"
    path.write_text(json.dumps(broken), encoding="utf-8")

    result = CliRunner().invoke(
        cli, ["run", "--scenario", str(example_scenario_path()), "--input", str(path), "--no-progress"]
    )

    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"orgsync: error: invalid input: {field}: "), result.stderr
    assert "Traceback" not in result.output


@pytest.fixture(scope="class")
def deployed() -> Iterator[LocalRun]:
    # The example organization with the settings a deployment gives its functions: no opt-in region in its
    # bucket policy (the example's ap-east-1 is one).
    run = LocalRun(load_scenario(example_scenario_path()))
    run.settings = dataclasses.replace(run.settings, deployed=True, bucket_policy_opt_in_regions=())
    with run:
        yield run


class TestDeployedLimits:
    @pytest.mark.parametrize(
        ("change", "cause"),
        [
            ({"syncName": "other-sync"}, 'syncName: "other-sync" is not this deployment\'s "org-inventory"'),
            ({"memberRoleName": "OtherRole"}, 'memberRoleName: "OtherRole" is not this deployment\'s "OrgSyncMember'),
            ({"destination": {"prefix": "elsewhere"}}, 'destination.prefix: "elsewhere" is not this deployment\'s'),
            ({"regions": ["ap-northeast-1", "ap-east-1"]}, 'regions: "ap-east-1" is an opt-in region'),
        ],
        ids=["syncName", "memberRoleName", "prefix", "opt-in region"],
    )
    def test_a_deployment_refuses_what_its_policies_cannot_honour_before_any_write(
        self, deployed: LocalRun, change: dict[str, Any], cause: str
    ) -> None:
        result, written = refused_before_any_write(deployed, {**VALID, **change})
        assert (result.status, result.error) == ("FAILED", "InvalidInput")
        assert (result.cause_message() or "").startswith(cause), result.cause_message()
        assert written == []

    def test_the_same_deployment_runs_what_it_can_honour(self, deployed: LocalRun) -> None:
        # A negative control: the deployed values themselves pass and the rollout writes (so an empty list means it).
        with CallRecorder() as recorder:
            result = deployed.run(VALID)
        assert result.report is not None and result.error != "InvalidInput"
        assert any(w.startswith("ssm:CreateResourceDataSync") for w in writes(recorder.calls, BUCKET))
