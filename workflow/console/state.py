"""A local world that lasts: the simulated organization, its syncs, the bucket and the clock, kept between commands.

A scenario file only seeds a new state (``orgsync local init --scenario FILE``). From then on every local command
(``orgsync run`` without ``--scenario``, ``report``, ``watch``, the ``orgsync local`` commands that change the
world) opens the same world, and what a command changed is what the next one sees.

What is kept, in ``<state dir>/state.json`` (plus ``executions/``, see :mod:`workflow.console.saved`):

- ``scenario``: the scenario document as amended (accounts moved or added), every account with its id written
  out, and without ``existingSyncs``: once seeded, the syncs are kept as they are, not as the scenario wrote them;
- ``syncs``: every resource data sync of every account and region, with its status and times;
- ``objects``: every object of the aggregator bucket (markers, inventory, orgsync's reports), with its LastModified;
- ``clock``: the simulated time.

A sync whose marker SSM had not written yet when a command ended gets it written once the simulated clock reaches
its creation time plus the account's ``markerDelaySeconds``, in a later command (``orgsync local advance``).
Faults of the scenario are armed again in every command (their ``times`` count per command).

Opening the world is re-creating it in moto from this document, rather than pickling moto: the document is small,
readable and does not depend on moto's internals. The file is written to a temporary name and renamed, so a crash
mid-command leaves the previous state readable; a state of another format version is refused in one line.

Example::

    >>> parse_duration("90m"), parse_duration("1d"), parse_duration("30")
    (5400.0, 86400.0, 30.0)
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workflow.console.errors import CliError
from workflow.console.saved import FORMAT_VERSION, default_state_dir, write_json_atomically

if TYPE_CHECKING:
    from workflow.local.runner import LocalRun
    from workflow.local.scenario import Scenario

STATE_FILE = "state.json"


class StateError(CliError):
    """A state directory that cannot be used as asked (missing, of another version, or the change is invalid)."""


@dataclass
class LocalState:
    """The lasting local world, as stored (see the module docstring)."""

    directory: Path
    scenario: dict[str, Any]
    clock: str
    syncs: list[dict[str, Any]] = field(default_factory=list)
    objects: list[dict[str, Any]] = field(default_factory=list)

    @property
    def now(self) -> datetime:
        """The simulated time."""
        return datetime.fromisoformat(self.clock)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": FORMAT_VERSION,
            "clock": self.clock,
            "scenario": self.scenario,
            "syncs": self.syncs,
            "objects": self.objects,
        }


def resolve(directory: str | Path | None) -> Path:
    """The state directory: the one given, else :func:`~workflow.console.saved.default_state_dir`."""
    return Path(directory) if directory else default_state_dir()


def exists(directory: Path) -> bool:
    """True when ``directory`` holds a state (seeded before)."""
    return (directory / STATE_FILE).is_file()


def load_state(directory: Path) -> LocalState:
    """The state in ``directory``; a missing one or one of another format version is a one-line :class:`StateError`."""
    path = directory / STATE_FILE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise StateError(f"no local state in {directory}: seed one with 'orgsync local init --scenario FILE'") from None
    except (OSError, ValueError) as exc:
        raise StateError(f"cannot read the local state {path}: {exc}") from exc
    version = document.get("version") if isinstance(document, dict) else None
    if version != FORMAT_VERSION:
        raise StateError(
            f"{directory} holds a local state of format version {json.dumps(version)}; this orgsync reads version "
            f"{FORMAT_VERSION}: seed a new one elsewhere (--state DIR) or remove it"
        )
    return LocalState(
        directory=directory,
        scenario=document["scenario"],
        clock=document["clock"],
        syncs=list(document.get("syncs", [])),
        objects=list(document.get("objects", [])),
    )


def save_state(state: LocalState) -> None:
    """Write the state atomically (the previous one stays readable until the rename)."""
    write_json_atomically(state.directory / STATE_FILE, state.to_dict())


def parse(state: LocalState) -> Scenario:
    """The state's organization as a :class:`~workflow.local.scenario.Scenario`."""
    from workflow.local.scenario import ScenarioError, parse_scenario

    try:
        return parse_scenario(state.scenario, source=str(state.directory / STATE_FILE))
    except ScenarioError as exc:
        raise StateError(str(exc)) from exc


# --------------------------------------------------------------------------------------------- seeding


def seed_state(directory: Path, scenario_path: str, *, force: bool = False) -> LocalState:
    """A new state in ``directory`` from the scenario file: its organization, syncs, bucket objects and clock."""
    from workflow.console.local import load
    from workflow.local.runner import LocalRun

    if exists(directory) and not force:
        raise StateError(
            f"{directory} holds a local state already: a scenario only seeds a new one (--force replaces it)"
        )
    scenario = load(scenario_path)
    document = _explicit(_read_document(scenario_path), scenario)
    with LocalRun(scenario) as local:
        state = capture(local, LocalState(directory=directory, scenario=_without_existing_syncs(document), clock=""))
    save_state(state)
    return state


