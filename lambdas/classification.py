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

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from lambdas.models import Destination, OnConflict, Status, s3_url

#: SSM's documented limit of resource data syncs per account and region.
SYNC_QUOTA = 5
ORGANIZATION_SHARING = "Organization"
#: ``LastStatus`` values of a working sync (``InProgress``: its first run has not finished yet; absent: new).
HEALTHY_LAST_STATUSES = frozenset({"Successful", "InProgress", None})

ExistingSyncs = dict[str, Any] | list[dict[str, Any]] | None

#: Syncs AWS services create and rely on, by exact name: never counted as deletable, blamed or suggested for removal.
AWS_MANAGED_SYNC_NAMES: dict[str, str] = {
    "InspectorResourceDataSync-do-not-delete": "Amazon Inspector",
    # The "AWS managed resource data sync" of the Systems Manager unified console (Quick Setup); ListNodes reads it.
    "AWS-QuickSetup-ManagedNode": "Systems Manager unified console (Quick Setup)",
}
#: ... and by name prefix: License Manager's cross-account discovery creates ``license-manager-resource-data-sync-
#: for-cross-account-discovery``, ``license-manager-cross-account-discovery-v2``, ``...-for-del-admin<id>`` and
#: ``...-for-del-admin-v2``, some deleted and recreated periodically (docs/migration.md: names AWS Support gave).
AWS_MANAGED_SYNC_PREFIXES: dict[str, str] = {"license-manager-": "AWS License Manager"}


def aws_managed_by(sync_name: str) -> str | None:
    """The AWS service that owns a sync of this name, or None when it is not AWS-managed.

    >>> aws_managed_by("InspectorResourceDataSync-do-not-delete"), aws_managed_by("team-inventory")
    ('Amazon Inspector', None)
    >>> aws_managed_by("license-manager-cross-account-discovery-v2")
    'AWS License Manager'
    """
    if sync_name in AWS_MANAGED_SYNC_NAMES:
        return AWS_MANAGED_SYNC_NAMES[sync_name]
    return next((svc for prefix, svc in AWS_MANAGED_SYNC_PREFIXES.items() if sync_name.startswith(prefix)), None)


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
    #: The ``ResourceDataSyncItem`` as listed: what :meth:`create_arguments` recreates the sync from, exactly.
    item: dict[str, Any] | None = field(default=None, compare=False, repr=False)

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
            item=copy.deepcopy(raw),
        )

    def create_arguments(self) -> dict[str, Any]:
        """The ``CreateResourceDataSync`` arguments that make this sync again exactly as it was listed: its name,
        type, destination (bucket, prefix, format, region, KMS key, sharing) and source (a SyncFromSource sync).

        A sync not read from a listing is recreated from its fields (JsonSerDe, the only format).

        >>> old = ExistingSync("org-inventory", "old-bucket", "p", "us-east-1", "arn:aws:kms:us-east-1:1:key/k", True)
        >>> old.create_arguments()["S3Destination"]["AWSKMSKeyARN"]
        'arn:aws:kms:us-east-1:1:key/k'
        >>> listed = {"SyncName": "s", "SyncType": "SyncToDestination", "LastStatus": "Successful",
        ...           "S3Destination": {"BucketName": "b", "SyncFormat": "JsonSerDe", "Region": "us-east-1"}}
        >>> sorted(ExistingSync.from_item(listed).create_arguments())
        ['S3Destination', 'SyncName', 'SyncType']
        """
        if self.item is None:
            s3: dict[str, Any] = {"BucketName": self.bucket, "SyncFormat": "JsonSerDe", "Region": self.region}
            if self.prefix:
                s3["Prefix"] = self.prefix
            if self.kmsKeyArn:
                s3["AWSKMSKeyARN"] = self.kmsKeyArn
            if self.organizationShared:
                s3["DestinationDataSharing"] = {"DestinationDataSharingType": ORGANIZATION_SHARING}
            return {"SyncName": self.name, "S3Destination": s3}
        arguments: dict[str, Any] = {"SyncName": self.name}
        if self.item.get("SyncType"):
            arguments["SyncType"] = self.item["SyncType"]
        if self.item.get("S3Destination"):
            arguments["S3Destination"] = copy.deepcopy(self.item["S3Destination"])
        if self.item.get("SyncSource"):
            # A listed source carries its State, which CreateResourceDataSync does not take.
            arguments["SyncSource"] = {k: copy.deepcopy(v) for k, v in self.item["SyncSource"].items() if k != "State"}
        return arguments

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
        """The ``existingSync`` form of the report: name, bucket, prefix, region, sharing (and the AWS service
        that owns it, for an AWS-managed sync)."""
        described: dict[str, Any] = {
            "name": self.name,
            "bucket": self.bucket,
            "prefix": self.prefix,
            "region": self.region,
            "organizationShared": self.organizationShared,
        }
        if self.awsManagedBy:
            described["awsManagedBy"] = self.awsManagedBy
        return described

    @property
    def where(self) -> str:
        """``s3://bucket/prefix`` for messages."""
        return s3_url(self.bucket, self.prefix)

    @property
    def awsManagedBy(self) -> str | None:
        """The AWS service that owns this sync (never to be removed), or None."""
        return aws_managed_by(self.name)

    @property
    def label(self) -> str:
        """The name, marked when AWS-managed: ``InspectorResourceDataSync-do-not-delete (AWS-managed: Amazon
        Inspector)``."""
        return f"{self.name} (AWS-managed: {self.awsManagedBy})" if self.awsManagedBy else self.name


