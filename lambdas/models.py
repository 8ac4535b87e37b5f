"""The typed contract of orgsync's results: statuses, one account-region's outcome, the summary.

These are the shapes the execution output and the S3 report carry (see the README's reference); the CLI
reads them back with :meth:`Outcome.from_dict`.

Example::

    >>> o = Outcome(accountId="200000000001", accountName="prod-a", ouPath="/Workloads/Prod",
    ...             region="us-east-1", status=Status.CREATED, verification=Verification.VERIFIED)
    >>> o.needs_attention
    False
    >>> Outcome.from_dict(o.to_dict()) == o
    True
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

# Re-exported: the contract's types are read from here; their facts live in lambdas.statuses.
from lambdas.statuses import Status as Status
from lambdas.statuses import Verification as Verification


class Mode(StrEnum):
    """What an execution does. Each member is a registration: ``lambdas/modes/<value>.py`` declares what it does."""

    ROLLOUT = "rollout"
    VERIFY = "verify"
    TEARDOWN = "teardown"
    PLAN = "plan"


@dataclass(frozen=True)
class Outcome:
    """One account-region's result (the report's ``results[]`` item). Field names are the JSON keys."""

    accountId: str
    accountName: str
    ouPath: str
    region: str
    status: Status
    verification: Verification = Verification.NOT_CHECKED
    detail: str = ""
    existingSync: dict[str, Any] | list[dict[str, Any]] | None = None
    mode: Mode = Mode.ROLLOUT
    #: plan mode: what a rollout would do here (CREATE, REPLACE or NONE); None in the other modes.
    plannedAction: str | None = None
    #: Inventory collection in the account-region (:mod:`lambdas.collection`): rollout and verify say it.
    collection: dict[str, Any] | None = None

    @property
    def needs_attention(self) -> bool:
        """True when someone must act on this account-region (its mode decides, :mod:`lambdas.modes`)."""
        # Imported here: the mode registry imports every mode, and every mode builds on this module.
        from lambdas.modes import spec_of

        return spec_of(self.mode).needs_attention(self.status, self.verification)

    @property
    def action(self) -> str:
        """What to do about this outcome (:mod:`lambdas.statuses`)."""
        from lambdas.modes import spec_of

        return spec_of(self.mode).action(self.status, self.verification)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, with ``needsAttention`` and ``action`` added for readers."""
        data = asdict(self)
        data.update(status=str(self.status), verification=str(self.verification), mode=str(self.mode))
        if self.plannedAction is None:
            del data["plannedAction"]
        data["needsAttention"] = self.needs_attention
        data["action"] = self.action
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Outcome:
        """Read an outcome back from its JSON form (derived keys are ignored)."""
        return cls(
            accountId=str(data["accountId"]),
            accountName=str(data.get("accountName", "")),
            ouPath=str(data.get("ouPath", "")),
            region=str(data["region"]),
            status=Status(data["status"]),
            verification=Verification(data.get("verification", Verification.NOT_CHECKED)),
            detail=str(data.get("detail", "")),
            existingSync=data.get("existingSync"),
            mode=Mode(data.get("mode", Mode.ROLLOUT)),
            plannedAction=data.get("plannedAction"),
            collection=data.get("collection"),
        )


