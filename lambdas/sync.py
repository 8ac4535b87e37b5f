"""One account-region's resource data syncs: list them (paged), and carry out a rollout's decision.

The listing is classified and decided in :mod:`lambdas.classification`; this module calls SSM: it lists, and
creates or replaces orgsync's sync when the rollout's decision says so. If a create fails anyway (a race, an
unknown code), the account-region is listed again and decided once more; only what is still unexplained
becomes FAILED with the AWS error.

Example::

    >>> s3_destination(Destination("acme-inventory", "us-east-1", "default"))["DestinationDataSharing"]
    {'DestinationDataSharingType': 'Organization'}
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from lambdas import aws, clock
from lambdas.aws import AccessDenied, AwsCallFailed, RegionDisabled
from lambdas.classification import (
    ORGANIZATION_SHARING,
    SYNC_QUOTA,
    Action,
    Decision,
    ExistingSync,
    classify,
    decide_after_failed_create,
    decide_rollout,
)
from lambdas.models import Destination, Status, TargetItem

SYNC_FORMAT = "JsonSerDe"
LIST_PAGE_SIZE = 50
#: The SyncType filters orgsync lists with: AWS's default (None) and SyncFromSource (see list_syncs).
LIST_SYNC_TYPES: tuple[str | None, ...] = (None, "SyncFromSource")
ALREADY_EXISTS = "ResourceDataSyncAlreadyExistsException"
NOT_FOUND = "ResourceDataSyncNotFoundException"


def list_syncs(ssm: Any, where: str, sync_types: tuple[str | None, ...] = LIST_SYNC_TYPES) -> list[ExistingSync]:
    """Every resource data sync of the account-region behind ``ssm`` (all pages, every type; throttling retried).

    Whether ListResourceDataSync without ``SyncType`` lists every type or only SyncToDestination syncs is not
    documented, and a SyncFromSource sync takes one of the five slots too: listing both ways and merging by name
    sees every sync either way. ``sync_types`` lists only those (None: no SyncType).
    """
    found: dict[str, ExistingSync] = {}
    for sync_type in sync_types:
        for sync in _list_pages(ssm, where, sync_type):
            found.setdefault(sync.name, sync)
    return list(found.values())


def list_syncs_for_rollout(ssm: Any, where: str) -> list[ExistingSync]:
    """The syncs a rollout decides from: one listing without ``SyncType``, the SyncFromSource one only when the
    first already fills the quota (so the report names every sync that takes a slot).

    A SyncFromSource sync that the first listing missed cannot mislead the rollout: it makes the create fail
    (quota, or the name taken), and a failed create lists both ways before deciding (:func:`reconcile_rollout`).
    So the happy path costs one ListResourceDataSync per account-region.
    """
    syncs = list_syncs(ssm, where, (None,))
    if len(syncs) < SYNC_QUOTA:
        return syncs
    more = [sync for sync in list_syncs(ssm, where, ("SyncFromSource",)) if sync.name not in {s.name for s in syncs}]
    return [*syncs, *more]


def _list_pages(ssm: Any, where: str, sync_type: str | None) -> Iterator[ExistingSync]:
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"MaxResults": LIST_PAGE_SIZE}
        if sync_type:
            kwargs["SyncType"] = sync_type
        if token:
            kwargs["NextToken"] = token
        page = aws.call(f"ssm:ListResourceDataSync in {where}", ssm.list_resource_data_sync, **kwargs)
        yield from (ExistingSync.from_item(raw) for raw in page.get("ResourceDataSyncItems", []))
        token = page.get("NextToken")
        if not token:
            return


def s3_destination(destination: Destination) -> dict[str, Any]:
    """The ``S3Destination`` of orgsync's sync (organization-shared, JsonSerDe)."""
    s3: dict[str, Any] = {
        "BucketName": destination.bucket,
        "Prefix": destination.prefix,
        "SyncFormat": SYNC_FORMAT,
        "Region": destination.region,
        "DestinationDataSharing": {"DestinationDataSharingType": ORGANIZATION_SHARING},
    }
    if destination.kmsKeyArn:
        s3["AWSKMSKeyARN"] = destination.kmsKeyArn
    return s3


