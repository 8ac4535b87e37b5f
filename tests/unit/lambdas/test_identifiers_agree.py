"""The execution input, the scenario parser and the CDK configuration accept and refuse the same identifiers.

One table of valid and invalid values per identifier kind (lambdas.identifiers), each run against every validator
that reads that kind: a value one of them accepts, the others accept too (an OU path of "/" used to be accepted by
the input and refused by the CDK config; an organization ID of 32 characters accepted by the config and refused by
the scenario parser; "a..b" as a bucket accepted by the scenario parser and refused by the input).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from infra.config import ConfigError, parse_config
from lambdas.errors import InvalidInput
from lambdas.input import validate_input
from lambdas.settings import Settings
from workflow.local.scenario import ScenarioError, parse_scenario

# Each kind: the values a validator must accept, the values it must refuse.
TABLE: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "account_id": (("123456789012", "000000000001"), ("12345678901", "1234567890123", "12345678901a", "")),
    "organization_id": (
        ("o-abcdefghij", "o-" + "a1" * 16),
        ("o-short", "O-ABCDEFGHIJ", "o-" + "a" * 33, "o-abcdefghi!"),
    ),
    # (A name with "/" cannot be written in a path: the scenario parser's own tests refuse it.)
    "ou_name": (("Workloads", "Prod EU", "x" * 128), ("x" * 129,)),
    "ou_path": (
        ("/", "/Workloads", "/Workloads/Prod"),
        ("Workloads/Prod", "/Workloads/", "//", "/a//b", "/" + "x" * 129),
    ),
    "ou_id": (("ou-ab12-abcdefgh",), ("ou-AB12-34cdef56", "ou-ab12", "ou-ab1-abcdefgh")),
    "root_id": (("r-ab12",), ("r-ab1", "r-AB12")),
    "region": (
        ("us-east-1", "af-south-1", "eu-central-2", "us-gov-west-1"),
        ("mars-1", "Europe", "us-east", "xx-east-9", "US-EAST-1"),
    ),
    "bucket": (
        ("acme-inventory", "a.b.c", "abc", "a" * 63),
        ("ab", "Bad_Bucket", "a..b", "a-.b", "192.168.1.1", "xn--abc", "abc-s3alias", "a" * 64, "-abc"),
    ),
    "prefix": (
        ("default", "inventory/ssm", "a" * 256, "team(1)!'_.-"),
        ("/lead", "trail/", "a//b", "a" * 257, "orgsync", "orgsync/x", "in*ventory", "has space"),
    ),
    "sync_name": (("org-inventory", "My_sync.1", "a" * 64), ("has space", "a" * 65, "sync/1")),
    "role_name": (("OrgSyncMemberRole", "a+=,.@_-b", "r" * 64), ("bad role", "r" * 65, "rôle")),
}


# --- the three validators, each given one value of a kind --------------------------------------------------

INPUT_BASE: dict[str, Any] = {
    "targets": ["r-ab12"],
    "regions": ["us-east-1"],
    "destination": {"bucket": "acme-inventory", "region": "us-east-1"},
}


def via_input(kind: str, value: str) -> None:
    raw = copy.deepcopy(INPUT_BASE)
    if kind == "account_id":
        raw["excludeAccounts"] = [value]
    elif kind == "ou_name":
        raw["targets"] = [f"/{value}"]
    elif kind in ("ou_path", "ou_id", "root_id"):
        raw["targets"] = [value]
    elif kind == "region":
        raw["regions"] = [value]
    elif kind in ("bucket", "prefix"):
        raw["destination"][kind] = value
    elif kind == "sync_name":
        raw["syncName"] = value
    elif kind == "role_name":
        raw["memberRoleName"] = value
    else:
        raise AssertionError(kind)
    try:
        validate_input(raw, Settings())
    except InvalidInput as exc:
        raise Refused(str(exc)) from exc


SCENARIO_BASE: dict[str, Any] = {
    "organization": {
        "managementAccount": {"id": "100000000001", "name": "management"},
        "ous": [{"name": "Workloads", "accounts": [{"name": "prod-a", "id": "200000000001"}]}],
    },
    "aggregator": {"accountId": "100000000001", "bucket": "acme-inventory", "region": "us-east-1"},
}


def via_scenario(kind: str, value: str) -> None:
    data = copy.deepcopy(SCENARIO_BASE)
    if kind == "account_id":
        data["organization"]["ous"][0]["accounts"][0]["id"] = value
    elif kind == "organization_id":
        data["organization"]["id"] = value
    elif kind == "ou_name":
        data["organization"]["ous"][0]["name"] = value
    elif kind == "region":
        data["aggregator"]["region"] = value
    elif kind in ("bucket", "prefix"):
        data["aggregator"][kind] = value
    else:
        raise AssertionError(kind)
    try:
        parse_scenario(data, "s.json")
    except ScenarioError as exc:
        raise Refused(str(exc)) from exc


CONFIG_BASE: dict[str, Any] = {
    "organizationId": "o-abcdefghij",
    "managementAccountId": "111111111111",
    "aggregatorAccountId": "222222222222",
    "targets": ["r-ab12"],
    "memberRoleOrganizationalUnits": ["r-ab12"],
}


def via_config(kind: str, value: str) -> None:
    context = copy.deepcopy(CONFIG_BASE)
    key = {
        "account_id": "managementAccountId",
        "organization_id": "organizationId",
        "region": "aggregatorRegion",
        "bucket": "bucketName",
        "prefix": "inventoryPrefix",
        "sync_name": "syncName",
        "role_name": "memberRoleName",
    }.get(kind)
    if key is not None:
        context[key] = value
    elif kind == "ou_name":
        context["targets"] = [f"/{value}"]
    elif kind in ("ou_path", "ou_id", "root_id"):
        context["targets"] = [value]
    else:
        raise AssertionError(kind)
    try:
        parse_config(context)
    except ConfigError as exc:
        raise Refused(str(exc)) from exc


class Refused(Exception):
    """The validator refused the value (its own error's message)."""


VALIDATORS: dict[str, tuple[Callable[[str, str], None], frozenset[str]]] = {
    "input": (via_input, frozenset(TABLE) - {"organization_id"}),
    "scenario": (via_scenario, frozenset({"account_id", "organization_id", "ou_name", "region", "bucket", "prefix"})),
    "config": (via_config, frozenset(TABLE)),
}

CASES = [
    pytest.param(name, kind, value, valid, id=f"{name}-{kind}-{'valid' if valid else 'invalid'}-{value[:24]!r}")
    for name, (_, kinds) in VALIDATORS.items()
    for kind in sorted(kinds)
    for valid, values in ((True, TABLE[kind][0]), (False, TABLE[kind][1]))
    for value in values
]


@pytest.mark.parametrize(("validator", "kind", "value", "valid"), CASES)
def test_every_validator_agrees_with_the_table(validator: str, kind: str, value: str, valid: bool) -> None:
    check, _ = VALIDATORS[validator]
    if valid:
        check(kind, value)
    else:
        with pytest.raises(Refused) as refused:
            check(kind, value)
        # The message names the value it refuses (an empty one shows as '' or as the required field).
        assert value[:40] in str(refused.value), str(refused.value)


def test_every_kind_is_read_by_at_least_two_validators() -> None:
    for kind in TABLE:
        readers = [name for name, (_, kinds) in VALIDATORS.items() if kind in kinds]
        assert len(readers) >= 2, (kind, readers)
