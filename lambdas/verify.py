"""Verify mode: classify one account-region without changing anything.

Verify answers "would a rollout have anything to do here, and is what is there healthy?". It reads the
account-region's syncs (``ListResourceDataSync``, through the member role) and the account's ``test.json``
marker (``HeadObject`` on the destination bucket), and calls no write API on SSM, on the inventory data or on
the organization. The only objects a verify run writes are orgsync's own bookkeeping under ``orgsync/`` (the
items file, the outcome records, the report), as every mode does.

The decision is :func:`lambdas.classification.decide_verify`, on the rollout's classification, so MISSING means
exactly "a rollout would create it" and DRIFTED exactly "a rollout would report a conflict on our own sync or
replace it".

Example::

    >>> verdict = Verdict(Status.IN_SYNC, "org-inventory writes to s3://acme-inventory/default.")
    >>> apply_marker(verdict, marker_present=True).verification
    <Verification.VERIFIED: 'VERIFIED'>
    >>> apply_marker(verdict, marker_present=False).verification
    <Verification.PENDING: 'PENDING'>
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from lambdas import clock
from lambdas.classification import classify, decide_verify
from lambdas.marker import BUCKET_POLICY_HINT, marker_key, marker_written_at
from lambdas.models import Outcome, Status, TargetItem, Verification
from lambdas.statuses import STATUSES, MarkerRule
from lambdas.sync import Reconciled, denials_as_outcomes, list_syncs


@dataclass(frozen=True)
class Verdict:
    """What verify concluded for one account-region (field names follow :class:`~lambdas.models.Outcome`)."""

    status: Status
    detail: str = ""
    existingSync: dict[str, Any] | list[dict[str, Any]] | None = None
    verification: Verification = Verification.NOT_CHECKED


def apply_marker(verdict: Verdict, marker_present: bool) -> Verdict:
    """Fold the marker into a verdict: only a healthy sync in place is judged by its marker (its status's
    :class:`~lambdas.statuses.MarkerRule`; verify runs create nothing, so any marker will do).

    An IN_SYNC sync without its marker stays IN_SYNC but is PENDING, which needs attention in every mode.

    >>> apply_marker(Verdict(Status.MISSING), True).verification
    <Verification.NOT_CHECKED: 'NOT_CHECKED'>
    """
    if STATUSES[verdict.status].marker is MarkerRule.NONE:
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
        run = item.run
        classification = classify(list_syncs(ssm, where), run.syncName, run.destination, item.adoptedSync)
        return Reconciled.of(decide_verify(classification, run.syncName, run.destination), started)

    return denials_as_outcomes(started, classified)


def missing_cause(s3: Any, item: TargetItem) -> str:
    """Why ``item``'s account-region may have no sync, from what the bucket shows: the account's marker (SSM writes
    it for any sync of the account that reaches the destination; one listing per account, shared by its regions).

    No marker: nothing from the account ever reached the destination, so the account was never rolled out (not
    enrolled yet: it joined the targets after the last rollout, or its enrolment gave up waiting for the member
    role). A marker: the account delivered before, and this region has no sync.
    """
    destination = item.run.destination
    key = marker_key(destination.prefix, item.accountId)
    if marker_written_at(s3, destination.bucket, key) is None:
        return (
            f"Account {item.accountId} is not enrolled yet: nothing of it has reached s3://{destination.bucket}/"
            f"{destination.prefix} (no test.json marker), so it was never rolled out, or joined the targets after "
            f"the last rollout (an enrolment gives up when the member role does not come). The next rollout, or the "
            f"account's enrolment, creates its syncs."
        )
    return f"Account {item.accountId} delivered before (its test.json marker is there); this region has no sync."


def check_marker_once(s3: Any, item: TargetItem, reconciled: dict[str, Any]) -> Outcome:
    """``Check marker`` in verify mode: one HeadObject, no waiting; an existing sync's marker has long been due.

    Example::

        check_marker_once(s3, item, {"status": "IN_SYNC", "detail": "...", "existingSync": None})
    """
    verdict = Verdict(Status(reconciled["status"]), str(reconciled.get("detail") or ""), reconciled.get("existingSync"))
    if verdict.status is Status.MISSING:
        verdict = replace(verdict, detail=f"{verdict.detail} {missing_cause(s3, item)}")
    if STATUSES[verdict.status].marker is not MarkerRule.NONE:
        destination = item.run.destination
        key = marker_key(destination.prefix, item.accountId)
        verdict = apply_marker(verdict, marker_written_at(s3, destination.bucket, key) is not None)
        if verdict.verification is Verification.PENDING:
            hint = BUCKET_POLICY_HINT.format(bucket=destination.bucket, prefix=destination.prefix)
            verdict = replace(verdict, detail=f"{verdict.detail} (s3://{destination.bucket}/{key}). {hint}")
    return item.outcome(
        verdict.status, verification=verdict.verification, detail=verdict.detail, existingSync=verdict.existingSync
    )
