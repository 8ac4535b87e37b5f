"""``orgsync plan --scenario``: the rollout's input in plan mode, on the local engine, exit 0 whatever it finds."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from workflow.cli import cli
from workflow.local.scenario import example_scenario_path

ROOT = Path(__file__).parents[2]
EXAMPLE = str(example_scenario_path())
ROLLOUT_INPUT = str(ROOT / "docs" / "examples" / "rollout-input.json")


def test_plan_of_the_example_rollout_exits_0_and_counts_the_actions() -> None:
    # GIVEN the README's rollout input (mode rollout); WHEN planned with --json
    result = CliRunner().invoke(cli, ["plan", "--scenario", EXAMPLE, "--input", ROLLOUT_INPUT, "--json"])
    # THEN the plan succeeded although a rollout would need attention, and it is a plan's report
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["mode"] == "plan"
    summary = report["summary"]
    assert summary["needsAttention"] > 0
    assert summary["byPlannedAction"] == {"CREATE": summary["byStatus"]["CREATED"],
                                          "NONE": summary["total"] - summary["byStatus"]["CREATED"]}
    assert all(r["plannedAction"] in {"CREATE", "REPLACE", "NONE"} for r in report["results"])
    created = next(r for r in report["results"] if r["status"] == "CREATED")
    assert created["detail"].startswith("A rollout would create org-inventory")
    assert created["action"] == "A rollout creates the sync here."


def test_plan_prints_the_counts_by_action_first(tmp_path: Path) -> None:
    execution_input = tmp_path / "input.json"
    execution_input.write_text(json.dumps({"targets": ["/Infrastructure"], "regions": ["us-east-1"]}))
    result = CliRunner().invoke(cli, ["plan", "--scenario", EXAMPLE, "--input", str(execution_input),
                                      "--no-progress"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == "Plan: CREATE 2"
    assert "SUCCEEDED: nothing needs attention." in result.stdout
