"""Plan: what a rollout with the same input would do, account-region by account-region, without writing anything.

Each account-region is listed and decided exactly as a rollout decides it (:func:`lambdas.sync.decide_rollout_of`),
and reported with the status the rollout would report and the action it would take (``plannedAction``:
CREATE, REPLACE or NONE); the summary counts them (``byPlannedAction``). No write call is made on SSM, on the
inventory data or on the organization; no adoption is recorded. The only objects written are orgsync's own
records of the run under ``orgsync/`` (items file, outcome records, report), as in every mode. There is no
marker to check (nothing was created), and the execution succeeds whatever the plan finds: what a rollout would
have to be told about still counts as needing attention in the report.

Example::

    >>> SPEC.failure is None, SPEC.read_only, Status.CONFLICT in SPEC.attention
    (True, True, True)
    >>> planned_action(Action.ADOPT), planned_action(Action.REPLACE)
    ('NONE', 'REPLACE')
"""

from __future__ import annotations

from datetime import datetime
from types import MappingProxyType
from typing import Any

from lambdas import clock
from lambdas.classification import Action, Decision
from lambdas.models import Mode, Outcome, Status, TargetItem
from lambdas.modes import rollout
from lambdas.modes.base import ModeSpec
from lambdas.sync import Reconciled, decide_rollout_of, denials_as_outcomes, list_syncs

#: The action a rollout would take in the account (an adoption changes nothing there: it is NONE).
PLANNED_ACTIONS = {Action.CREATE: "CREATE", Action.REPLACE: "REPLACE"}


def planned_action(action: Action | str) -> str:
    """``CREATE``, ``REPLACE`` or ``NONE``: the change a rollout would make in the account-region."""
    return PLANNED_ACTIONS.get(Action(action), "NONE")


def _planned(decision: Decision, item: TargetItem) -> str:
    """A decision's detail in the future tense where the rollout would change something."""
    run = item.run
    if decision.action is Action.CREATE:
        return f"A rollout would create {run.syncName} writing to {run.destination.where} with organization sharing."
    if decision.action is Action.REPLACE:
        existing = decision.existingSync if isinstance(decision.existingSync, dict) else {}
        return (
            f"A rollout would delete {decision.sync}, which writes to s3://{existing.get('bucket', '?')}/"
            f"{existing.get('prefix', '')}, and create {run.syncName} writing to {run.destination.where} "
            f"(onConflict=replace)."
        )
    if decision.action is Action.ADOPT:
        return f"A rollout would adopt {decision.sync}, which already writes to {run.destination.where} (\"adopt\")."
    return decision.detail


def reconcile_plan(ssm: Any, item: TargetItem) -> Reconciled:
    """``Reconcile sync`` in plan mode: list and decide as a rollout would; no create, no delete.

    Example (with the local SSM emulation)::

        reconcile_plan(session.client("ssm", region_name="us-east-1"), item).status  # Status.CREATED
    """
    started: datetime = clock.now()

    def planned() -> Reconciled:
        decision = decide_rollout_of(list_syncs(ssm, f"{item.accountId} {item.region}"), item)
        return Reconciled(
            decision.status,
            _planned(decision, item),
            decision.existingSync,
            reconciledAt=started,
            action=decision.action,
            sync=decision.sync,
        )

    return denials_as_outcomes(started, planned)


def record_plan(s3: Any, item: TargetItem, reconciled: dict[str, Any]) -> Outcome:
    """``Check marker`` in plan mode: nothing to check (nothing was created); the outcome carries the action."""
    return item.outcome(
        Status(reconciled["status"]),
        detail=str(reconciled.get("detail") or ""),
        existingSync=reconciled.get("existingSync"),
        plannedAction=planned_action(str(reconciled.get("action") or Action.NONE)),
    )


SPEC = ModeSpec(
    mode=Mode.PLAN,
    summary="Read-only: what a rollout with this input would do and report, without doing it.",
    reconcile=reconcile_plan,
    check_marker=record_plan,
    attention=rollout.SPEC.attention,
    failure=None,
    read_only=True,
    checks_collection=True,
    adopts=True,
    plans=True,
    actions=MappingProxyType({
        Status.CREATED: "A rollout creates the sync here.",
        Status.REPLACED: "A rollout replaces our sync here (onConflict=replace).",
        Status.IN_SYNC: "Nothing to do: the sync is in place.",
        Status.ADOPTED: "A rollout adopts the sync named in the detail (\"adopt\": true); nothing changes here.",
    }),
)
