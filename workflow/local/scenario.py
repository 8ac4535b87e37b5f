"""The scenario file: a simulated organization, the aggregator bucket and injected faults.

A scenario is JSON or YAML (by extension). Every key is checked; a broken file is refused with one
:class:`ScenarioError` naming the place, e.g. ``example.json: organization.ous[0].accounts[2].id: '12' is not a
12-digit account ID``.

Shape (``?`` marks optional keys)::

    organization:
      id?: o-xxxxxxxxxx                      # default: derived from the management account id
      managementAccount: ACCOUNT             # ouPath "/"
      accounts?: [ACCOUNT, ...]              # accounts directly under the root (ouPath "/")
      ous?: [{name, accounts?: [ACCOUNT], ous?: [OU]}]
    aggregator: {accountId, bucket, region, prefix?: "default",
                 bucketPolicy?: "source-org-id" | "request-object-tag" | "none"}
    faults?: [{api: "ssm:CreateResourceDataSync", error: "ThrottlingException", times?: 1,
               account?: NAME, region?, message?, httpStatus?, key?: "orgsync/runs/"}]
    faultRates?: [{api: "s3:*", error: "SlowDown", rate: 0.01, account?: NAME, region?, message?, httpStatus?}]
    faultSeed?: 0                            # the same seed draws the same faulted calls, run after run
    latencies?: {"ssm:CreateResourceDataSync": 0.3, "s3:*": 0.03, "*": 0.1}   # seconds per call

    ACCOUNT: {name, id?, email?, state?: ACTIVE|SUSPENDED, memberRole?: true,
              instances?: {region: n} | [NODE, ...], inventoryAssociation?: true | false | [region],
              markerDelaySeconds?: 0, disabledRegions?: [region],
              existingSyncs?: [{region, name, organization?: false, bucket, bucketRegion?, prefix?,
                                lastStatus?: Successful, lastStatusMessage?}]}
    NODE: {id: i-0123456789abcdef0 | mi-..., region, platform?: Linux|Windows|MacOS,
           state?: running|stopped|terminated, inventoryAgeDays?: 0,
           applications?: [{name, version, publisher?}]}

``instances`` either counts the managed nodes of each region (their ids, platforms and software are derived) or
lists them. ``inventoryAssociation`` says where a State Manager association with ``AWS-GatherSoftwareInventory``
collects inventory: ``true`` (every region, the default), ``false`` (nowhere) or the list of regions; a sync ships
nothing from an account-region without one. ``inventoryAgeDays`` dates the node's last collection back (a
terminated node's inventory stops when it does; see ``workflow.local.inventory``).

A fault's ``key`` restricts it to S3 calls on objects whose key starts with it (the exact key, or a prefix): the
Distributed Map's own ``GetObject`` of the items file or ``PutObject`` of its result files, for instance.
``faultRates`` fail the given share of matching calls (``api`` may be ``service:*`` or ``*``); ``error``
``ConnectionError`` drops the connection instead of answering (see ``workflow.local.faults``). ``latencies``
override the per-API defaults of ``workflow.local.latency``.

``disabledRegions`` (an extension of the issue's contract) lists opt-in regions the account has not enabled (only
opt-in regions can be disabled on AWS, so any other region is refused):
calls made with that account's credentials to such a region fail as on AWS (see ``workflow.local.aws``).
The aggregator is any account of the organization (the management account, a root-level account or one in
an OU); an aggregator outside the organization is refused.

Example::

    >>> s = parse_scenario({
    ...     "organization": {"managementAccount": {"id": "100000000001", "name": "management"},
    ...                      "ous": [{"name": "Workloads", "accounts": [{"name": "prod-a"}]}]},
    ...     "aggregator": {"accountId": "100000000001", "bucket": "acme-inventory", "region": "us-east-1"}})
    >>> [(a.name, a.ou_path) for a in s.accounts]
    [('management', '/'), ('prod-a', '/Workloads')]
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from lambdas import identifiers
from lambdas.identifiers import (
    ACCOUNT_ID,
    BUCKET_NAME,
    MAX_SYNC_NAME_LENGTH,
    MAX_SYNCS_PER_REGION,
    ORGANIZATION_ID,
    OU_NAME,
    PREFIX,
    REGION,
)
from lambdas.regions import OPT_IN_REGIONS

API_RE = re.compile(r"^[a-z0-9-]+:[A-Z][A-Za-z0-9]*$")
API_PATTERN_RE = re.compile(r"^(\*|[a-z0-9-]+:(\*|[A-Z][A-Za-z0-9]*))$")
ERROR_CODE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9.]*$")

ACCOUNT_STATES = ("ACTIVE", "SUSPENDED")
BUCKET_POLICY_KINDS = ("source-org-id", "request-object-tag", "none")
SYNC_STATUSES = ("Successful", "Failed", "InProgress")
NODE_PLATFORMS = ("Linux", "Windows", "MacOS")
NODE_STATES = ("running", "stopped", "terminated")
#: An EC2 instance (``i-`` and 8 or 17 hex digits) or a hybrid managed node (``mi-`` and 17).
NODE_ID_RE = re.compile(r"^(i-[0-9a-f]{8}([0-9a-f]{9})?|mi-[0-9a-f]{17})$")


class ScenarioError(ValueError):
    """The scenario file is invalid; the message names the file and the place in it."""


@dataclass(frozen=True)
class ExistingSync:
    """A resource data sync that is in place before orgsync runs."""

    region: str
    name: str
    organization: bool
    bucket: str
    bucket_region: str
    prefix: str | None
    last_status: str = "Successful"
    last_status_message: str | None = None


@dataclass(frozen=True)
class Application:
    """A software package installed on a listed node (an ``AWS:Application`` line)."""

    name: str
    version: str
    publisher: str | None = None


@dataclass(frozen=True)
class Node:
    """A managed node listed in the scenario: an EC2 instance (``i-``) or a hybrid node (``mi-``)."""

    id: str
    region: str
    platform: str = "Linux"
    state: str = "running"
    applications: tuple[Application, ...] = ()
    inventory_age_days: float = 0.0


@dataclass(frozen=True)
class Account:
    """One account of the organization, flat, with its place in the OU tree (``ou_path``)."""

    id: str
    name: str
    ou_path: str
    email: str
    state: str = "ACTIVE"
    member_role: bool = True
    instances: Mapping[str, int] = field(default_factory=dict)
    marker_delay_seconds: float = 0.0
    disabled_regions: frozenset[str] = frozenset()
    existing_syncs: tuple[ExistingSync, ...] = ()
    nodes: tuple[Node, ...] = ()
    inventory_association: bool | frozenset[str] = True

    def collects_inventory(self, region: str) -> bool:
        """Whether an inventory association collects from the account's nodes in ``region``."""
        if isinstance(self.inventory_association, bool):
            return self.inventory_association
        return region in self.inventory_association


