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

from lambdas import aws, clock, invocation
from lambdas.aws import AccessDenied, AwsCallFailed, RegionDisabled
from lambdas.classification import (
    ORGANIZATION_SHARING,
    SYNC_QUOTA,
    Action,
    Decision,
    ExistingSync,
    classify,
    decide_after_failed_create,
    decide_restore_failed,
    decide_restored,
    decide_rollout,
)
from lambdas.errors import OrgSyncError, OutOfTime, S3WriteFailed, Throttled
from lambdas.models import Destination, Status, TargetItem

SYNC_FORMAT = "JsonSerDe"
LIST_PAGE_SIZE = 50
#: The SyncType filters orgsync lists with: AWS's default (None) and SyncFromSource (see list_syncs).
LIST_SYNC_TYPES: tuple[str | None, ...] = (None, "SyncFromSource")
ALREADY_EXISTS = "ResourceDataSyncAlreadyExistsException"
NOT_FOUND = "ResourceDataSyncNotFoundException"
#: Waits (seconds) before creating a sync again when its create, right after its delete, met AlreadyExists or
#: "S3 write failed" (:func:`create_after_delete`): 44 s in all, most of the minute a policy change may take.
RECREATE_WAITS: tuple[float, ...] = (2.0, 4.0, 8.0, 15.0, 15.0)
#: A replace is not started with less than this left of the function's timeout: the delete, the create and the
#: restore, each at its worst (the create's further attempts take only what is left beyond that).
REPLACE_RESERVE_SECONDS = 3 * aws.WORST_CASE_CALL_SECONDS
#: The outcomes of a reconcile that changed the account-region (a sync created, replaced, restored or lost).
CHANGED = frozenset({Status.CREATED, Status.REPLACED, Status.RESTORED, Status.RESTORE_FAILED})


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
    return decide_rollout(classification, run.syncName, run.destination, run.onConflict, run.adopt, run.startedAt)


def _rollout(ssm: Any, item: TargetItem, started: datetime) -> Reconciled:
    where = f"{item.accountId} {item.region}"
    run = item.run
    decision = decide_rollout_of(list_syncs_for_rollout(ssm, where), item)
    if decision.action in (Action.NONE, Action.ADOPT):  # an adoption is recorded in the bucket by Check marker
        return Reconciled.of(decision, started, sync_created=decision.syncCreated)
    if decision.action is Action.REPLACE:
        return _replace(ssm, item, decision, started)
    try:
        created = _create(ssm, item, where)
    except AwsCallFailed as exc:
        again = classify(list_syncs(ssm, where), run.syncName, run.destination, item.adoptedSync)
        return Reconciled.of(
            decide_after_failed_create(again, run.syncName, run.destination, exc.code, str(exc)), started
        )
    return Reconciled.of(decision, started, sync_created=created)


def _replace(ssm: Any, item: TargetItem, decision: Decision, started: datetime) -> Reconciled:
    """Delete our sync that writes elsewhere and create it anew; if the new one cannot be created, recreate the
    previous one exactly as it was (RESTORED), or say that this failed too (RESTORE_FAILED). Never raises once the
    old sync is deleted, so no state machine retry ever starts from an account-region left without it.
    """
    where = f"{item.accountId} {item.region}"
    run = item.run
    old = decision.replacing
    assert old is not None
    left = invocation.remaining_seconds()
    if left is not None and left < REPLACE_RESERVE_SECONDS:
        raise OutOfTime(
            f"replacing {old.name} in {where} not started: {left:.0f} s left of the function's timeout, deleting, "
            f"creating and restoring may take {REPLACE_RESERVE_SECONDS} s"
        )
    try:
        delete_sync(ssm, old.name, where)  # gone already (a concurrent run): what we wanted
    except OrgSyncError:
        # AWS may have deleted it even so (its answer lost, a timeout after it acted): the listing says which.
        if any(sync.name == old.name for sync in list_syncs(ssm, where)):
            raise  # still there: nothing changed, and the state machine's retry starts the replace again
    arguments = {"SyncName": run.syncName, "S3Destination": s3_destination(run.destination)}
    created = clock.now()
    try:
        create_after_delete(ssm, arguments, where, keep_for_restore=True)
    except OrgSyncError as exc:
        error = str(exc)
    else:
        return Reconciled.of(decision, started, sync_created=created)
    try:
        create_after_delete(ssm, old.create_arguments(), where, keep_for_restore=False)
    except OrgSyncError as exc:
        return Reconciled.of(decide_restore_failed(old, run.syncName, run.destination, error, str(exc)), started)
    return Reconciled.of(decide_restored(old, run.syncName, run.destination, error), started)


