"""Target resolution: the organization's tree, walked with paged, throttle-tolerant calls, and the targets of a run.

``Resolve targets`` validates the input (:mod:`lambdas.input`), walks the organization once from its root
(OUs and accounts per parent, every page retried by boto on ``TooManyRequestsException``), resolves the
targets (OU IDs, OU paths, account IDs, the root ID; nested OUs included; accounts deduplicated), records
SKIPPED outcomes for accounts that are not ACTIVE or are excluded, and writes the items file the Distributed
Map reads. An unknown OU path or ID raises ``InvalidInput`` before anything is written or touched.

Example (with moto)::

    org = walk_organization(boto3.client("organizations"))
    items, skipped = resolve_targets(org, validate_input({"targets": ["/Workloads"], "regions": ["us-east-1"]},
                                                         settings), "exec-1")
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lambdas import adoption, aws, canary, clock, report
from lambdas.aws import AccessDenied, AwsCallFailed
from lambdas.destination_policy import check_policies, read_policies
from lambdas.errors import DestinationPolicyIncomplete, InvalidInput
from lambdas.identifiers import ACCOUNT_ID, OU_ID, ROOT_ID
from lambdas.input import validate_input
from lambdas.models import Outcome, RolloutInput, RunParameters, Status, TargetItem
from lambdas.modes import spec_of
from lambdas.settings import Settings

ACTIVE = "ACTIVE"
#: Organizations is a global service served from us-east-1 (in the aws partition).
ORGANIZATIONS_REGION = "us-east-1"


@dataclass(frozen=True)
class Account:
    """An account of the organization, with the path of the OU it sits in ("/" for the root)."""

    id: str
    name: str
    state: str
    ouPath: str


@dataclass
class Organization:
    """The organization's tree: OUs by ID and by path, child OUs and accounts per parent."""

    root_id: str
    #: The organization's id (``o-...``), read from the root's ARN; None when the ARN does not carry it.
    organization_id: str | None = None
    ou_paths: dict[str, str] = field(default_factory=dict)
    ou_by_path: dict[str, str] = field(default_factory=dict)
    child_ous: dict[str, list[str]] = field(default_factory=dict)
    accounts_by_parent: dict[str, list[Account]] = field(default_factory=dict)

    def accounts_under(self, parent_id: str) -> Iterator[Account]:
        """Every account in ``parent_id`` and in its nested OUs, depth first."""
        yield from self.accounts_by_parent.get(parent_id, [])
        for child in self.child_ous.get(parent_id, []):
            yield from self.accounts_under(child)

    def account(self, account_id: str) -> Account | None:
        """The account ``account_id`` if it belongs to the organization."""
        for accounts in self.accounts_by_parent.values():
            for account in accounts:
                if account.id == account_id:
                    return account
        return None