class Finding(StrEnum):
    """What the listing of an account-region says about orgsync's sync."""

    ABSENT = "ABSENT"  # nothing in the way: create
    OURS_SAME = "OURS_SAME"  # ours, same destination
    OURS_ELSEWHERE = "OURS_ELSEWHERE"  # ours, another destination (or not organization-shared, other KMS key)
    EQUIVALENT = "EQUIVALENT"  # another organization-based sync, under another name, writes to exactly our destination
    SLOT_TAKEN = "SLOT_TAKEN"  # another organization-based sync holds the only slot
    QUOTA_FULL = "QUOTA_FULL"  # five syncs already


@dataclass(frozen=True)
class Classification:
    """A finding with the syncs it is about."""

    finding: Finding
    syncs: tuple[ExistingSync, ...]
    ours: ExistingSync | None = None
    holder: ExistingSync | None = None


def classify(
    syncs: list[ExistingSync], sync_name: str, destination: Destination, adopted: str | None = None
) -> Classification:
    """Classify an account-region's syncs for a sync named ``sync_name`` writing to ``destination``.

    ``adopted`` names a sync orgsync adopted in this account-region (:mod:`lambdas.adoption`): when no sync is
    named ``sync_name``, that one is ours. An organization-based sync under another name that writes to exactly
    ``destination`` is EQUIVALENT (it holds the slot, and delivers where we want).

    >>> dest = Destination("acme-inventory", "us-east-1", "default")
    >>> classify([], "org-inventory", dest).finding.value
    'ABSENT'
    >>> legacy = ExistingSync("org-sync", "acme-inventory", "default", "us-east-1", None, True)
    >>> classify([legacy], "org-inventory", dest).finding.value
    'EQUIVALENT'
    >>> classify([legacy], "org-inventory", dest, adopted="org-sync").finding.value
    'OURS_SAME'
    """
    listed = tuple(syncs)
    ours = next((s for s in syncs if s.name == sync_name), None)
    if ours is None and adopted:
        ours = next((s for s in syncs if s.name == adopted), None)
    holder = next((s for s in syncs if s.organizationShared and s is not ours), None)
    if ours is not None:
        if ours.writes_to(destination):
            return Classification(Finding.OURS_SAME, listed, ours=ours)
        return Classification(Finding.OURS_ELSEWHERE, listed, ours=ours, holder=holder)
    if holder is not None:
        finding = Finding.EQUIVALENT if holder.writes_to(destination) else Finding.SLOT_TAKEN
        return Classification(finding, listed, holder=holder)
    if len(syncs) >= SYNC_QUOTA:
        return Classification(Finding.QUOTA_FULL, listed)
    return Classification(Finding.ABSENT, listed)


