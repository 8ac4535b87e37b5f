"""Teardown mode: delete orgsync's own sync, and nothing else.

A sync is orgsync's when its name is syncName AND it writes to our bucket and prefix. A sync of that name
pointing elsewhere belongs to someone else (NOT_OURS) and is left alone, as is every sync of another name.
Bucket data, the test.json marker included, is never touched: teardown's only write is
``DeleteResourceDataSync`` of our sync, plus orgsync's own records under ``orgsync/``.

Teardown must be asked for explicitly: ``{"mode": "teardown", "confirm": "teardown", ...}``.

The decision is :func:`lambdas.classification.decide_teardown`; this module carries it out.

Example::

    >>> require_confirmation({"mode": "teardown", "confirm": "teardown"})
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from lambdas import clock
from lambdas.adoption import forget_adoption
from lambdas.classification import Action, decide_teardown
from lambdas.errors import InvalidInput
from lambdas.marker import record_unchecked
from lambdas.models import Mode, Outcome, Status, TargetItem
from lambdas.sync import Reconciled, delete_sync, denials_as_outcomes, list_syncs

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


def forget_and_record(s3: Any, item: TargetItem, reconciled: dict[str, Any]) -> Outcome:
    """``Check marker`` in teardown mode: no marker to check (it stays, as all bucket data); an adopted sync that
    was deleted or is gone has its adoption record removed (:mod:`lambdas.adoption`)."""
    status = Status(reconciled["status"])
    gone = status is Status.NOT_FOUND or (status is Status.DELETED and reconciled.get("sync") == item.adoptedSync)
    if item.adoptedSync and gone:
        forget_adoption(s3, item, item.adoptedSync)
    return record_unchecked(s3, item, reconciled)


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
        syncs = list_syncs(ssm, where)
        decision = decide_teardown(syncs, item.run.syncName, destination.bucket, destination.prefix, item.adoptedSync)
        if decision.action is Action.DELETE:
            assert decision.sync is not None
            if not delete_sync(ssm, decision.sync, where):
                return Reconciled(Status.NOT_FOUND, f"{decision.sync} was already gone.", reconciledAt=started)
        return Reconciled.of(decision, started)

    return denials_as_outcomes(started, torn_down)
