"""Collection coverage in the rollout and verify reports, on the local engine: statuses and ensureCollection.

security-tooling (example scenario) has an inventory association in Tokyo only; Virginia has none.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from workflow.local.clock import VirtualClock
from workflow.local.runner import LocalRun
from workflow.local.scenario import example_scenario_path, load_scenario

SCENARIO = load_scenario(example_scenario_path())
TOOLING = SCENARIO.account_named("security-tooling").id
TOKYO, VIRGINIA = "ap-northeast-1", "us-east-1"
INPUT = {"targets": [TOOLING], "regions": [TOKYO, VIRGINIA]}


@pytest.fixture
def local() -> Iterator[LocalRun]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    with LocalRun(SCENARIO, clock=VirtualClock(start=datetime(2026, 3, 1, tzinfo=UTC))) as run:
        yield run


def collection(local: LocalRun, execution_input: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result = local.run(execution_input)
    assert result.report is not None, result.error
    return {r["region"]: r["collection"] for r in result.report["results"] if r["accountId"] == TOOLING}


def test_verify_says_where_inventory_is_collected_and_a_plain_rollout_does_not_ask(local: LocalRun) -> None:
    # A rollout without ensureCollection leaves the association listing out (a third of its calls per
    # account-region); verify always asks.
    rollout = collection(local, {**INPUT, "mode": "rollout"})
    verify = collection(local, {**INPUT, "mode": "verify"})

    assert rollout == {TOKYO: None, VIRGINIA: None}
    assert verify[TOKYO]["status"] == "ASSOCIATED"
    assert verify[TOKYO]["associationName"].startswith("AWS-QuickSetup-SSM-CollectInventory-")
    assert verify[TOKYO]["lastExecution"].startswith("2026-03-01")
    assert verify[VIRGINIA] == {
        "status": "NOT_COLLECTED",
        "associationId": None,
        "associationName": None,
        "schedule": None,
        "lastExecution": None,
    }


def test_ensure_collection_creates_one_where_none_exists_and_never_a_second(local: LocalRun) -> None:
    first = collection(local, {**INPUT, "ensureCollection": True, "collectionSchedule": "rate(1 day)"})
    second = collection(local, {**INPUT, "ensureCollection": True})
    ssm = local.aws.client("ssm", TOOLING, VIRGINIA)
    virginia = ssm.list_associations(AssociationFilterList=[{"key": "Name", "value": "AWS-GatherSoftwareInventory"}])

    assert (first[VIRGINIA]["status"], first[VIRGINIA]["schedule"]) == ("CREATED", "rate(1 day)")
    assert first[VIRGINIA]["associationName"] == "orgsync-inventory-collection"
    assert (second[VIRGINIA]["status"], second[VIRGINIA]["associationId"]) == (
        "ASSOCIATED",
        first[VIRGINIA]["associationId"],
    )
    assert first[TOKYO]["status"] == second[TOKYO]["status"] == "ASSOCIATED"  # Quick Setup's: no second one
    assert len(virginia["Associations"]) == 1
    for region in (TOKYO, VIRGINIA):
        tokyo_or_virginia = local.aws.client("ssm", TOOLING, region).list_associations()["Associations"]
        assert len(tokyo_or_virginia) == 1, region


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"ensureCollection": "yes"}, 'ensureCollection: "yes" must be true or false'),
        ({"mode": "verify", "ensureCollection": True}, "ensureCollection: true creates associations: only in rollout"),
        ({"collectionSchedule": "rate(1 day)"}, 'collectionSchedule: "rate(1 day)" only with ensureCollection'),
        ({"ensureCollection": True, "collectionSchedule": "rate(5 minutes)"}, "collectionSchedule: 'rate(5 minutes)'"),
    ],
)
def test_bad_collection_input_is_refused_before_anything_changes(
    local: LocalRun, extra: dict[str, Any], message: str
) -> None:
    result = local.run({**INPUT, **extra})

    assert result.error == "InvalidInput"
    assert message in (result.cause_message() or "")
