"""The canary's choice and its input: which account-region goes first, and what ``canary`` may say."""

from __future__ import annotations

from typing import Any

import pytest

from lambdas.canary import choose
from lambdas.errors import InvalidInput
from lambdas.input import validate_input
from lambdas.models import Destination, Mode, OnConflict, RunParameters, TargetItem
from lambdas.modes import MODES
from lambdas.settings import Settings

SETTINGS = Settings(destination_bucket="acme-inventory", destination_region="ap-northeast-1")
AGGREGATOR = "300000000001"
RUN = RunParameters("e", Mode.ROLLOUT, "org-inventory", Destination("acme-inventory", "ap-northeast-1", "default"),
                    OnConflict.REPORT, 60, "OrgSyncMemberRole")


def items(*pairs: tuple[str, str]) -> list[TargetItem]:
    return [TargetItem(account, account, "/", region, RUN) for account, region in pairs]


def where(item: TargetItem | None) -> tuple[str, str] | None:
    return None if item is None else (item.accountId, item.region)


def test_the_aggregators_own_account_in_the_destinations_region_first() -> None:
    targets = items(("200000000001", "ap-northeast-1"), (AGGREGATOR, "us-east-1"), (AGGREGATOR, "ap-northeast-1"))
    assert where(choose(targets, None, AGGREGATOR, RUN.destination)) == (AGGREGATOR, "ap-northeast-1")


def test_else_the_first_target_in_the_destinations_region_else_the_first() -> None:
    targets = items(("200000000001", "us-east-1"), ("200000000002", "ap-northeast-1"))
    assert where(choose(targets, None, AGGREGATOR, RUN.destination)) == ("200000000002", "ap-northeast-1")
    assert where(choose(items(("200000000001", "us-east-1")), None, None, RUN.destination)) == (
        "200000000001", "us-east-1")
    assert choose([], None, AGGREGATOR, RUN.destination) is None


def test_a_named_canary_must_be_an_item_of_the_run() -> None:
    targets = items(("200000000001", "us-east-1"), ("200000000002", "ap-northeast-1"))
    assert where(choose(targets, ("200000000001", "us-east-1"), AGGREGATOR, RUN.destination)) == (
        "200000000001", "us-east-1")
    with pytest.raises(InvalidInput, match=r'^canary: \{"accountId": "200000000003", "region": "us-east-1"\} is not'):
        choose(targets, ("200000000003", "us-east-1"), AGGREGATOR, RUN.destination)


def run_input(**fields: Any) -> dict[str, Any]:
    return {"targets": ["/Workloads"], "regions": ["ap-northeast-1", "us-east-1"], **fields}


def test_canary_input_defaults_to_on_and_round_trips() -> None:
    assert validate_input(run_input(), SETTINGS).canary is True
    off = validate_input(run_input(canary=False), SETTINGS)
    named = validate_input(run_input(canary={"accountId": "200000000001", "region": "us-east-1"}), SETTINGS)
    assert (off.canary, off.canaryAt) == (False, None)
    assert (named.canary, named.canaryAt) == (True, ("200000000001", "us-east-1"))
    assert validate_input(off.to_dict(), SETTINGS) == off
    assert validate_input(named.to_dict(), SETTINGS) == named


@pytest.mark.parametrize(("canary", "message"), [
    ("yes", 'canary: "yes" must be true, false or {"accountId": "...", "region": "..."}'),
    ({"accountId": "200000000001"}, "canary.region: null is required"),
    ({"region": "us-east-1"}, "canary.accountId: null is required"),
    ({"accountId": "2000", "region": "us-east-1"}, 'canary.accountId: "2000" '),
    ({"accountId": "200000000001", "region": "eu-west-1"}, 'canary.region: "eu-west-1" is not one of the run'),
    ({"accountId": "200000000001", "region": "us-east-1", "when": 1}, "canary.when: 1 is not a known key"),
    ({"accountId": "200000000009", "region": "us-east-1"}, 'canary.accountId: "200000000009" is in excludeAccounts'),
])
def test_malformed_canary_names_the_field(canary: Any, message: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        validate_input(run_input(canary=canary, excludeAccounts=["200000000009"]), SETTINGS)
    assert str(raised.value).startswith(message)


def test_only_a_mode_with_a_canary_takes_a_named_one() -> None:
    assert [mode for mode, spec in MODES.items() if spec.canary] == [Mode.ROLLOUT]
    with pytest.raises(InvalidInput, match="verify runs no canary"):
        validate_input(run_input(mode="verify", canary={"accountId": "200000000001", "region": "us-east-1"}),
                       SETTINGS)
    assert validate_input(run_input(mode="verify", canary=False), SETTINGS).canary is False
