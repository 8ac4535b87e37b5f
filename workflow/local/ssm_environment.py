"""What the emulated SSM reaches outside itself: the clock, the destination bucket and its policy, SSM's writes.

:class:`SsmEnvironment` is the :class:`~workflow.local.ssm_sync.SyncEnvironment` of a ``LocalAws`` and owns the
resource data sync backends (``syncs``). When a sync is created it checks, as SSM does, that it can write its
marker into the destination (the bucket exists, is in the destination's region, has no Object Lock, and its
policy lets SSM write for the account, region and organization: :mod:`workflow.local.bucket_policy`); then,
after the account's ``markerDelaySeconds`` of simulated time, it writes the marker and the inventory files
(:mod:`workflow.local.inventory`) and marks the sync successful.

After a bucket policy change SSM may still see the previous policy for a while (:meth:`policy_changed`), as
after a real change: S3 itself shows the new policy at once.

Example::

    >>> from datetime import UTC, datetime
    >>> from workflow.local.clock import VirtualClock
    >>> environment = SsmEnvironment(VirtualClock(datetime(2026, 1, 1, tzinfo=UTC)), lambda _: None, "o-a1b2c3d4e5")
    >>> environment.now().isoformat()
    '2026-01-01T00:00:00+00:00'
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from workflow.local.bucket_policy import ssm_write_denial
from workflow.local.clock import VirtualClock
from workflow.local.inventory import account_nodes, instance_information_object, inventory_objects, marker_object
from workflow.local.scenario import Account, Node
from workflow.local.seams import FakeBucket, s3_backends
from workflow.local.ssm_associations.models import Association, AssociationBackends
from workflow.local.ssm_sync.exceptions import ResourceDataSyncInvalidConfigurationException
from workflow.local.ssm_sync.models import ResourceDataSync, ResourceDataSyncBackends

PARTITION = "aws"


class SsmEnvironment:
    """SSM's view of the world outside it, on ``clock``; ``account_of`` finds a scenario account by id."""

    def __init__(self, clock: VirtualClock, account_of: Callable[[str], Account | None], organization_id: str) -> None:
        self.clock = clock
        self._account_of = account_of
        self._organization_id = organization_id
        #: The resource data syncs of every account and region, answering through this environment.
        self.syncs = ResourceDataSyncBackends(self)
        #: The State Manager associations of every account and region (inventory collection).
        self.associations = AssociationBackends(self)
        #: (policy SSM still sees, the bucket, until this simulated timestamp) after a policy change.
        self._stale_policy: tuple[str, bytes | None, float] | None = None

    # --- SyncEnvironment --------------------------------------------------------------------------------------

    def now(self) -> datetime:
        """The simulated time (the emulated SSM's clock)."""
        return self.clock.now()

    def check_destination(self, account_id: str, region: str, destination: Mapping[str, Any]) -> None:
        """Can SSM, syncing ``account_id`` in ``region``, write its marker? Raises the S3 write failure if not."""
        bucket_name = str(destination["BucketName"])
        bucket = find_bucket(bucket_name)

        def failed(reason: str) -> ResourceDataSyncInvalidConfigurationException:
            return ResourceDataSyncInvalidConfigurationException(f"S3 write failed for bucket {bucket_name}: {reason}")

        if bucket is None:
            raise failed("NoSuchBucket (The specified bucket does not exist)")
        if bucket.region_name != destination["Region"]:
            raise failed(f"PermanentRedirect (the bucket is in {bucket.region_name}, not {destination['Region']})")
        if getattr(bucket, "object_lock_enabled", False):
            raise failed("buckets with Object Lock are not supported")
        organization = self._organization_id if self._account_of(account_id) is not None else None
        denial = ssm_write_denial(
            self.policy_seen_by_ssm(bucket), bucket_name, destination.get("Prefix"), account_id, region, organization
        )
        if denial is not None:
            raise failed(f"Access Denied ({denial})")

    def sync_created(self, account_id: str, region: str, sync: ResourceDataSync) -> None:
        """Schedule the marker and inventory writes after the account's ``markerDelaySeconds``."""
        if sync.s3_destination is None:
            sync.mark_successful(self.clock.now())
            return
        account = self._account_of(account_id)
        delay = account.marker_delay_seconds if account else 0.0
        backend = self.syncs.backend(account_id, region)
        destination = sync.s3_destination

        def write() -> None:
            if backend.syncs.get(sync.name) is not sync:
                return  # deleted (or replaced) before SSM got to it
            at = self.clock.now()
            bucket = find_bucket(str(destination["BucketName"]))
            if bucket is None:
                sync.mark_failed(at, f"S3 write failed for bucket {destination['BucketName']}: NoSuchBucket")
                return
            collected = self.associations.collects(account_id, region)
            write_ssm_objects(bucket, account_id, region, destination.get("Prefix"), at, account, collected)
            sync.mark_successful(at)

        self.clock.call_later(delay, write)

    # --- AssociationEnvironment -------------------------------------------------------------------------------

    def seeded_documents(self, account_id: str, region: str) -> list[str]:
        """The scenario's inventory association (``inventoryAssociation``) of an account-region, if any."""
        account = self._account_of(account_id)
        return ["AWS-GatherSoftwareInventory"] if account and account.collects_inventory(region) else []

    def association_created(self, account_id: str, region: str, association: Association) -> None:
        """A new inventory association collects at once, and every working sync of the account-region exports it."""
        if association.name != "AWS-GatherSoftwareInventory":
            return
        account = self._account_of(account_id)
        for sync in list(self.syncs.backend(account_id, region).syncs.values()):
            destination = sync.s3_destination
            if destination is None or sync.last_status != "Successful":
                continue
            bucket = find_bucket(str(destination["BucketName"]))
            if bucket is not None:
                write_ssm_objects(
                    bucket, account_id, region, destination.get("Prefix"), self.clock.now(), account, collected=True
                )

    # --- managed nodes ----------------------------------------------------------------------------------------

    def node_status_changed(self, account_id: str, node: Node) -> int:
        """The node's ``InstanceStatus`` changed (stopped, terminated): SSM updates its ``AWS:InstanceInformation``
        and every working sync of the account-region exports it. Its other files stay as they are (SSM never
        deletes a node's files). Returns how many destinations got the new record."""
        exported = 0
        for sync in list(self.syncs.backend(account_id, node.region).syncs.values()):
            destination = sync.s3_destination
            if destination is None or sync.last_status != "Successful":
                continue
            bucket = find_bucket(str(destination["BucketName"]))
            if bucket is None:
                continue
            at = self.clock.now()
            key, body = instance_information_object(destination.get("Prefix"), account_id, node, at)
            stored = s3_backends[bucket.account_id][PARTITION].put_object(bucket.name, key, body)
            stored.last_modified = at.astimezone(UTC).replace(tzinfo=None)
            exported += 1
        return exported

    # --- the bucket policy SSM sees ---------------------------------------------------------------------------

    def policy_seen_by_ssm(self, bucket: FakeBucket) -> bytes | None:
        """The policy SSM evaluates for ``bucket`` now: the previous one while a change propagates."""
        if self._stale_policy is not None:
            name, old, until = self._stale_policy
            if bucket.name == name and self.clock.time() < until:
                return old
        policy: bytes | None = bucket.policy
        return policy

    def policy_changed(self, bucket_name: str, old: bytes | None, propagation_seconds: float) -> None:
        """``bucket_name``'s policy was replaced; SSM keeps seeing ``old`` for ``propagation_seconds``."""
        self._stale_policy = (
            (bucket_name, old, self.clock.time() + propagation_seconds) if propagation_seconds > 0 else None
        )


