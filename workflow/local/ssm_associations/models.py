"""State Manager associations with AWS's rules, one backend per account and region (the calls orgsync makes).

Associations are what makes SSM Inventory collect (``AWS-GatherSoftwareInventory``). A backend is seeded from the
scenario the first time its account-region is reached (``inventoryAssociation``: Quick Setup's association, rate
30 minutes, run at the start), through an :class:`AssociationEnvironment` that ``workflow.local.aws.LocalAws``
provides. As on AWS, an association targeting the same document and nodes as another is accepted: nothing in the
API prevents a second inventory association, so orgsync must look before it creates one.

Example::

    >>> from datetime import UTC, datetime
    >>> class Env:
    ...     def now(self): return datetime(2026, 1, 1, tzinfo=UTC)
    ...     def seeded_documents(self, account_id, region): return ["AWS-GatherSoftwareInventory"]
    ...     def association_created(self, account_id, region, association): pass
    >>> backends = AssociationBackends(Env())
    >>> [a.name for a in backends.backend("200000000001", "us-east-1").list()[0]]
    ['AWS-GatherSoftwareInventory']
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from workflow.local.ssm_associations.exceptions import (
    InvalidDocument,
    InvalidNextToken,
    InvalidSchedule,
    InvalidTargets,
    ValidationException,
)

#: The AWS-owned documents the emulation knows (a document is needed to create an association).
KNOWN_DOCUMENTS = frozenset(
    {"AWS-GatherSoftwareInventory", "AWS-RunPatchBaseline", "AWS-UpdateSSMAgent", "AWS-ConfigureAWSPackage"}
)
FILTER_KEYS = (
    "InstanceId", "Name", "AssociationId", "AssociationStatusName", "LastExecutedBefore", "LastExecutedAfter",
    "AssociationName", "ResourceGroupName",
)  # fmt: skip
EMULATED_FILTER_KEYS = ("Name", "AssociationId", "AssociationName")
MAX_LIST_RESULTS = 50
MAX_TARGETS = 5
QUICK_SETUP_SCHEDULE = "rate(30 minutes)"
ASSOCIATION_NAME_RE = re.compile(r"^[a-zA-Z0-9_\-.]{3,128}$")
_RATE = re.compile(r"^rate\((?P<n>[1-9]\d*) (?P<unit>minutes?|hours?|days?)\)$")
_CRON = re.compile(r"^cron\((\S+\s+){4,5}\S+\)$|^at\(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\)$")


class AssociationEnvironment(Protocol):
    """What State Manager reaches outside itself: time, the scenario's seeded associations, collection."""

    def now(self) -> datetime:
        """The current (simulated) time."""
        ...

    def seeded_documents(self, account_id: str, region: str) -> Sequence[str]:
        """The documents of the associations in place before orgsync runs."""
        ...

    def association_created(self, account_id: str, region: str, association: Association) -> None:
        """A new association runs at once (SSM applies it on creation)."""
        ...