def _read_document(path: str) -> dict[str, Any]:
    import yaml

    text = Path(path).read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    return document


def _accounts(document: dict[str, Any]) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]], str]]:
    """Every account entry of a scenario document with the list that holds it and its OU path (the management
    account's list is a one-item list of its own)."""
    organization = document["organization"]
    yield organization["managementAccount"], [organization["managementAccount"]], "/"
    root_accounts = organization.setdefault("accounts", [])
    for account in root_accounts:
        yield account, root_accounts, "/"

    def walk(ous: list[dict[str, Any]], parent: str) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]], str]]:
        for ou in ous:
            path = f"{parent}/{ou['name']}"
            accounts = ou.setdefault("accounts", [])
            for account in accounts:
                yield account, accounts, path
            yield from walk(ou.get("ous", []), path)

    yield from walk(organization.get("ous", []), "")


def _ou_accounts(document: dict[str, Any], ou_path: str) -> list[dict[str, Any]]:
    """The account list of the OU at ``ou_path`` in a scenario document (``/`` is the root)."""
    organization = document["organization"]
    if ou_path == "/":
        accounts: list[dict[str, Any]] = organization.setdefault("accounts", [])
        return accounts
    ous = organization.get("ous", [])
    found: dict[str, Any] | None = None
    for name in ou_path.strip("/").split("/"):
        found = next((ou for ou in ous if ou.get("name") == name), None)
        if found is None:
            raise StateError(f"no OU at path {json.dumps(ou_path)} in the local organization")
        ous = found.get("ous", [])
    assert found is not None
    accounts = found.setdefault("accounts", [])
    return accounts


def _explicit(document: dict[str, Any], scenario: Scenario) -> dict[str, Any]:
    """The document with every account's id written out (ids derived from names stay the same when accounts move)."""
    document = copy.deepcopy(document)
    ids = {account.name: account.id for account in scenario.accounts}
    for account, _, _ in _accounts(document):
        account.setdefault("id", ids[account["name"]])
    return document


def _without_existing_syncs(document: dict[str, Any]) -> dict[str, Any]:
    document = copy.deepcopy(document)
    for account, _, _ in _accounts(document):
        account.pop("existingSyncs", None)
    return document


# --------------------------------------------------------------------------------------------- the world


@contextmanager
def open_world(state: LocalState) -> Iterator[LocalRun]:
    """The state's world running on the local engine; saved back when the block ends without an error."""
    from workflow.local.clock import VirtualClock
    from workflow.local.runner import LocalRun

    with LocalRun(parse(state), VirtualClock(start=state.now)) as local:
        _restore(local, state)
        yield local
        captured = capture(local, state)
    save_state(captured)


def capture(local: LocalRun, state: LocalState) -> LocalState:
    """``state`` with the running world's clock, syncs and bucket objects."""
    syncs = [
        _sync_document(account_id, region, sync)
        for (account_id, region), backend in sorted(local.aws.syncs.items())
        for sync in backend.syncs.values()
    ]
    s3 = local.aws.client("s3")
    bucket = local.scenario.aggregator.bucket
    objects = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            objects.append(
                {
                    "key": item["Key"],
                    "body": base64.b64encode(body).decode("ascii"),
                    "lastModified": item["LastModified"].astimezone(UTC).isoformat(),
                }
            )
    return LocalState(
        directory=state.directory,
        scenario=state.scenario,
        clock=local.clock.now().astimezone(UTC).isoformat(),
        syncs=syncs,
        objects=objects,
    )


_TIMES = ("created_time", "last_modified_time", "last_sync_time", "last_successful_sync_time")


def _sync_document(account_id: str, region: str, sync: Any) -> dict[str, Any]:
    document: dict[str, Any] = {"accountId": account_id, "region": region}
    for name in ("name", "sync_type", "s3_destination", "sync_source", "last_status", "last_status_message"):
        document[name] = getattr(sync, name)
    for name in _TIMES:
        value = getattr(sync, name)
        document[name] = value.astimezone(UTC).isoformat() if value is not None else None
    return document