@dataclass(frozen=True)
class Summary:
    """Counts over a run's outcomes."""

    total: int
    byStatus: dict[str, int]
    verified: int
    pending: int
    needsAttention: int
    extra: dict[str, Any] = field(default_factory=dict)
    #: plan mode: account-regions by the action a rollout would take (empty in the other modes).
    byPlannedAction: dict[str, int] = field(default_factory=dict)

    @classmethod
    def of(cls, outcomes: list[Outcome]) -> Summary:
        """Count ``outcomes``."""
        by_status: dict[str, int] = {}
        by_action: dict[str, int] = {}
        for outcome in outcomes:
            by_status[str(outcome.status)] = by_status.get(str(outcome.status), 0) + 1
            if outcome.plannedAction is not None:
                by_action[outcome.plannedAction] = by_action.get(outcome.plannedAction, 0) + 1
        return cls(
            byPlannedAction=dict(sorted(by_action.items())),
            total=len(outcomes),
            byStatus=dict(sorted(by_status.items())),
            verified=sum(o.verification is Verification.VERIFIED for o in outcomes),
            pending=sum(o.verification is Verification.PENDING for o in outcomes),
            needsAttention=sum(o.needs_attention for o in outcomes),
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        data: dict[str, Any] = {"byPlannedAction": self.byPlannedAction} if self.byPlannedAction else {}
        data |= {
            "total": self.total,
            "byStatus": self.byStatus,
            "verified": self.verified,
            "pending": self.pending,
            "needsAttention": self.needsAttention,
        }
        data.update(self.extra)
        return data


class WhenBusy(StrEnum):
    """What a run that writes does when another running execution holds some of its account-regions."""

    #: Wait (a Wait state, polled) until they are free, for at most ``busyWaitSeconds`` from the execution's start.
    WAIT = "wait"
    #: End at once with ``AccountRegionsBusy`` naming the running execution.
    FAIL = "fail"


#: ``busyWaitSeconds`` when the input gives none: an hour, then ``AccountRegionsBusy`` (lambdas.leases).
DEFAULT_BUSY_WAIT_SECONDS = 3600


class OnConflict(StrEnum):
    """What a rollout does when the sync named syncName points at another destination."""

    REPORT = "report"
    REPLACE = "replace"


def s3_url(bucket: str, prefix: str | None) -> str:
    """``s3://bucket/prefix`` for messages (``s3://bucket`` without a prefix).

    >>> s3_url("acme-inventory", "default"), s3_url("acme-inventory", "")
    ('s3://acme-inventory/default', 's3://acme-inventory')
    """
    return f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}"


@dataclass(frozen=True)
class Destination:
    """Where the syncs write: the aggregator bucket, its region, the key prefix and an optional KMS key."""

    bucket: str
    region: str
    prefix: str
    kmsKeyArn: str | None = None

    @property
    def where(self) -> str:
        """``s3://bucket/prefix`` for messages."""
        return s3_url(self.bucket, self.prefix)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``kmsKeyArn`` only when set)."""
        data: dict[str, Any] = {"bucket": self.bucket, "region": self.region, "prefix": self.prefix}
        if self.kmsKeyArn:
            data["kmsKeyArn"] = self.kmsKeyArn
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Destination:
        """Read a destination back from :meth:`to_dict`'s form."""
        return cls(
            bucket=str(data["bucket"]),
            region=str(data["region"]),
            prefix=str(data["prefix"]),
            kmsKeyArn=data.get("kmsKeyArn") or None,
        )


@dataclass(frozen=True)
class RunParameters:
    """The resolved parameters of one execution: the input with every default applied.

    ``executionName`` names the run's S3 keys (items file, outcome records, report).
    """

    executionName: str
    mode: Mode
    syncName: str
    destination: Destination
    onConflict: OnConflict
    markerTimeoutSeconds: int
    memberRoleName: str
    #: Take over an equivalent sync (another name, exactly our destination) for good (issue 10).
    adopt: bool = False
    #: Create an inventory association where none exists (rollout), on this schedule.
    ensureCollection: bool = False
    collectionSchedule: str = "rate(12 hours)"
    #: When the run resolved its targets, before any account-region was reconciled: a sync of ours created since
    #: then is this run's, even when the attempt that created it failed afterwards (a timeout, a lost answer) and
    #: a retry finds it in place. Identical across Retry attempts, as the whole item is.
    startedAt: datetime | None = None

    #: What the run does when a running execution holds some of its account-regions (lambdas.leases).
    whenBusy: WhenBusy = WhenBusy.WAIT
    busyWaitSeconds: int = DEFAULT_BUSY_WAIT_SECONDS

    def to_dict(self) -> dict[str, Any]:
        """The JSON form carried by every item of the Distributed Map (``adopt``, ``startedAt``, ``whenBusy`` and
        ``busyWaitSeconds`` only when set or not their defaults)."""
        data: dict[str, Any] = {
            "executionName": self.executionName,
            "mode": str(self.mode),
            "syncName": self.syncName,
            "destination": self.destination.to_dict(),
            "onConflict": str(self.onConflict),
            "markerTimeoutSeconds": self.markerTimeoutSeconds,
            "memberRoleName": self.memberRoleName,
            "ensureCollection": self.ensureCollection,
            "collectionSchedule": self.collectionSchedule,
        }
        if self.adopt:
            data["adopt"] = True
        if self.startedAt is not None:
            data["startedAt"] = self.startedAt.isoformat()
        if self.whenBusy is not WhenBusy.WAIT:
            data["whenBusy"] = str(self.whenBusy)
        if self.busyWaitSeconds != DEFAULT_BUSY_WAIT_SECONDS:
            data["busyWaitSeconds"] = self.busyWaitSeconds
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunParameters:
        """Read run parameters back from :meth:`to_dict`'s form."""
        return cls(
            executionName=str(data["executionName"]),
            mode=Mode(data.get("mode", Mode.ROLLOUT)),
            syncName=str(data["syncName"]),
            destination=Destination.from_dict(data["destination"]),
            onConflict=OnConflict(data.get("onConflict", OnConflict.REPORT)),
            markerTimeoutSeconds=int(data["markerTimeoutSeconds"]),
            memberRoleName=str(data["memberRoleName"]),
            adopt=bool(data.get("adopt", False)),
            ensureCollection=bool(data.get("ensureCollection", False)),
            collectionSchedule=str(data.get("collectionSchedule", "rate(12 hours)")),
            startedAt=datetime.fromisoformat(data["startedAt"]) if data.get("startedAt") else None,
            whenBusy=WhenBusy(data.get("whenBusy", WhenBusy.WAIT)),
            busyWaitSeconds=int(data.get("busyWaitSeconds", DEFAULT_BUSY_WAIT_SECONDS)),
        )


