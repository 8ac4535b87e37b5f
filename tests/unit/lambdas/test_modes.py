"""The mode registry is the one list of modes: every reader derives from it, and a new spec shows up everywhere."""

from __future__ import annotations

import ast
import sys
import types
from dataclasses import replace
from pathlib import Path

import pytest

from lambdas.errors import OrgSyncError
from lambdas.marker import record_unchecked
from lambdas.models import Mode, Status, Verification
from lambdas.modes import MODES, ModeFailure, failure_errors, load_spec, spec_of
from lambdas.modes.base import ModeSpec
from lambdas.statuses import PENDING_ACTION, STATUS_ORDER, STATUSES
from workflow.console import remote
from workflow.definition import DONE, NEEDS_ATTENTION, build_definition

ROOT = Path(__file__).resolve().parents[3]


class ToyIncomplete(OrgSyncError):
    """A toy mode's Fail state error."""


def test_every_mode_has_its_module_and_the_registry_follows_the_enum() -> None:
    assert list(MODES) == list(Mode)
    for mode, spec in MODES.items():
        assert spec.mode is mode and spec is load_spec(mode)


def test_a_module_declaring_another_modes_spec_is_refused_at_load(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN lambdas/modes/verify.py declaring the rollout's spec by mistake
    wrong = types.ModuleType("lambdas.modes.verify")
    wrong.SPEC = MODES[Mode.ROLLOUT]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "lambdas.modes.verify", wrong)
    # THEN loading it names the file and what it must declare
    with pytest.raises(TypeError, match=r"lambdas/modes/verify.py must declare SPEC = ModeSpec\(mode=Mode.VERIFY"):
        load_spec(Mode.VERIFY)


def _per_mode_tables(path: Path) -> list[int]:
    """Lines of dict/set/tuple/list displays naming two or more ``Mode.<MEMBER>``: a per-mode table."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Dict):
            elements = [k for k in node.keys if k is not None]
        elif isinstance(node, ast.Set | ast.Tuple | ast.List):
            elements = list(node.elts)
        else:
            continue
        modes = [
            e for e in elements
            if isinstance(e, ast.Attribute) and isinstance(e.value, ast.Name) and e.value.id == "Mode"
        ]
        if len(modes) >= 2:
            found.append(node.lineno)
    return found


def test_no_module_keeps_its_own_table_of_modes() -> None:
    """Per-mode facts live in lambdas/modes only (infra's choice of schedulable modes is a setting, not a fact)."""
    allowed = {ROOT / "infra" / "config.py"}
    offenders = {
        str(path.relative_to(ROOT)): lines
        for package in ("lambdas", "workflow", "infra")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path not in allowed and (lines := _per_mode_tables(path))
    }
    assert offenders == {}


def test_the_definition_and_the_cli_follow_a_changed_registry() -> None:
    """A toy registry: verify always succeeds, teardown fails with a new error in a new state."""
    toy = {
        Mode.ROLLOUT: MODES[Mode.ROLLOUT],
        Mode.VERIFY: replace(MODES[Mode.VERIFY], failure=None),
        Mode.TEARDOWN: replace(MODES[Mode.TEARDOWN], failure=ModeFailure("Toy incomplete", ToyIncomplete)),
    }
    definition = build_definition(toy)
    states = definition["States"]
    assert "Verification failed" not in states and "Teardown incomplete" not in states
    assert states["Toy incomplete"] == {**states["Rollout needs attention"], "Error": "ToyIncomplete"}
    choice = states[NEEDS_ATTENTION]
    # the mode that always succeeds is routed to Done before the attention count is looked at
    assert choice["Choices"][0] == {"Variable": "$.mode", "StringEquals": "verify", "Next": DONE}
    assert {"Variable": "$.mode", "StringEquals": "teardown", "Next": "Toy incomplete"} in choice["Choices"]
    assert failure_errors(toy) == {"RolloutIncomplete", "ToyIncomplete"}


def test_the_deployed_definition_and_cli_read_the_registry() -> None:
    states = build_definition()["States"]
    for spec in MODES.values():
        if spec.failure is not None:
            assert states[spec.failure.state]["Error"] == spec.failure.error.__name__
    declared = {s.failure.error.__name__ for s in MODES.values() if s.failure}
    assert remote.INCOMPLETE_ERRORS == failure_errors() == declared


def test_plan_was_added_as_one_module_and_one_member() -> None:
    """The plan mode (issue 10) is lambdas/modes/plan.py and Mode.PLAN: the definition routes it to Done."""
    spec = MODES[Mode.PLAN]
    assert spec.failure is None and spec.read_only and spec.plans
    choice = build_definition()["States"][NEEDS_ATTENTION]
    assert choice["Choices"][0] == {"Variable": "$.mode", "StringEquals": "plan", "Next": DONE}
    assert "PlanIncomplete" not in failure_errors()


def test_a_read_only_mode_without_marker_check_fits_the_spec() -> None:
    """What part 2's plan needs: read-only, no marker check, no Fail state; attention is still the mode's."""
    plan_like = ModeSpec(
        mode=Mode.VERIFY,
        summary="toy",
        reconcile=MODES[Mode.VERIFY].reconcile,
        check_marker=record_unchecked,
        attention=frozenset({Status.CONFLICT}),
        failure=None,
        read_only=True,
    )
    assert plan_like.needs_attention(Status.CONFLICT, Verification.NOT_CHECKED)
    assert not plan_like.needs_attention(Status.CREATED, Verification.NOT_CHECKED)
    assert "Toy" not in str(build_definition({**MODES, Mode.VERIFY: plan_like})["States"][NEEDS_ATTENTION])


def test_every_status_has_its_facts_in_one_table() -> None:
    assert set(STATUSES) == set(Status) and len(STATUS_ORDER) == len(Status)
    assert all(info.action for info in STATUSES.values())


def test_the_pending_marker_needs_attention_in_every_mode_and_says_so() -> None:
    for spec in MODES.values():
        assert spec.needs_attention(Status.IN_SYNC, Verification.PENDING)
        assert spec.action(Status.IN_SYNC, Verification.PENDING) == PENDING_ACTION
        # a status that needs attention anyway keeps its own action
        assert spec.action(Status.FAILED, Verification.PENDING) == STATUSES[Status.FAILED].action


def test_spec_of_takes_the_json_value() -> None:
    assert spec_of("teardown") is MODES[Mode.TEARDOWN]
    with pytest.raises(ValueError):
        spec_of("plan-everything")
