"""Scenario accounts that list their managed nodes, and where an inventory association collects."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from workflow.local.scenario import Application, Node, ScenarioError, parse_scenario

NODE = {
    "id": "i-0123456789abcdef0",
    "region": "ap-northeast-1",
    "platform": "Linux",
    "state": "running",
    "applications": [{"name": "openssl", "version": "3.0.8"}],
}


def scenario(**account: Any) -> dict[str, Any]:
    return {
        "organization": {
            "managementAccount": {"id": "100000000001", "name": "management"},
            "accounts": [{"name": "prod", "id": "200000000001", **account}],
        },
        "aggregator": {"accountId": "100000000001", "bucket": "acme-inventory", "region": "us-east-1"},
    }


def refused(data: dict[str, Any]) -> str:
    with pytest.raises(ScenarioError) as excinfo:
        parse_scenario(data, source="s.json")
    return str(excinfo.value)


def test_listed_nodes_are_read_with_defaults_and_counted_per_region() -> None:
    listed = [
        NODE,
        {"id": "mi-0123456789abcdef1", "region": "us-east-1", "state": "terminated", "inventoryAgeDays": 40},
    ]

    account = parse_scenario(scenario(instances=listed)).account("200000000001")

    assert account.nodes == (
        Node("i-0123456789abcdef0", "ap-northeast-1", "Linux", "running", (Application("openssl", "3.0.8"),)),
        Node("mi-0123456789abcdef1", "us-east-1", "Linux", "terminated", (), 40.0),
    )
    assert dict(account.instances) == {"ap-northeast-1": 1, "us-east-1": 1}
    assert parse_scenario(scenario(instances=listed)).regions == ("ap-northeast-1", "us-east-1")


def test_count_form_stays_valid_and_lists_no_nodes() -> None:
    account = parse_scenario(scenario(instances={"us-east-1": 2})).account("200000000001")

    assert account.nodes == () and dict(account.instances) == {"us-east-1": 2}


@pytest.mark.parametrize(
    ("value", "here", "expected"),
    [
        (True, "us-east-1", True),
        (False, "us-east-1", False),
        (["ap-northeast-1"], "ap-northeast-1", True),
        (["ap-northeast-1"], "us-east-1", False),
    ],
)
def test_inventory_association_true_false_or_regions(value: Any, here: str, expected: bool) -> None:
    account = parse_scenario(scenario(inventoryAssociation=value)).account("200000000001")

    assert account.collects_inventory(here) is expected


def test_inventory_association_defaults_to_every_region() -> None:
    account = parse_scenario(scenario()).account("200000000001")

    assert account.collects_inventory("eu-west-3") and account.inventory_association is True


def with_node(**changes: Any) -> dict[str, Any]:
    node = copy.deepcopy(NODE)
    node.update(changes)
    return scenario(instances=[node])


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            with_node(id="i-xyz"),
            "s.json: organization.accounts[0].instances[0].id: 'i-xyz' is not a managed node ID",
        ),
        (
            with_node(state="pending"),
            "s.json: organization.accounts[0].instances[0].state: 'pending' is not one of running, stopped, terminated",
        ),
        (
            with_node(platform="Solaris"),
            "s.json: organization.accounts[0].instances[0].platform: 'Solaris' is not one of Linux, Windows, MacOS",
        ),
        (
            with_node(applications=[{"name": "openssl"}]),
            "s.json: organization.accounts[0].instances[0].applications[0].version: is required",
        ),
        (
            with_node(inventoryAgeDays=-1),
            "s.json: organization.accounts[0].instances[0].inventoryAgeDays: -1 must be a number of days >= 0",
        ),
        (
            with_node(color="red"),
            "s.json: organization.accounts[0].instances[0].color: unknown key",
        ),
        (
            scenario(instances=[NODE, NODE]),
            "s.json: organization.accounts[0].instances[1].id: duplicate node ID 'i-0123456789abcdef0'",
        ),
        (scenario(instances="3"), "s.json: organization.accounts[0].instances: must be an object of region: count"),
        (
            scenario(inventoryAssociation="yes"),
            "s.json: organization.accounts[0].inventoryAssociation: 'yes' must be true, false or a list of regions",
        ),
        (
            scenario(inventoryAssociation=["Tokyo"]),
            "s.json: organization.accounts[0].inventoryAssociation[0]: 'Tokyo' is not a known AWS region with SSM",
        ),
    ],
)
def test_broken_node_lists_are_refused_naming_the_place(data: dict[str, Any], expected: str) -> None:
    assert refused(data).startswith(expected)
