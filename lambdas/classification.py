"""What an account-region's syncs mean, and what each mode decides about them: one place, typed decisions.

A listing (``ListResourceDataSync``) is read into :class:`ExistingSync` objects and classified once
(:func:`classify`: a :class:`Finding` with the syncs it is about). Each mode then turns the classification into
a :class:`Decision`: the status it reports, the detail, the sync(s) to name, and the one :class:`Action` to take
(create, replace, delete or nothing). The mode's module (:mod:`lambdas.sync`, :mod:`lambdas.verify`,
:mod:`lambdas.teardown`) carries the action out; nothing here calls AWS.

Decisions come from the listing, never from an error code: the error of a second organization-based sync is
undocumented. A sync with another name than ``syncName`` is never touched; ours is deleted only to replace it
(rollout, ``onConflict=replace``) or by teardown when it writes into our bucket and prefix.

Example::

    >>> dest = Destination("acme-inventory", "us-east-1", "default")
    >>> syncs = [ExistingSync("InspectorResourceDataSync-do-not-delete", "insp-bucket", "p", "us-east-1", None, True)]
    >>> classify(syncs, "org-inventory", dest).finding.value
    'SLOT_TAKEN'
    >>> decision = decide_rollout(classify([], "org-inventory", dest), "org-inventory", dest, OnConflict.REPORT)
    >>> decision.status.value, decision.action.value
    ('CREATED', 'CREATE')
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from lambdas.models import Destination, OnConflict, Status, s3_url

#: SSM's documented limit of resource data syncs per account and region.
SYNC_QUOTA = 5
ORGANIZATION_SHARING = "Organization"
#: ``LastStatus`` values of a working sync (``InProgress``: its first run has not finished yet; absent: new).
HEALTHY_LAST_STATUSES = frozenset({"Successful", "InProgress", None})

ExistingSyncs = dict[str, Any] | list[dict[str, Any]] | None


@dataclass(frozen=True)
class ExistingSync:
    """A resource data sync as ListResourceDataSync shows it (the parts orgsync decides on)."""

    name: str
    bucket: str
    prefix: str
    region: str
    kmsKeyArn: str | None
    organizationShared: bool
    created: datetime | None = None
    lastStatus: str | None = None
    lastStatusMessage: str | None = None

    @classmethod
    def from_item(cls, raw: dict[str, Any]) -> ExistingSync:
        """Read a ``ResourceDataSyncItem``."""
        destination = raw.get("S3Destination") or {}
        sharing = (destination.get("DestinationDataSharing") or {}).get("DestinationDataSharingType")
        return cls(
            name=str(raw.get("SyncName", "")),
            bucket=str(destination.get("BucketName", "")),
            prefix=str(destination.get("Prefix") or ""),
            region=str(destination.get("Region", "")),
            kmsKeyArn=destination.get("AWSKMSKeyARN") or None,
            organizationShared=sharing == ORGANIZATION_SHARING,
            created=raw.get("SyncCreatedTime"),
            lastStatus=raw.get("LastStatus"),
            lastStatusMessage=raw.get("LastSyncStatusMessage"),
        )

    def writes_to(self, destination: Destination) -> bool:
        """True when this sync is an organization-based sync to exactly ``destination``."""
        return (
            self.organizationShared
            and self.bucket == destination.bucket
            and self.prefix == destination.prefix
            and self.region == destination.region
            and (self.kmsKeyArn or None) == (destination.kmsKeyArn or None)
        )

    def describe(self) -> dict[str, Any]:
        """The ``existingSync`` form of the report: name, bucket, prefix (and region, sharing)."""
        return {
            "name": self.name,
            "bucket": self.bucket,
            "prefix": self.prefix,
            "region": self.region,
            "organizationShared": self.organizationShared,
        }

    @property
    def where(self) -> str:
        """``s3://bucket/prefix`` for messages."""
        return s3_url(self.bucket, self.prefix)


class Finding(StrEnum):
    """What the listing of an account-region says about orgsync's sync."""

    ABSENT = "ABSENT"  # nothing in the way: create
    OURS_SAME = "OURS_SAME"  # ours, same destination
    OURS_ELSEWHERE = "OURS_ELSEWHERE"  # ours, another destination (or not organization-shared, other KMS key)
    SLOT_TAKEN = "SLOT_TAKEN"  # another organization-based sync holds the only slot
    QUOTA_FULL = "QUOTA_FULL"  # five syncs already


@dataclass(frozen=True)
class Classification:
    """A finding with the syncs it is about."""

    finding: Finding
    syncs: tuple[ExistingSync, ...]
    ours: ExistingSync | None = None
    holder: ExistingSync | None = None


