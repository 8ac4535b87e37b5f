"""``orgsync run --scenario`` and ``orgsync demo`` on the local engine: report, exit codes, refusals, a terminal run.

These run the real state machine and Lambda handlers against the bundled example organization (a few seconds
each), so they assert the contract end to end: exit 0/1/2, ``--json`` is one document, errors are one line.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from lambdas.models import Status
from lambdas.statuses import STATUSES
from workflow.cli import cli
from workflow.local.scenario import example_scenario_path

ROOT = Path(__file__).parents[2]
EXAMPLE = str(example_scenario_path())


def write(tmp_path: Path, document: Any, name: str = "input.json") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(document) if not isinstance(document, str) else document)
    return str(path)


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, ["run", *args], env={"COLUMNS": "120"})


def test_a_clean_rollout_exits_0_and_json_is_one_document(tmp_path: Path) -> None:
    # GIVEN an OU whose accounts have nothing in the way
    execution_input = write(tmp_path, {"targets": ["/Infrastructure"], "regions": ["ap-northeast-1", "us-east-1"]})
    # WHEN it is rolled out with --json
    result = run("--scenario", EXAMPLE, "--input", execution_input, "--json")
    # THEN the execution SUCCEEDED and stdout is exactly the report
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["summary"]["byStatus"] == {"CREATED": 4} and report["summary"]["needsAttention"] == 0
    assert {(r["accountId"], r["region"]) for r in report["results"]} == {
        (account, region) for account in ("500000000001", "500000000002") for region in ("ap-northeast-1", "us-east-1")
    }
    assert report["reportLocation"].startswith("s3://acme-inventory/orgsync/reports/")


def test_a_rollout_that_needs_attention_exits_1_with_the_report_and_actions() -> None:
    result = run("--scenario", EXAMPLE, "--input", str(ROOT / "docs" / "examples" / "rollout-input.json"))
    assert result.exit_code == 1, result.stderr
    out = " ".join(result.stdout.split())
    for status in (Status.ACCESS_DENIED, Status.QUOTA_EXCEEDED, Status.CONFLICT, Status.REGION_DISABLED):
        assert f"{status} (" in out and STATUSES[status].action in out
    assert re.search(r"CREATED, marker PENDING \(\d+\)", out)
    assert re.search(
        r"FAILED \(RolloutIncomplete\): \d+ account-regions need attention; the action for each is above\.$", out
    )


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"targets": ["/Workloads"], "regions": ["mars-1"]}, '"mars-1" is not a known AWS region with SSM'),
        ({"targets": ["/Nowhere"], "regions": ["us-east-1"]}, "/Nowhere"),
        ({"targets": [], "regions": ["us-east-1"]}, "targets: must be a non-empty list"),
    ],
)
def test_an_input_the_workflow_refuses_is_one_line_and_exit_2(
    tmp_path: Path, document: dict[str, Any], message: str
) -> None:
    result = run("--scenario", EXAMPLE, "--input", write(tmp_path, document))
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("orgsync: error: invalid input: ") and message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_bad_files_are_one_line_and_exit_2(tmp_path: Path) -> None:
    good_input = write(tmp_path, {"targets": ["/"], "regions": ["us-east-1"]})
    cases = [
        (["--scenario", str(tmp_path / "none.json"), "--input", good_input], "scenario file"),
        (["--scenario", write(tmp_path, "{", "bad.json"), "--input", good_input], "bad.json: not valid JSON"),
        (["--scenario", write(tmp_path, {"organization": {}}, "empty.json"), "--input", good_input], "empty.json"),
        (["--scenario", EXAMPLE, "--input", write(tmp_path, "[]", "list.json")], "must hold a JSON object"),
    ]
    for args, message in cases:
        result = run(*args)
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.count("\n") == 1 and message in result.stderr, result.stderr


def _read_terminal(command: list[str], timeout: float = 180) -> tuple[int, str]:
    """Run ``command`` with stdout and stderr on a pseudo-terminal, as in a user's shell; returns (code, output)."""
    main, secondary = pty.openpty()
    env = {**os.environ, "COLUMNS": "120", "LINES": "40", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen(command, stdin=secondary, stdout=secondary, stderr=secondary, env=env, cwd=ROOT)
    os.close(secondary)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.5)
        if ready:
            try:
                data = os.read(main, 65536)
            except OSError:  # the terminal closed: the process exited
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    os.close(main)
    return proc.wait(timeout=30), b"".join(chunks).decode("utf-8", "replace")


def test_demo_in_a_terminal_draws_live_progress_then_the_report() -> None:
    # GIVEN a terminal (a pty: rich draws its live view only there)
    # WHEN a user runs `orgsync demo` as the README says
    started = time.monotonic()
    code, output = _read_terminal([sys.executable, "-m", "workflow.cli", "demo"])
    elapsed = time.monotonic() - started
    # THEN the bar advanced over the account-regions while items finished, in colour, within seconds
    assert code == 1, output[-2000:]
    # (the README's example: its live view ends "51/51")
    readme_total = re.search(r"(\d+)/\1 FAILED", (ROOT / "README.md").read_text())
    assert readme_total is not None
    total = int(readme_total.group(1))
    done = {int(n) for n in re.findall(rf"(\d+)/{total}\b", output)}
    assert total in done and len(done) >= 2, f"progress frames seen: {sorted(done)}"
    assert "\x1b[" in output  # a terminal gets colours and cursor moves
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", output)
    assert "need attention" in plain and "QUOTA_EXCEEDED (1)" in plain
    assert "Action: Five syncs already exist" in plain
    assert "RolloutIncomplete" in plain and "Traceback" not in plain
    assert elapsed < 120, f"the demo took {elapsed:.0f} s"


def test_demo_runs_exactly_the_readme_example() -> None:
    # GIVEN the README's example: run --scenario example.json --input docs/examples/rollout-input.json
    readme = run("--scenario", EXAMPLE, "--input", str(ROOT / "docs/examples/rollout-input.json"), "--json")
    # WHEN a user runs `orgsync demo`
    result = CliRunner().invoke(cli, ["demo", "--json"])
    # THEN it is the same rollout: the same account-regions with the same statuses
    assert result.exit_code == readme.exit_code == 1, result.stderr
    report, expected = json.loads(result.stdout), json.loads(readme.stdout)
    assert report["summary"]["byStatus"] == expected["summary"]["byStatus"]
    assert {(r["accountId"], r["region"], r["status"]) for r in report["results"]} == {
        (r["accountId"], r["region"], r["status"]) for r in expected["results"]
    }
    assert report["summary"]["needsAttention"] == sum(r["needsAttention"] for r in report["results"]) > 0
    assert result.stderr == ""  # no live view with --json, and moto's interpreter logs are silenced


def test_the_demo_input_is_the_readme_example_input_and_the_scenarios_readme_says_so() -> None:
    from workflow.console.local import demo_input

    assert demo_input() == json.loads((ROOT / "docs/examples/rollout-input.json").read_text())
    assert "demo input (`docs/examples/rollout-input.json`)" in (ROOT / "workflow/scenarios/README.md").read_text()
