"""A batch of accounts: what one Distributed Map child execution processes, on top of the per-account-region steps.

The items file lists accounts, each with its regions (:class:`~lambdas.models.AccountTargets`); the Map's
``ItemBatcher`` gives each child a few accounts and, once, the run's parameters::

    {"BatchInput": {"run": {...}}, "Items": [{"accountId": "200000000001", "regions": ["us-east-1", ...]}, ...]}

The child's steps run the same per-account-region functions as before, one account-region after another:

- :func:`reconcile_batch` (``Reconcile accounts``): :func:`lambdas.sync.reconcile` for each account-region; the
  member role is assumed once per account (:func:`lambdas.sync.member_ssm` caches the credentials, and a refused
  AssumeRole is not tried again for the account's other regions).
- :func:`check_markers` (``Check markers``): :func:`lambdas.marker.check_outcome` for each reconciled
  account-region; identical marker listings are made once (the marker has no region: one listing per account).
  An account-region whose marker is not written yet stays pending: the state machine waits ``waitSeconds`` and
  checks the pending ones again, and only those (the marker deadline, ``markerTimeoutSeconds``, is the check's own:
  PENDING at the deadline).
- :func:`record_failures` (``Record failures``): the batch's step failed after the state machine's retries
  (a Lambda service error, a timeout): every account-region without an outcome gets a FAILED one (or PENDING
  when only the marker was missing), with the cause, as the per-account-region ``Record failure`` did.

One account-region's error never fails its batch-mates: an error the state machine used to retry per item
(throttling, AWS unavailable, S3 write failed) leaves it in ``toReconcile`` (or pending) with its attempt count,
and the state machine comes back after ``waitSeconds`` (the same backoff as :data:`TRANSIENT` and
:data:`S3_WRITE`, FULL jitter); past the attempts, or for any other error, it becomes FAILED with the same
cause and advice (:func:`lambdas.marker.failure_outcome`). A step that runs short of time (:class:`OutOfTime`,
raised before an AWS call that might not finish) returns what it has done, and the rest waits its turn in
``toReconcile`` or pending: a batch Lambda never reaches its timeout mid-call.

Every step returns the whole batch (:meth:`Batch.to_dict`): the accounts, their regions' statuses, the counts
the state machine's Choice reads, and the outcomes. When nothing is left, ``Check markers`` writes the batch's
outcomes as one record (:func:`lambdas.report.batch_key`); they are also the child's output.

Example::

    >>> batch = Batch.from_event({"BatchInput": {"run": {"executionName": "e", "syncName": "s",
    ...     "destination": {"bucket": "b", "region": "us-east-1", "prefix": "p"}, "markerTimeoutSeconds": 60,
    ...     "memberRoleName": "R"}}, "Items": [{"accountId": "200000000001", "regions": ["us-east-1", "eu-west-1"]}]})
    >>> batch.to_dict()["counts"]
    {'accounts': 1, 'accountRegions': 2, 'toReconcile': 2, 'pending': 0, 'done': 0, 'needsAttention': 0}
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from lambdas import report, sync
from lambdas.aws import AccessDenied
from lambdas.errors import AwsUnavailable, MarkerNotYetWritten, OutOfTime, S3WriteFailed, Throttled
from lambdas.marker import check_outcome, failure_outcome
from lambdas.models import AccountTargets, Outcome, RunParameters, TargetItem

#: The keys of a child's input that Step Functions' ItemBatcher writes.
BATCH_INPUT = "BatchInput"
ITEMS = "Items"


@dataclass(frozen=True)
class RetryPolicy:
    """A bounded, exponential backoff with FULL jitter, as a Step Functions Retrier has it.

    The state machine's Retry of a whole step and a batch's retry of one account-region use the same figures
    (:mod:`workflow.definition` builds its Retriers from these).

    >>> policy = RetryPolicy(interval_seconds=2, backoff_rate=2.0, max_attempts=6, max_delay_seconds=60)
    >>> [policy.ceiling(attempt) for attempt in (1, 2, 3, 6)]
    [2.0, 4.0, 8.0, 60.0]
    >>> 1 <= policy.delay(3, random.Random(1)) <= 8
    True
    """

    interval_seconds: float
    backoff_rate: float
    #: Retries after the first attempt.
    max_attempts: int
    max_delay_seconds: float

    def ceiling(self, attempt: int) -> float:
        """The longest wait after failed attempt number ``attempt`` (1 for the first failure)."""
        return float(min(self.max_delay_seconds, self.interval_seconds * self.backoff_rate ** (attempt - 1)))

    def delay(self, attempt: int, rng: random.Random | None = None) -> int:
        """The wait after failed attempt ``attempt``: FULL jitter under the ceiling, whole seconds, at least 1."""
        return max(1, math.ceil((rng or random).uniform(0, self.ceiling(attempt))))

    def retrier(self, errors: list[str]) -> dict[str, Any]:
        """The Step Functions Retrier of ``errors`` with this policy."""
        return {
            "ErrorEquals": errors,
            "IntervalSeconds": int(self.interval_seconds),
            "BackoffRate": self.backoff_rate,
            "MaxAttempts": self.max_attempts,
            "MaxDelaySeconds": int(self.max_delay_seconds),
            "JitterStrategy": "FULL",
        }


#: Throttling and AWS's transient faults that outlasted boto's retries: up to ~2 minutes of retries.
TRANSIENT = RetryPolicy(interval_seconds=2, backoff_rate=2.0, max_attempts=6, max_delay_seconds=60)
#: "S3 write failed" right after a bucket policy change lasts up to about a minute: ~1 minute of retries on
#: average (10 attempts, 5 s growing to 15 s, FULL jitter halves the mean).
S3_WRITE = RetryPolicy(interval_seconds=5, backoff_rate=1.5, max_attempts=10, max_delay_seconds=15)
#: Marker checks: the check itself decides PENDING at markerTimeoutSeconds (at most 3600 s); these outlast that
#: bound with ample margin (~60 s mean delay once capped).
MARKER = RetryPolicy(interval_seconds=5, backoff_rate=2.0, max_attempts=200, max_delay_seconds=120)

#: The errors of one account-region that are tried again, and how (the rest make it FAILED at once).
ITEM_RETRIES: dict[str, RetryPolicy] = {
    Throttled.__name__: TRANSIENT,
    AwsUnavailable.__name__: TRANSIENT,
    S3WriteFailed.__name__: S3_WRITE,
}


def _error(exc: BaseException) -> dict[str, str]:
    """An exception as a Catch puts it (``Error``, ``Cause``), which :func:`failure_outcome` reads."""
    return {"Error": type(exc).__name__, "Cause": str(exc)}


def with_claim_time(run: RunParameters, batch_input: dict[str, Any]) -> RunParameters:
    """``run`` whose ``startedAt`` is when its account-regions became the run's (``claimedAt``, from the claim).

    A run that waited for another one resolved its targets before that one created syncs it then finds in place:
    only a sync created since the claim is this run's.
    """
    claimed_at = batch_input.get("claimedAt")
    if not isinstance(claimed_at, str) or not claimed_at:
        return run
    moment = datetime.fromisoformat(claimed_at.replace("Z", "+00:00"))
    return run if run.startedAt is not None and run.startedAt >= moment else replace(run, startedAt=moment)


@dataclass
class Batch:
    """The accounts of one child execution and how far each account-region has come.

    ``toReconcile``: ``{"accountId", "region", "attempts"?, "error"?}`` still to reconcile; ``reconciled``:
    ``{"accountId", "region", "reconcile", "checks"?, "attempts"?}`` whose marker check is to come; ``outcomes``:
    the finished ones. ``waitSeconds``: how long the state machine waits before the next step.
    """

    run: RunParameters
    accounts: list[AccountTargets]
    toReconcile: list[dict[str, Any]] = field(default_factory=list)
    reconciled: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    waitSeconds: int = 0

    @classmethod
    def from_event(cls, event: dict[str, Any]) -> Batch:
        """The batch of a child's input (``BatchInput`` and ``Items``) or of a step's output (:meth:`to_dict`)."""
        if ITEMS in event:
            run = with_claim_time(RunParameters.from_dict(event[BATCH_INPUT]["run"]), event[BATCH_INPUT])
            accounts = [AccountTargets.from_dict(raw) for raw in event[ITEMS]]
            todo = [{"accountId": a.accountId, "region": region} for a in accounts for region in a.regions]
            return cls(run, accounts, toReconcile=todo)
        return cls(
            run=RunParameters.from_dict(event["run"]),
            accounts=[AccountTargets.from_dict(raw) for raw in event["accounts"]],
            toReconcile=list(event.get("toReconcile") or []),
            reconciled=list(event.get("reconciled") or []),
            outcomes=[Outcome.from_dict(raw) for raw in event.get("outcomes") or []],
            waitSeconds=int(event.get("waitSeconds") or 0),
        )

    def item(self, entry: dict[str, Any]) -> TargetItem:
        """The account-region an entry of ``toReconcile`` or ``reconciled`` names."""
        for account in self.accounts:
            if account.accountId == entry["accountId"]:
                for item in account.items(self.run):
                    if item.region == entry["region"]:
                        return item
        raise KeyError(f"{entry['accountId']} {entry['region']} is not in this batch")

    @property
    def finished(self) -> bool:
        """True when every account-region has its outcome."""
        return not self.toReconcile and not self.reconciled

    def to_dict(self) -> dict[str, Any]:
        """The JSON form every step returns: the console shows the accounts, each region's status and the counts."""
        statuses: dict[str, dict[str, str]] = {}
        for account in self.accounts:
            statuses[account.accountId] = {region: "TO_RECONCILE" for region in account.regions}
        for entry in self.reconciled:
            statuses[entry["accountId"]][entry["region"]] = f"{entry['reconcile']['status']} (marker pending)"
        for outcome in self.outcomes:
            statuses[outcome.accountId][outcome.region] = f"{outcome.status} {outcome.verification}"
        return {
            "counts": {
                "accounts": len(self.accounts),
                "accountRegions": sum(len(account.regions) for account in self.accounts),
                "toReconcile": len(self.toReconcile),
                "pending": len(self.reconciled),
                "done": len(self.outcomes),
                "needsAttention": sum(outcome.needs_attention for outcome in self.outcomes),
            },
            "statuses": statuses,
            "waitSeconds": self.waitSeconds,
            "run": self.run.to_dict(),
            "accounts": [account.to_dict() for account in self.accounts],
            "toReconcile": self.toReconcile,
            "reconciled": self.reconciled,
            "outcomes": [outcome.to_dict() for outcome in self.outcomes],
        }


