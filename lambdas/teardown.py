"""Teardown mode: delete orgsync's own sync, and nothing else.

A sync is orgsync's when its name is syncName AND it writes to our bucket and prefix. A sync of that name
pointing elsewhere belongs to someone else (NOT_OURS) and is left alone, as is every sync of another name.
Bucket data, the test.json marker included, is never touched: teardown's only write is
``DeleteResourceDataSync`` of our sync, plus orgsync's own records under ``orgsync/``.

Teardown must be asked for explicitly: ``{"mode": "teardown", "confirm": "teardown", ...}``.

Example::

    >>> ours = ExistingSync("org-inventory", "acme-inventory", "default", "us-east-1", None, True)
    >>> decide_teardown([ours], "org-inventory", "acme-inventory", "default").delete
    True
    >>> decide_teardown([ours], "org-inventory", "other-bucket", "default").status
    <Status.NOT_OURS: 'NOT_OURS'>
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lambdas import clock
from lambdas.errors import InvalidInput
from lambdas.models import Mode, Outcome, Status, TargetItem, s3_url
from lambdas.sync import ExistingSync, Reconciled, delete_sync, denials_as_outcomes, list_syncs

#: The input field and the value that make a teardown execution legitimate.
CONFIRM_FIELD = "confirm"
CONFIRM_VALUE = "teardown"


def require_confirmation(execution_input: Mapping[str, Any]) -> None:
    """Refuse a teardown input without ``"confirm": "teardown"`` (InvalidInput naming the field).

    Inputs of other modes pass: the field only matters when something would be deleted.

    >>> require_confirmation({"mode": "teardown", "confirm": "teardown"})
    >>> require_confirmation({"mode": "teardown"})
    Traceback (most recent call last):
    ...
    lambdas.errors.InvalidInput: confirm: null must be "teardown" to run a teardown (it deletes orgsync's syncs)
    """
    if str(execution_input.get("mode", Mode.ROLLOUT)) != Mode.TEARDOWN:
        return
    value = execution_input.get(CONFIRM_FIELD)
    if value != CONFIRM_VALUE:
        raise InvalidInput(
            f"{CONFIRM_FIELD}: {json.dumps(value, default=str)} must be {json.dumps(CONFIRM_VALUE)} "
            "to run a teardown (it deletes orgsync's syncs)"
        )


@dataclass(frozen=True)
class TeardownDecision:
    """What teardown does in one account-region."""

    status: Status
    detail: str
    delete: bool
    existingSync: dict[str, Any] | None = None


def decide_teardown(syncs: list[ExistingSync], sync_name: str, bucket: str, prefix: str) -> TeardownDecision:
    """Decide from the listed syncs: delete only the sync named ``sync_name`` writing to ``bucket``/``prefix``.

    Bucket and prefix decide (not region, KMS key or sharing): a sync writing into our data is ours to remove,
    one writing anywhere else is not, whatever its name.
    """
    ours = next((s for s in syncs if s.name == sync_name), None)
    if ours is None:
        return TeardownDecision(Status.NOT_FOUND, f"No sync named {sync_name}; nothing to delete.", delete=False)
    if (ours.bucket, ours.prefix.strip("/")) != (bucket, prefix.strip("/")):
        return TeardownDecision(
            Status.NOT_OURS,
            f"{sync_name} writes to {ours.where}, not {s3_url(bucket, prefix)}: it is not orgsync's and was kept.",
            delete=False,
            existingSync=ours.describe(),
        )
    return TeardownDecision(
        Status.DELETED,
        f"Deleted {sync_name} (it wrote to {ours.where}); the data in the bucket stays.",
        delete=True,
        existingSync=ours.describe(),
    )


def reconcile_teardown(ssm: Any, item: TargetItem) -> Reconciled:
    """``Reconcile sync`` in teardown mode: list, decide, delete ours if it is there.

    A sync already gone when deleting it (a concurrent run) is NOT_FOUND. Throttling is retried with backoff
    here and then by the state's Retry; other AWS errors fail the item (Record failure: FAILED).

    Example (with the local SSM emulation)::

        reconcile_teardown(session.client("ssm", region_name="us-east-1"), item).status  # Status.DELETED
    """
    started = clock.now()
    where = f"{item.accountId} {item.region}"
    destination = item.run.destination

    def torn_down() -> Reconciled:
        decision = decide_teardown(list_syncs(ssm, where), item.run.syncName, destination.bucket, destination.prefix)
        if decision.delete and not delete_sync(ssm, item.run.syncName, where):
            return Reconciled(Status.NOT_FOUND, f"{item.run.syncName} was already gone.", reconciledAt=started)
        return Reconciled(decision.status, decision.detail, decision.existingSync, reconciledAt=started)

    return denials_as_outcomes(started, torn_down)


def record_outcome(s3: Any, item: TargetItem, reconciled: dict[str, Any]) -> Outcome:
    """``Check marker`` in teardown mode: nothing to check (the marker stays, as all bucket data); no S3 call.

    >>> from lambdas.models import Destination, OnConflict, RunParameters
    >>> run = RunParameters("e", Mode.TEARDOWN, "s", Destination("b", "us-east-1", "p"), OnConflict.REPORT, 60, "R")
    >>> item = TargetItem("200000000001", "a", "/", "us-east-1", run)
    >>> record_outcome(None, item, {"status": "DELETED", "detail": "Deleted s."}).needs_attention
    False
    """
    return item.outcome(
        Status(reconciled["status"]),
        detail=str(reconciled.get("detail") or ""),
        existingSync=reconciled.get("existingSync"),
    )