@dataclass(frozen=True)
class Reconciled:
    """What ``Reconcile sync`` found or did: a partial outcome plus what the marker check needs."""

    status: Status
    detail: str
    existingSync: dict[str, Any] | list[dict[str, Any]] | None = None
    #: A lower bound of the sync's creation time (taken just before CreateResourceDataSync), for new syncs.
    syncCreatedTime: datetime | None = None
    #: When the account-region was reconciled: the marker deadline counts from here.
    reconciledAt: datetime | None = None
    #: The decision's action (for plan: what a rollout would do) and the sync it is about.
    action: Action = Action.NONE
    sync: str | None = None
    #: Inventory collection in the account-region (:func:`lambdas.collection.collection_of`), when checked.
    collection: dict[str, Any] | None = None

    @classmethod
    def of(cls, decision: Decision, reconciled_at: datetime, sync_created: datetime | None = None) -> Reconciled:
        """A decision carried out at ``reconciled_at`` (``sync_created``: when our create was sent)."""
        return cls(
            decision.status,
            decision.detail,
            decision.existingSync,
            sync_created,
            reconciled_at,
            decision.action,
            decision.sync,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form returned to the state machine."""
        return {
            "status": str(self.status),
            "detail": self.detail,
            "existingSync": self.existingSync,
            "syncCreatedTime": self.syncCreatedTime.isoformat() if self.syncCreatedTime else None,
            "reconciledAt": self.reconciledAt.isoformat() if self.reconciledAt else None,
            "action": str(self.action),
            "sync": self.sync,
            "collection": self.collection,
        }


def denials_as_outcomes(started: datetime, reconcile: Callable[[], Reconciled]) -> Reconciled:
    """``reconcile()``, with AccessDenied and RegionDisabled turned into outcomes reconciled at ``started``.

    Every mode answers a member role lacking a permission with ACCESS_DENIED, a region not enabled with
    REGION_DISABLED.
    """
    try:
        return reconcile()
    except AccessDenied as exc:
        return Reconciled(Status.ACCESS_DENIED, f"{exc}. The member role lacks this permission.", reconciledAt=started)
    except RegionDisabled as exc:
        return Reconciled(Status.REGION_DISABLED, str(exc), reconciledAt=started)


def _create(ssm: Any, item: TargetItem, where: str) -> datetime:
    created = clock.now()
    aws.call(
        f"ssm:CreateResourceDataSync in {where}",
        ssm.create_resource_data_sync,
        SyncName=item.run.syncName,
        S3Destination=s3_destination(item.run.destination),
    )
    return created


def reconcile_rollout(ssm: Any, item: TargetItem) -> Reconciled:
    """Bring one account-region to "our sync writes to the destination", or say why not.

    Raises ``Throttled`` (after boto's retries) and ``S3WriteFailed`` for the state machine to retry;
    ``AccessDenied`` and ``RegionDisabled`` are returned as outcomes.

    Example (with the local SSM emulation)::

        reconcile_rollout(session.client("ssm", region_name="us-east-1"), item).status  # Status.CREATED
    """
    started = clock.now()
    return denials_as_outcomes(started, lambda: _rollout(ssm, item, started))


def decide_rollout_of(syncs: list[ExistingSync], item: TargetItem) -> Decision:
    """What a rollout decides for ``item`` from its listed ``syncs`` (plan mode reports exactly this)."""
    run = item.run
    classification = classify(syncs, run.syncName, run.destination, item.adoptedSync)
    return decide_rollout(classification, run.syncName, run.destination, run.onConflict, run.adopt)


def _rollout(ssm: Any, item: TargetItem, started: datetime) -> Reconciled:
    where = f"{item.accountId} {item.region}"
    run = item.run
    decision = decide_rollout_of(list_syncs_for_rollout(ssm, where), item)
    if decision.action in (Action.NONE, Action.ADOPT):  # an adoption is recorded in the bucket by Check marker
        return Reconciled.of(decision, started)
    if decision.action is Action.REPLACE:
        assert decision.sync is not None
        delete_sync(ssm, decision.sync, where)  # gone already (a concurrent run): what we wanted
    try:
        created = _create(ssm, item, where)
    except AwsCallFailed as exc:
        again = classify(list_syncs(ssm, where), run.syncName, run.destination, item.adoptedSync)
        return Reconciled.of(
            decide_after_failed_create(again, run.syncName, run.destination, exc.code, str(exc)), started
        )
    return Reconciled.of(decision, started, sync_created=created)


def delete_sync(ssm: Any, sync_name: str, where: str) -> bool:
    """Delete the sync ``sync_name`` (throttling retried); False when it was already gone (a concurrent run)."""
    try:
        aws.call(f"ssm:DeleteResourceDataSync in {where}", ssm.delete_resource_data_sync, SyncName=sync_name)
    except AwsCallFailed as exc:
        if exc.code != NOT_FOUND:
            raise
        return False
    return True


def member_role_arn(item: TargetItem) -> str:
    """The member role orgsync assumes in ``item``'s account."""
    return f"arn:aws:iam::{item.accountId}:role/{item.run.memberRoleName}"


def reconcile(item: TargetItem, ssm_factory: Callable[[TargetItem], Any]) -> Reconciled:
    """Reconcile ``item`` in its mode, with the SSM client ``ssm_factory`` makes (assuming the member role).

    A role that cannot be assumed is ACCESS_DENIED, naming the role.

    Example::

        reconcile(item, lambda item: member_ssm(clients, item)).to_dict()
    """
    started = clock.now()
    try:
        ssm = ssm_factory(item)
    except AccessDenied as exc:
        return Reconciled(
            Status.ACCESS_DENIED,
            f"{exc}. Deploy {item.run.memberRoleName} to account {item.accountId} (the StackSet) or fix its trust "
            f"policy.",
            reconciledAt=started,
        )
    # Imported here: the registry imports every mode, and the modes build on this module.
    from lambdas.collection import collection_of
    from lambdas.modes import spec_of

    reconciled = spec_of(item.run.mode).reconcile(ssm, item)
    if reconciled.status in (Status.ACCESS_DENIED, Status.REGION_DISABLED):
        return reconciled  # the account-region cannot be reached: nothing to ask about collection either
    collection = collection_of(ssm, item)
    return reconciled if collection is None else replace(reconciled, collection=collection)


def member_ssm(clients: aws.ClientProvider, item: TargetItem) -> Any:
    """An SSM client in ``item``'s account-region, with the member role's cached credentials."""
    return clients.assuming(member_role_arn(item), item.run.executionName).client("ssm", item.region)
