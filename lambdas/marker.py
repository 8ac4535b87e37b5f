"""The test.json marker check, the outcome record of an account-region, and the record of a failed one.

SSM proves a sync can write to the bucket by writing ``PREFIX/AWS:InstanceInformation/accountid=ID/test.json``
(one per account, whatever the region). For a sync created or replaced by this run the marker must be written
at or after the creation (less a small clock skew): an older marker is stale and proves nothing. For a sync
already in place any marker will do. While the marker is absent and the deadline (reconciliation time +
``markerTimeoutSeconds``, on :mod:`lambdas.clock`) has not passed, :class:`~lambdas.errors.MarkerNotYetWritten`
is raised for the state machine to retry with backoff; at the deadline the outcome is recorded PENDING.

Example::

    >>> marker_key("default", "200000000001")
    'default/AWS:InstanceInformation/accountid=200000000001/test.json'
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from lambdas import clock, report
from lambdas.aws import AwsCallFailed, call
from lambdas.causes import error_message
from lambdas.errors import MarkerNotYetWritten, S3WriteFailed
from lambdas.models import Outcome, Status, TargetItem, Verification
from lambdas.statuses import STATUSES, MarkerRule

#: S3 and SSM clocks differ a little from ours; LastModified has a one-second resolution.
MARKER_CLOCK_SKEW = timedelta(seconds=60)
NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})

BUCKET_POLICY_HINT = (
    "Check the bucket policy of {bucket}: it must let ssm.amazonaws.com call s3:PutObject on "
    "arn:aws:s3:::{bucket}/{prefix}/*/accountid=*/* with s3:x-amz-acl=bucket-owner-full-control and the "
    "organization condition (aws:SourceOrgID), and s3:GetBucketAcl on the bucket."
)


def marker_key(prefix: str | None, account_id: str) -> str:
    """The key of the marker SSM writes for ``account_id`` under ``prefix`` (none: at the bucket's top)."""
    path = f"AWS:InstanceInformation/accountid={account_id}/test.json"
    return f"{prefix}/{path}" if prefix else path


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def marker_written_at(s3: Any, bucket: str, key: str) -> datetime | None:
    """When the marker was last written, or None when it is absent.

    A listing of the exact key rather than HeadObject: HeadObject answers 403 instead of 404 for a missing key
    unless the caller may list the whole bucket, while a listing is granted by ``s3:ListBucket`` conditioned on
    ``s3:prefix`` (the markers' prefix) and says "absent" unambiguously.

    Through :func:`lambdas.aws.call`, like every AWS call: throttling, a transient fault, a connection error or a
    read timeout that outlasted boto's retries is :class:`~lambdas.errors.Throttled` or
    :class:`~lambdas.errors.AwsUnavailable`, which the batch and the state machine retry.
    """
    try:
        response = call(
            f"s3:ListBucket on s3://{bucket}/{key}", s3.list_objects_v2, Bucket=bucket, Prefix=key, MaxKeys=1
        )
    except AwsCallFailed as error:
        if error.code in NOT_FOUND_CODES:
            return None
        raise
    for obj in response.get("Contents", []):
        if obj["Key"] == key:
            written: datetime = obj["LastModified"]
            return written
    return None


def check_marker(s3: Any, item: TargetItem, reconciled: dict[str, Any]) -> Outcome:
    """The account-region's outcome once its marker is checked; raises ``MarkerNotYetWritten`` to be retried.

    ``reconciled`` is ``Reconcile sync``'s output (:meth:`lambdas.sync.Reconciled.to_dict`).

    Example::

        outcome = check_marker(s3, item, {"status": "CREATED", "detail": "...", "existingSync": None,
                                          "syncCreatedTime": "2026-01-01T00:00:00+00:00",
                                          "reconciledAt": "2026-01-01T00:00:00+00:00"})
    """
    status = Status(reconciled["status"])
    detail = str(reconciled.get("detail") or "")
    existing = reconciled.get("existingSync")
    rule = STATUSES[status].marker
    if rule is MarkerRule.NONE:
        return item.outcome(status, detail=detail, existingSync=existing)
    destination = item.run.destination
    key = marker_key(destination.prefix, item.accountId)
    written = marker_written_at(s3, destination.bucket, key)
    created = _parse_time(reconciled.get("syncCreatedTime"))
    fresh_needed = rule is MarkerRule.FRESH and created is not None
    if written is not None and (not fresh_needed or written >= created - MARKER_CLOCK_SKEW):  # type: ignore[operator]
        return item.outcome(status, verification=Verification.VERIFIED, detail=detail, existingSync=existing)
    started = _parse_time(reconciled.get("reconciledAt")) or created or clock.now()
    deadline = started + timedelta(seconds=item.run.markerTimeoutSeconds)
    now = clock.now()
    what = "an older marker is there, written before the sync was created" if written else "it is absent"
    if now < deadline:
        raise MarkerNotYetWritten(
            f"s3://{destination.bucket}/{key} not written yet ({what}); waiting until {deadline.isoformat()}"
        )
    hint = BUCKET_POLICY_HINT.format(bucket=destination.bucket, prefix=destination.prefix)
    return item.outcome(
        status,
        verification=Verification.PENDING,
        detail=f"{detail} SSM has not written s3://{destination.bucket}/{key} within "
        f"markerTimeoutSeconds={item.run.markerTimeoutSeconds} ({what}). {hint}".strip(),
        existingSync=existing,
    )


def check_and_record(s3: Any, event: dict[str, Any]) -> dict[str, Any]:
    """``Check marker and record outcome``: check the marker, write the outcome record, return the outcome.

    Example::

        check_and_record(s3, {**item.to_dict(), "reconcile": reconciled.to_dict()})["verification"]
    """
    item = TargetItem.from_dict(event)
    outcome = check_outcome(s3, item, event["reconcile"])
    report.write_outcome(s3, item.run, outcome)
    return outcome.to_dict()


def check_outcome(s3: Any, item: TargetItem, reconciled: dict[str, Any]) -> Outcome:
    """The account-region's outcome: its mode's marker check on ``reconciled`` (``Reconcile sync``'s output), with
    the collection status it carries; raises ``MarkerNotYetWritten`` to be checked again. Writes no record.

    Example::

        check_outcome(s3, item, reconciled.to_dict()).verification
    """
    # Imported here: the registry imports every mode, and the modes build on this module.
    from lambdas.modes import spec_of

    outcome = spec_of(item.run.mode).check_marker(s3, item, reconciled)
    if reconciled.get("collection") is not None:
        outcome = replace(outcome, collection=reconciled["collection"])
    return outcome


def record_unchecked(s3: Any, item: TargetItem, reconciled: dict[str, Any]) -> Outcome:
    """``Check marker`` of a mode that checks nothing (teardown: the marker stays, as all bucket data); no S3 call.

    >>> from lambdas.models import Destination, Mode, OnConflict, RunParameters
    >>> run = RunParameters("e", Mode.TEARDOWN, "s", Destination("b", "us-east-1", "p"), OnConflict.REPORT, 60, "R")
    >>> item = TargetItem("200000000001", "a", "/", "us-east-1", run)
    >>> record_unchecked(None, item, {"status": "DELETED", "detail": "Deleted s."}).needs_attention
    False
    """
    return item.outcome(
        Status(reconciled["status"]),
        detail=str(reconciled.get("detail") or ""),
        existingSync=reconciled.get("existingSync"),
    )


def failure_outcome(item: TargetItem, error: dict[str, Any], reconciled: dict[str, Any] | None) -> Outcome:
    """The outcome of an item whose processing failed after its retries (``error`` is the Catch's Error/Cause).

    >>> from lambdas.models import Destination, Mode, OnConflict, RunParameters
    >>> run = RunParameters("e", Mode.ROLLOUT, "s", Destination("b", "us-east-1", "p"), OnConflict.REPORT, 60, "R")
    >>> item = TargetItem("200000000001", "a", "/", "us-east-1", run)
    >>> failure_outcome(item, {"Error": "S3WriteFailed", "Cause": "S3 write failed"}, None).status.value
    'FAILED'
    """
    name = str(error.get("Error") or "Unknown")
    message = error_message(str(error.get("Cause") or "")) or ""
    destination = item.run.destination
    if name == MarkerNotYetWritten.__name__ and reconciled is not None:
        # The marker Retry ran out before the Lambda's own deadline: the sync is there, unproven.
        return item.outcome(
            Status(reconciled["status"]),
            verification=Verification.PENDING,
            detail=f"{reconciled.get('detail', '')} The marker was still missing when the retries ran out: "
            f"{message}. {BUCKET_POLICY_HINT.format(bucket=destination.bucket, prefix=destination.prefix)}".strip(),
            existingSync=reconciled.get("existingSync"),
        )
    if name == S3WriteFailed.__name__:
        detail = (
            f"SSM could not write to s3://{destination.bucket}/{destination.prefix} (S3 write failed) for over a "
            f"minute of retries: {message}. "
            + BUCKET_POLICY_HINT.format(bucket=destination.bucket, prefix=destination.prefix)
        )
    else:
        step = "after the sync was reconciled, checking the marker" if reconciled else "reconciling the sync"
        so_far = f" (the sync was {reconciled['status']})" if reconciled else ""
        detail = f"{name} while {step}{so_far}: {message}. Fix the cause and rerun (the rollout is idempotent)."
    return item.outcome(Status.FAILED, detail=detail)


def record_failure(s3: Any, event: dict[str, Any]) -> dict[str, Any]:
    """``Record failure``: write a FAILED (or PENDING) outcome record for the item and return it.

    Example::

        record_failure(s3, {**item.to_dict(), "error": {"Error": "S3WriteFailed", "Cause": "..."}})["status"]
    """
    item = TargetItem.from_dict(event)
    outcome = failure_outcome(item, event.get("error") or {}, event.get("reconcile"))
    report.write_outcome(s3, item.run, outcome)
    return outcome.to_dict()