class Action(StrEnum):
    """The one change a decision asks for in the account-region."""

    NONE = "NONE"
    CREATE = "CREATE"  # create our sync
    REPLACE = "REPLACE"  # delete our sync that points elsewhere, then create it anew
    DELETE = "DELETE"  # delete our sync (teardown)
    ADOPT = "ADOPT"  # record that an equivalent sync is orgsync's from now on (nothing changes in the account)


@dataclass(frozen=True)
class Decision:
    """What a mode decided for one account-region: the status to report and the action that gets there."""

    status: Status
    detail: str
    existingSync: ExistingSyncs = None
    action: Action = Action.NONE
    #: The sync the action is about: the one to delete (REPLACE, DELETE) or to adopt (ADOPT).
    sync: str | None = None
    #: REPLACE: our sync as listed, to recreate exactly if its replacement cannot be created.
    replacing: ExistingSync | None = None
    #: CREATED by an earlier attempt of this run (found in place on a retry): the sync's SyncCreatedTime.
    syncCreated: datetime | None = None


def _quota_detail(syncs: tuple[ExistingSync, ...], nothing_changed: bool) -> str:
    names = ", ".join(s.label for s in syncs)
    theirs = [s.name for s in syncs if not s.awsManagedBy]
    if not theirs:
        yours = " None of them is yours to remove: each belongs to an AWS service."
    elif len(theirs) == len(syncs):
        yours = ""
    else:
        yours = f" Yours to remove, if no longer needed: {', '.join(theirs)}; never the AWS-managed ones."
    return (
        f"{len(syncs)} resource data syncs exist ({names}); the quota is {SYNC_QUOTA}"
        f"{' per account and region. Nothing was changed.' if nothing_changed else '.'}{yours}"
    )


def _slot_detail(holder: ExistingSync, nothing_changed: bool) -> str:
    detail = (
        f"The organization-based sync {holder.name} ({holder.where}) holds the region's only organization "
        f"slot{'; nothing was changed.' if nothing_changed else '.'}"
    )
    if holder.awsManagedBy:
        detail += (
            f" It is AWS-managed ({holder.awsManagedBy}): do not remove it; leave this region out of regions or "
            f"ask the service's owner."
        )
    return detail


def blocked_by(classification: Classification, *, nothing_changed: bool = False) -> Decision | None:
    """CONFLICT or QUOTA_EXCEEDED when another sync is in the way, else None.

    CONFLICT: a foreign organization-based sync holds the region's only slot; QUOTA_EXCEEDED: the quota is full.
    ``nothing_changed`` adds that nothing was changed, for the mode that would have changed something (rollout).
    AWS-managed syncs are named as such, and never as the user's to remove.

    >>> two = tuple(ExistingSync(f"team-{i}", "b", "p", "us-east-1", None, False) for i in range(2))
    >>> blocked_by(Classification(Finding.QUOTA_FULL, two)).detail
    '2 resource data syncs exist (team-0, team-1); the quota is 5.'
    >>> inspector = ExistingSync("InspectorResourceDataSync-do-not-delete", "b", "", "us-east-1", None, False)
    >>> blocked_by(Classification(Finding.QUOTA_FULL, (inspector, *two))).detail.split("; ")[-1]
    'never the AWS-managed ones.'
    >>> blocked_by(Classification(Finding.QUOTA_FULL, (inspector, *two))).detail.split(". ")[-1]
    'Yours to remove, if no longer needed: team-0, team-1; never the AWS-managed ones.'
    """
    if classification.finding is Finding.SLOT_TAKEN:
        holder = classification.holder
        assert holder is not None
        return Decision(Status.CONFLICT, _slot_detail(holder, nothing_changed), holder.describe())
    if classification.finding is Finding.QUOTA_FULL:
        syncs = classification.syncs
        return Decision(Status.QUOTA_EXCEEDED, _quota_detail(syncs, nothing_changed), [s.describe() for s in syncs])
    return None


def _equivalent(classification: Classification, destination: Destination, *, kept: str) -> Decision:
    holder = classification.holder
    assert holder is not None
    return Decision(
        Status.EQUIVALENT,
        f"The organization-based sync {holder.label} already writes to exactly {destination.where} "
        f"(bucket region {holder.region}, KMS key {holder.kmsKeyArn or 'none'}); {kept}",
        holder.describe(),
    )


