"""Overlapping runs: one lease table in the destination bucket, so that two runs that write never act on the same
account-region at once.

A run of a mode that writes (rollout, teardown; not ``ModeSpec.read_only`` ones) claims its account-regions after
``Resolve targets`` and releases them when its Map is done. The claims live in one S3 object,
:data:`LEASES_KEY`, changed only by conditional writes (``If-None-Match: *`` to create it, ``If-Match: <ETag>`` to
change it): of two runs that read the same version, S3 lets one write and answers the other ``412
PreconditionFailed`` (or ``409 ConditionalRequestConflict``), and that one reads again and sees the claim. So a
claim is compare-and-swap on one object, strongly consistent, one GET and one PUT per run; the granularity is
the account-region: a one-account enrolment rollout does not wait for a rollout of other accounts, and a
read-only run (verify, plan) neither claims nor waits.

A lease holds while its execution may still act: until its run releases it, or Step Functions reports the
execution closed (``DescribeExecution``: SUCCEEDED, FAILED, TIMED_OUT, ABORTED) and :data:`CLOSED_GRACE_SECONDS`
have passed since (a stopped execution's Lambda invocations in flight run to their end), or, when Step
Functions does not know the execution at all (a deployment destroyed mid-run, a local world whose process was
killed), until its expiry, :data:`LEASE_SECONDS` after it was taken. A crashed run never locks out for good.

Example::

    >>> from lambdas.models import Destination, Mode, OnConflict, RunParameters, TargetItem
    >>> run = RunParameters("e", Mode.ROLLOUT, "s", Destination("b", "us-east-1", "p"), OnConflict.REPORT, 60, "R")
    >>> account_regions([TargetItem("200000000001", "a", "/", "eu-west-1", run),
    ...                  TargetItem("200000000001", "a", "/", "us-east-1", run)])
    {'200000000001': ('eu-west-1', 'us-east-1')}
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lambdas import aws, clock, report
from lambdas.errors import AccountRegionsBusy, AwsUnavailable
from lambdas.models import RunParameters, TargetItem, WhenBusy

#: The lease table: one object per bucket (a region's one organization slot is shared by every deployment).
LEASES_KEY = "orgsync/leases/account-regions.json"
#: A lease whose execution Step Functions does not know expires this long after it was taken: longer than any
#: run (a day; the claim of a known execution holds while it runs, whatever its length).
LEASE_SECONDS = 24 * 3600
#: A closed execution's lease holds this long after its stop: StopExecution does not stop a Lambda invocation in
#: flight, which runs to its own timeout at most (ReconcileSync: 180 s, the longest of an account-region's tasks).
CLOSED_GRACE_SECONDS = 180
#: A waiting run looks again this often (one Wait state per look).
BUSY_POLL_SECONDS = 60
#: Reads and conditional writes in a row before giving up with AwsUnavailable (retried by the state machine).
MAX_WRITE_RACES = 5
#: S3's answers to a conditional write that lost: the object changed (412), or a concurrent write is in flight (409).
LOST_RACE_CODES = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})
#: DescribeExecution's statuses of an execution that can no longer start a task.
CLOSED_STATUSES = frozenset({"SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"})

AccountRegions = dict[str, tuple[str, ...]]


def account_regions(items: Iterable[TargetItem]) -> AccountRegions:
    """The account-regions of ``items``, by account (sorted): the compact form a lease records."""
    regions: dict[str, set[str]] = {}
    for item in items:
        regions.setdefault(item.accountId, set()).add(item.region)
    return {account: tuple(sorted(regions[account])) for account in sorted(regions)}


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


@dataclass(frozen=True)
class Lease:
    """One run's claim: its execution, mode, when it was taken and expires, and its account-regions."""

    executionArn: str
    mode: str
    acquiredAt: datetime
    expiresAt: datetime
    accountRegions: AccountRegions

    def shared_with(self, wanted: Mapping[str, tuple[str, ...]]) -> list[tuple[str, str]]:
        """The account-regions both this lease and ``wanted`` hold, sorted.

        >>> from datetime import UTC
        >>> now = datetime(2026, 1, 1, tzinfo=UTC)
        >>> lease = Lease("arn:...:a", "rollout", now, now, {"200000000001": ("us-east-1",)})
        >>> lease.shared_with({"200000000001": ("eu-west-1", "us-east-1"), "200000000002": ("us-east-1",)})
        [('200000000001', 'us-east-1')]
        """
        return sorted(
            (account, region)
            for account, regions in wanted.items()
            for region in set(regions) & set(self.accountRegions.get(account, ()))
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form in the lease table."""
        return {
            "executionArn": self.executionArn,
            "mode": self.mode,
            "acquiredAt": _iso(self.acquiredAt),
            "expiresAt": _iso(self.expiresAt),
            "accountRegions": {account: list(regions) for account, regions in self.accountRegions.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Lease:
        """Read a lease back from the table."""
        return cls(
            executionArn=str(data["executionArn"]),
            mode=str(data.get("mode", "")),
            acquiredAt=datetime.fromisoformat(str(data["acquiredAt"])),
            expiresAt=datetime.fromisoformat(str(data["expiresAt"])),
            accountRegions={str(k): tuple(str(r) for r in v) for k, v in dict(data["accountRegions"]).items()},
        )


@dataclass(frozen=True)
class LeaseTable:
    """The leases as read, with the ETag of the version read (None: the object does not exist yet)."""

    leases: tuple[Lease, ...]
    etag: str | None

    def without(self, execution_arn: str) -> tuple[Lease, ...]:
        """Every lease but ``execution_arn``'s."""
        return tuple(lease for lease in self.leases if lease.executionArn != execution_arn)

    def of(self, execution_arn: str) -> Lease | None:
        """``execution_arn``'s lease, if it holds one."""
        return next((lease for lease in self.leases if lease.executionArn == execution_arn), None)


def read_table(s3: Any, bucket: str) -> LeaseTable:
    """The lease table of ``bucket`` and the ETag it was read at (an absent table is empty, ETag None)."""
    try:
        body, etag = aws.read_object(s3, bucket, LEASES_KEY)
    except aws.AwsCallFailed as error:
        if error.code in {"NoSuchKey", "404"}:
            return LeaseTable((), None)
        raise
    document = json.loads(body)
    return LeaseTable(tuple(Lease.from_dict(raw) for raw in document.get("leases", [])), etag)


def write_table(s3: Any, bucket: str, leases: Iterable[Lease], read: LeaseTable) -> bool:
    """Write ``leases`` if the table is still the version ``read``; False when another run changed it meanwhile.

    Conditional on the ETag read (``If-Match``), or, when there was no table, on there still being none
    (``If-None-Match: *``): S3 applies the write atomically or refuses it with 412/409.
    """
    body = json.dumps({"leases": [lease.to_dict() for lease in leases]}, separators=(",", ":")).encode()
    condition = {"IfMatch": read.etag} if read.etag is not None else {"IfNoneMatch": "*"}
    try:
        aws.call(
            f"s3:PutObject on s3://{bucket}/{LEASES_KEY}",
            s3.put_object,
            Bucket=bucket,
            Key=LEASES_KEY,
            Body=body,
            ContentType="application/json",
            **condition,
        )
    except aws.AwsCallFailed as error:
        if error.code in LOST_RACE_CODES:
            return False
        raise
    return True


def holding(sfn: Any, lease: Lease, now: datetime) -> str | None:
    """Why ``lease`` still holds its account-regions at ``now``, in words; None when it no longer does.

    See the module's doc for the rule.
    """
    try:
        described = aws.call(
            f"states:DescribeExecution on {lease.executionArn}",
            sfn.describe_execution,
            executionArn=lease.executionArn,
        )
    except aws.AwsCallFailed as error:
        if error.code != "ExecutionDoesNotExist":
            raise
        # Unknown to Step Functions (or not yet visible: the call is eventually consistent): only expiry frees it.
        if now < lease.expiresAt:
            return (
                f"which Step Functions does not know (a deployment destroyed mid-run?): its claim expires at "
                f"{_iso(lease.expiresAt)}, or delete its entry from {LEASES_KEY} to free them now"
            )
        return None
    status = described.get("status")
    if status not in CLOSED_STATUSES:
        return "which is still running"
    stopped = described.get("stopDate")
    if isinstance(stopped, datetime) and now < stopped + timedelta(seconds=CLOSED_GRACE_SECONDS):
        until = stopped + timedelta(seconds=CLOSED_GRACE_SECONDS)
        return f"which ended {status} at {_iso(stopped)}: its tasks in flight may act until {_iso(until)}"
    return None


def _busy_message(holder: Lease, why: str, shared: list[tuple[str, str]], wanted: int) -> str:
    account, region = shared[0]
    return (
        f"{len(shared)} of this run's {wanted} account-regions (such as {account} {region}) are held by execution "
        f"{holder.executionArn} ({holder.mode}, since {_iso(holder.acquiredAt)}), {why}"
    )


def claim(
    s3: Any,
    sfn: Any,
    run: RunParameters,
    items: list[TargetItem],
    execution_arn: str,
    started_at: datetime,
) -> dict[str, Any]:
    """Claim the account-regions of ``items`` for ``execution_arn`` (a run of a mode that writes).

    Returns ``{"claimed": True, "claimedAt": ..., ...}`` once the run holds them (a read-only mode holds nothing
    and waits for nothing; ``claimedAt`` is when they became the run's: a sync of ours created before it may be
    another run's, one created after it is this run's), or ``{"claimed": False, "waitSeconds": n, "busyWith": arn,
    "detail": ...}`` when a running execution holds some and ``whenBusy`` is ``wait`` with time left of
    ``busyWaitSeconds`` (counted from ``started_at``, the execution's start): the state machine waits ``n``
    seconds and claims again. Raises
    :class:`AccountRegionsBusy` naming the running execution otherwise.

    Example (with moto)::

        claim(s3, sfn, run, items, "arn:aws:states:us-east-1:300000000001:execution:orgsync:run-1", started)
    """
    # Imported here: the registry imports every mode, and the modes build on the modules this one uses.
    from lambdas.modes import spec_of

    wanted = account_regions(items)
    count = sum(len(regions) for regions in wanted.values())
    if spec_of(run.mode).read_only or not wanted:
        return {"claimed": True, "accountRegions": 0, "claimedAt": clock.now().isoformat()}
    bucket = run.destination.bucket
    for _ in range(MAX_WRITE_RACES):
        now = clock.now()
        table = read_table(s3, bucket)
        if (held := table.of(execution_arn)) is not None:
            # a retry after a write whose answer was lost
            return {"claimed": True, "accountRegions": count, "claimedAt": held.acquiredAt.isoformat()}
        kept: list[Lease] = []
        for lease in table.leases:
            shared = lease.shared_with(wanted)
            if not shared:
                # Kept while unexpired without a look; past its expiry, kept only if its execution still runs.
                if lease.expiresAt > now or holding(sfn, lease, now) is not None:
                    kept.append(lease)
            elif (why := holding(sfn, lease, now)) is not None:
                return _busy(run, _busy_message(lease, why, shared, count), lease, started_at, now)
            # else: its execution ended (or it expired unknown): dropped with this write
        mine = Lease(execution_arn, str(run.mode), now, now + timedelta(seconds=LEASE_SECONDS), wanted)
        if write_table(s3, bucket, [*kept, mine], table):
            return {"claimed": True, "accountRegions": count, "claimedAt": now.isoformat()}
    raise AwsUnavailable(
        f"s3:PutObject on s3://{bucket}/{LEASES_KEY}: other executions changed the lease table {MAX_WRITE_RACES} "
        "times in a row"
    )


def _busy(run: RunParameters, detail: str, holder: Lease, started_at: datetime, now: datetime) -> dict[str, Any]:
    if run.whenBusy is WhenBusy.FAIL:
        raise AccountRegionsBusy(
            f"{detail}; whenBusy is \"fail\": wait for it to end (or stop it), or start with whenBusy \"wait\""
        )
    waited = max(0.0, (now - started_at).total_seconds())
    left = run.busyWaitSeconds - waited
    if left <= 0:
        raise AccountRegionsBusy(
            f"{detail}; waited {waited:.0f} s, busyWaitSeconds is {run.busyWaitSeconds}: wait for it to end "
            "(or stop it), or start with a larger busyWaitSeconds"
        )
    return {
        "claimed": False,
        "waitSeconds": max(1, min(BUSY_POLL_SECONDS, int(left))),
        "busyWith": holder.executionArn,
        "detail": f"{detail}; waiting ({waited:.0f} s of busyWaitSeconds {run.busyWaitSeconds})",
    }


def release(s3: Any, run: RunParameters, execution_arn: str) -> dict[str, Any]:
    """Remove ``execution_arn``'s lease (its account-regions are done with); nothing to do if it holds none.

    Every other lease is kept as it is: judging one needs DescribeExecution (a running execution keeps its lease
    past its expiry), which is the claim's to do.

    Example (with moto)::

        release(s3, run, "arn:aws:states:us-east-1:300000000001:execution:orgsync:run-1")  # {"released": True}
    """
    from lambdas.modes import spec_of

    if spec_of(run.mode).read_only:
        return {"released": False}
    bucket = run.destination.bucket
    for _ in range(MAX_WRITE_RACES):
        table = read_table(s3, bucket)
        if table.of(execution_arn) is None:
            return {"released": False}
        if write_table(s3, bucket, table.without(execution_arn), table):
            return {"released": True}
    raise AwsUnavailable(
        f"s3:PutObject on s3://{bucket}/{LEASES_KEY}: other executions changed the lease table {MAX_WRITE_RACES} "
        "times in a row"
    )


def claim_event(event: Mapping[str, Any], clients: aws.ClientProvider) -> dict[str, Any]:
    """``Claim account-regions`` with real clients.

    ``event``: ``{"run", "itemsLocation", "canary", "executionArn", "executionStartTime"}`` (the last two from
    ``$$``; ``canary`` is Resolve targets' choice, or null).
    """
    from lambdas.modes import spec_of

    run = RunParameters.from_dict(dict(event["run"]))
    s3 = report.s3_client(clients, run)
    location = event["itemsLocation"]
    # A read-only run claims nothing: its items file is not even read.
    read_only = spec_of(run.mode).read_only
    items = [] if read_only else report.read_items(s3, str(location["bucket"]), str(location["key"]), run)
    # The canary's account-region is not in the items file (the Map must not reconcile it twice), but it writes.
    canary = event.get("canary")
    if not read_only and isinstance(canary, Mapping) and isinstance(canary.get("item"), Mapping):
        items.append(TargetItem.from_dict(dict(canary["item"])))
    started_at = datetime.fromisoformat(str(event["executionStartTime"]))
    return claim(s3, clients.client("stepfunctions"), run, items, str(event["executionArn"]), started_at)


def release_event(event: Mapping[str, Any], clients: aws.ClientProvider) -> dict[str, Any]:
    """``Release account-regions`` with real clients: ``event`` is ``{"run", "executionArn"}``."""
    run = RunParameters.from_dict(dict(event["run"]))
    return release(report.s3_client(clients, run), run, str(event["executionArn"]))
