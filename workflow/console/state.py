"""A local world that lasts: the simulated organization, its syncs, the bucket and the clock, kept between commands.

A scenario file only seeds a new state (``orgsync local init --scenario FILE``). From then on every local command
(``orgsync run`` without ``--scenario``, ``report``, ``watch``, the ``orgsync local`` commands that change the
world) opens the same world, and what a command changed is what the next one sees.

What is kept, in ``<state dir>/state.json`` (plus ``executions/``, see :mod:`workflow.console.saved`):

- ``scenario``: the scenario document as amended (accounts moved or added, managed nodes terminated), every
  account with its id written out, and without ``existingSyncs``: once seeded, the syncs are kept as they are,
  not as the scenario wrote them; an account with a terminated node lists its nodes (with their derived ids);
- ``syncs``: every resource data sync of every account and region, with its status and times;
- ``associations``: the State Manager associations of every account-region reached so far (the scenario's
  ``inventoryAssociation`` seeds the others when first reached, as it did at the start), those orgsync created
  included;
- ``objects``: every object of the aggregator bucket (markers, inventory, orgsync's reports), with its
  LastModified and Content-Type; ``bucketPolicy``: its policy (None: none);
- ``clock``: the simulated time.

Executions are kept beside it, one file each (:mod:`workflow.console.saved`): their description, history and
report, which ``orgsync report ARN`` and ``orgsync watch ARN`` read.

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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from workflow.console.errors import CliError
from workflow.console.saved import FORMAT_VERSION, default_state_dir, write_json_atomically

if TYPE_CHECKING:
    from workflow.local.clock import VirtualClock
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
    #: None: not kept (a state written before associations were): the scenario seeds them as at the start.
    associations: list[dict[str, Any]] | None = None
    #: The bucket policy document; ``""``: not kept (the scenario's ``bucketPolicy`` applies).
    bucket_policy: str | None = ""

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
            "associations": self.associations,
            "objects": self.objects,
            "bucketPolicy": self.bucket_policy,
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
        associations=document.get("associations"),
        bucket_policy=document.get("bucketPolicy", ""),
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
def open_world(state: LocalState, *, save: bool = True) -> Iterator[LocalRun]:
    """The state's world running on the local engine; saved back when the block ends without an error (unless
    ``save=False``: a command that only reads)."""
    from workflow.local.clock import VirtualClock
    from workflow.local.runner import LocalRun

    with LocalRun(parse(state), VirtualClock(start=state.now)) as local:
        restore(local, state)
        yield local
        captured = capture(local, state)
    if save:
        save_state(captured)
        # The caller's state is the world as saved (a command that goes on with it sees what it changed).
        for name in ("scenario", "clock", "syncs", "objects", "associations", "bucket_policy"):
            setattr(state, name, getattr(captured, name))


def lasting_run_factory(state: LocalState) -> Callable[[Scenario, VirtualClock], LocalRun]:
    """What ``LocalServer(run_factory=...)`` builds for ``orgsync local serve --state DIR``: a :class:`LastingRun`."""
    from workflow.local.runner import LocalRun

    class LastingRun(LocalRun):
        """The state's world as a ``LocalRun``: restored when entered; when left cleanly, its executions are saved
        for ``report``/``watch`` and the world is captured and written atomically (the previous state stays whole
        until the rename; a crash before leaves it as it was)."""

        def __init__(self, scenario: Scenario, clock: VirtualClock) -> None:
            super().__init__(scenario, clock)
            self._restored = False

        def __enter__(self) -> LastingRun:
            super().__enter__()
            try:
                restore(self, state)
            except BaseException:
                self.__exit__(None, None, None)
                raise
            self._restored = True
            return self

        def __exit__(
            self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
        ) -> None:
            try:
                if self._restored and exc_type is None:
                    self._restored = False
                    save_executions(self, state.directory)
                    captured = capture(self, state)
                    save_state(captured)
            finally:
                super().__exit__(exc_type, exc, tb)

    def factory(scenario: Scenario, clock: VirtualClock) -> LocalRun:
        return LastingRun(scenario, clock)

    return factory


def save_executions(local: LocalRun, directory: Path) -> list[str]:
    """Save every execution of the world's state machine for ``report``/``watch`` (those still running are
    stopped first, as leaving the world would); returns their ARNs."""
    from workflow.console import saved

    client = local.engine.session.client("stepfunctions")
    arns = []
    for page in client.get_paginator("list_executions").paginate(stateMachineArn=local.state_machine_arn):
        for item in page["executions"]:
            arn = item["executionArn"]
            if item["status"] == "RUNNING":
                client.stop_execution(executionArn=arn, cause="orgsync local serve stopped")
            described = client.describe_execution(executionArn=arn)
            description = {key: value for key, value in described.items() if key != "ResponseMetadata"}
            report = local.read_report(str(description["name"]))
            saved.save_execution(description, local.history(arn), report, state_dir=directory)
            arns.append(arn)
    return arns


def capture(local: LocalRun, state: LocalState) -> LocalState:
    """``state`` with the running world's clock, syncs, associations, bucket objects and bucket policy."""
    syncs = [
        _sync_document(account_id, region, sync)
        for (account_id, region), backend in sorted(local.aws.syncs.items())
        for sync in backend.syncs.values()
    ]
    associations = [
        {"accountId": backend.account_id, "region": backend.region, "associations": documents}
        for backend in local.aws.associations.reached()
        for documents in ([a.to_document() for a in backend.associations.values()],)
    ]
    s3 = local.aws.client("s3")
    bucket = local.scenario.aggregator.bucket
    objects = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for item in page.get("Contents", []):
            got = s3.get_object(Bucket=bucket, Key=item["Key"])
            objects.append(
                {
                    "key": item["Key"],
                    "body": base64.b64encode(got["Body"].read()).decode("ascii"),
                    "lastModified": item["LastModified"].astimezone(UTC).isoformat(),
                    "contentType": got.get("ContentType"),
                }
            )
    try:
        policy: str | None = s3.get_bucket_policy(Bucket=bucket)["Policy"]
    except s3.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchBucketPolicy":
            raise
        policy = None
    return LocalState(
        directory=state.directory,
        scenario=state.scenario,
        clock=local.clock.now().astimezone(UTC).isoformat(),
        syncs=syncs,
        objects=objects,
        associations=associations,
        bucket_policy=policy,
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


def restore(local: LocalRun, state: LocalState) -> None:
    """Put the state's syncs, associations, bucket objects and policy into the freshly seeded world, and
    reschedule pending markers."""
    from workflow.local import seams
    from workflow.local.ssm_associations import Association
    from workflow.local.ssm_sync.models import ResourceDataSync

    owner, attribute, clock_stamp = seams.S3_LAST_MODIFIED.resolve()
    s3 = local.aws.client("s3")
    bucket = local.scenario.aggregator.bucket
    try:
        for item in state.objects:
            # Each object keeps its LastModified (the marker check and coverage's staleness read it).
            at = datetime.fromisoformat(item["lastModified"]).astimezone(UTC).replace(tzinfo=None)
            setattr(owner, attribute, lambda at=at: at)
            extra = {"ContentType": item["contentType"]} if item.get("contentType") else {}
            s3.put_object(Bucket=bucket, Key=item["key"], Body=base64.b64decode(item["body"]), **extra)
    finally:
        setattr(owner, attribute, clock_stamp)
    if state.bucket_policy is None:
        s3.delete_bucket_policy(Bucket=bucket)
    elif state.bucket_policy:
        s3.put_bucket_policy(Bucket=bucket, Policy=state.bucket_policy)
    for kept in state.associations or ():
        associations = [Association.from_document(document) for document in kept["associations"]]
        local.aws.associations.restore(kept["accountId"], kept["region"], associations)
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


def terminate_node(state: LocalState, node_id: str) -> tuple[str, str, bool]:
    """Terminate managed node ``node_id`` in the running world and in the state's document; returns its account
    id, its region and whether it was running before (a terminated node stays terminated, as on EC2).

    An unknown node is a :class:`StateError` before anything changes. The node's ``InstanceStatus`` becomes
    ``Terminated`` as SSM reports it (every working sync of its account-region exports its
    ``AWS:InstanceInformation``); its other inventory files stay in the bucket.
    """
    from workflow.local.inventory import account_nodes

    scenario = parse(state)
    found = [
        (account, node)
        for account in scenario.accounts
        for region in sorted(account.instances)
        for node in account_nodes(account, region)
        if node.id == node_id
    ]
    if not found:
        raise StateError(f"no managed node {json.dumps(node_id)} in the local organization")
    account, node = found[0]
    if node.state == "terminated":
        return account.id, node.region, False
    document = copy.deepcopy(state.scenario)
    entry, _ = _find_account(document, account.id)
    entry["instances"] = [
        _node_document(node_id, each) for region in sorted(account.instances) for each in account_nodes(account, region)
    ]
    with open_world(state) as local:
        local.aws.terminate_node(node_id)
        _amend(state, document)
    return account.id, node.region, True


def _node_document(terminated_id: str, node: Any) -> dict[str, Any]:
    """A scenario's NODE entry for ``node`` (terminated if it is ``terminated_id``)."""
    document: dict[str, Any] = {
        "id": node.id,
        "region": node.region,
        "platform": node.platform,
        "state": "terminated" if node.id == terminated_id else node.state,
        "applications": [
            {"name": app.name, "version": app.version, **({"publisher": app.publisher} if app.publisher else {})}
            for app in node.applications
        ],
    }
    if node.inventory_age_days:
        document["inventoryAgeDays"] = node.inventory_age_days
    return document


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
