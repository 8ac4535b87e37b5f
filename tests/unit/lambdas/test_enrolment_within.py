"""``within``: an enrolment execution's one account is processed only inside the deployment's targets."""

from __future__ import annotations

import pytest

from lambdas.errors import InvalidInput
from lambdas.input import validate_input
from lambdas.models import Status
from lambdas.settings import Settings
from lambdas.targets import Account, Organization, resolve_targets

SETTINGS = Settings(destination_bucket="acme-inventory", destination_region="us-east-1")
ROOT, WORKLOADS, PROD, SANDBOX = "r-ab12", "ou-ab12-00000001", "ou-ab12-00000002", "ou-ab12-00000003"
PROD_A, SANDBOX_A = "210000000001", "220000000001"


def tree() -> Organization:
    """/Workloads/Prod holds prod-a, /Sandbox holds sandbox-a."""
    org = Organization(root_id=ROOT)
    org.ou_paths.update({ROOT: "/", WORKLOADS: "/Workloads", PROD: "/Workloads/Prod", SANDBOX: "/Sandbox"})
    org.ou_by_path.update({"/Workloads": WORKLOADS, "/Workloads/Prod": PROD, "/Sandbox": SANDBOX})
    org.child_ous.update({ROOT: [WORKLOADS, SANDBOX], WORKLOADS: [PROD], PROD: [], SANDBOX: []})
    org.accounts_by_parent.update(
        {
            ROOT: [],
            WORKLOADS: [],
            PROD: [Account(PROD_A, "prod-a", "ACTIVE", "/Workloads/Prod")],
            SANDBOX: [Account(SANDBOX_A, "sandbox-a", "ACTIVE", "/Sandbox")],
        }
    )
    return org


def resolve(account: str, within: list[str]) -> tuple[list[str], dict[str, str]]:
    run_input = validate_input({"targets": [account], "regions": ["us-east-1"], "within": within}, SETTINGS)
    items, skipped = resolve_targets(tree(), run_input, "enrol-1")
    return [i.accountId for i in items], {o.accountId: o.detail for o in skipped if o.status is Status.SKIPPED}


@pytest.mark.parametrize("within", [["/Workloads"], [WORKLOADS], [PROD], ["/Workloads/Prod"], [ROOT], [PROD_A]])
def test_account_inside_within_is_processed_nested_ous_included(within: list[str]) -> None:
    assert resolve(PROD_A, within) == ([PROD_A], {})


def test_account_outside_within_is_skipped_with_the_reason() -> None:
    items, skipped = resolve(SANDBOX_A, ["/Workloads"])
    assert items == []
    assert "not within the targets (/Workloads)" in skipped[SANDBOX_A]
    assert "/Sandbox" in skipped[SANDBOX_A]


def test_unknown_within_target_is_invalid_input_naming_within() -> None:
    with pytest.raises(InvalidInput, match=r'^within: OU path "/Nowhere" does not exist'):
        resolve(PROD_A, ["/Nowhere"])
