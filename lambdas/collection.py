"""Inventory collection in an account-region: the State Manager association that makes SSM Inventory collect.

A sync ships only what Inventory collects, and collection is an association with the ``AWS-GatherSoftwareInventory``
document (usually made by Quick Setup). Without one the sync is green and the account-region sends no software.
:func:`collection_status` says whether one exists and when it last ran (``ssm:ListAssociations`` filtered by document
name); :func:`ensure_collection` creates one targeting every managed node (``InstanceIds=*``) when none exists, and
never a second one (Quick Setup's, or anyone's, counts).

Example::

    >>> class Ssm:
    ...     def list_associations(self, **kwargs): return {"Associations": []}
    ...     def create_association(self, **kwargs): return {"AssociationDescription": {
    ...         "AssociationId": "a1", "AssociationName": kwargs["AssociationName"],
    ...         "ScheduleExpression": kwargs["ScheduleExpression"]}}
    >>> ensure_collection(Ssm(), "200000000001/us-east-1").to_dict()
    {'status': 'CREATED', 'associationId': 'a1', 'associationName': 'orgsync-inventory-collection', \
'schedule': 'rate(12 hours)', 'lastExecution': None}
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from lambdas import aws
from lambdas.errors import InvalidInput, OrgSyncError, Throttled
from lambdas.models import TargetItem

INVENTORY_DOCUMENT = "AWS-GatherSoftwareInventory"
DEFAULT_SCHEDULE = "rate(12 hours)"
ASSOCIATION_NAME = "orgsync-inventory-collection"
#: Every managed node of the account-region, as State Manager targets them.
ALL_MANAGED_NODES = [{"Key": "InstanceIds", "Values": ["*"]}]
LIST_PAGE_SIZE = 50

#: State Manager's schedules: ``rate(N minutes|hours|days)`` (at least 30 minutes) or a ``cron(...)`` expression.
_RATE = re.compile(r"^rate\((?P<n>[1-9]\d*) (?P<unit>minutes?|hours?|days?)\)$")
_CRON = re.compile(r"^(cron|at)\(.+\)$")


class Collection(StrEnum):
    """Whether inventory is collected in an account-region."""

    ASSOCIATED = "ASSOCIATED"
    """An ``AWS-GatherSoftwareInventory`` association exists (orgsync's or anyone's)."""
    CREATED = "CREATED"
    """None existed; orgsync created one (``ensureCollection``)."""
    NOT_COLLECTED = "NOT_COLLECTED"
    """None exists: the sync ships no software from here."""
    UNKNOWN = "UNKNOWN"
    """State Manager could not be asked (the member role predates the collection permissions, say)."""


@dataclass(frozen=True)
class CollectionStatus:
    """The collection status of one account-region."""

    status: Collection
    associationId: str | None = None
    associationName: str | None = None
    schedule: str | None = None
    lastExecution: str | None = None
    detail: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The report's ``collection`` field."""
        return {
            "status": str(self.status),
            "associationId": self.associationId,
            "associationName": self.associationName,
            "schedule": self.schedule,
            "lastExecution": self.lastExecution,
            **({"detail": self.detail} if self.detail else {}),
        }


def check_schedule(schedule: str) -> str:
    """``schedule`` if State Manager accepts it, else InvalidInput naming it.

    >>> check_schedule("rate(30 minutes)")
    'rate(30 minutes)'
    >>> check_schedule("rate(5 minutes)")
    Traceback (most recent call last):
    ...
    lambdas.errors.InvalidInput: collectionSchedule: 'rate(5 minutes)' is more often than every 30 minutes, \
State Manager's shortest interval
    """
    match = _RATE.match(schedule)
    if match:
        minutes = int(match["n"]) * {"m": 1, "h": 60, "d": 1440}[match["unit"][0]]
        if minutes < 30:
            raise InvalidInput(
                f"collectionSchedule: {schedule!r} is more often than every 30 minutes, "
                "State Manager's shortest interval"
            )
        return schedule
    if _CRON.match(schedule):
        return schedule
    raise InvalidInput(f"collectionSchedule: {schedule!r} is not rate(N minutes|hours|days) nor cron(...)")