@dataclass(frozen=True)
class RolloutInput:
    """The validated execution input (issue 3's contract) with the deployment's defaults applied."""

    mode: Mode
    targets: tuple[str, ...]
    regions: tuple[str, ...]
    excludeAccounts: tuple[str, ...]
    syncName: str
    destination: Destination
    onConflict: OnConflict
    markerTimeoutSeconds: int
    memberRoleName: str
    #: Teardown's confirmation word (issue 6); carried through, checked by the mode that needs it.
    confirm: str | None = None
    #: Only accounts also within these targets are processed; the others are SKIPPED (issue 6's enrolment).
    within: tuple[str, ...] = ()
    #: Take over equivalent syncs for good (issue 10).
    adopt: bool = False
    #: Create an inventory association where none exists (``lambdas.collection``), on ``collectionSchedule``.
    ensureCollection: bool = False
    collectionSchedule: str = "rate(12 hours)"
    #: Run the destination check and the canary first (a mode that writes; ``"canary": false`` turns both off).
    canary: bool = True
    #: The canary's ``(accountId, region)`` when the input names one; else the aggregator's own, or the first.
    canaryAt: tuple[str, str] | None = None
    #: Another running execution holds some of the account-regions: wait (at most busyWaitSeconds) or fail.
    whenBusy: WhenBusy = WhenBusy.WAIT
    busyWaitSeconds: int = DEFAULT_BUSY_WAIT_SECONDS

    def run_parameters(self, execution_name: str, started_at: datetime | None = None) -> RunParameters:
        """The per-item parameters of an execution named ``execution_name`` that resolved its targets at
        ``started_at``."""
        return RunParameters(
            executionName=execution_name,
            mode=self.mode,
            syncName=self.syncName,
            destination=self.destination,
            onConflict=self.onConflict,
            markerTimeoutSeconds=self.markerTimeoutSeconds,
            memberRoleName=self.memberRoleName,
            adopt=self.adopt,
            ensureCollection=self.ensureCollection,
            collectionSchedule=self.collectionSchedule,
            startedAt=started_at,
            whenBusy=self.whenBusy,
            busyWaitSeconds=self.busyWaitSeconds,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: a complete execution input that validates to this same object."""
        data: dict[str, Any] = {
            "mode": str(self.mode),
            "targets": list(self.targets),
            "regions": list(self.regions),
            "excludeAccounts": list(self.excludeAccounts),
            "syncName": self.syncName,
            "destination": self.destination.to_dict(),
            "onConflict": str(self.onConflict),
            "markerTimeoutSeconds": self.markerTimeoutSeconds,
            "memberRoleName": self.memberRoleName,
        }
        if self.confirm is not None:
            data["confirm"] = self.confirm
        if self.within:
            data["within"] = list(self.within)
        if self.adopt:
            data["adopt"] = True
        if self.ensureCollection:
            data["ensureCollection"] = True
            data["collectionSchedule"] = self.collectionSchedule
        if not self.canary:
            data["canary"] = False
        elif self.canaryAt is not None:
            data["canary"] = {"accountId": self.canaryAt[0], "region": self.canaryAt[1]}
        if self.whenBusy is not WhenBusy.WAIT:
            data["whenBusy"] = str(self.whenBusy)
        elif self.busyWaitSeconds != DEFAULT_BUSY_WAIT_SECONDS:
            data["busyWaitSeconds"] = self.busyWaitSeconds
        return data


@dataclass(frozen=True)
class TargetItem:
    """One ACTIVE account-region to process: one item of the Distributed Map, with the run's parameters."""

    accountId: str
    accountName: str
    ouPath: str
    region: str
    run: RunParameters
    #: The sync orgsync adopted in this account-region, if any (:mod:`lambdas.adoption`): ours when syncName is not.
    adoptedSync: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form written to the items file."""
        data: dict[str, Any] = {
            "accountId": self.accountId,
            "accountName": self.accountName,
            "ouPath": self.ouPath,
            "region": self.region,
            "run": self.run.to_dict(),
        }
        if self.adoptedSync:
            data["adoptedSync"] = self.adoptedSync
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TargetItem:
        """Read an item back (extra keys added by the state machine, such as ``reconcile``, are ignored)."""
        return cls(
            accountId=str(data["accountId"]),
            accountName=str(data.get("accountName", "")),
            ouPath=str(data.get("ouPath", "")),
            region=str(data["region"]),
            run=RunParameters.from_dict(data["run"]),
            adoptedSync=data.get("adoptedSync") or None,
        )

    def outcome(self, status: Status, **fields: Any) -> Outcome:
        """This account-region's outcome with ``status`` (and any other :class:`Outcome` field).

        Every outcome of a plan says what a rollout would do; where nothing decided it (SKIPPED, FAILED): NONE.
        """
        from lambdas.modes import spec_of

        if spec_of(self.run.mode).plans:
            fields.setdefault("plannedAction", "NONE")
        return Outcome(
            accountId=self.accountId,
            accountName=self.accountName,
            ouPath=self.ouPath,
            region=self.region,
            status=status,
            mode=self.run.mode,
            **fields,
        )


@dataclass(frozen=True)
class AccountTargets:
    """One ACTIVE account and its target regions: one item of the items file, which the Distributed Map batches.

    An account's regions travel together, so one child execution assumes the member role once and checks the
    account's one marker once for all of them. The run's parameters are not repeated per account: the Map's
    ``ItemBatcher`` adds them once per batch (``BatchInput``).

    >>> run = RunParameters("e", Mode.ROLLOUT, "s", Destination("b", "us-east-1", "p"), OnConflict.REPORT, 60, "R")
    >>> items = [TargetItem("200000000001", "a", "/", region, run) for region in ("us-east-1", "eu-west-1")]
    >>> [account.to_dict() for account in AccountTargets.group(items)]
    [{'accountId': '200000000001', 'accountName': 'a', 'ouPath': '/', 'regions': ['us-east-1', 'eu-west-1']}]
    >>> AccountTargets.group(items)[0].items(run) == items
    True
    """

    accountId: str
    accountName: str
    ouPath: str
    regions: tuple[str, ...]
    #: The sync adopted in each region where there is one (:mod:`lambdas.adoption`).
    adoptedSyncs: dict[str, str] = field(default_factory=dict)

    def items(self, run: RunParameters) -> list[TargetItem]:
        """The account's account-regions, in the order of its regions."""
        return [
            TargetItem(self.accountId, self.accountName, self.ouPath, region, run, self.adoptedSyncs.get(region))
            for region in self.regions
        ]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form written to the items file (``adoptedSyncs`` only when there are some)."""
        data: dict[str, Any] = {
            "accountId": self.accountId,
            "accountName": self.accountName,
            "ouPath": self.ouPath,
            "regions": list(self.regions),
        }
        if self.adoptedSyncs:
            data["adoptedSyncs"] = dict(self.adoptedSyncs)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AccountTargets:
        """Read an account back from :meth:`to_dict`'s form."""
        return cls(
            accountId=str(data["accountId"]),
            accountName=str(data.get("accountName", "")),
            ouPath=str(data.get("ouPath", "")),
            regions=tuple(str(region) for region in data["regions"]),
            adoptedSyncs={str(k): str(v) for k, v in (data.get("adoptedSyncs") or {}).items()},
        )

    @classmethod
    def group(cls, items: list[TargetItem]) -> list[AccountTargets]:
        """``items`` grouped by account, in the order accounts and regions first appear."""
        grouped: dict[str, list[TargetItem]] = {}
        for item in items:
            grouped.setdefault(item.accountId, []).append(item)
        return [
            cls(
                accountId=first.accountId,
                accountName=first.accountName,
                ouPath=first.ouPath,
                regions=tuple(item.region for item in regions),
                adoptedSyncs={item.region: item.adoptedSync for item in regions if item.adoptedSync},
            )
            for regions in grouped.values()
            for first in regions[:1]
        ]
