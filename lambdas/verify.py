"""Verify mode: classify one account-region's resource data syncs without changing anything.

Verify answers "would a rollout have anything to do here, and is what is there healthy?". It reads the
account-region's syncs (``ListResourceDataSync``) and the account's ``test.json`` marker, and never calls a
write API: the classification below is a pure function over what was read.

Example::

    >>> ours = {"SyncName": "org-inventory", "LastStatus": "Successful",
    ...         "S3Destination": {"BucketName": "acme-inventory", "Prefix": "default", "SyncFormat": "JsonSerDe",
    ...                           "Region": "us-east-1",
    ...                           "DestinationDataSharing": {"DestinationDataSharingType": "Organization"}}}
    >>> classify_verify([ours], sync_name="org-inventory", bucket="acme-inventory", prefix="default",
    ...                 marker_present=True).status
    <Status.IN_SYNC: 'IN_SYNC'>
    >>> classify_verify([], sync_name="org-inventory", bucket="acme-inventory", prefix="default",
    ...                 marker_present=False).status
    <Status.MISSING: 'MISSING'>
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from lambdas.models import Status, Verification

#: Resource data syncs per account per region (documented quota).
SYNC_QUOTA = 5

#: The only value of ``DestinationDataSharingType``; one such sync per account-region (documented).
ORGANIZATION_SHARING = "Organization"

#: ``LastStatus`` values of a sync that is working (``InProgress``: the first run has not finished yet).
HEALTHY_LAST_STATUSES = frozenset({"Successful", "InProgress"})

#: No SSM stubs are installed (boto3-stubs[essential] lacks ssm): clients are typed by what we call on them.
SsmClient = Any


@dataclass(frozen=True)
class Finding:
    """What verify (or teardown) concluded for one account-region; field names follow :class:`Outcome`."""

    status: Status
    verification: Verification = Verification.NOT_CHECKED
    detail: str = ""
    existingSync: dict[str, Any] | list[dict[str, Any]] | None = None


def normalize_prefix(prefix: str | None) -> str:
    """The prefix as SSM writes under it: no leading or trailing slash, ``None`` as empty.

    >>> normalize_prefix("/default/"), normalize_prefix(None)
    ('default', '')
    """
    return (prefix or "").strip("/")


def destination_matches(item: Mapping[str, Any], *, bucket: str, prefix: str | None) -> bool:
    """True when a ``ResourceDataSyncItem`` writes to ``bucket`` under ``prefix`` (ours, by destination).

    The bucket region and KMS key are not compared: a bucket name is global, so bucket and prefix decide
    where the data lands.

    >>> destination_matches({"S3Destination": {"BucketName": "b", "Prefix": "p/"}}, bucket="b", prefix="p")
    True
    """
    dest = item.get("S3Destination") or {}
    return bool(dest.get("BucketName") == bucket and normalize_prefix(dest.get("Prefix")) == normalize_prefix(prefix))


def is_organization_sync(item: Mapping[str, Any]) -> bool:
    """True when the sync shares its destination with the organization (it holds the region's only slot)."""
    dest = item.get("S3Destination") or {}
    sharing = dest.get("DestinationDataSharing") or {}
    return bool(sharing.get("DestinationDataSharingType") == ORGANIZATION_SHARING)


def describe_sync(item: Mapping[str, Any]) -> dict[str, Any]:
    """The short form of a sync the report's ``existingSync`` carries: what is there, in operator's terms.

    >>> describe_sync({"SyncName": "x", "S3Destination": {"BucketName": "b"}})["bucket"]
    'b'
    """
    dest = item.get("S3Destination") or {}
    return {
        "name": item.get("SyncName", ""),
        "bucket": dest.get("BucketName", ""),
        "prefix": dest.get("Prefix", ""),
        "organization": is_organization_sync(item),
        "lastStatus": item.get("LastStatus", ""),
    }


def list_syncs(ssm: SsmClient) -> list[dict[str, Any]]:
    """Every ``SyncToDestination`` sync of the client's account-region, following ``NextToken`` (read-only).

    Example: ``list_syncs(session.client("ssm", region_name="us-east-1"))``.
    """
    items: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"SyncType": "SyncToDestination", "MaxResults": 50}
    while True:
        page = ssm.list_resource_data_sync(**kwargs)
        items.extend(page.get("ResourceDataSyncItems", []))
        token = page.get("NextToken")
        if not token:
            return items
        kwargs["NextToken"] = token