def _key(entry: dict[str, Any]) -> dict[str, Any]:
    return {"accountId": entry["accountId"], "region": entry["region"]}


def _next_attempt(entry: dict[str, Any], exc: Exception) -> tuple[RetryPolicy, int] | None:
    """The policy and number of ``entry``'s next attempt after ``exc`` (``ITEM_RETRIES``); None once its error is
    not retried or its attempts are spent."""
    policy = ITEM_RETRIES.get(type(exc).__name__)
    attempts = int(entry.get("attempts") or 0) + 1
    return (policy, attempts) if policy is not None and attempts <= policy.max_attempts else None


def _wait(entries: list[tuple[RetryPolicy, int]], rng: random.Random | None) -> int:
    """The wait before the next step: the soonest of the entries' backoffs (0 when nothing waits)."""
    return min((policy.delay(attempt, rng) for policy, attempt in entries), default=0)


def reconcile_batch(
    batch: Batch, member_ssm: Callable[[TargetItem], Any], rng: random.Random | None = None
) -> Batch:
    """``Reconcile accounts``: :func:`lambdas.sync.reconcile` for each account-region still to reconcile.

    ``member_ssm(item)`` makes the SSM client of an account-region (assuming the member role, credentials cached
    per account); an account whose role cannot be assumed is not asked again for its other regions.

    Example::

        batch = reconcile_batch(Batch.from_event(event), lambda item: sync.member_ssm(clients, item))
    """
    denied: dict[str, AccessDenied] = {}

    def ssm_of(item: TargetItem) -> Any:
        if item.accountId in denied:
            raise denied[item.accountId]
        try:
            return member_ssm(item)
        except AccessDenied as exc:
            denied[item.accountId] = exc
            raise

    again: list[dict[str, Any]] = []
    waits: list[tuple[RetryPolicy, int]] = []
    for index, entry in enumerate(batch.toReconcile):
        item = batch.item(entry)
        try:
            reconciled = sync.reconcile(item, ssm_of)
        except OutOfTime:
            again.extend(batch.toReconcile[index:])  # not tried: no attempt is counted
            waits.append((TRANSIENT, 1))
            break
        except Exception as exc:
            if (retry := _next_attempt(entry, exc)) is not None:
                again.append({**_key(entry), "attempts": retry[1], "error": _error(exc)})
                waits.append(retry)
            else:
                batch.outcomes.append(failure_outcome(item, _error(exc), None))
            continue
        batch.reconciled.append({**_key(entry), "reconcile": reconciled.to_dict()})
    batch.toReconcile = again
    batch.waitSeconds = _wait(waits, rng)
    return batch


