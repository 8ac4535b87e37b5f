"""What a mode is: :class:`ModeSpec`, the one declaration the definition, the report, the CLI and the Lambdas read.

A mode runs the same flow as every other (resolve targets, per account-region ``Reconcile sync`` then ``Check
marker`` -- run for batches of accounts by :mod:`lambdas.batch` --, ``Summarize``, ``Needs attention?``); it
differs only in what it declares here.

Example::

    >>> from lambdas.modes import spec_of
    >>> spec = spec_of(Mode.TEARDOWN)
    >>> spec.failure.error.__name__, spec.needs_attention(Status.NOT_OURS, Verification.NOT_CHECKED)
    ('TeardownIncomplete', False)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from lambdas.errors import OrgSyncError
from lambdas.models import Mode, Outcome, RunParameters, Status, TargetItem, Verification
from lambdas.statuses import PENDING_ACTION, STATUSES

if TYPE_CHECKING:
    from lambdas.sync import Reconciled

#: ``Reconcile sync`` of one account-region: ``(member SSM client, item) -> Reconciled``.
Reconciler = Callable[[Any, TargetItem], "Reconciled"]
#: ``Check marker`` of one account-region: ``(destination S3 client, item, Reconcile sync's output) -> Outcome``.
MarkerCheck = Callable[[Any, TargetItem, dict[str, Any]], Outcome]
#: Extra sections of the S3 report: ``(destination S3 client, run, outcomes) -> {key: section}``.
ReportExtras = Callable[[Any, RunParameters, list[Outcome]], dict[str, Any]]


@dataclass(frozen=True)
class ModeFailure:
    """The Fail state a mode's execution ends in when something needs attention."""

    #: The Fail state's name in the definition.
    state: str
    #: Its error (the class's name is the Step Functions error name).
    error: type[OrgSyncError]


@dataclass(frozen=True)
class ModeSpec:
    """Everything that makes a mode what it is."""

    mode: Mode
    #: One line for a reader (docs, ``--help``).
    summary: str
    reconcile: Reconciler
    #: ``lambdas.marker.record_unchecked`` for a mode that checks no marker.
    check_marker: MarkerCheck
    #: The statuses that need someone to act in this mode (a PENDING marker needs attention in every mode).
    attention: frozenset[Status]
    #: None: the execution succeeds whatever the report says (a read-only plan).
    failure: ModeFailure | None
    report_extras: ReportExtras | None = None
    #: True: no write call on SSM or on the inventory data (only orgsync's records under orgsync/).
    read_only: bool = False
    #: The mode honours ``"adopt": true`` (takes over equivalent syncs, or plans to).
    adopts: bool = False
    #: Its outcomes say what a rollout would do (``plannedAction``), rather than what was done.
    plans: bool = False
    #: Action texts of this mode where they differ from :data:`lambdas.statuses.STATUSES`'s (a plan's CREATED
    #: is a creation to come, not one done).
    actions: Mapping[Status, str] = field(default_factory=lambda: MappingProxyType({}))
    #: True: each outcome says whether inventory is collected there (:mod:`lambdas.collection`); a mode that
    #: also writes may create the inventory association (``ensureCollection``).
    checks_collection: bool = False
    #: True: before fanning out, ``Resolve targets`` checks the bucket and key policies and one account-region
    #: (the canary, :mod:`lambdas.canary`) is reconciled and its marker awaited; a mode that creates syncs.
    canary: bool = False

    def needs_attention(self, status: Status, verification: Verification) -> bool:
        """True when someone must act on an account-region with ``status`` and ``verification`` in this mode."""
        return status in self.attention or verification is Verification.PENDING

    def action(self, status: Status, verification: Verification) -> str:
        """What to do about such an account-region: the status's action, or the pending marker's."""
        if verification is Verification.PENDING and status not in self.attention:
            return PENDING_ACTION
        return self.actions.get(status, STATUSES[status].action)
