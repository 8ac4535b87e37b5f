"""The scale benchmark measures what its README table says, at a size small enough for the suite.

Figures are counts and the modelled timeline's, never times: the benchmark prints local wall time, but no test
asserts one.
"""

from __future__ import annotations

import logging
import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from benchmarks import rollout_scale
from workflow.local.driver import remote_endpoint_url

pytestmark = pytest.mark.skipif(
    remote_endpoint_url() is not None, reason="needs the in-process local engine (Python handlers, virtual clock)"
)

ACCOUNT_REGIONS = 48  # 12 accounts x 4 regions


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    return rollout_scale.measure(ACCOUNT_REGIONS, accounts_per_batch=5, max_concurrency=2)


def test_a_first_rollout_creates_every_account_region_and_the_verify_after_it_finds_them_in_sync(
    rows: list[dict[str, Any]],
) -> None:
    rollout, verify = rows
    assert (rollout["mode"], rollout["status"], rollout["by_status"]) == ("rollout", "SUCCEEDED", {"CREATED": 48})
    assert (verify["mode"], verify["status"], verify["by_status"]) == ("verify", "SUCCEEDED", {"IN_SYNC": 48})
    # one create per account-region, and none in the verify; each account's member role assumed once by its child,
    # plus the canary's and the organization reader role (Resolve targets)
    assert rollout["calls_per_ar"]["ssm:CreateResourceDataSync"] == 1.0
    assert "ssm:CreateResourceDataSync" not in verify["calls_per_ar"]
    assert rollout["calls_per_ar"]["sts:AssumeRole"] * ACCOUNT_REGIONS == pytest.approx(12 + 2)


def test_the_batch_size_and_concurrency_are_the_deployed_definitions(rows: list[dict[str, Any]]) -> None:
    rollout, _ = rows
    # 12 accounts in children of 5: three children, each 4 transitions and 2 invocations on the happy path, plus
    # the parent's own states and invocations; the canary adds one account-region's worth
    assert (rollout["accounts_per_batch"], rollout["max_concurrency"]) == (5, 2)
    children_invocations = 3 * 2
    assert rollout["invocations_per_ar"] * ACCOUNT_REGIONS > children_invocations
    assert rollout["invocations_per_ar"] * ACCOUNT_REGIONS < children_invocations + 10
    assert rollout["aws_s"] > 0 and rollout["cost_usd"] > 0


def test_the_table_has_a_row_per_run_with_its_shape(rows: list[dict[str, Any]]) -> None:
    table = rollout_scale.markdown(rows, [])
    assert "| 48 | rollout | 5 x 2 |" in table
    assert "| 48 | verify | 5 x 2 |" in table
    assert "| ssm:CreateResourceDataSync | 1.000 | 0.000 |" in table
    # the StackSets comparison has one row per size, not per run
    assert len([line for line in table.splitlines() if "StackSets are free" in line]) == 1


def test_with_the_handlers_cpu_the_same_run_takes_longer_and_says_so(rows: list[dict[str, Any]]) -> None:
    # GIVEN the same rollout with the handlers' own CPU charged
    (charged,) = rollout_scale.measure(
        ACCOUNT_REGIONS, accounts_per_batch=5, max_concurrency=2, modes=("rollout",), handler_cpu=True
    )
    plain = rows[0]
    # THEN the same calls and transitions, and more simulated time and GB-seconds: the CPU charged per account-region
    assert plain["handler_cpu_s_per_ar"] is None and charged["handler_cpu_s_per_ar"] > 0
    assert (charged["calls_per_ar"], charged["transitions_per_ar"]) == (
        plain["calls_per_ar"],
        plain["transitions_per_ar"],
    )
    assert charged["aws_s"] > plain["aws_s"]
    assert charged["gb_s_per_ar"] > plain["gb_s_per_ar"]
    # AND the table labels the run and states the CPU charged
    table = rollout_scale.markdown([plain, charged], [])
    assert "| 48 | rollout + handler CPU | 5 x 2 |" in table
    assert f"48 rollout {charged['handler_cpu_s_per_ar'] * 1000:.0f} ms" in table


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["48", "--modes", "verify"], "--modes verify: give rollout, then optionally verify"),
        (["48", "--modes", "rollout,plan"], "--modes rollout,plan: give rollout, then optionally verify"),
        (["48", "--modes", "verify,rollout"], "--modes verify,rollout: give rollout, then optionally verify"),
        (["1001"], "1001 account-regions: give a multiple of 4 (accounts in 4 regions)"),
        (["48", "--sensitivity", "2"], "2 account-regions: give a multiple of 4"),
        (["48", "--accounts-per-batch", "101"], "--accounts-per-batch 101: a deployment accepts 1 to 100"),
        (["48", "--max-concurrency", "0"], "--max-concurrency 0: a Distributed Map runs 1 to 10,000 children at once"),
    ],
)
def test_bad_arguments_are_refused_before_anything_runs(
    argv: list[str], error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as refused:
        rollout_scale.main(argv)
    assert refused.value.code == 2
    assert error in capsys.readouterr().err
    # AND the process's logging is as it was (the benchmark silences moto's logs only once it measures)
    assert logging.root.manager.disable == logging.NOTSET


README = Path(__file__).parents[3] / "README.md"
COMMAND = re.compile(r"python -m benchmarks\.rollout_scale(?P<args>[^`\n#]*)")


def test_the_readme_benchmark_commands_are_accepted() -> None:
    commands = [shlex.split(match["args"]) for match in COMMAND.finditer(README.read_text())]
    assert len(commands) >= 2
    for argv in commands:
        args = rollout_scale.parse_arguments(argv)
        assert args.modes[0] == "rollout"