class SharedListings:
    """An S3 client whose identical ``ListObjectsV2`` calls are made once: the marker of an account is listed once
    for all its regions (it has no region in its key). Everything else goes to ``s3`` as it is.

    >>> class S3:
    ...     calls = 0
    ...     def list_objects_v2(self, **kwargs):
    ...         S3.calls += 1
    ...         return {"KeyCount": 0}
    >>> shared = SharedListings(S3())
    >>> _ = [shared.list_objects_v2(Bucket="b", Prefix="p/accountid=1/test.json") for _ in range(4)]
    >>> S3.calls
    1
    """

    def __init__(self, s3: Any) -> None:
        self._s3 = s3
        self._listed: dict[str, Any] = {}

    def list_objects_v2(self, **kwargs: Any) -> Any:
        key = json.dumps(kwargs, sort_keys=True, default=str)
        if key not in self._listed:
            self._listed[key] = self._s3.list_objects_v2(**kwargs)
        return self._listed[key]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._s3, name)


def check_markers(batch: Batch, s3: Any, rng: random.Random | None = None) -> Batch:
    """``Check markers``: the outcome of each reconciled account-region (its mode's marker check), the marker
    listed once per account; those whose marker is not written yet stay pending. Writes the batch's record when
    nothing is left.

    Example::

        batch = check_markers(reconcile_batch(batch, member_ssm), s3)
        batch.to_dict()["counts"]["pending"]
    """
    shared = SharedListings(s3)
    pending: list[dict[str, Any]] = []
    waits: list[tuple[RetryPolicy, int]] = []
    for index, entry in enumerate(batch.reconciled):
        item = batch.item(entry)
        try:
            outcome = check_outcome(shared, item, entry["reconcile"])
        except MarkerNotYetWritten as exc:
            checks = int(entry.get("checks") or 0) + 1
            if checks <= MARKER.max_attempts:
                pending.append({**entry, "checks": checks})
                waits.append((MARKER, checks))
            else:
                batch.outcomes.append(failure_outcome(item, _error(exc), entry["reconcile"]))
            continue
        except OutOfTime:
            pending.extend(batch.reconciled[index:])
            waits.append((TRANSIENT, 1))
            break
        except Exception as exc:
            if (retry := _next_attempt(entry, exc)) is not None:
                pending.append({**entry, "attempts": retry[1]})
                waits.append(retry)
            else:
                batch.outcomes.append(failure_outcome(item, _error(exc), entry["reconcile"]))
            continue
        batch.outcomes.append(outcome)
    batch.reconciled = pending
    if not batch.toReconcile:  # else the reconcile's backoff stands: the state machine retries those first
        batch.waitSeconds = _wait(waits, rng)
    if batch.finished:
        record(batch, s3)
    return batch


def record(batch: Batch, s3: Any) -> str:
    """Write the batch's outcomes as one record (named after its first account); returns the key."""
    key = report.batch_key(batch.run.executionName, batch.accounts[0].accountId)
    return report.write_outcomes(s3, batch.run, key, batch.outcomes)


def record_failures(batch: Batch, error: dict[str, Any], s3: Any) -> Batch:
    """``Record failures``: a step of the batch failed after its retries (``error``: the Catch's Error and Cause).
    Every account-region without an outcome gets one (FAILED, or PENDING when only the marker was missing, with
    what to do), and the batch's record is written.

    Example::

        record_failures(batch, {"Error": "Lambda.ServiceException", "Cause": "..."}, s3).to_dict()["counts"]
    """
    for entry in batch.toReconcile:
        batch.outcomes.append(failure_outcome(batch.item(entry), error, None))
    for entry in batch.reconciled:
        batch.outcomes.append(failure_outcome(batch.item(entry), error, entry["reconcile"]))
    batch.toReconcile, batch.reconciled, batch.waitSeconds = [], [], 0
    record(batch, s3)
    return batch