def _restore(local: LocalRun, state: LocalState) -> None:
    """Put the state's syncs and bucket objects into the freshly seeded world, and reschedule pending markers."""
    from workflow.local import seams
    from workflow.local.ssm_sync.models import ResourceDataSync

    owner, attribute, clock_stamp = seams.S3_LAST_MODIFIED.resolve()
    s3 = local.aws.client("s3")
    bucket = local.scenario.aggregator.bucket
    try:
        for item in state.objects:
            # Each object keeps its LastModified (the marker check and coverage's staleness read it).
            at = datetime.fromisoformat(item["lastModified"]).astimezone(UTC).replace(tzinfo=None)
            setattr(owner, attribute, lambda at=at: at)
            s3.put_object(Bucket=bucket, Key=item["key"], Body=base64.b64decode(item["body"]))
    finally:
        setattr(owner, attribute, clock_stamp)
    for document in state.syncs:
        fields = {key: document[key] for key in document if key not in {"accountId", "region"}}
        for name in _TIMES:
            fields[name] = datetime.fromisoformat(fields[name]) if fields[name] else None
        sync = ResourceDataSync(**fields)
        backend = local.aws.syncs.backend(document["accountId"], document["region"])
        backend.seed(sync)
        if sync.s3_destination is not None and sync.last_sync_time is None:
            _reschedule_marker(local, document["accountId"], document["region"], sync)


def _reschedule_marker(local: LocalRun, account_id: str, region: str, sync: Any) -> None:
    """SSM's first write for a sync created in an earlier command: due at creation + the account's marker delay."""
    from workflow.local.ssm_environment import find_bucket, write_ssm_objects

    account = local.scenario.account(account_id)
    due = sync.created_time + timedelta(seconds=account.marker_delay_seconds)
    backend = local.aws.syncs.backend(account_id, region)
    destination = sync.s3_destination

    def write() -> None:
        current = backend.syncs.get(sync.name)
        if current is None or current is not sync:
            return  # deleted since
        at = local.clock.now()
        bucket = find_bucket(str(destination["BucketName"]))
        if bucket is None:
            current.mark_failed(at, f"S3 write failed for bucket {destination['BucketName']}: NoSuchBucket")
            return
        collected = local.aws.associations.collects(account_id, region)
        write_ssm_objects(bucket, account_id, region, destination.get("Prefix"), at, account, collected)
        current.mark_successful(at)

    local.clock.call_at(due.timestamp(), write)


# --------------------------------------------------------------------------------------------- changes


def move_account(state: LocalState, account: str, ou_path: str) -> str:
    """Move the account (id or name) to the OU at ``ou_path``; returns its id."""
    document = copy.deepcopy(state.scenario)
    entry, holder = _find_account(document, account)
    if entry is document["organization"]["managementAccount"]:
        raise StateError("the management account stays at the root")
    target = _ou_accounts(document, ou_path)
    holder.remove(entry)
    target.append(entry)
    _amend(state, document)
    return str(entry["id"])


def add_account(state: LocalState, name: str, ou_path: str, **fields: Any) -> str:
    """Add an account called ``name`` to the OU at ``ou_path``; returns its id."""
    document = copy.deepcopy(state.scenario)
    if any(entry["name"] == name for entry, _, _ in _accounts(document)):
        raise StateError(f"an account named {json.dumps(name)} exists already")
    entry: dict[str, Any] = {"name": name, **{key: value for key, value in fields.items() if value is not None}}
    _ou_accounts(document, ou_path).append(entry)
    scenario = _amend(state, document)
    account_id = scenario.account_named(name).id
    entry["id"] = account_id  # written out, as for every account of a state
    return account_id


def delete_sync(state: LocalState, account: str, region: str, name: str) -> None:
    """Delete a sync by hand, as someone would in the console (orgsync's or any other)."""
    account_id = str(_find_account(copy.deepcopy(state.scenario), account)[0]["id"])
    kept = [
        sync for sync in state.syncs if (sync["accountId"], sync["region"], sync["name"]) != (account_id, region, name)
    ]
    if len(kept) == len(state.syncs):
        raise StateError(f"no sync {json.dumps(name)} in account {account_id} in {region}")
    state.syncs = kept


def advance(state: LocalState, seconds: float) -> None:
    """Let simulated time pass (markers due in between are written when the world next opens)."""
    state.clock = (state.now + timedelta(seconds=seconds)).isoformat()


def parse_duration(text: str) -> float:
    """``30`` (seconds), ``90s``, ``15m``, ``6h``, ``2d`` -> seconds; anything else is a :class:`StateError`."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not match:
        raise StateError(f"not a duration: {json.dumps(text)} (seconds, or a number with s, m, h or d)")
    unit = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    return float(match.group(1)) * unit


def _find_account(document: dict[str, Any], account: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    for entry, holder, _ in _accounts(document):
        if account in (entry.get("id"), entry.get("name")):
            return entry, holder
    raise StateError(f"no account {json.dumps(account)} (an id or a name) in the local organization")


def _amend(state: LocalState, document: dict[str, Any]) -> Scenario:
    """Check the amended document as a scenario (one line if it is not one), then keep it."""
    from workflow.local.scenario import ScenarioError, parse_scenario

    try:
        scenario = parse_scenario(document, source="the local organization")
    except ScenarioError as exc:
        raise StateError(str(exc)) from exc
    state.scenario = document
    return scenario
