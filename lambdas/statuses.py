"""Every status orgsync reports, in one table: its action text, what its marker proves, how a console shows it.

Whether a status needs attention depends on the mode (a MISSING sync is a finding of verify, a NOT_FOUND one
is teardown's good news), so each mode declares that itself (:attr:`lambdas.modes.ModeSpec.attention`); all
else about a status is here. The table's order is the order of a report: what needs attention first (worst
first), then what went well.

Example::

    >>> STATUSES[Status.CREATED].marker, STATUSES[Status.IN_SYNC].marker, STATUSES[Status.CONFLICT].marker
    (<MarkerRule.FRESH: 'FRESH'>, <MarkerRule.ANY: 'ANY'>, <MarkerRule.NONE: 'NONE'>)
    >>> STATUS_ORDER[0], STATUSES[Status.FAILED].style
    (<Status.FAILED: 'FAILED'>, 'bold red')
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class Status(StrEnum):
    """What orgsync found or did in one account-region."""

    CREATED = "CREATED"
    IN_SYNC = "IN_SYNC"
    CONFLICT = "CONFLICT"
    REPLACED = "REPLACED"
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
    ACCESS_DENIED = "ACCESS_DENIED"
    REGION_DISABLED = "REGION_DISABLED"
    SKIPPED = "SKIPPED"
    FAILED = "FAILED"
    # verify mode
    MISSING = "MISSING"
    DRIFTED = "DRIFTED"
    UNHEALTHY = "UNHEALTHY"
    # teardown mode
    DELETED = "DELETED"
    NOT_FOUND = "NOT_FOUND"
    NOT_OURS = "NOT_OURS"


class Verification(StrEnum):
    """Whether SSM's test.json marker proved the sync can write to the bucket."""

    VERIFIED = "VERIFIED"
    PENDING = "PENDING"
    NOT_CHECKED = "NOT_CHECKED"


class MarkerRule(StrEnum):
    """What the test.json marker proves after a status: only a sync writing to the destination has one."""

    #: No sync of ours writes to the destination: nothing to check (NOT_CHECKED).
    NONE = "NONE"
    #: A sync already in place: any marker proves it.
    ANY = "ANY"
    #: A sync this run created: only a marker written after the creation proves it (an older one is stale).
    FRESH = "FRESH"


@dataclass(frozen=True)
class StatusInfo:
    """The facts about one status."""

    status: Status
    #: What to do about it, in an operator's words (shown by the CLI and written into the report).
    action: str
    #: Its colour in a terminal: red must be acted on, yellow is worth a look, green is done, dim is nothing.
    style: str
    marker: MarkerRule = MarkerRule.NONE
    #: Its rows need no detail in the console's table (the detail is in JSON, CSV and Markdown).
    quiet: bool = False


_TABLE: tuple[StatusInfo, ...] = (
    StatusInfo(Status.FAILED, "Read the detail; fix the cause and rerun (the rollout is idempotent).", "bold red"),
    StatusInfo(Status.ACCESS_DENIED, "Deploy the member role (the StackSet) to this account, or fix its trust policy.",
               "red"),
    StatusInfo(
        Status.QUOTA_EXCEEDED,
        "Five syncs already exist: delete one that is no longer needed (never an AWS service's own), then rerun.",
        "red",
    ),
    StatusInfo(
        Status.CONFLICT,
        "Another sync holds the region's only organization slot, or ours points elsewhere: remove or repoint it, "
        "or rerun with onConflict=replace if it is orgsync's own sync name.",
        "red",
    ),
    StatusInfo(Status.REGION_DISABLED, "Enable the region for the account, or remove it from regions.", "red"),
    StatusInfo(
        Status.UNHEALTHY,
        "The sync reports failures: check the bucket policy and the detail, then rerun verify.",
        "red",
    ),
    StatusInfo(Status.DRIFTED, "Our sync points elsewhere: run a rollout with onConflict=replace.", "red"),
    StatusInfo(Status.MISSING, "Run a rollout to create the sync.", "red"),
    StatusInfo(
        Status.NOT_OURS, "Nothing was deleted: the sync of that name points at another destination.", "yellow"
    ),
    StatusInfo(Status.CREATED, "Nothing: the sync was created.", "green", MarkerRule.FRESH, quiet=True),
    StatusInfo(
        Status.REPLACED, "Nothing: the sync pointed elsewhere and was recreated.", "green", MarkerRule.FRESH, quiet=True
    ),
    StatusInfo(Status.IN_SYNC, "Nothing: the sync is in place.", "green", MarkerRule.ANY, quiet=True),
    StatusInfo(
        Status.DELETED, "Nothing: orgsync's sync was deleted; inventory data stays in the bucket.", "green", quiet=True
    ),
    StatusInfo(Status.NOT_FOUND, "Nothing: there was no sync of ours.", "dim", quiet=True),
    StatusInfo(Status.SKIPPED, "Nothing: the account is not ACTIVE or was excluded.", "dim"),
)

#: Every status's facts.
STATUSES: Mapping[Status, StatusInfo] = MappingProxyType({info.status: info for info in _TABLE})
#: The order of a report's groups: what needs attention first (worst first), then what went well.
STATUS_ORDER: tuple[Status, ...] = tuple(info.status for info in _TABLE)

#: The action of a sync in place whose marker SSM has not written (PENDING), whatever its status.
PENDING_ACTION = (
    "The sync exists but SSM has not written test.json yet: check the bucket policy, then rerun verify later."
)


def style_of(status: str, default: str = "") -> str:
    """The terminal colour of ``status`` (``default`` for a word that is no status, such as a running state).

    >>> style_of("CONFLICT"), style_of("Running", "cyan")
    ('red', 'cyan')
    """
    return STATUSES[Status(status)].style if status in Status.__members__ else default