@dataclass
class Association:
    """One association of an account-region."""

    association_id: str
    name: str
    targets: list[dict[str, Any]]
    created: datetime
    association_name: str | None = None
    schedule: str | None = None
    last_execution: datetime | None = None
    parameters: dict[str, list[str]] = field(default_factory=dict)

    def overview(self) -> dict[str, Any]:
        if self.last_execution is None:
            return {"Status": "Pending", "DetailedStatus": "Creating"}
        return {"Status": "Success", "DetailedStatus": "Success", "AssociationStatusAggregatedCount": {"Success": 1}}

    def to_item(self) -> dict[str, Any]:
        """ListAssociations' ``Association``."""
        item: dict[str, Any] = {
            "Name": self.name,
            "AssociationId": self.association_id,
            "AssociationVersion": "1",
            "DocumentVersion": "$DEFAULT",
            "Targets": self.targets,
            "Overview": self.overview(),
        }
        if self.association_name:
            item["AssociationName"] = self.association_name
        if self.schedule:
            item["ScheduleExpression"] = self.schedule
        if self.last_execution is not None:
            item["LastExecutionDate"] = self.last_execution
        return item

    def to_document(self) -> dict[str, Any]:
        """The association as plain JSON (a lasting local state keeps it): :meth:`from_document` reads it back."""
        return {
            "associationId": self.association_id,
            "name": self.name,
            "targets": self.targets,
            "created": self.created.isoformat(),
            "associationName": self.association_name,
            "schedule": self.schedule,
            "lastExecution": self.last_execution.isoformat() if self.last_execution is not None else None,
            "parameters": self.parameters,
        }

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Association:
        """The association :meth:`to_document` wrote."""
        last = document.get("lastExecution")
        return cls(
            association_id=str(document["associationId"]),
            name=str(document["name"]),
            targets=[dict(target) for target in document["targets"]],
            created=datetime.fromisoformat(document["created"]),
            association_name=document.get("associationName"),
            schedule=document.get("schedule"),
            last_execution=datetime.fromisoformat(last) if last else None,
            parameters={key: list(values) for key, values in (document.get("parameters") or {}).items()},
        )

    def to_description(self) -> dict[str, Any]:
        """CreateAssociation's ``AssociationDescription``."""
        description = {
            **self.to_item(),
            "Date": self.created,
            "LastUpdateAssociationDate": self.created,
            "Status": {"Date": self.created, "Name": "Associated", "Message": "Associated with " + self.name},
            "Parameters": self.parameters,
            "ApplyOnlyAtCronInterval": False,
        }
        return description


def check_schedule(expression: str) -> None:
    """InvalidSchedule unless State Manager takes ``expression`` (rate at least 30 minutes, cron or at)."""
    match = _RATE.match(expression)
    if match:
        minutes = int(match["n"]) * {"m": 1, "h": 60, "d": 1440}[match["unit"][0]]
        if minutes >= 30:
            return
    elif _CRON.match(expression):
        return
    raise InvalidSchedule(expression)


class AssociationBackend:
    """The associations of one account-region (``seeded=False``: none from the scenario, e.g. when restored)."""

    def __init__(
        self, account_id: str, region: str, environment: AssociationEnvironment, *, seeded: bool = True
    ) -> None:
        self.account_id, self.region, self.environment = account_id, region, environment
        self.associations: dict[str, Association] = {}
        self._lock = threading.Lock()
        if not seeded:
            return
        for index, document in enumerate(environment.seeded_documents(account_id, region)):
            seed = f"{account_id}/{region}/{index}"
            suffix = hashlib.sha256(seed.encode()).hexdigest()[:5]
            association = Association(
                association_id=str(uuid.UUID(hashlib.sha256(seed.encode()).hexdigest()[:32])),
                name=document,
                targets=[{"Key": "InstanceIds", "Values": ["*"]}],
                created=environment.now(),
                association_name=f"AWS-QuickSetup-SSM-CollectInventory-{suffix}",
                schedule=QUICK_SETUP_SCHEDULE,
                last_execution=environment.now(),
            )
            self.associations[association.association_id] = association

    def create(
        self,
        name: str,
        targets: list[dict[str, Any]] | None = None,
        schedule: str | None = None,
        association_name: str | None = None,
        parameters: Mapping[str, list[str]] | None = None,
    ) -> Association:
        """CreateAssociation (targets-based)."""
        if name not in KNOWN_DOCUMENTS:
            raise InvalidDocument(f"Document {name} does not exist.")
        if not targets:
            raise InvalidTargets("Targets must be specified (the emulation does not take the legacy InstanceId).")
        if len(targets) > MAX_TARGETS or any(not t.get("Key") or not t.get("Values") for t in targets):
            raise InvalidTargets("Targets must be 1-5 entries each with a Key and Values.")
        if schedule is not None:
            check_schedule(schedule)
        if association_name is not None and not ASSOCIATION_NAME_RE.match(association_name):
            raise ValidationException(
                f"1 validation error detected: Value '{association_name}' at 'associationName' failed to satisfy "
                "constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9_\\-.]{3,128}$"
            )
        now = self.environment.now()
        association = Association(
            association_id=str(uuid.uuid4()),
            name=name,
            targets=[dict(t) for t in targets],
            created=now,
            association_name=association_name,
            schedule=schedule,
            # State Manager applies a new association at once; the run is recorded as its first execution.
            last_execution=now,
            parameters=dict(parameters or {}),
        )
        with self._lock:
            self.associations[association.association_id] = association
        self.environment.association_created(self.account_id, self.region, association)
        return association

    def list(
        self,
        filters: Sequence[Mapping[str, str]] | None = None,
        next_token: str | None = None,
        max_results: int | None = None,
    ) -> tuple[list[Association], str | None]:
        """ListAssociations: one page of the associations matching every filter, and the next token."""
        if max_results is not None and not 1 <= max_results <= MAX_LIST_RESULTS:
            raise ValidationException(
                f"1 validation error detected: Value '{max_results}' at 'maxResults' failed to satisfy constraint: "
                f"Member must have value between 1 and {MAX_LIST_RESULTS}"
            )
        for item in filters or ():
            key = item.get("key")
            if key not in FILTER_KEYS:
                raise ValidationException(f"Invalid filter key {key!r} (valid: {', '.join(FILTER_KEYS)})")
            if key not in EMULATED_FILTER_KEYS:
                raise ValidationException(f"filter key {key!r} is not emulated locally")
        attribute = {"Name": "name", "AssociationId": "association_id", "AssociationName": "association_name"}
        with self._lock:
            matching = [
                a
                for a in self.associations.values()
                if all(getattr(a, attribute[f["key"]]) == f.get("value") for f in filters or ())
            ]
        matching.sort(key=lambda a: (a.created, a.association_id))
        start = _decode_token(next_token) if next_token else 0
        size = max_results or MAX_LIST_RESULTS
        page = matching[start : start + size]
        end = start + len(page)
        return page, (_encode_token(end) if end < len(matching) else None)


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_token(token: str) -> int:
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise InvalidNextToken() from exc
    if not isinstance(offset, int) or offset < 0:
        raise InvalidNextToken()
    return offset