def find_bucket(name: str) -> FakeBucket | None:
    """The bucket called ``name`` in whichever account owns it, or None."""
    owner = s3_backends.bucket_accounts.get(name)
    if owner is None:
        return None
    partition, account_id = owner
    bucket: FakeBucket | None = s3_backends[account_id][partition].buckets.get(name)
    return bucket


def write_ssm_objects(
    bucket: FakeBucket,
    account_id: str,
    region: str,
    prefix: str | None,
    at: datetime,
    account: Account | None,
    collected: bool,
) -> None:
    """Write the marker and ``account``'s inventory for ``region`` into ``bucket``, as SSM does at ``at``.

    ``collected``: whether an inventory association collects there now (else only the registration types).
    """
    # Written straight into the backend: SSM already passed the policy check, and it is not a caller of ours.
    s3 = s3_backends[bucket.account_id][PARTITION]
    nodes = account_nodes(account, region) if account else []
    for key, body in [
        marker_object(prefix, account_id, at),
        *inventory_objects(prefix, account_id, nodes, at, collected),
    ]:
        stored = s3.put_object(bucket.name, key, body)
        # SSM wrote it at simulated time ``at``: LastModified says so whatever clock moto's S3 reads (naive UTC).
        stored.last_modified = at.astimezone(UTC).replace(tzinfo=None)
