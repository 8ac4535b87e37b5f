"""Verify mode: classify one account-region without changing anything.

Verify answers "would a rollout have anything to do here, and is what is there healthy?". It reads the
account-region's syncs (``ListResourceDataSync``, through the member role) and the account's ``test.json``
marker (``HeadObject`` on the destination bucket), and calls no write API on SSM, on the inventory data or on
the organization. The only objects a verify run writes are orgsync's own bookkeeping under ``orgsync/`` (the
items file, one outcome record per account-region, the report), as every mode does.

The classification reuses the rollout's (:func:`lambdas.sync.classify`), so MISSING means exactly "a rollout
would create it" and DRIFTED exactly "a rollout would report a conflict on our own sync or replace it".

Example::

    >>> from lambdas.models import Destination
    >>> dest = Destination("acme-inventory", "us-east-1", "default")
    >>> ours = ExistingSync("org-inventory", "acme-inventory", "default", "us-east-1", None, True,
    ...                     lastStatus="Successful")
    >>> verdict = classify_verify([ours], "org-inventory", dest)
    >>> verdict.status, apply_marker(verdict, marker_present=True).verification
    (<Status.IN_SYNC: 'IN_SYNC'>, <Verification.VERIFIED: 'VERIFIED'>)
    >>> classify_verify([], "org-inventory", dest).status
    <Status.MISSING: 'MISSING'>
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from lambdas import clock
from lambdas.marker import BUCKET_POLICY_HINT, marker_key, marker_written_at
from lambdas.models import Destination, Outcome, Status, TargetItem, Verification
from lambdas.sync import ExistingSync, Finding, Reconciled, blocked_by, classify, denials_as_outcomes, list_syncs

#: ``LastStatus`` values of a working sync (``InProgress``: its first run has not finished yet; absent: new).
HEALTHY_LAST_STATUSES = frozenset({"Successful", "InProgress", None})


@dataclass(frozen=True)
class Verdict:
    """What verify concluded for one account-region (field names follow :class:`~lambdas.models.Outcome`)."""

    status: Status
    detail: str = ""
    existingSync: dict[str, Any] | list[dict[str, Any]] | None = None
    verification: Verification = Verification.NOT_CHECKED


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


def classify_verify(syncs: list[ExistingSync], sync_name: str, destination: Destination) -> Verdict:
    """Classify from the listed syncs alone; an IN_SYNC verdict is then judged by its marker (:func:`apply_marker`).

    Our sync pointing elsewhere is DRIFTED before it is judged healthy or not: where the data goes comes first.
    """
    classification = classify(syncs, sync_name, destination)
    finding = classification.finding
    if finding is Finding.OURS_SAME:
        ours = classification.ours
        assert ours is not None
        if ours.lastStatus not in HEALTHY_LAST_STATUSES:
            message = ours.lastStatusMessage or "no LastSyncStatusMessage"
            return Verdict(
                Status.UNHEALTHY,
                f"{sync_name} writes to {destination.where} but its LastStatus is {ours.lastStatus}: {message}",
                ours.describe(),
            )
        return Verdict(
            Status.IN_SYNC, f"{sync_name} writes to {destination.where}; LastStatus {ours.lastStatus or 'not yet'}."
        )
    if finding is Finding.OURS_ELSEWHERE:
        ours = classification.ours
        assert ours is not None
        holder = classification.holder
        blocked = (
            f" The organization-based sync {holder.name} ({holder.where}) also holds the region's only slot."
            if holder is not None
            else ""
        )
        return Verdict(Status.DRIFTED, f"{sync_name} {_how_ours_differs(ours, destination)}.{blocked}", ours.describe())
    in_the_way = blocked_by(classification)
    if in_the_way is not None:
        return Verdict(*in_the_way)
    return Verdict(Status.MISSING, f"No sync named {sync_name}: a rollout would create it.")


def apply_marker(verdict: Verdict, marker_present: bool) -> Verdict:
    """Fold the marker into a verdict: only a healthy sync of ours is judged by its marker.

    An IN_SYNC sync without its marker stays IN_SYNC but is PENDING, which needs attention in every mode.

    >>> apply_marker(Verdict(Status.MISSING), True).verification
    <Verification.NOT_CHECKED: 'NOT_CHECKED'>
    """
    if verdict.status is not Status.IN_SYNC:
        return verdict
    if marker_present:
        return replace(verdict, verification=Verification.VERIFIED)
    return replace(
        verdict, verification=Verification.PENDING, detail=f"{verdict.detail} The test.json marker is absent."
    )


def reconcile_verify(ssm: Any, item: TargetItem) -> Reconciled:
    """``Reconcile sync`` in verify mode: list and classify, nothing else (no create, no delete).

    Example (with the local SSM emulation)::

        reconcile_verify(session.client("ssm", region_name="us-east-1"), item).status  # Status.MISSING
    """
    started = clock.now()
    where = f"{item.accountId} {item.region}"

    def classified() -> Reconciled:
        verdict = classify_verify(list_syncs(ssm, where), item.run.syncName, item.run.destination)
        return Reconciled(verdict.status, verdict.detail, verdict.existingSync, reconciledAt=started)

    return denials_as_outcomes(started, classified)


def check_marker_once(s3: Any, item: TargetItem, reconciled: dict[str, Any]) -> Outcome:
    """``Check marker`` in verify mode: one HeadObject, no waiting; an existing sync's marker has long been due.

    Example::

        check_marker_once(s3, item, {"status": "IN_SYNC", "detail": "...", "existingSync": None})
    """
    verdict = Verdict(Status(reconciled["status"]), str(reconciled.get("detail") or ""), reconciled.get("existingSync"))
    if verdict.status is Status.IN_SYNC:
        destination = item.run.destination
        key = marker_key(destination.prefix, item.accountId)
        verdict = apply_marker(verdict, marker_written_at(s3, destination.bucket, key) is not None)
        if verdict.verification is Verification.PENDING:
            hint = BUCKET_POLICY_HINT.format(bucket=destination.bucket, prefix=destination.prefix)
            verdict = replace(verdict, detail=f"{verdict.detail} (s3://{destination.bucket}/{key}). {hint}")
    return item.outcome(
        verdict.status, verification=verdict.verification, detail=verdict.detail, existingSync=verdict.existingSync
    )