class AssociationBackends:
    """Every account-region's backend, made (and seeded) the first time it is reached."""

    def __init__(self, environment: AssociationEnvironment) -> None:
        self.environment = environment
        self._backends: dict[tuple[str, str], AssociationBackend] = {}
        self._lock = threading.Lock()

    def backend(self, account_id: str, region: str) -> AssociationBackend:
        with self._lock:
            key = (account_id, region)
            if key not in self._backends:
                self._backends[key] = AssociationBackend(account_id, region, self.environment)
            return self._backends[key]

    def __getitem__(self, account_id: str) -> _AccountView:
        return _AccountView(self, account_id)

    def reached(self) -> list[AssociationBackend]:
        """The backends made so far (those not reached yet hold only what the scenario seeds), by account-region."""
        with self._lock:
            return [self._backends[key] for key in sorted(self._backends)]

    def restore(self, account_id: str, region: str, associations: Sequence[Association]) -> AssociationBackend:
        """Give the account-region exactly ``associations`` (as kept by a lasting state), seeding nothing.

        >>> from datetime import UTC, datetime
        >>> class Env:
        ...     def now(self): return datetime(2026, 1, 1, tzinfo=UTC)
        ...     def seeded_documents(self, account_id, region): return ["AWS-GatherSoftwareInventory"]
        >>> backends = AssociationBackends(Env())
        >>> backends.restore("200000000001", "us-east-1", []).associations
        {}
        """
        backend = AssociationBackend(account_id, region, self.environment, seeded=False)
        backend.associations = {association.association_id: association for association in associations}
        with self._lock:
            self._backends[(account_id, region)] = backend
        return backend

    def collects(self, account_id: str, region: str, document: str = "AWS-GatherSoftwareInventory") -> bool:
        """Whether an association with ``document`` exists in the account-region."""
        return any(a.name == document for a in self.backend(account_id, region).associations.values())


class _AccountView:
    def __init__(self, backends: AssociationBackends, account_id: str) -> None:
        self.backends, self.account_id = backends, account_id

    def __getitem__(self, region: str) -> AssociationBackend:
        return self.backends.backend(self.account_id, region)