@dataclass(frozen=True)
class OrganizationalUnit:
    """An OU of the tree: its name, path, the ids of the accounts directly in it, and its child OUs."""

    name: str
    path: str
    account_ids: tuple[str, ...]
    ous: tuple[OrganizationalUnit, ...]


@dataclass(frozen=True)
class Organization:
    """The organization: id, management account, root-level accounts and the OU tree."""

    id: str
    management_account_id: str
    root_account_ids: tuple[str, ...]
    ous: tuple[OrganizationalUnit, ...]

    def walk(self) -> list[OrganizationalUnit]:
        """Every OU, parents before children."""
        found: list[OrganizationalUnit] = []
        pending = list(self.ous)
        while pending:
            ou = pending.pop(0)
            found.append(ou)
            pending.extend(ou.ous)
        return found


@dataclass(frozen=True)
class Aggregator:
    """Where inventory lands: the bucket's account, name, region and prefix, and its policy kind."""

    account_id: str
    bucket: str
    region: str
    prefix: str = "default"
    bucket_policy: str = "source-org-id"


@dataclass(frozen=True)
class Fault:
    """An error to inject: ``api`` (``service:Action``) fails with ``error`` ``times`` times in total.

    ``account`` is an account NAME (the account whose credentials make the call); ``None`` matches any. ``key``: only
    S3 calls on an object whose key starts with it (``None``: any call).
    """

    api: str
    error: str
    times: int = 1
    account: str | None = None
    region: str | None = None
    message: str | None = None
    http_status: int | None = None
    key: str | None = None