def _when(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.isoformat()
    return None if value is None else str(value)


def _status(association: dict[str, Any], status: Collection) -> CollectionStatus:
    return CollectionStatus(
        status=status,
        associationId=association.get("AssociationId"),
        associationName=association.get("AssociationName"),
        schedule=association.get("ScheduleExpression"),
        lastExecution=_when(association.get("LastExecutionDate")),
    )


def inventory_associations(ssm: Any, where: str) -> list[dict[str, Any]]:
    """Every association of the account-region behind ``ssm`` with the inventory document (all pages)."""
    found: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {
            "AssociationFilterList": [{"key": "Name", "value": INVENTORY_DOCUMENT}],
            "MaxResults": LIST_PAGE_SIZE,
        }
        if token:
            kwargs["NextToken"] = token
        page = aws.call(f"ssm:ListAssociations in {where}", ssm.list_associations, **kwargs)
        found.extend(a for a in page.get("Associations", []) if a.get("Name") == INVENTORY_DOCUMENT)
        token = page.get("NextToken")
        if not token:
            return found


def collection_status(ssm: Any, where: str) -> CollectionStatus:
    """Whether an inventory association exists in the account-region, and when it last ran (the latest run of any).

    >>> class Ssm:
    ...     def list_associations(self, **kwargs): return {"Associations": [
    ...         {"Name": "AWS-GatherSoftwareInventory", "AssociationId": "qs", "ScheduleExpression": "rate(30 minutes)",
    ...          "LastExecutionDate": datetime(2026, 1, 1)}]}
    >>> collection_status(Ssm(), "200000000001/us-east-1").lastExecution
    '2026-01-01T00:00:00'
    """
    associations = inventory_associations(ssm, where)
    if not associations:
        return CollectionStatus(Collection.NOT_COLLECTED)
    latest = max(associations, key=lambda a: _when(a.get("LastExecutionDate")) or "")
    return _status(latest, Collection.ASSOCIATED)


def ensure_collection(ssm: Any, where: str, schedule: str = DEFAULT_SCHEDULE) -> CollectionStatus:
    """The collection status, after creating an inventory association if (and only if) none exists."""
    existing = collection_status(ssm, where)
    if existing.status is not Collection.NOT_COLLECTED:
        return existing
    created = aws.call(
        f"ssm:CreateAssociation in {where}",
        ssm.create_association,
        Name=INVENTORY_DOCUMENT,
        AssociationName=ASSOCIATION_NAME,
        Targets=ALL_MANAGED_NODES,
        ScheduleExpression=check_schedule(schedule),
    )
    return _status(created.get("AssociationDescription", {}), Collection.CREATED)


def collection_of(ssm: Any, item: TargetItem) -> dict[str, Any] | None:
    """The report's ``collection`` of ``item``: ensured in a rollout with ``ensureCollection``, looked up in a
    read-only mode (verify, plan).

    None in a mode that does not check (its spec's ``checks_collection``), and in a rollout without
    ``ensureCollection``. A failure to ask (other than
    throttling, which the state machine retries) is ``UNKNOWN`` with the reason: the sync's own outcome stands.
    """
    # Imported here: the registry imports every mode, and the modes build on lambdas.sync, which imports this.
    from lambdas.modes import spec_of

    run = item.run
    spec = spec_of(run.mode)
    if not spec.checks_collection:
        return None
    if not spec.read_only and not run.ensureCollection:
        # A rollout asks only when it may create the association: ListAssociations per account-region would be a
        # third of a rollout's calls. Verify (and plan) say whether inventory is collected everywhere.
        return None
    where = f"{item.accountId} {item.region}"
    try:
        if run.ensureCollection and not spec.read_only:
            return ensure_collection(ssm, where, run.collectionSchedule).to_dict()
        return collection_status(ssm, where).to_dict()
    except Throttled:
        raise
    except OrgSyncError as exc:
        return CollectionStatus(Collection.UNKNOWN, detail=str(exc)).to_dict()
