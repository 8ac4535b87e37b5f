"""The local engine's patches come and go cleanly, and its driver works on any Step Functions endpoint."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws
from moto.core.config import default_user_config

from lambdas import clock as lambda_clock
from workflow.local import seams
from workflow.local.driver import ExecutionDidNotFinish, StepFunctionsDriver, remote_driver, remote_endpoint_url
from workflow.local.engine import EngineAlreadyActive, LocalEngine, UnresolvedPlaceholder

TEMPLATES = Path(__file__).parent / "templates"
in_process_only = pytest.mark.skipif(remote_endpoint_url() is not None, reason="needs the in-process local engine")


def current_values() -> dict[str, Any]:
    """What each seam holds right now (class attributes read from the class's own namespace)."""
    values: dict[str, Any] = {}
    for seam in seams.ENGINE_SEAMS:
        owner, attribute, value = seam.resolve()
        values[seam.name] = vars(owner)[attribute] if isinstance(owner, type) else value
    return values


@in_process_only
def test_patches_are_installed_inside_and_the_originals_restored_after_many_engines() -> None:
    originals = current_values()
    lambda_clock_before = lambda_clock.now.__globals__["_current"]
    for _ in range(3):
        with LocalEngine() as engine:
            inside = current_values()
            assert all(inside[name] is not originals[name] for name in originals)
            assert lambda_clock.now() == engine.clock.now()
        assert current_values() == originals
        assert lambda_clock.now.__globals__["_current"] is lambda_clock_before


@in_process_only
def test_a_second_engine_at_once_is_refused() -> None:
    with LocalEngine(), pytest.raises(EngineAlreadyActive), LocalEngine():
        pass
    # AND the refusal left nothing behind: a new engine starts
    with LocalEngine() as engine:
        assert engine.account_id == "123456789012"


@in_process_only
def test_joining_a_mock_without_execution_enables_it_only_for_the_engine_lifetime() -> None:
    with mock_aws():
        assert not default_user_config["stepfunctions"]["execute_state_machine"]
        with LocalEngine() as engine:
            assert default_user_config["stepfunctions"]["execute_state_machine"]
            state_machine = engine.create_state_machine(
                "pass", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}
            )
            assert engine.run(state_machine, {"x": 1}).output == {"x": 1}
        assert not default_user_config["stepfunctions"]["execute_state_machine"]


@in_process_only
def test_a_placeholder_without_substitution_is_refused() -> None:
    with LocalEngine() as engine, pytest.raises(UnresolvedPlaceholder, match=r"FlakyArn"):
        engine.create_state_machine("unresolved", TEMPLATES.joinpath("retry_map_wait.json").read_text())


@in_process_only
def test_create_state_machine_twice_updates_it() -> None:
    with LocalEngine() as engine:
        first = engine.create_state_machine("same", {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}})
        second = engine.create_state_machine(
            "same", {"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"v": 2}, "End": True}}}
        )
        assert first == second
        assert engine.run(second, {}).output == {"v": 2}


# --- the driver, on the local engine or on ORGSYNC_SFN_ENDPOINT_URL ----------------------------------------------


@pytest.fixture
def driver_and_role() -> Iterator[tuple[StepFunctionsDriver, str]]:
    if remote_endpoint_url() is not None:
        yield remote_driver(), "arn:aws:iam::123456789012:role/DummyRole"
        return
    with LocalEngine() as engine:
        yield engine.driver(), engine.states_role_arn()


def test_driver_runs_and_reads_history_in_order(driver_and_role: tuple[StepFunctionsDriver, str]) -> None:
    driver, role = driver_and_role
    definition = TEMPLATES.joinpath("portable.json").read_text()
    state_machine = driver.deploy("orgsync-portable", definition, role)

    succeeded = driver.run(state_machine, {"numbers": [1, 2, 3], "fail": False})
    failed = driver.run(state_machine, {"numbers": [], "fail": True})
    history = driver.history(succeeded.execution_arn)

    assert succeeded.succeeded and succeeded.status == "SUCCEEDED"
    assert succeeded.output == [{"n": 2}, {"n": 4}, {"n": 6}]
    assert succeeded.error is None and succeeded.cause is None
    assert (failed.status, failed.output) == ("FAILED", None)
    assert (failed.error, failed.cause) == ("InvalidInput", "asked to fail")
    assert failed.cause_json() == "asked to fail"
    ids = [event["id"] for event in history]
    assert ids == sorted(ids) and len(ids) == len(set(ids))
    assert history[0]["type"] == "ExecutionStarted" and history[-1]["type"] == "ExecutionSucceeded"
    assert json.loads(history[0]["executionStartedEventDetails"]["input"])["numbers"] == [1, 2, 3]


@in_process_only
def test_executions_still_running_when_the_engine_exits_are_aborted() -> None:
    entered, release = threading.Event(), threading.Event()

    def blocked(event: Any, context: Any) -> Any:
        entered.set()
        release.wait(10)  # a real wait: the execution is still running when the test gives up
        return event

    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):  # type: ignore[call-overload]
        with LocalEngine() as engine:
            arn = engine.create_function("Blocked", blocked)
            state_machine = engine.create_state_machine(
                "blocked", {"StartAt": "B", "States": {"B": {"Type": "Task", "Resource": arn, "End": True}}}
            )
            driver = engine.driver()
            execution = driver.start(state_machine, {})
            assert entered.wait(10)
            with pytest.raises(ExecutionDidNotFinish):
                driver.wait(execution, timeout=0.2)
        # WHEN the engine has exited, THEN the execution was stopped, and ends ABORTED once its task returns
        release.set()
        ended = driver.wait(execution, timeout=10)
        assert ended.status == "ABORTED", (ended.error, ended.cause)
