"""The scale benchmark measures what its README table says, at a size small enough for the suite.

Figures are counts and the modelled timeline's, never times: the benchmark prints local wall time, but no test
asserts one.
"""

from __future__ import annotations

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


@pytest.mark.parametrize("modes", ["verify", "rollout,plan", "verify,rollout"])
def test_runs_other_than_a_rollout_then_a_verify_are_refused(modes: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        rollout_scale.main(["48", "--modes", modes])
    assert refused.value.code == 2
    assert f"--modes {modes}: give rollout, then optionally verify" in capsys.readouterr().err
