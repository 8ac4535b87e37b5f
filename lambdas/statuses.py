"""Every status orgsync reports, in one table: its action text, what its marker proves, how a console shows it.

Whether a status needs attention depends on the mode (a MISSING sync is a finding of verify, a NOT_FOUND one
is teardown's good news), so each mode declares that itself (:attr:`lambdas.modes.ModeSpec.attention`); all
else about a status is here. The table's order is the order of a report: what needs attention first (worst
first), then what went well.

Example::

    >>> STATUSES[Status.CREATED].marker, STATUSES[Status.IN_SYNC].marker, STATUSES[Status.CONFLICT].marker
    (<MarkerRule.FRESH: 'FRESH'>, <MarkerRule.ANY: 'ANY'>, <MarkerRule.NONE: 'NONE'>)
    >>> STATUS_ORDER[:2], STATUSES[Status.FAILED].style
    ((<Status.RESTORE_FAILED: 'RESTORE_FAILED'>, <Status.FAILED: 'FAILED'>), 'bold red')
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
    #: An organization-based sync under another name writes to exactly the destination (left as is).
    EQUIVALENT = "EQUIVALENT"
    #: Such a sync, taken over by ``"adopt": true``: orgsync's from now on.
    ADOPTED = "ADOPTED"
    CONFLICT = "CONFLICT"
    REPLACED = "REPLACED"
    #: A replace whose new sync could not be created: our previous sync was recreated exactly as it was.
    RESTORED = "RESTORED"
    #: ... and recreating the previous one failed too: no sync of ours is left there.
    RESTORE_FAILED = "RESTORE_FAILED"
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
    #: A sync writing to the destination is in place: the account-region delivers (unless its marker is PENDING).
    delivers: bool = False
    #: Why an account-region with this status does not deliver, for the coverage view ("" when it does, or when
    #: the status says nothing about delivery).
    cause: str = ""


_TABLE: tuple[StatusInfo, ...] = (
    StatusInfo(
        Status.RESTORE_FAILED,
        "Our sync was deleted to replace it, and neither the new one nor the previous one could be created: no sync "
        "of ours is there. Fix the cause in the detail and rerun; the detail names the deleted sync to recreate it "
        "by hand if need be.",
        "bold red",
        cause="a replace failed and the previous sync could not be restored: no sync there (RESTORE_FAILED)",
    ),
    StatusInfo(Status.FAILED, "Read the detail; fix the cause and rerun (the rollout is idempotent).", "bold red",
               cause="the last run failed there (FAILED): see its detail"),
    StatusInfo(Status.ACCESS_DENIED, "Deploy the member role (the StackSet) to this account, or fix its trust policy.",
               "red", cause="no member role to assume, or it lacks a permission (ACCESS_DENIED)"),
    StatusInfo(
        Status.QUOTA_EXCEEDED,
        "Five syncs already exist: delete one the detail lists as yours to remove (never an AWS-managed one), "
        "then rerun.",
        "red",
        cause="the quota of five syncs is full (QUOTA_EXCEEDED)",
    ),
    StatusInfo(
        Status.CONFLICT,
        "Another sync holds the region's only organization slot, or ours points elsewhere: remove or repoint it "
        "unless the detail names it AWS-managed, or rerun with onConflict=replace if it is orgsync's own sync name.",
        "red",
        cause="a conflict: another sync holds the organization slot, or ours points elsewhere (CONFLICT)",
    ),
    StatusInfo(
        Status.RESTORED,
        "The new sync could not be created, so the previous one was restored as it was (it still writes to its old "
        "destination): fix the cause in the detail and rerun with onConflict=replace.",
        "red",
        cause="the replacement could not be created; the previous sync was restored, writing elsewhere (RESTORED)",
    ),
    StatusInfo(Status.REGION_DISABLED, "Enable the region for the account, or remove it from regions.", "red",
               cause="the region is not enabled for the account (REGION_DISABLED)"),
    StatusInfo(
        Status.UNHEALTHY,
        "The sync reports failures: check the bucket policy and the detail, then rerun verify.",
        "red",
        cause="the sync's last run failed (UNHEALTHY)",
    ),
    StatusInfo(Status.DRIFTED, "Our sync points elsewhere: run a rollout with onConflict=replace.", "red",
               cause="our sync points elsewhere (DRIFTED)"),
    StatusInfo(Status.MISSING, "Run a rollout to create the sync.", "red",
               cause="no sync there yet: a rollout would create it (MISSING)"),
    StatusInfo(
        Status.NOT_OURS, "Nothing was deleted: the sync of that name points at another destination.", "yellow"
    ),
    StatusInfo(Status.CREATED, "Nothing: the sync was created.", "green", MarkerRule.FRESH, quiet=True, delivers=True),
    StatusInfo(
        Status.REPLACED, "Nothing: the sync pointed elsewhere and was recreated.", "green", MarkerRule.FRESH,
        quiet=True, delivers=True,
    ),
    StatusInfo(Status.IN_SYNC, "Nothing: the sync is in place.", "green", MarkerRule.ANY, quiet=True, delivers=True),
    StatusInfo(
        Status.EQUIVALENT,
        "Nothing: the sync named in the detail already delivers to the destination; orgsync never changes or deletes "
        'it. Rerun with "adopt": true to make it orgsync\'s.',
        "green",
        MarkerRule.ANY,
        delivers=True,
    ),
    StatusInfo(
        Status.ADOPTED,
        "Nothing: the sync named in the detail is orgsync's from now on (verify checks it, teardown removes it).",
        "green",
        MarkerRule.ANY,
        delivers=True,
    ),
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

#: Why an account-region whose sync is in place does not (yet) prove it delivers.
PENDING_CAUSE = "the sync is there but SSM has not written its test.json marker (PENDING)"

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