def classify(syncs: list[ExistingSync], sync_name: str, destination: Destination) -> Classification:
    """Classify an account-region's syncs for a sync named ``sync_name`` writing to ``destination``.

    >>> classify([], "org-inventory", Destination("acme-inventory", "us-east-1", "default")).finding.value
    'ABSENT'
    """
    listed = tuple(syncs)
    ours = next((s for s in syncs if s.name == sync_name), None)
    holder = next((s for s in syncs if s.organizationShared and s.name != sync_name), None)
    if ours is not None:
        if ours.writes_to(destination):
            return Classification(Finding.OURS_SAME, listed, ours=ours)
        return Classification(Finding.OURS_ELSEWHERE, listed, ours=ours, holder=holder)
    if holder is not None:
        return Classification(Finding.SLOT_TAKEN, listed, holder=holder)
    if len(syncs) >= SYNC_QUOTA:
        return Classification(Finding.QUOTA_FULL, listed)
    return Classification(Finding.ABSENT, listed)


class Action(StrEnum):
    """The one change a decision asks for in the account-region."""

    NONE = "NONE"
    CREATE = "CREATE"  # create our sync
    REPLACE = "REPLACE"  # delete our sync that points elsewhere, then create it anew
    DELETE = "DELETE"  # delete our sync (teardown)


@dataclass(frozen=True)
class Decision:
    """What a mode decided for one account-region: the status to report and the action that gets there."""

    status: Status
    detail: str
    existingSync: ExistingSyncs = None
    action: Action = Action.NONE


def blocked_by(classification: Classification, *, nothing_changed: bool = False) -> Decision | None:
    """CONFLICT or QUOTA_EXCEEDED when another sync is in the way, else None.

    CONFLICT: a foreign organization-based sync holds the region's only slot; QUOTA_EXCEEDED: the quota is full.
    ``nothing_changed`` adds that nothing was changed, for the mode that would have changed something (rollout).

    >>> two = tuple(ExistingSync(f"team-{i}", "b", "p", "us-east-1", None, False) for i in range(2))
    >>> blocked_by(Classification(Finding.QUOTA_FULL, two)).detail
    '2 resource data syncs exist (team-0, team-1); the quota is 5.'
    """
    if classification.finding is Finding.SLOT_TAKEN:
        holder = classification.holder
        assert holder is not None
        return Decision(
            Status.CONFLICT,
            f"The organization-based sync {holder.name} ({holder.where}) holds the region's only organization "
            f"slot{'; nothing was changed.' if nothing_changed else '.'}",
            holder.describe(),
        )
    if classification.finding is Finding.QUOTA_FULL:
        syncs = classification.syncs
        names = ", ".join(s.name for s in syncs)
        return Decision(
            Status.QUOTA_EXCEEDED,
            f"{len(syncs)} resource data syncs exist ({names}); the quota is {SYNC_QUOTA}"
            f"{' per account and region. Nothing was changed.' if nothing_changed else '.'}",
            [s.describe() for s in syncs],
        )
    return None


def decide_rollout(
    classification: Classification, sync_name: str, destination: Destination, on_conflict: OnConflict
) -> Decision:
    """What a rollout does: create, replace (ours elsewhere, ``onConflict=replace``, the slot free) or nothing.

    >>> dest = Destination("acme-inventory", "us-east-1", "default")
    >>> old = ExistingSync("org-inventory", "old-bucket", "default", "us-east-1", None, True)
    >>> decide_rollout(classify([old], "org-inventory", dest), "org-inventory", dest, OnConflict.REPLACE).action
    <Action.REPLACE: 'REPLACE'>
    """
    where = destination.where
    finding = classification.finding
    if finding is Finding.OURS_SAME:
        return Decision(Status.IN_SYNC, f"{sync_name} already writes to {where}.")
    in_the_way = blocked_by(classification, nothing_changed=True)
    if in_the_way is not None:
        return in_the_way
    if finding is Finding.ABSENT:
        return Decision(
            Status.CREATED, f"Created {sync_name} writing to {where} with organization sharing.", action=Action.CREATE
        )
    ours = classification.ours
    assert ours is not None  # OURS_ELSEWHERE
    if on_conflict is OnConflict.REPORT:
        return Decision(
            Status.CONFLICT,
            f"{sync_name} writes to {ours.where} in {ours.region or '?'}"
            f"{'' if ours.organizationShared else ' without organization sharing'}, not to {where}; "
            f"onConflict is report, so it was left as is.",
            ours.describe(),
        )
    holder = classification.holder
    if holder is not None:
        return Decision(
            Status.CONFLICT,
            f"{sync_name} writes to {ours.where}, and the organization-based sync {holder.name} "
            f"({holder.where}) holds the only organization slot: replacing ours would not succeed, so "
            f"nothing was changed.",
            holder.describe(),
        )
    return Decision(
        Status.REPLACED,
        f"{sync_name} wrote to {ours.where}; it was deleted and created anew writing to {where} "
        f"(onConflict=replace).",
        ours.describe(),
        action=Action.REPLACE,
    )


