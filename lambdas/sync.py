"""One account-region's resource data syncs: list (paged), classify, and create or replace orgsync's sync.

Decisions come from the listing, never from an error code (aws-facts: the error of a second organization-based
sync is unknown). If a create fails anyway (a race, an unknown code), the account-region is listed again and
classified once more; only what is still unexplained becomes FAILED with the AWS error. A sync with another
name than ``syncName`` is never touched; ours is deleted only to replace it, only with ``onConflict=replace``.

Example::

    >>> syncs = [ExistingSync("InspectorResourceDataSync-do-not-delete", "insp-bucket", "p", "us-east-1", None, True)]
    >>> classify(syncs, "org-inventory", Destination("acme-inventory", "us-east-1", "default")).finding.value
    'SLOT_TAKEN'
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from lambdas import aws, clock
from lambdas.aws import AccessDenied, AwsCallFailed, RegionDisabled
from lambdas.models import Destination, Mode, OnConflict, Status, TargetItem, s3_url

#: SSM's documented limit of resource data syncs per account and region.
SYNC_QUOTA = 5
ORGANIZATION_SHARING = "Organization"
SYNC_FORMAT = "JsonSerDe"
LIST_PAGE_SIZE = 50
#: The SyncType filters orgsync lists with: AWS's default (None) and SyncFromSource (see list_syncs).
LIST_SYNC_TYPES: tuple[str | None, ...] = (None, "SyncFromSource")
ALREADY_EXISTS = "ResourceDataSyncAlreadyExistsException"
NOT_FOUND = "ResourceDataSyncNotFoundException"


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


def list_syncs(ssm: Any, where: str) -> list[ExistingSync]:
    """Every resource data sync of the account-region behind ``ssm`` (all pages, every type; throttling retried).

    Whether ListResourceDataSync without ``SyncType`` lists every type or only SyncToDestination syncs is not
    documented, and a SyncFromSource sync takes one of the five slots too: listing both ways and merging by name
    sees every sync either way.
    """
    found: dict[str, ExistingSync] = {}
    for sync_type in LIST_SYNC_TYPES:
        for sync in _list_pages(ssm, where, sync_type):
            found.setdefault(sync.name, sync)
    return list(found.values())


def _list_pages(ssm: Any, where: str, sync_type: str | None) -> Iterator[ExistingSync]:
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"MaxResults": LIST_PAGE_SIZE}
        if sync_type:
            kwargs["SyncType"] = sync_type
        if token:
            kwargs["NextToken"] = token
        page = aws.call(f"ssm:ListResourceDataSync in {where}", ssm.list_resource_data_sync, **kwargs)
        yield from (ExistingSync.from_item(raw) for raw in page.get("ResourceDataSyncItems", []))
        token = page.get("NextToken")
        if not token:
            return


def s3_destination(destination: Destination) -> dict[str, Any]:
    """The ``S3Destination`` of orgsync's sync (organization-shared, JsonSerDe)."""
    s3: dict[str, Any] = {
        "BucketName": destination.bucket,
        "Prefix": destination.prefix,
        "SyncFormat": SYNC_FORMAT,
        "Region": destination.region,
        "DestinationDataSharing": {"DestinationDataSharingType": ORGANIZATION_SHARING},
    }
    if destination.kmsKeyArn:
        s3["AWSKMSKeyARN"] = destination.kmsKeyArn
    return s3


