"""Every shipped query over the bundled example's inventory after a rollout on the local engine.

The expected rows are worked out here from the scenario itself (its nodes, and where the rollout put a sync), not
read back from the engine: the SQL and this Python must agree.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from workflow.inventory_query import NAMED_QUERIES, LocalInventory, QueryRejected
from workflow.local.clock import VirtualClock
from workflow.local.inventory import account_nodes
from workflow.local.runner import LocalRun
from workflow.local.scenario import example_scenario_path, load_scenario

SCENARIO = load_scenario(example_scenario_path())
START = datetime(2026, 3, 1, tzinfo=UTC)
DELIVERING = {"CREATED", "IN_SYNC", "REPLACED"}


@pytest.fixture(scope="module")
def after_rollout() -> Iterator[tuple[LocalInventory, set[tuple[str, str]]]]:
    logging.getLogger("moto").setLevel(logging.CRITICAL)
    with LocalRun(SCENARIO, clock=VirtualClock(start=START)) as local:
        result = local.run({"targets": ["/"], "regions": list(SCENARIO.regions), "mode": "rollout"})
        delivering = {key for key, status in result.statuses().items() if status in DELIVERING}
        inventory = LocalInventory(now=local.now())
        loaded = inventory.load_bucket(local.aws.client("s3"), SCENARIO.aggregator.bucket, SCENARIO.aggregator.prefix)
    assert loaded > 0
    yield inventory, delivering


def rows(inventory: LocalInventory, name: str, days: int = 7) -> list[list[object]]:
    return inventory.run(NAMED_QUERIES[name].text(days)).rows


def test_active_nodes_per_account_and_region(after_rollout: tuple[LocalInventory, set[tuple[str, str]]]) -> None:
    inventory, delivering = after_rollout
    expected = sorted(
        [account.id, region, count]
        for account in SCENARIO.accounts
        for region in account.instances
        if (account.id, region) in delivering
        for count in [sum(1 for node in account_nodes(account, region) if node.state == "running")]
        if count
    )

    assert rows(inventory, "active-nodes") == expected
    # The example's conflicts deliver nothing where their sync could not be created.
    assert ["200000000004", "ap-northeast-1", 1] not in rows(inventory, "active-nodes")
    assert ["200000000011", "ap-northeast-1", 2] in expected  # dev-payments: 3 listed nodes, 1 terminated


def test_software_counts_active_nodes_only(after_rollout: tuple[LocalInventory, set[tuple[str, str]]]) -> None:
    inventory, delivering = after_rollout
    nodes: Counter[tuple[str, str]] = Counter()
    accounts: dict[tuple[str, str], set[str]] = {}
    for account in SCENARIO.accounts:
        for region in account.instances:
            if (account.id, region) not in delivering or not account.collects_inventory(region):
                continue
            for node in account_nodes(account, region):
                if node.state != "running":
                    continue
                for app in node.applications:
                    nodes[(app.name, app.version)] += 1
                    accounts.setdefault((app.name, app.version), set()).add(account.id)
    expected = [
        [name, version, nodes[(name, version)], len(accounts[(name, version)])] for name, version in sorted(nodes)
    ]

    result = rows(inventory, "software")

    assert result == expected
    assert ["nginx", "1.24.0", 1, 1] in result and ["openssl", "1.1.1k", 1, 1] in result
    assert not any(row[0] == "Microsoft SQL Server 2019 (64-bit)" for row in result)  # only on the terminated node


def test_stale_inventory_is_the_node_last_seen_nine_days_ago(
    after_rollout: tuple[LocalInventory, set[tuple[str, str]]],
) -> None:
    inventory, _ = after_rollout

    stale = rows(inventory, "stale-inventory", days=7)

    assert [row[:4] for row in stale] == [["200000000011", "ap-northeast-1", "i-0a1b2c3d4e5f60729", "Active"]]
    captured = datetime.strptime(str(stale[0][4]), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert timedelta(days=9) <= inventory.now - captured < timedelta(days=9, hours=2)  # type: ignore[operator]
    assert rows(inventory, "stale-inventory", days=10) == []


def test_terminated_nodes_still_in_the_bucket(after_rollout: tuple[LocalInventory, set[tuple[str, str]]]) -> None:
    inventory, _ = after_rollout

    (row,) = rows(inventory, "terminated-nodes")

    assert row[:4] == ["200000000011", "ap-northeast-1", "i-0a1b2c3d4e5f6073a", "Windows"]


def test_no_inventory_is_where_no_association_collects(
    after_rollout: tuple[LocalInventory, set[tuple[str, str]]],
) -> None:
    inventory, delivering = after_rollout
    expected = sorted(
        [account.id, region, len(account_nodes(account, region))]
        for account in SCENARIO.accounts
        for region in account.instances
        if (account.id, region) in delivering and not account.collects_inventory(region)
    )

    assert rows(inventory, "no-inventory") == expected == [["300000000002", "us-east-1", 1]]


def test_the_marker_is_never_a_row(after_rollout: tuple[LocalInventory, set[tuple[str, str]]]) -> None:
    inventory, _ = after_rollout

    result = inventory.run("SELECT count(*) AS n FROM aws_instanceinformation WHERE resourceid = 'test'")

    assert result.rows == [[0]]


def test_unknown_table_and_column_are_rejected(after_rollout: tuple[LocalInventory, set[tuple[str, str]]]) -> None:
    inventory, _ = after_rollout

    with pytest.raises(QueryRejected, match=r"unknown table: .*aws_nothing"):
        inventory.run("SELECT * FROM aws_nothing")
    with pytest.raises(QueryRejected, match=r"unknown column: .*colour"):
        inventory.run("SELECT colour FROM aws_application")