def classify_syncs(syncs: Sequence[Mapping[str, Any]], *, sync_name: str, bucket: str, prefix: str | None) -> Finding:
    """Classify from the listed syncs alone; an IN_SYNC finding still needs :func:`apply_marker`.

    Order matters: our sync by name decides first (DRIFTED/UNHEALTHY/IN_SYNC); without it, another
    organization sync is a CONFLICT before the quota is looked at, because removing that sync frees both.

    >>> classify_syncs([], sync_name="s", bucket="b", prefix="p").status
    <Status.MISSING: 'MISSING'>
    """
    ours = next((s for s in syncs if s.get("SyncName") == sync_name), None)
    if ours is not None:
        if not destination_matches(ours, bucket=bucket, prefix=prefix):
            dest = ours.get("S3Destination") or {}
            return Finding(
                Status.DRIFTED,
                detail=(
                    f"Sync {sync_name} writes to s3://{dest.get('BucketName', '?')}/"
                    f"{normalize_prefix(dest.get('Prefix'))}, not s3://{bucket}/{normalize_prefix(prefix)}."
                ),
                existingSync=describe_sync(ours),
            )
        if not is_organization_sync(ours):
            # Same destination but not shared with the organization: a rollout would have to recreate it.
            return Finding(
                Status.DRIFTED,
                detail=f"Sync {sync_name} has no DestinationDataSharing=Organization.",
                existingSync=describe_sync(ours),
            )
        last_status = ours.get("LastStatus")
        if last_status is not None and last_status not in HEALTHY_LAST_STATUSES:
            message = ours.get("LastSyncStatusMessage") or "no LastSyncStatusMessage"
            return Finding(
                Status.UNHEALTHY,
                detail=f"LastStatus {last_status}: {message}",
                existingSync=describe_sync(ours),
            )
        return Finding(Status.IN_SYNC, detail=f"LastStatus {last_status or 'not reported yet'}.")

    holder = next((s for s in syncs if is_organization_sync(s)), None)
    if holder is not None:
        return Finding(
            Status.CONFLICT,
            detail=f"Sync {holder.get('SyncName')} holds the region's only organization slot.",
            existingSync=describe_sync(holder),
        )
    if len(syncs) >= SYNC_QUOTA:
        return Finding(
            Status.QUOTA_EXCEEDED,
            detail=f"{len(syncs)} syncs exist; the quota is {SYNC_QUOTA}.",
            existingSync=[describe_sync(s) for s in syncs],
        )
    return Finding(Status.MISSING, detail=f"No sync named {sync_name}; a rollout would create it.")


def apply_marker(finding: Finding, marker_present: bool | None) -> Finding:
    """Fold the marker check into a finding: only a healthy sync of ours is judged by its marker.

    ``None`` means the marker was not looked at. An IN_SYNC sync without its marker stays IN_SYNC but is
    PENDING, which needs attention in every mode (the model's rule), with the PENDING action.

    >>> apply_marker(Finding(Status.IN_SYNC), True).verification
    <Verification.VERIFIED: 'VERIFIED'>
    >>> apply_marker(Finding(Status.MISSING), True).verification
    <Verification.NOT_CHECKED: 'NOT_CHECKED'>
    """
    if finding.status is not Status.IN_SYNC or marker_present is None:
        return finding
    if marker_present:
        return replace(finding, verification=Verification.VERIFIED)
    return replace(
        finding,
        verification=Verification.PENDING,
        detail=f"{finding.detail} The test.json marker is absent.".strip(),
    )


def classify_verify(
    syncs: Sequence[Mapping[str, Any]],
    *,
    sync_name: str,
    bucket: str,
    prefix: str | None,
    marker_present: bool | None,
) -> Finding:
    """The whole verify verdict for one account-region (see the module example)."""
    return apply_marker(classify_syncs(syncs, sync_name=sync_name, bucket=bucket, prefix=prefix), marker_present)