@dataclass(frozen=True)
class Reconciled:
    """What ``Reconcile sync`` found or did: a partial outcome plus what the marker check needs."""

    status: Status
    detail: str
    existingSync: dict[str, Any] | list[dict[str, Any]] | None = None
    #: A lower bound of the sync's creation time (taken just before CreateResourceDataSync), for new syncs.
    syncCreatedTime: datetime | None = None
    #: When the account-region was reconciled: the marker deadline counts from here.
    reconciledAt: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form returned to the state machine."""
        return {
            "status": str(self.status),
            "detail": self.detail,
            "existingSync": self.existingSync,
            "syncCreatedTime": self.syncCreatedTime.isoformat() if self.syncCreatedTime else None,
            "reconciledAt": self.reconciledAt.isoformat() if self.reconciledAt else None,
        }


def blocked_by(
    classification: Classification, *, nothing_changed: bool = False
) -> tuple[Status, str, dict[str, Any] | list[dict[str, Any]]] | None:
    """(status, detail, existingSync) when another sync is in the way: CONFLICT or QUOTA_EXCEEDED, else None.

    CONFLICT: a foreign organization-based sync holds the region's only slot; QUOTA_EXCEEDED: the quota is full.
    ``nothing_changed`` adds that nothing was changed, for the mode that would have changed something (rollout).

    >>> two = tuple(ExistingSync(f"team-{i}", "b", "p", "us-east-1", None, False) for i in range(2))
    >>> status, detail, existing = blocked_by(Classification(Finding.QUOTA_FULL, two))
    >>> detail
    '2 resource data syncs exist (team-0, team-1); the quota is 5.'
    """
    if classification.finding is Finding.SLOT_TAKEN:
        holder = classification.holder
        assert holder is not None
        return (
            Status.CONFLICT,
            f"The organization-based sync {holder.name} ({holder.where}) holds the region's only organization "
            f"slot{'; nothing was changed.' if nothing_changed else '.'}",
            holder.describe(),
        )
    if classification.finding is Finding.QUOTA_FULL:
        syncs = classification.syncs
        names = ", ".join(s.name for s in syncs)
        return (
            Status.QUOTA_EXCEEDED,
            f"{len(syncs)} resource data syncs exist ({names}); the quota is {SYNC_QUOTA}"
            f"{' per account and region. Nothing was changed.' if nothing_changed else '.'}",
            [s.describe() for s in syncs],
        )
    return None


def denials_as_outcomes(started: datetime, reconcile: Callable[[], Reconciled]) -> Reconciled:
    """``reconcile()``, with AccessDenied and RegionDisabled turned into outcomes reconciled at ``started``.

    Every mode answers a member role lacking a permission with ACCESS_DENIED, a region not enabled with
    REGION_DISABLED.
    """
    try:
        return reconcile()
    except AccessDenied as exc:
        return Reconciled(Status.ACCESS_DENIED, f"{exc}. The member role lacks this permission.", reconciledAt=started)
    except RegionDisabled as exc:
        return Reconciled(Status.REGION_DISABLED, str(exc), reconciledAt=started)


def _found(classification: Classification, item: TargetItem) -> Reconciled | None:
    """The outcome a classification decides by itself (None: create)."""
    run, where = item.run, item.run.destination.where
    finding = classification.finding
    if finding is Finding.OURS_SAME:
        return Reconciled(Status.IN_SYNC, f"{run.syncName} already writes to {where}.")
    in_the_way = blocked_by(classification, nothing_changed=True)
    if in_the_way is not None:
        return Reconciled(*in_the_way)
    if finding is Finding.OURS_ELSEWHERE:
        ours = classification.ours
        assert ours is not None
        if run.onConflict is OnConflict.REPORT:
            return Reconciled(
                Status.CONFLICT,
                f"{run.syncName} writes to {ours.where} in {ours.region or '?'}"
                f"{'' if ours.organizationShared else ' without organization sharing'}, not to {where}; "
                f"onConflict is report, so it was left as is.",
                ours.describe(),
            )
        if classification.holder is not None:
            holder = classification.holder
            return Reconciled(
                Status.CONFLICT,
                f"{run.syncName} writes to {ours.where}, and the organization-based sync {holder.name} "
                f"({holder.where}) holds the only organization slot: replacing ours would not succeed, so "
                f"nothing was changed.",
                holder.describe(),
            )
    return None


def _create(ssm: Any, item: TargetItem, where: str) -> datetime:
    created = clock.now()
    aws.call(
        f"ssm:CreateResourceDataSync in {where}",
        ssm.create_resource_data_sync,
        SyncName=item.run.syncName,
        S3Destination=s3_destination(item.run.destination),
    )
    return created


def reconcile_rollout(ssm: Any, item: TargetItem) -> Reconciled:
    """Bring one account-region to "our sync writes to the destination", or say why not.

    Raises ``Throttled`` (after boto's retries) and ``S3WriteFailed`` for the state machine to retry;
    ``AccessDenied`` and ``RegionDisabled`` are returned as outcomes.

    Example (with the local SSM emulation)::

        reconcile_rollout(session.client("ssm", region_name="us-east-1"), item).status  # Status.CREATED
    """
    started = clock.now()
    return denials_as_outcomes(started, lambda: _rollout(ssm, item, started))


def _rollout(ssm: Any, item: TargetItem, started: datetime) -> Reconciled:
    where = f"{item.accountId} {item.region}"
    classification = classify(list_syncs(ssm, where), item.run.syncName, item.run.destination)
    decided = _found(classification, item)
    if decided is not None:
        return _stamp(decided, started)
    status = Status.CREATED
    detail = f"Created {item.run.syncName} writing to {item.run.destination.where} with organization sharing."
    existing: dict[str, Any] | None = None
    if classification.finding is Finding.OURS_ELSEWHERE:
        ours = classification.ours
        assert ours is not None
        delete_sync(ssm, item.run.syncName, where)  # gone already (a concurrent run): what we wanted
        status = Status.REPLACED
        existing = ours.describe()
        detail = (
            f"{item.run.syncName} wrote to {ours.where}; it was deleted and created anew writing to "
            f"{item.run.destination.where} (onConflict=replace)."
        )
    try:
        created = _create(ssm, item, where)
    except AwsCallFailed as exc:
        return _stamp(_after_failed_create(ssm, item, where, exc), started)
    return Reconciled(status, detail, existing, syncCreatedTime=created, reconciledAt=started)


def _stamp(reconciled: Reconciled, started: datetime) -> Reconciled:
    return Reconciled(
        reconciled.status, reconciled.detail, reconciled.existingSync, reconciled.syncCreatedTime, started
    )


def delete_sync(ssm: Any, sync_name: str, where: str) -> bool:
    """Delete the sync ``sync_name`` (throttling retried); False when it was already gone (a concurrent run)."""
    try:
        aws.call(f"ssm:DeleteResourceDataSync in {where}", ssm.delete_resource_data_sync, SyncName=sync_name)
    except AwsCallFailed as exc:
        if exc.code != NOT_FOUND:
            raise
        return False
    return True


def _after_failed_create(ssm: Any, item: TargetItem, where: str, error: AwsCallFailed) -> Reconciled:
    """A create failed with an error we have no rule for: list again and let the listing decide."""
    classification = classify(list_syncs(ssm, where), item.run.syncName, item.run.destination)
    if classification.finding is Finding.OURS_SAME:
        return Reconciled(
            Status.IN_SYNC,
            f"{item.run.syncName} already writes to {item.run.destination.where} (created concurrently; "
            f"our create said {error.code}).",
        )
    decided = _found(classification, item)
    if decided is not None and classification.finding is not Finding.OURS_ELSEWHERE:
        return decided
    return Reconciled(
        Status.FAILED,
        f"{error}. Listing the syncs again did not explain it; fix the cause and rerun.",
        [s.describe() for s in classification.syncs] or None,
    )


#: How each mode reconciles one account-region (issue 6 adds verify and teardown here).
RECONCILERS: dict[Mode, Callable[[Any, TargetItem], Reconciled]] = {Mode.ROLLOUT: reconcile_rollout}


def member_role_arn(item: TargetItem) -> str:
    """The member role orgsync assumes in ``item``'s account."""
    return f"arn:aws:iam::{item.accountId}:role/{item.run.memberRoleName}"


def reconcile(item: TargetItem, ssm_factory: Callable[[TargetItem], Any]) -> Reconciled:
    """Reconcile ``item`` in its mode, with the SSM client ``ssm_factory`` makes (assuming the member role).

    A role that cannot be assumed is ACCESS_DENIED, naming the role.

    Example::

        reconcile(item, lambda item: member_ssm(clients, item)).to_dict()
    """
    started = clock.now()
    try:
        ssm = ssm_factory(item)
    except AccessDenied as exc:
        return Reconciled(
            Status.ACCESS_DENIED,
            f"{exc}. Deploy {item.run.memberRoleName} to account {item.accountId} (the StackSet) or fix its trust "
            f"policy.",
            reconciledAt=started,
        )
    return RECONCILERS[item.run.mode](ssm, item)


def member_ssm(clients: aws.ClientProvider, item: TargetItem) -> Any:
    """An SSM client in ``item``'s account-region, with the member role's cached credentials."""
    return clients.assuming(member_role_arn(item), item.run.executionName).client("ssm", item.region)