def decide_after_failed_create(
    classification: Classification, sync_name: str, destination: Destination, error_code: str, error: str
) -> Decision:
    """A create failed with an error we have no rule for: the listing taken again decides, else FAILED.

    Only what the listing explains by itself counts (ours in place, another sync in the way); anything that
    would need another write is FAILED with the AWS error.
    """
    if classification.finding is Finding.OURS_SAME:
        return Decision(
            Status.IN_SYNC,
            f"{sync_name} already writes to {destination.where} (created concurrently; our create said {error_code}).",
        )
    in_the_way = blocked_by(classification, nothing_changed=True)
    if in_the_way is not None:
        return in_the_way
    return Decision(
        Status.FAILED,
        f"{error}. Listing the syncs again did not explain it; fix the cause and rerun.",
        [s.describe() for s in classification.syncs] or None,
    )


def _how_ours_differs(ours: ExistingSync, destination: Destination) -> str:
    differences = []
    if (ours.bucket, ours.prefix) != (destination.bucket, destination.prefix):
        differences.append(f"writes to {ours.where}, not {destination.where}")
    if ours.region != destination.region:
        differences.append(f"names bucket region {ours.region or '?'}, not {destination.region}")
    if (ours.kmsKeyArn or None) != (destination.kmsKeyArn or None):
        differences.append(f"uses KMS key {ours.kmsKeyArn or 'none'}, not {destination.kmsKeyArn or 'none'}")
    if not ours.organizationShared:
        differences.append("has no DestinationDataSharing=Organization")
    return "; ".join(differences) or "differs from the destination"


def decide_verify(classification: Classification, sync_name: str, destination: Destination) -> Decision:
    """What verify reports (it changes nothing): MISSING exactly where a rollout would create, DRIFTED where it
    would report a conflict on our own sync or replace it. An IN_SYNC decision is then judged by its marker.

    Our sync pointing elsewhere is DRIFTED before it is judged healthy or not: where the data goes comes first.

    >>> dest = Destination("acme-inventory", "us-east-1", "default")
    >>> decide_verify(classify([], "org-inventory", dest), "org-inventory", dest).status
    <Status.MISSING: 'MISSING'>
    """
    finding = classification.finding
    ours = classification.ours
    if finding is Finding.OURS_SAME:
        assert ours is not None
        if ours.lastStatus not in HEALTHY_LAST_STATUSES:
            message = ours.lastStatusMessage or "no LastSyncStatusMessage"
            return Decision(
                Status.UNHEALTHY,
                f"{sync_name} writes to {destination.where} but its LastStatus is {ours.lastStatus}: {message}",
                ours.describe(),
            )
        return Decision(
            Status.IN_SYNC, f"{sync_name} writes to {destination.where}; LastStatus {ours.lastStatus or 'not yet'}."
        )
    if finding is Finding.OURS_ELSEWHERE:
        assert ours is not None
        holder = classification.holder
        blocked = (
            f" The organization-based sync {holder.name} ({holder.where}) also holds the region's only slot."
            if holder is not None
            else ""
        )
        return Decision(
            Status.DRIFTED, f"{sync_name} {_how_ours_differs(ours, destination)}.{blocked}", ours.describe()
        )
    in_the_way = blocked_by(classification)
    if in_the_way is not None:
        return in_the_way
    return Decision(Status.MISSING, f"No sync named {sync_name}: a rollout would create it.")


def decide_teardown(syncs: list[ExistingSync], sync_name: str, bucket: str, prefix: str) -> Decision:
    """What teardown does: delete only the sync named ``sync_name`` writing to ``bucket``/``prefix``.

    Bucket and prefix decide (not region, KMS key or sharing): a sync writing into our data is ours to remove,
    one writing anywhere else is not, whatever its name.

    >>> ours = ExistingSync("org-inventory", "acme-inventory", "default", "us-east-1", None, True)
    >>> decide_teardown([ours], "org-inventory", "acme-inventory", "default").action
    <Action.DELETE: 'DELETE'>
    >>> decide_teardown([ours], "org-inventory", "other-bucket", "default").status
    <Status.NOT_OURS: 'NOT_OURS'>
    """
    ours = next((s for s in syncs if s.name == sync_name), None)
    if ours is None:
        return Decision(Status.NOT_FOUND, f"No sync named {sync_name}; nothing to delete.")
    if (ours.bucket, ours.prefix.strip("/")) != (bucket, prefix.strip("/")):
        return Decision(
            Status.NOT_OURS,
            f"{sync_name} writes to {ours.where}, not {s3_url(bucket, prefix)}: it is not orgsync's and was kept.",
            ours.describe(),
        )
    return Decision(
        Status.DELETED,
        f"Deleted {sync_name} (it wrote to {ours.where}); the data in the bucket stays.",
        ours.describe(),
        action=Action.DELETE,
    )