def created_since(sync: ExistingSync, run_started: datetime | None) -> bool:
    """True when ``sync`` was created at or after ``run_started`` (the run resolved its targets): this run's.

    >>> sync = ExistingSync("org-inventory", "b", "p", "us-east-1", None, True, datetime(2026, 1, 1, tzinfo=UTC))
    >>> created_since(sync, datetime(2025, 12, 31, tzinfo=UTC)), created_since(sync, None)
    (True, False)
    """
    if run_started is None or sync.created is None:
        return False
    created = sync.created if sync.created.tzinfo else sync.created.replace(tzinfo=UTC)
    # SSM reports SyncCreatedTime in milliseconds: compare at that precision (a create in the same millisecond
    # as the run's start is the run's).
    return created >= run_started.replace(microsecond=run_started.microsecond // 1000 * 1000)


def decide_rollout(
    classification: Classification,
    sync_name: str,
    destination: Destination,
    on_conflict: OnConflict,
    adopt: bool = False,
    run_started: datetime | None = None,
) -> Decision:
    """What a rollout does: create, replace (ours elsewhere, ``onConflict=replace``, the slot free), adopt an
    equivalent sync (``adopt``), or nothing. An equivalent sync is never changed nor deleted, whatever onConflict.

    Ours in place, created since ``run_started`` (when the run resolved its targets), is CREATED, not IN_SYNC: an
    earlier attempt of this task created it and failed afterwards (a timeout, a lost answer), and a retry of the
    same input must report what the run did.

    >>> dest = Destination("acme-inventory", "us-east-1", "default")
    >>> old = ExistingSync("org-inventory", "old-bucket", "default", "us-east-1", None, True)
    >>> decide_rollout(classify([old], "org-inventory", dest), "org-inventory", dest, OnConflict.REPLACE).action
    <Action.REPLACE: 'REPLACE'>
    """
    where = destination.where
    finding = classification.finding
    ours = classification.ours
    if finding is Finding.OURS_SAME:
        assert ours is not None
        if created_since(ours, run_started):
            return Decision(
                Status.CREATED,
                f"Created {ours.name} writing to {where} with organization sharing (by an earlier attempt of this "
                f"run, which failed after the create: this attempt found it in place).",
                syncCreated=ours.created,
            )
        adopted = f" (adopted {ours.name})" if ours.name != sync_name else ""
        return Decision(Status.IN_SYNC, f"{ours.name}{adopted} already writes to {where}.")
    if finding is Finding.EQUIVALENT:
        holder = classification.holder
        assert holder is not None
        if adopt:
            return Decision(
                Status.ADOPTED,
                f"{holder.label} already writes to exactly {where}: orgsync adopted it (\"adopt\": true); from now "
                f"on rollout, verify and teardown treat it as orgsync's own. Nothing was changed in the account.",
                holder.describe(),
                action=Action.ADOPT,
                sync=holder.name,
            )
        return _equivalent(
            classification, destination, kept='it was left as is (never changed nor deleted; "adopt": true makes it '
            "orgsync's).",
        )
    in_the_way = blocked_by(classification, nothing_changed=True)
    if in_the_way is not None:
        return in_the_way
    if finding is Finding.ABSENT:
        return Decision(
            Status.CREATED, f"Created {sync_name} writing to {where} with organization sharing.", action=Action.CREATE
        )
    assert ours is not None  # OURS_ELSEWHERE
    if on_conflict is OnConflict.REPORT:
        return Decision(
            Status.CONFLICT,
            f"{ours.name} writes to {ours.where} in {ours.region or '?'}"
            f"{'' if ours.organizationShared else ' without organization sharing'}, not to {where}; "
            f"onConflict is report, so it was left as is.",
            ours.describe(),
        )
    holder = classification.holder
    if holder is not None:
        return Decision(
            Status.CONFLICT,
            f"{ours.name} writes to {ours.where}, and the organization-based sync {holder.label} "
            f"({holder.where}) holds the only organization slot: replacing ours would not succeed, so "
            f"nothing was changed.",
            holder.describe(),
        )
    return Decision(
        Status.REPLACED,
        f"{ours.name} wrote to {ours.where}; it was deleted and {sync_name} created anew writing to {where} "
        f"(onConflict=replace).",
        ours.describe(),
        action=Action.REPLACE,
        sync=ours.name,
        replacing=ours,
    )


def decide_after_failed_create(
    classification: Classification, sync_name: str, destination: Destination, error_code: str, error: str
) -> Decision:
    """A create failed with an error we have no rule for: the listing taken again decides, else FAILED.

    Only what the listing explains by itself counts (ours in place, an equivalent sync, another sync in the way);
    anything that would need another write is FAILED with the AWS error.
    """
    if classification.finding is Finding.OURS_SAME:
        return Decision(
            Status.IN_SYNC,
            f"{sync_name} already writes to {destination.where} (created concurrently; our create said {error_code}).",
        )
    if classification.finding is Finding.EQUIVALENT:
        return _equivalent(classification, destination, kept=f"it was left as is (our create said {error_code}).")
    in_the_way = blocked_by(classification, nothing_changed=True)
    if in_the_way is not None:
        return in_the_way
    return Decision(
        Status.FAILED,
        f"{error}. Listing the syncs again did not explain it; fix the cause and rerun.",
        [s.describe() for s in classification.syncs] or None,
    )


def replacement_syncs(old: ExistingSync, sync_name: str, destination: Destination, old_is: str) -> list[dict[str, Any]]:
    """The ``existingSync`` of a replace that did not happen: our previous sync (``old_is``: what became of it) and
    the one wanted, each with its destination and KMS key.

    >>> old = ExistingSync("org-inventory", "old-bucket", "p", "us-east-1", None, True)
    >>> [s["replace"] for s in replacement_syncs(old, "org-inventory", Destination("b", "us-east-1", "q"), "restored")]
    ['restored', 'wanted']
    """
    previous = {**old.describe(), "kmsKeyArn": old.kmsKeyArn, "replace": old_is}
    wanted = {
        "name": sync_name,
        "bucket": destination.bucket,
        "prefix": destination.prefix,
        "region": destination.region,
        "organizationShared": True,
        "kmsKeyArn": destination.kmsKeyArn,
        "replace": "wanted",
    }
    return [previous, wanted]


def _what(sync: ExistingSync) -> str:
    return (
        f"{sync.label} writing to {sync.where} (bucket region {sync.region or '?'}, KMS key {sync.kmsKeyArn or 'none'}"
        f"{', organization sharing' if sync.organizationShared else ', no organization sharing'})"
    )


def decide_restored(old: ExistingSync, sync_name: str, destination: Destination, error: str) -> Decision:
    """A replace whose create failed after ours was deleted, and our previous sync recreated as it was: RESTORED.

    >>> old = ExistingSync("org-inventory", "old-bucket", "p", "us-east-1", None, True)
    >>> decision = decide_restored(old, "org-inventory", Destination("b", "us-east-1", "q"), "S3 write failed")
    >>> decision.status.value, decision.detail.split(";")[0]
    ('RESTORED', 'Replacing org-inventory to write to s3://b/q failed (S3 write failed)')
    """
    return Decision(
        Status.RESTORED,
        f"Replacing {sync_name} to write to {destination.where} failed ({error}); the previous sync was restored "
        f"as it was: {_what(old)}. The account-region is as before the run: it does not write to "
        f"{destination.where}.",
        replacement_syncs(old, sync_name, destination, "restored"),
    )


def decide_restore_failed(
    old: ExistingSync, sync_name: str, destination: Destination, error: str, restore_error: str
) -> Decision:
    """A replace whose create failed after ours was deleted, and whose restore failed too: RESTORE_FAILED (the
    account-region has no sync of ours; the detail says what was deleted, to recreate it by hand if need be).

    >>> old = ExistingSync("org-inventory", "old-bucket", "p", "us-east-1", None, True)
    >>> decide_restore_failed(old, "org-inventory", Destination("b", "us-east-1", "q"), "e1", "e2").status.value
    'RESTORE_FAILED'
    """
    return Decision(
        Status.RESTORE_FAILED,
        f"Replacing {sync_name} to write to {destination.where} failed ({error}) after the previous sync was "
        f"deleted, and restoring it failed too ({restore_error}): the account-region has no sync of ours. Deleted: "
        f"{_what(old)}.",
        replacement_syncs(old, sync_name, destination, "deleted, not restored"),
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
    if finding in (Finding.OURS_SAME, Finding.EQUIVALENT):
        working = ours if finding is Finding.OURS_SAME else classification.holder
        assert working is not None
        if working.lastStatus not in HEALTHY_LAST_STATUSES:
            message = working.lastStatusMessage or "no LastSyncStatusMessage"
            return Decision(
                Status.UNHEALTHY,
                f"{working.name} writes to {destination.where} but its LastStatus is {working.lastStatus}: {message}",
                working.describe(),
            )
        if finding is Finding.EQUIVALENT:
            return _equivalent(
                classification, destination, kept=f"LastStatus {working.lastStatus or 'not yet'}. It is not orgsync's "
                '(not adopted); a rollout leaves it as is.',
            )
        adopted = f" (adopted {working.name})" if working.name != sync_name else ""
        return Decision(
            Status.IN_SYNC,
            f"{working.name}{adopted} writes to {destination.where}; LastStatus {working.lastStatus or 'not yet'}.",
        )
    if finding is Finding.OURS_ELSEWHERE:
        assert ours is not None
        holder = classification.holder
        blocked = (
            f" The organization-based sync {holder.label} ({holder.where}) also holds the region's only slot."
            if holder is not None
            else ""
        )
        return Decision(
            Status.DRIFTED, f"{ours.name} {_how_ours_differs(ours, destination)}.{blocked}", ours.describe()
        )
    in_the_way = blocked_by(classification)
    if in_the_way is not None:
        return in_the_way
    return Decision(Status.MISSING, f"No sync named {sync_name}: a rollout would create it.")


def decide_teardown(
    syncs: list[ExistingSync], sync_name: str, bucket: str, prefix: str, adopted: str | None = None
) -> Decision:
    """What teardown does: delete only orgsync's sync (named ``sync_name``, or the ``adopted`` one when none is)
    writing to ``bucket``/``prefix``.

    Bucket and prefix decide (not region, KMS key or sharing): a sync writing into our data is ours to remove,
    one writing anywhere else is not, whatever its name. A sync orgsync did not adopt is never deleted, even when
    it writes exactly where ours would.

    >>> ours = ExistingSync("org-inventory", "acme-inventory", "default", "us-east-1", None, True)
    >>> decide_teardown([ours], "org-inventory", "acme-inventory", "default").action
    <Action.DELETE: 'DELETE'>
    >>> decide_teardown([ours], "org-inventory", "other-bucket", "default").status
    <Status.NOT_OURS: 'NOT_OURS'>
    """
    ours = next((s for s in syncs if s.name == sync_name), None)
    if ours is None and adopted:
        ours = next((s for s in syncs if s.name == adopted), None)
    if ours is None:
        into_ours = (bucket, prefix.strip("/"))
        kept = [s for s in syncs if s.organizationShared and (s.bucket, s.prefix.strip("/")) == into_ours]
        also = (
            f" {kept[0].label} writes into {s3_url(bucket, prefix)} but orgsync did not adopt it, so it was kept."
            if kept
            else ""
        )
        return Decision(Status.NOT_FOUND, f"No sync named {sync_name}; nothing to delete.{also}")
    name = ours.name if ours.name == sync_name else f"{ours.name} (adopted)"
    if (ours.bucket, ours.prefix.strip("/")) != (bucket, prefix.strip("/")):
        return Decision(
            Status.NOT_OURS,
            f"{name} writes to {ours.where}, not {s3_url(bucket, prefix)}: it is not orgsync's and was kept.",
            ours.describe(),
        )
    return Decision(
        Status.DELETED,
        f"Deleted {name} (it wrote to {ours.where}); the data in the bucket stays.",
        ours.describe(),
        action=Action.DELETE,
        sync=ours.name,
    )