def _pages(organizations: Any, operation: str, result_key: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    # Manual NextToken paging: every page goes through aws.call (boto's retries of that page alone, on
    # lambdas.clock, then our named errors), which a paginator's iteration would not.
    method = getattr(organizations, operation)
    action = "organizations:" + "".join(part.title() for part in operation.split("_"))
    token: str | None = None
    while True:
        call_kwargs: dict[str, Any] = {**kwargs, **({"NextToken": token} if token else {})}
        page = aws.call(action, method, **call_kwargs)
        yield from page.get(result_key, [])
        token = page.get("NextToken")
        if not token:
            return


def walk_organization(organizations: Any) -> Organization:
    """Read the whole organization tree (OUs and accounts) from the root.

    Example (with moto)::

        org = walk_organization(boto3.client("organizations", region_name="us-east-1"))
        org.ou_by_path["/Workloads/Prod"]
    """
    roots = list(_pages(organizations, "list_roots", "Roots"))
    if not roots:
        raise aws.AwsCallFailed("organizations:ListRoots returned no root: is this an organization's account?")
    org = Organization(root_id=roots[0]["Id"], organization_id=_organization_id(str(roots[0].get("Arn", ""))))
    org.ou_paths[org.root_id] = "/"
    pending = [org.root_id]
    while pending:
        parent = pending.pop(0)
        parent_path = org.ou_paths[parent]
        org.accounts_by_parent[parent] = [
            Account(
                id=raw["Id"],
                name=raw.get("Name", ""),
                # "State" is the newer field; "Status" is what older responses (and moto) carry.
                state=str(raw.get("State") or raw.get("Status") or ACTIVE),
                ouPath=parent_path,
            )
            for raw in _pages(organizations, "list_accounts_for_parent", "Accounts", ParentId=parent)
        ]
        children = list(_pages(organizations, "list_organizational_units_for_parent", "OrganizationalUnits",
                               ParentId=parent))
        org.child_ous[parent] = [child["Id"] for child in children]
        for child in children:
            path = f"{parent_path.rstrip('/')}/{child['Name']}"
            org.ou_paths[child["Id"]] = path
            org.ou_by_path[path] = child["Id"]
            pending.append(child["Id"])
    return org


def _organization_id(root_arn: str) -> str | None:
    """``o-...`` from a root's ARN (``arn:aws:organizations::MANAGEMENT:root/o-.../r-...``).

    >>> _organization_id("arn:aws:organizations::100000000001:root/o-abcdefghij/r-ab12"), _organization_id("")
    ('o-abcdefghij', None)
    """
    parts = root_arn.split(":root/", 1)[-1].split("/")
    return parts[0] if len(parts) == 2 and parts[0].startswith("o-") else None


def _accounts_of_target(org: Organization, target: str) -> list[Account]:
    if ROOT_ID.matches(target):
        if target != org.root_id:
            raise InvalidInput(
                f"targets: {json.dumps(target)} is not this organization's root (its root is {org.root_id})"
            )
        return list(org.accounts_under(target))
    if OU_ID.matches(target):
        if target not in org.ou_paths:
            raise InvalidInput(f"targets: {json.dumps(target)} is not an OU of this organization")
        return list(org.accounts_under(target))
    if ACCOUNT_ID.matches(target):
        account = org.account(target)
        if account is None:
            raise InvalidInput(f"targets: {json.dumps(target)} is not an account of this organization")
        return [account]
    if target == "/":
        return list(org.accounts_under(org.root_id))
    ou_id = org.ou_by_path.get(target)
    if ou_id is None:
        raise InvalidInput(f"targets: OU path {json.dumps(target)} does not exist in this organization")
    return list(org.accounts_under(ou_id))


def _within(org: Organization, within: tuple[str, ...]) -> set[str] | None:
    """The accounts of ``within`` (resolved like targets, nested OUs included), or None when there is no filter.

    ``within`` is how an enrolment execution (``lambdas.enrolment``) limits a one-account rollout to the
    deployment's target OUs, which only the organization's tree can decide.
    """
    if not within:
        return None
    accounts: set[str] = set()
    for target in within:
        try:
            accounts.update(account.id for account in _accounts_of_target(org, target))
        except InvalidInput as exc:
            raise InvalidInput(str(exc).replace("targets:", "within:", 1)) from None
    return accounts


def resolve_targets(
    org: Organization, run_input: RolloutInput, execution_name: str, started_at: datetime | None = None
) -> tuple[list[TargetItem], list[Outcome]]:
    """The items (ACTIVE account x region) and SKIPPED outcomes of ``run_input``'s targets.

    Accounts are deduplicated across targets and sorted by account ID; items follow the input's region order.
    Raises ``InvalidInput`` for a target that is not in the organization.
    """
    accounts: dict[str, Account] = {}
    for target in run_input.targets:
        for account in _accounts_of_target(org, target):
            accounts.setdefault(account.id, account)
    within = _within(org, run_input.within)
    run = run_input.run_parameters(execution_name, started_at)
    excluded = set(run_input.excludeAccounts)
    items: list[TargetItem] = []
    skipped: list[Outcome] = []
    for account in sorted(accounts.values(), key=lambda a: a.id):
        reason = None
        if within is not None and account.id not in within:
            reason = f"The account is not within the targets ({', '.join(run_input.within)}) in {account.ouPath}."
        elif account.id in excluded:
            reason = "Excluded by excludeAccounts."
        elif account.state != ACTIVE:
            reason = f"The account is {account.state}: only ACTIVE accounts are rolled out."
        for region in run_input.regions:
            item = TargetItem(account.id, account.name, account.ouPath, region, run)
            if reason is None:
                items.append(item)
            else:
                skipped.append(item.outcome(Status.SKIPPED, detail=reason))
    return items, skipped


def organizations_client(clients: aws.ClientProvider, settings: Settings, execution_name: str) -> Any:
    """An Organizations client, through the organization reader role when one is configured."""
    if settings.organization_reader_role_arn:
        clients = clients.assuming(settings.organization_reader_role_arn, execution_name)
    return clients.client("organizations", ORGANIZATIONS_REGION)


def resolve_run(
    raw_input: Any,
    execution_name: str,
    settings: Settings,
    organizations: Callable[[], Any],
    s3: Callable[[str], Any],
    kms: Callable[[str], Any] | None = None,
    aggregator_account: Callable[[], str | None] | None = None,
) -> dict[str, Any]:
    """Validate, resolve, record SKIPPED outcomes and write the items file; returns the state's output.

    ``organizations()`` makes the Organizations client and ``s3(region)`` the S3 client of the destination's
    region: both are made only once the input is valid. Nothing is written before every target has been
    resolved, so an invalid input leaves no trace.

    A mode with a canary (:mod:`lambdas.canary`), unless the input says ``"canary": false``, first checks the
    bucket and key policies (``kms(region)`` reads the key policy; ``DestinationPolicyIncomplete`` on a definite
    gap, before anything is written), then takes the canary out of the items file and returns it as ``canary``
    (None otherwise); ``aggregator_account()`` is the account this runs in, the canary's first choice.

    Example::

        output = resolve_run({"targets": ["/Workloads"], "regions": ["us-east-1"]}, "exec-1", settings,
                             lambda: boto3.client("organizations"), lambda region: boto3.client("s3"))
        output["itemsLocation"]  # {"bucket": ..., "key": "orgsync/runs/exec-1/targets.json"}
    """
    run_input = validate_input(raw_input, settings)
    started = clock.now()
    organization = walk_organization(organizations())
    items, skipped = resolve_targets(organization, run_input, execution_name, started)
    run: RunParameters = run_input.run_parameters(execution_name, started)
    s3_client = s3(run.destination.region)
    items = adoption.with_adoptions(items, adoption.read_adoptions(s3_client, run.destination))
    chosen: TargetItem | None = None
    policy_check = "not run"
    if spec_of(run.mode).canary and run_input.canary:
        kms_client = kms(run.destination.region) if kms is not None and run.destination.kmsKeyArn else None
        policy_check = preflight(s3_client, kms_client, run, organization.organization_id, items)
        chosen = canary.choose(items, run_input.canaryAt, aggregator_account() if aggregator_account else None,
                               run.destination)
    if skipped:
        report.write_outcomes(s3_client, run, report.skipped_key(execution_name), skipped)
    location = report.write_items(s3_client, run, [item for item in items if item is not chosen])
    if chosen is not None:
        canary.record_choice(s3_client, run, chosen)
    return {
        "run": run.to_dict(),
        "itemsLocation": location,
        "canary": canary.payload(chosen, organization.organization_id) if chosen else None,
        "policyCheck": policy_check,
        "counts": {
            "accounts": len({item.accountId for item in items} | {o.accountId for o in skipped}),
            "items": len(items),
            "skipped": len(skipped),
        },
    }


def preflight(
    s3: Any, kms: Any | None, run: RunParameters, organization_id: str | None, items: list[TargetItem]
) -> str:
    """Check the destination's policies for every item's account and region (:mod:`lambdas.destination_policy`).

    Raises ``DestinationPolicyIncomplete`` (with the statements to add) on a definite gap; returns one line for the
    output otherwise: ``passed``, ``passed with doubts: ...``, or why it could not run (the canary still runs).
    """
    if not items:
        return "not run: no account-region to roll out"
    if organization_id is None:
        return "not run: the organization's id is unknown"
    try:
        bucket_policy, key_policy = read_policies(s3, kms, run.destination)
    except (AccessDenied, AwsCallFailed) as exc:
        # Not readable (no permission, no such bucket or key): the canary tries what the check could not read.
        return f"not run: {exc}"
    check = check_policies(
        bucket_policy, key_policy, run.destination, organization_id,
        [item.region for item in items], [item.accountId for item in items], run.syncName,
    )
    if check.definite:
        raise DestinationPolicyIncomplete(check.message())
    if not check.ok:
        return f"uncertain (the canary decides): {check.message()}"
    return "passed" + (f" with doubts: {'; '.join(check.doubts)}" if check.doubts else "")


def resolve_event(event: dict[str, Any], settings: Settings, clients: aws.ClientProvider) -> dict[str, Any]:
    """``Resolve targets`` with real clients: ``event`` is ``{"input": ..., "executionName": ...}``."""
    execution_name = str(event["executionName"])
    return resolve_run(
        event.get("input"),
        execution_name,
        settings,
        lambda: organizations_client(clients, settings, execution_name),
        lambda region: clients.client("s3", region),
        lambda region: clients.client("kms", region),
        lambda: caller_account(clients),
    )


def caller_account(clients: aws.ClientProvider) -> str | None:
    """The account this function runs in (the aggregator's), from STS; None when STS does not say."""
    identity = aws.call("sts:GetCallerIdentity", clients.client("sts").get_caller_identity)
    account = identity.get("Account")
    return str(account) if account else None