@dataclass(frozen=True)
class FaultRate:
    """Calls of ``api`` (``service:Action``, ``service:*`` or ``*``) fail with ``error`` at share ``rate`` (0-1).

    ``account`` is an account NAME (the caller), ``None`` matches any.
    """

    api: str
    error: str
    rate: float
    account: str | None = None
    region: str | None = None
    message: str | None = None
    http_status: int | None = None


@dataclass(frozen=True)
class Scenario:
    """A loaded, valid scenario."""

    organization: Organization
    accounts: tuple[Account, ...]
    aggregator: Aggregator
    faults: tuple[Fault, ...] = ()
    source: str = "<scenario>"
    fault_rates: tuple[FaultRate, ...] = ()
    fault_seed: int = 0
    latencies: Mapping[str, float] = field(default_factory=dict)

    @property
    def management_account(self) -> Account:
        """The management account."""
        return self.account(self.organization.management_account_id)

    def account(self, account_id: str) -> Account:
        """The account with ``account_id`` (KeyError if none)."""
        for account in self.accounts:
            if account.id == account_id:
                return account
        raise KeyError(account_id)

    def account_named(self, name: str) -> Account:
        """The account called ``name`` (KeyError if none)."""
        for account in self.accounts:
            if account.name == name:
                return account
        raise KeyError(name)

    @property
    def regions(self) -> tuple[str, ...]:
        """Every region the scenario mentions (aggregator, instances, existing syncs), sorted."""
        regions = {self.aggregator.region}
        for account in self.accounts:
            regions.update(account.instances)
            regions.update(sync.region for sync in account.existing_syncs)
        return tuple(sorted(regions))


