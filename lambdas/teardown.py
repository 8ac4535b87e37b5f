"""Teardown mode: delete orgsync's own sync, and nothing else.

A sync is orgsync's when its name is syncName AND its destination is our bucket and prefix; a sync of that
name pointing elsewhere belongs to someone else (NOT_OURS) and is left alone, as is every sync of another
name. Bucket data, the test.json marker included, is never touched: teardown calls no S3 API at all.

Teardown must be asked for explicitly: ``{"mode": "teardown", "confirm": "teardown", ...}``.

Example::

    >>> item = {"SyncName": "org-inventory", "S3Destination": {"BucketName": "acme-inventory", "Prefix": "default"}}
    >>> decide_teardown([item], sync_name="org-inventory", bucket="acme-inventory", prefix="default").delete
    True
    >>> decide_teardown([item], sync_name="org-inventory", bucket="other", prefix="default").finding.status
    <Status.NOT_OURS: 'NOT_OURS'>
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from lambdas.errors import InvalidInput
from lambdas.models import Mode, Status
from lambdas.verify import Finding, SsmClient, describe_sync, destination_matches, list_syncs, normalize_prefix

#: The input field and the value that make a teardown execution legitimate.
CONFIRM_FIELD = "confirm"
CONFIRM_VALUE = "teardown"


def require_confirmation(execution_input: Mapping[str, Any]) -> None:
    """Refuse a teardown input without ``"confirm": "teardown"`` (InvalidInput naming the field).

    Inputs of other modes pass unchanged: the field only matters when something would be deleted.

    >>> require_confirmation({"mode": "teardown", "confirm": "teardown"})
    >>> require_confirmation({"mode": "teardown"})
    Traceback (most recent call last):
    ...
    lambdas.errors.InvalidInput: confirm: a teardown requires "confirm": "teardown" (got none)
    """
    if str(execution_input.get("mode", Mode.ROLLOUT)) != Mode.TEARDOWN:
        return
    value = execution_input.get(CONFIRM_FIELD)
    if value != CONFIRM_VALUE:
        got = "none" if value is None else repr(value)
        raise InvalidInput(f'{CONFIRM_FIELD}: a teardown requires "{CONFIRM_FIELD}": "{CONFIRM_VALUE}" (got {got})')


@dataclass(frozen=True)
class TeardownDecision:
    """What teardown will do in one account-region: the outcome, and whether to delete the sync named syncName."""

    finding: Finding
    delete: bool
    sync_type: str | None = None


def decide_teardown(
    syncs: Sequence[Mapping[str, Any]], *, sync_name: str, bucket: str, prefix: str | None
) -> TeardownDecision:
    """Decide from the listed syncs; only a sync named ``sync_name`` writing to our destination is deleted."""
    ours = next((s for s in syncs if s.get("SyncName") == sync_name), None)
    if ours is None:
        return TeardownDecision(Finding(Status.NOT_FOUND, detail=f"No sync named {sync_name}."), delete=False)
    if not destination_matches(ours, bucket=bucket, prefix=prefix):
        dest = ours.get("S3Destination") or {}
        return TeardownDecision(
            Finding(
                Status.NOT_OURS,
                detail=(
                    f"Sync {sync_name} writes to s3://{dest.get('BucketName', '?')}/"
                    f"{normalize_prefix(dest.get('Prefix'))}, not s3://{bucket}/{normalize_prefix(prefix)}: kept."
                ),
                existingSync=describe_sync(ours),
            ),
            delete=False,
        )
    return TeardownDecision(
        Finding(Status.DELETED, detail=f"Deleted sync {sync_name}; the bucket's data stays."),
        delete=True,
        sync_type=ours.get("SyncType"),
    )


def teardown_sync(ssm: SsmClient, *, sync_name: str, bucket: str, prefix: str | None) -> Finding:
    """List the account-region's syncs, decide, and delete ours if it is there.

    A ``ResourceDataSyncNotFoundException`` on delete means someone removed it between list and delete:
    NOT_FOUND, nothing else to do. Other errors propagate for the workflow's Retry/Catch.

    Example: ``teardown_sync(member_session.client("ssm", region_name="eu-west-1"), sync_name="org-inventory",
    bucket="acme-inventory", prefix="default")``.
    """
    decision = decide_teardown(list_syncs(ssm), sync_name=sync_name, bucket=bucket, prefix=prefix)
    if not decision.delete:
        return decision.finding
    kwargs: dict[str, Any] = {"SyncName": sync_name}
    if decision.sync_type:
        kwargs["SyncType"] = decision.sync_type
    try:
        ssm.delete_resource_data_sync(**kwargs)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceDataSyncNotFoundException":
            return Finding(Status.NOT_FOUND, detail=f"Sync {sync_name} was already gone when deleting it.")
        raise
    return decision.finding