def create_after_delete(ssm: Any, arguments: dict[str, Any], where: str, *, keep_for_restore: bool) -> None:
    """CreateResourceDataSync right after a DeleteResourceDataSync of the same name.

    Two failures then may pass by themselves (docs/aws-behaviour.md): ``ResourceDataSyncAlreadyExistsException``
    while the delete propagates, and "S3 write failed" for about a minute after a bucket policy change. Boto retries
    neither, so the create is tried again after each of :data:`RECREATE_WAITS` (on :mod:`lambdas.clock`) while the
    time left allows one more attempt (and, with ``keep_for_restore``, a restore after it). Any other failure is
    raised at once, as the named error :func:`lambdas.aws.call` makes.
    """
    action = f"ssm:CreateResourceDataSync of {arguments['SyncName']} in {where}"
    waits = list(RECREATE_WAITS)
    needed = aws.WORST_CASE_CALL_SECONDS * (2 if keep_for_restore else 1)
    while True:
        try:
            aws.call(action, ssm.create_resource_data_sync, **arguments)
            return
        except (AwsCallFailed, S3WriteFailed) as exc:
            passing = isinstance(exc, S3WriteFailed) or exc.code == ALREADY_EXISTS
            left = invocation.remaining_seconds()
            if not passing or not waits or (left is not None and left < waits[0] + needed):
                raise
        clock.sleep(waits.pop(0))


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
        # STS answers a missing role and a trust policy that does not trust the caller alike: say both, and where
        # to look first (an account that joined a target OU gets the role from the StackSet's automatic deployment).
        role, account = item.run.memberRoleName, item.accountId
        return Reconciled(
            Status.ACCESS_DENIED,
            f"{exc}. The member role {role} is not deployed in account {account}, or its trust policy does not "
            f"trust this deployment: check the member-role StackSet's instance for account {account} (its status "
            f"and status reason); once it is CURRENT, the next rollout reaches the account.",
            reconciledAt=started,
        )
    # Imported here: the registry imports every mode, and the modes build on this module.
    from lambdas.collection import Collection, CollectionStatus, collection_of
    from lambdas.modes import spec_of

    reconciled = spec_of(item.run.mode).reconcile(ssm, item)
    if reconciled.status in (Status.ACCESS_DENIED, Status.REGION_DISABLED):
        return reconciled  # the account-region cannot be reached: nothing to ask about collection either
    try:
        collection = collection_of(ssm, item)
    except Throttled as exc:
        if reconciled.status not in CHANGED:
            raise  # nothing changed: the state machine's retry of the whole task costs nothing
        # Something changed: a retry would find it in place and could not tell a replace from a create; the
        # change is reported, the collection is not known.
        collection = CollectionStatus(Collection.UNKNOWN, detail=str(exc)).to_dict()
    return reconciled if collection is None else replace(reconciled, collection=collection)


def member_ssm(clients: aws.ClientProvider, item: TargetItem) -> Any:
    """An SSM client in ``item``'s account-region, with the member role's cached credentials."""
    return clients.assuming(member_role_arn(item), item.run.executionName).client("ssm", item.region)