def load_scenario(path: str | Path) -> Scenario:
    """Load and validate a scenario file (``.json``, ``.yaml`` or ``.yml``).

    Example::

        >>> load_scenario(example_scenario_path()).aggregator.bucket
        'acme-inventory'
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError(f"{path.name}: cannot be read: {exc}") from exc
    try:
        data = yaml.safe_load(text) if path.suffix.lower() in (".yaml", ".yml") else json.loads(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ScenarioError(f"{path.name}: not valid {path.suffix.lstrip('.').upper() or 'JSON'}: {exc}") from exc
    except RecursionError as exc:  # both decoders recurse per level: "[[[[..." thousands deep exhausts the stack
        raise ScenarioError(f"{path.name}: nested too deeply to be a scenario") from exc
    return parse_scenario(data, source=path.name)


def example_scenario_path() -> Path:
    """The bundled example scenario (``workflow/scenarios/example.json``), what ``orgsync demo`` runs."""
    return Path(str(resources.files("workflow").joinpath("scenarios/example.json")))


def parse_scenario(data: Any, source: str = "<scenario>") -> Scenario:
    """Validate ``data`` (the decoded file) and build the :class:`Scenario`; ``source`` names the file in errors."""
    return _Parser(source).scenario(data)


# --- parsing -------------------------------------------------------------------------------------------------


#: The characters of organization, root and OU ids.
LOWER_ALPHANUMERIC = "abcdefghijklmnopqrstuvwxyz0123456789"


def derive_id(seed: str, alphabet: str, length: int) -> str:
    """A deterministic identifier from ``seed``: same file, same ids, run after run."""
    digest = int.from_bytes(hashlib.sha256(seed.encode()).digest(), "big")
    chars = []
    for _ in range(length):
        digest, index = divmod(digest, len(alphabet))
        chars.append(alphabet[index])
    return "".join(chars)


def derive_organization_id(management_account_id: str) -> str:
    """The organization id used when the file gives none."""
    return "o-" + derive_id(f"org:{management_account_id}", LOWER_ALPHANUMERIC, 10)


@dataclass
class _RawAccount:
    place: str
    data: dict[str, Any]
    ou_path: str


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, place: str, message: str) -> ScenarioError:
        return ScenarioError(f"{self.source}: {place}: {message}" if place else f"{self.source}: {message}")

    def mapping(
        self, value: Any, place: str, allowed: tuple[str, ...], required: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(place, f"must be an object, not {type(value).__name__}")
        for key in value:
            if key not in allowed:
                raise self.fail(_join(place, str(key)), f"unknown key (allowed: {', '.join(allowed)})")
        for key in required:
            if key not in value:
                raise self.fail(_join(place, key), "is required")
        return value

    def listing(self, value: Any, place: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(place, f"must be a list, not {type(value).__name__}")
        return value

    def string(self, value: Any, place: str, pattern: re.Pattern[str] | None = None, what: str = "") -> str:
        if not isinstance(value, str) or not value:
            raise self.fail(place, f"{value!r} must be a non-empty string")
        if pattern is not None and not pattern.match(value):
            raise self.fail(place, f"{value!r} is not {what}")
        return value

    def identifier(self, value: Any, place: str, rule: identifiers.Rule) -> str:
        text = self.string(value, place)
        why = rule.problem(text)
        if why is not None:
            raise self.fail(place, f"{text!r} {why}")
        return text

    def boolean(self, value: Any, place: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(place, f"{value!r} must be true or false")
        return value

    def integer(self, value: Any, place: str, minimum: int = 0, maximum: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(place, f"{value!r} must be an integer >= {minimum}")
        if maximum is not None and value > maximum:
            raise self.fail(place, f"{value!r} must be an integer <= {maximum}")
        return value

    def region(self, value: Any, place: str) -> str:
        return self.identifier(value, place, REGION)

    def opt_in_region(self, value: Any, place: str) -> str:
        # AWS lets an account disable only opt-in regions; us-east-1 and the other default regions are always on.
        region = self.region(value, place)
        if region not in OPT_IN_REGIONS:
            raise self.fail(place, f"{region!r} is not an opt-in region; only those can be disabled")
        return region

    def scenario(self, data: Any) -> Scenario:
        top = self.mapping(
            data,
            "",
            ("organization", "aggregator", "faults", "faultRates", "faultSeed", "latencies"),
            ("organization", "aggregator"),
        )
        org = self.mapping(
            top["organization"], "organization", ("id", "managementAccount", "accounts", "ous"), ("managementAccount",)
        )
        raw: list[_RawAccount] = [_RawAccount("organization.managementAccount", org["managementAccount"], "/")]
        root_places = [
            f"organization.accounts[{i}]"
            for i in range(len(self.listing(org.get("accounts", []), "organization.accounts")))
        ]
        raw.extend(_RawAccount(p, a, "/") for p, a in zip(root_places, org.get("accounts", []), strict=True))
        ou_specs = self.listing(org.get("ous", []), "organization.ous")
        self.collect_ous(ou_specs, "organization.ous", "", raw)

        accounts = self.accounts(raw)
        by_place = {r.place: a for r, a in zip(raw, accounts, strict=True)}
        ous = self.build_ous(ou_specs, "organization.ous", "", by_place)

        mgmt_id = accounts[0].id
        org_id = derive_organization_id(mgmt_id)
        if "id" in org:
            org_id = self.identifier(org["id"], "organization.id", ORGANIZATION_ID)
        organization = Organization(
            id=org_id,
            management_account_id=mgmt_id,
            root_account_ids=tuple(by_place[p].id for p in root_places),
            ous=ous,
        )
        aggregator = self.aggregator(top["aggregator"], {a.id for a in accounts})
        if next(a for a in accounts if a.id == aggregator.account_id).state != "ACTIVE":
            raise self.fail(
                "aggregator.accountId", f"{aggregator.account_id!r} is SUSPENDED: the bucket's account must be ACTIVE"
            )
        names = {a.name for a in accounts}
        faults = tuple(
            self.fault(item, f"faults[{i}]", names)
            for i, item in enumerate(self.listing(top.get("faults", []), "faults"))
        )
        fault_rates = tuple(
            self.fault_rate(item, f"faultRates[{i}]", names)
            for i, item in enumerate(self.listing(top.get("faultRates", []), "faultRates"))
        )
        return Scenario(
            organization,
            tuple(accounts),
            aggregator,
            faults,
            self.source,
            fault_rates,
            self.integer(top.get("faultSeed", 0), "faultSeed"),
            self.latencies(top.get("latencies", {})),
        )

    def collect_ous(self, specs: list[Any], place: str, parent_path: str, raw: list[_RawAccount]) -> None:
        seen: dict[str, str] = {}
        for i, spec in enumerate(specs):
            ou_place = f"{place}[{i}]"
            ou = self.mapping(spec, ou_place, ("name", "accounts", "ous"), ("name",))
            name = self.identifier(ou["name"], f"{ou_place}.name", OU_NAME)
            if name in seen:
                raise self.fail(f"{ou_place}.name", f"duplicate OU name {name!r} (also at {seen[name]})")
            seen[name] = ou_place
            path = f"{parent_path}/{name}"
            accounts = self.listing(ou.get("accounts", []), f"{ou_place}.accounts")
            raw.extend(_RawAccount(f"{ou_place}.accounts[{j}]", a, path) for j, a in enumerate(accounts))
            self.collect_ous(self.listing(ou.get("ous", []), f"{ou_place}.ous"), f"{ou_place}.ous", path, raw)

    def build_ous(
        self, specs: list[Any], place: str, parent_path: str, by_place: dict[str, Account]
    ) -> tuple[OrganizationalUnit, ...]:
        built = []
        for i, spec in enumerate(specs):
            ou_place = f"{place}[{i}]"
            path = f"{parent_path}/{spec['name']}"
            account_ids = tuple(by_place[f"{ou_place}.accounts[{j}]"].id for j in range(len(spec.get("accounts", []))))
            children = self.build_ous(spec.get("ous", []), f"{ou_place}.ous", path, by_place)
            built.append(OrganizationalUnit(spec["name"], path, account_ids, children))
        return tuple(built)

    def accounts(self, raw: list[_RawAccount]) -> list[Account]:
        allowed = (
            "name",
            "id",
            "email",
            "state",
            "memberRole",
            "instances",
            "inventoryAssociation",
            "markerDelaySeconds",
            "disabledRegions",
            "existingSyncs",
        )
        ids: dict[str, str] = {}
        names: dict[str, str] = {}
        for item in raw:
            data = self.mapping(item.data, item.place, allowed, ("name",))
            name = self.string(data["name"], f"{item.place}.name")
            if name in names:
                raise self.fail(f"{item.place}.name", f"duplicate account name {name!r} (also at {names[name]})")
            names[name] = item.place
            if "id" in data:
                account_id = self.identifier(data["id"], f"{item.place}.id", ACCOUNT_ID)
                if account_id in ids:
                    raise self.fail(
                        f"{item.place}.id", f"duplicate account ID {account_id!r} (also at {ids[account_id]})"
                    )
                ids[account_id] = item.place
        accounts = []
        for item in raw:
            data = item.data
            account_id = data.get("id") or self.generated_id(data["name"], ids)
            ids.setdefault(account_id, item.place)
            accounts.append(self.account(item, account_id))
        return accounts

    def generated_id(self, name: str, taken: Mapping[str, str]) -> str:
        attempt = 0
        while True:
            candidate = "2" + derive_id(f"account:{name}:{attempt}", "0123456789", 11)
            if candidate not in taken:
                return candidate
            attempt += 1

    def account(self, item: _RawAccount, account_id: str) -> Account:
        data, place = item.data, item.place
        name = data["name"]
        state = data.get("state", "ACTIVE")
        if state not in ACCOUNT_STATES:
            raise self.fail(f"{place}.state", f"{state!r} is not one of {', '.join(ACCOUNT_STATES)}")
        email = self.string(data.get("email", f"{name}@example.com"), f"{place}.email")
        member_role = self.boolean(data.get("memberRole", True), f"{place}.memberRole")
        instances_raw = data.get("instances", {})
        nodes: tuple[Node, ...] = ()
        if isinstance(instances_raw, list):
            nodes = self.nodes(instances_raw, f"{place}.instances")
            instances = dict(Counter(node.region for node in nodes))
        elif isinstance(instances_raw, dict):
            instances = {
                self.region(region, f"{place}.instances.{region}"): self.integer(
                    count, f"{place}.instances.{region}", 0, 1000
                )
                for region, count in instances_raw.items()
            }
        else:
            raise self.fail(f"{place}.instances", "must be an object of region: count or a list of nodes")
        association = self.inventory_association(data.get("inventoryAssociation", True), place)
        delay = data.get("markerDelaySeconds", 0)
        if isinstance(delay, bool) or not isinstance(delay, int | float) or delay < 0:
            raise self.fail(f"{place}.markerDelaySeconds", f"{delay!r} must be a number of seconds >= 0")
        disabled = frozenset(
            self.opt_in_region(r, f"{place}.disabledRegions[{i}]")
            for i, r in enumerate(self.listing(data.get("disabledRegions", []), f"{place}.disabledRegions"))
        )
        syncs = self.existing_syncs(data.get("existingSyncs", []), f"{place}.existingSyncs")
        return Account(
            account_id,
            name,
            item.ou_path,
            email,
            state,
            member_role,
            instances,
            float(delay),
            disabled,
            syncs,
            nodes,
            association,
        )

    def inventory_association(self, value: Any, place: str) -> bool | frozenset[str]:
        here = f"{place}.inventoryAssociation"
        if isinstance(value, bool):
            return value
        if not isinstance(value, list):
            raise self.fail(here, f"{value!r} must be true, false or a list of regions")
        return frozenset(self.region(region, f"{here}[{i}]") for i, region in enumerate(value))

    def nodes(self, value: list[Any], place: str) -> tuple[Node, ...]:
        allowed = ("id", "region", "platform", "state", "applications", "inventoryAgeDays")
        nodes: list[Node] = []
        seen: dict[str, str] = {}
        for i, spec in enumerate(value):
            here = f"{place}[{i}]"
            data = self.mapping(spec, here, allowed, ("id", "region"))
            node_id = self.string(data["id"], f"{here}.id", NODE_ID_RE, "a managed node ID (i-<17 hex> or mi-<17 hex>)")
            if node_id in seen:
                raise self.fail(f"{here}.id", f"duplicate node ID {node_id!r} (also at {seen[node_id]})")
            seen[node_id] = here
            platform = data.get("platform", "Linux")
            if platform not in NODE_PLATFORMS:
                raise self.fail(f"{here}.platform", f"{platform!r} is not one of {', '.join(NODE_PLATFORMS)}")
            state = data.get("state", "running")
            if state not in NODE_STATES:
                raise self.fail(f"{here}.state", f"{state!r} is not one of {', '.join(NODE_STATES)}")
            age = data.get("inventoryAgeDays", 0)
            if isinstance(age, bool) or not isinstance(age, int | float) or age < 0:
                raise self.fail(f"{here}.inventoryAgeDays", f"{age!r} must be a number of days >= 0")
            applications = []
            for j, app in enumerate(self.listing(data.get("applications", []), f"{here}.applications")):
                at = f"{here}.applications[{j}]"
                fields = self.mapping(app, at, ("name", "version", "publisher"), ("name", "version"))
                publisher = fields.get("publisher")
                applications.append(
                    Application(
                        self.string(fields["name"], f"{at}.name"),
                        self.string(fields["version"], f"{at}.version"),
                        None if publisher is None else self.string(publisher, f"{at}.publisher"),
                    )
                )
            nodes.append(
                Node(
                    node_id,
                    self.region(data["region"], f"{here}.region"),
                    platform,
                    state,
                    tuple(applications),
                    float(age),
                )
            )
        return tuple(nodes)

    def existing_syncs(self, value: Any, place: str) -> tuple[ExistingSync, ...]:
        allowed = (
            "region",
            "name",
            "organization",
            "bucket",
            "bucketRegion",
            "prefix",
            "lastStatus",
            "lastStatusMessage",
        )
        syncs: list[ExistingSync] = []
        per_region: dict[str, list[ExistingSync]] = {}
        for i, spec in enumerate(self.listing(value, place)):
            here = f"{place}[{i}]"
            data = self.mapping(spec, here, allowed, ("region", "name", "bucket"))
            region = self.region(data["region"], f"{here}.region")
            # A sync someone else created: AWS allows any 1-64 characters (orgsync's own name is stricter).
            name = self.string(data["name"], f"{here}.name")
            if len(name) > MAX_SYNC_NAME_LENGTH:
                raise self.fail(f"{here}.name", f"{name!r} is longer than {MAX_SYNC_NAME_LENGTH} characters")
            bucket = self.identifier(data["bucket"], f"{here}.bucket", BUCKET_NAME)
            prefix = data.get("prefix")
            if prefix is not None:
                prefix = self.string(prefix, f"{here}.prefix")
            status = data.get("lastStatus", "Successful")
            if status not in SYNC_STATUSES:
                raise self.fail(f"{here}.lastStatus", f"{status!r} is not one of {', '.join(SYNC_STATUSES)}")
            message = data.get("lastStatusMessage")
            if message is not None and not isinstance(message, str):
                raise self.fail(f"{here}.lastStatusMessage", f"{message!r} must be a string")
            sync = ExistingSync(
                region=region,
                name=name,
                organization=self.boolean(data.get("organization", False), f"{here}.organization"),
                bucket=bucket,
                bucket_region=self.region(data.get("bucketRegion", region), f"{here}.bucketRegion"),
                prefix=prefix,
                last_status=status,
                last_status_message=message,
            )
            same_region = per_region.setdefault(region, [])
            if any(s.name == name for s in same_region):
                raise self.fail(f"{here}.name", f"duplicate sync name {name!r} in {region}")
            if len(same_region) == MAX_SYNCS_PER_REGION:
                raise self.fail(
                    here,
                    f"more than {MAX_SYNCS_PER_REGION} syncs in {region} (AWS allows "
                    f"{MAX_SYNCS_PER_REGION} per account and region)",
                )
            if sync.organization and any(s.organization for s in same_region):
                raise self.fail(here, f"a second organization sync in {region} (AWS allows one per account and region)")
            same_region.append(sync)
            syncs.append(sync)
        return tuple(syncs)

    def aggregator(self, value: Any, account_ids: set[str]) -> Aggregator:
        data = self.mapping(
            value,
            "aggregator",
            ("accountId", "bucket", "region", "prefix", "bucketPolicy"),
            ("accountId", "bucket", "region"),
        )
        account_id = self.identifier(data["accountId"], "aggregator.accountId", ACCOUNT_ID)
        if account_id not in account_ids:
            raise self.fail("aggregator.accountId", f"{account_id!r} is not an account of the organization")
        kind = data.get("bucketPolicy", "source-org-id")
        if kind not in BUCKET_POLICY_KINDS:
            raise self.fail("aggregator.bucketPolicy", f"{kind!r} is not one of {', '.join(BUCKET_POLICY_KINDS)}")
        prefix = self.identifier(data.get("prefix", "default"), "aggregator.prefix", PREFIX)
        return Aggregator(
            account_id=account_id,
            bucket=self.identifier(data["bucket"], "aggregator.bucket", BUCKET_NAME),
            region=self.region(data["region"], "aggregator.region"),
            prefix=prefix,
            bucket_policy=kind,
        )

    def fault(self, value: Any, place: str, account_names: set[str]) -> Fault:
        data = self.mapping(
            value,
            place,
            ("api", "error", "times", "account", "region", "message", "httpStatus", "key"),
            ("api", "error"),
        )
        account = data.get("account")
        if account is not None:
            account = self.string(account, f"{place}.account")
            if account not in account_names:
                raise self.fail(f"{place}.account", f"{account!r} is not the name of an account of the scenario")
        region = data.get("region")
        message = data.get("message")
        if message is not None and not isinstance(message, str):
            raise self.fail(f"{place}.message", f"{message!r} must be a string")
        status = data.get("httpStatus")
        key = data.get("key")
        if key is not None and (not isinstance(key, str) or not key):
            raise self.fail(f"{place}.key", f"{key!r} must be an S3 object key or the start of one")
        return Fault(
            api=self.string(data["api"], f"{place}.api", API_RE, "'service:Action' (e.g. ssm:CreateResourceDataSync)"),
            error=self.string(data["error"], f"{place}.error", ERROR_CODE_RE, "an AWS error code"),
            times=self.integer(data.get("times", 1), f"{place}.times", 1),
            account=account,
            region=None if region is None else self.region(region, f"{place}.region"),
            message=message,
            http_status=None if status is None else self.integer(status, f"{place}.httpStatus", 400, 599),
            key=key,
        )

    def fault_rate(self, value: Any, place: str, account_names: set[str]) -> FaultRate:
        data = self.mapping(
            value,
            place,
            ("api", "error", "rate", "account", "region", "message", "httpStatus"),
            ("api", "error", "rate"),
        )
        spec = {key: data[key] for key in ("api", "error", "account", "region", "message", "httpStatus") if key in data}
        checked = self.fault({**spec, "api": "any:Action"}, place, account_names)  # every key a fault has
        rate = data["rate"]
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise self.fail(f"{place}.rate", f"{rate!r} must be a share of calls between 0 and 1")
        api = self.string(data["api"], f"{place}.api", API_PATTERN_RE, "'service:Action', 'service:*' or '*'")
        return FaultRate(
            api, checked.error, float(rate), checked.account, checked.region, checked.message, checked.http_status
        )

    def latencies(self, value: Any) -> dict[str, float]:
        if not isinstance(value, dict):
            raise self.fail("latencies", "must be an object of 'service:Action' (or 'service:*', '*'): seconds")
        for api, seconds in value.items():
            self.string(api, f"latencies.{api}", API_PATTERN_RE, "'service:Action', 'service:*' or '*'")
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
                raise self.fail(f"latencies.{api}", f"{seconds!r} must be a number of seconds >= 0")
        return {str(api): float(seconds) for api, seconds in value.items()}


def _join(place: str, key: str) -> str:
    return f"{place}.{key}" if place else key


#: For callers that want to validate a single fault dict outside a file (``LocalAws.add_fault``).
def parse_fault(data: Mapping[str, Any], account_names: set[str], source: str = "<fault>") -> Fault:
    """Validate one fault spec (``{"api", "error", "times"?, "account"?, "region"?, "message"?, "key"?}``)."""
    return _Parser(source).fault(dict(data), "fault", account_names)


def parse_account(
    data: Mapping[str, Any], ou_path: str, existing: tuple[Account, ...] = (), source: str = "<account>"
) -> Account:
    """Validate one account spec (the keys of the scenario's ACCOUNT) placed in the OU at ``ou_path``.

    Its id is generated from its name when ``data`` gives none; a name or id one of ``existing`` has is refused.

    Example::

        >>> account = parse_account({"name": "prod-new", "memberRole": False}, "/Workloads")
        >>> account.ou_path, account.member_role, len(account.id)
        ('/Workloads', False, 12)
    """
    parser = _Parser(source)
    raw = _RawAccount("account", dict(data), ou_path)
    parser.accounts([raw])  # keys, name and id
    taken = {a.id: a.name for a in existing}
    name = raw.data["name"]
    if name in taken.values():
        raise parser.fail("account.name", f"an account named {name!r} exists already")
    account_id = raw.data.get("id")
    if account_id in taken:
        raise parser.fail("account.id", f"account {account_id} exists already")
    return parser.account(raw, account_id or parser.generated_id(name, taken))


__all__: list[str] = [
    "Account",
    "Aggregator",
    "Application",
    "ExistingSync",
    "Fault",
    "FaultRate",
    "Node",
    "Organization",
    "OrganizationalUnit",
    "Scenario",
    "ScenarioError",
    "derive_organization_id",
    "example_scenario_path",
    "load_scenario",
    "parse_account",
    "parse_fault",
    "parse_scenario",
]
