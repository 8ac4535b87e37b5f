"""``LocalAws``: moto in-process with a scenario's organization seeded and the emulations installed.

Entering a :class:`LocalAws` starts ``mock_aws`` (with Step Functions execution enabled, which the local engine
needs), then:

- seeds the organization in the management account's Organizations backend with the scenario's exact ids
  (organization, root, OUs, accounts; ``Status``/``State`` ACTIVE or SUSPENDED); member accounts see it too;
- creates ``OrgSyncMemberRole`` in every account whose ``memberRole`` is true, ``OrgSyncOrganizationReader`` in
  the management account, and an IAM user with an access key in the aggregator account; the process
  environment then points default boto3 calls at the aggregator account and region;
- creates the aggregator bucket with the scenario's bucket policy, and the ``existingSyncs``;
- installs the resource data sync emulation (``workflow.local.ssm_sync``) and a request boundary
  (``workflow.local.faults``) with three guards, in this order:

  1. **disabled regions**: a call signed by an account for a region in its ``disabledRegions`` fails as on AWS
     for a region the account has not opted in to: STS answers ``RegionDisabledException`` (403, "STS is not
     activated in this region for account:ID. ..."), every other service ``UnrecognizedClientException``
     (400, "The security token included in the request is invalid.");
  2. **faults** from the scenario and :meth:`LocalAws.add_fault`;
  3. **missing roles**: ``sts:AssumeRole`` into a role that does not exist is ``AccessDenied`` (403,
     "User: <caller arn> is not authorized to perform: sts:AssumeRole on resource: <role arn>"), as on AWS
     (moto alone hands out credentials for any ARN).

Leaving restores everything: patches removed, moto stopped (its state reset), environment restored. A
``LocalAws`` can be entered again, and any number of them one after the other in one process.

Example::

    >>> from workflow.local.scenario import load_scenario, example_scenario_path
    >>> with LocalAws(load_scenario(example_scenario_path())) as aws:
    ...     aws.client("sts").get_caller_identity()["Account"] == aws.aggregator_account_id
    True
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any
from unittest.mock import patch

import boto3
from moto import mock_aws
from moto.iam.models import iam_backends
from moto.organizations import utils as organizations_utils
from moto.organizations.models import OrganizationsBackend, organizations_backends
from moto.s3.models import FakeBucket, s3_backends
from moto.sts.models import sts_backends

from workflow.local import seams, ssm_associations, ssm_sync
from workflow.local.bucket_policy import policy_document, ssm_write_denial
from workflow.local.clock import VirtualClock
from workflow.local.faults import Call, FaultInjector, RequestBoundary, ServiceError
from workflow.local.inventory import account_nodes, inventory_objects, marker_object
from workflow.local.scenario import (
    LOWER_ALPHANUMERIC,
    Account,
    ExistingSync,
    Fault,
    Scenario,
    _Parser,
    _RawAccount,
    derive_id,
    parse_fault,
)
from workflow.local.ssm_associations.models import Association, AssociationBackends
from workflow.local.ssm_sync.exceptions import ResourceDataSyncInvalidConfigurationException
from workflow.local.ssm_sync.models import (
    SYNC_TO_DESTINATION,
    ResourceDataSync,
    ResourceDataSyncBackends,
)

MEMBER_ROLE_NAME = "OrgSyncMemberRole"
ORGANIZATION_READER_ROLE_NAME = "OrgSyncOrganizationReader"
LOCAL_USER_NAME = "orgsync-local"
MOTO_CONFIG: Any = {"stepfunctions": {"execute_state_machine": True}}
PARTITION = "aws"
_ENV_KEYS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_PROFILE",
    "AWS_SECURITY_TOKEN",
)
#: Existing syncs were created this long before the scenario starts (the value is not part of any contract).
_EXISTING_SYNC_AGE = timedelta(days=30)

class AccessKeyAccounts:
    """moto's access key -> account lookup, remembering what it found.

    moto scans every account's IAM backend for each request's key, which makes a rollout over N accounts cost
    O(N^2). An access key never changes account, so every answer is kept, misses (moto's default account, e.g.
    for the interpreter's fixed key) included: a key is issued before anyone signs with it, so a key that was
    unknown when first used stays unknown.

    Example::

        >>> lookups = []
        >>> accounts = AccessKeyAccounts(lambda key: lookups.append(key) or "300000000001")
        >>> accounts("AKIAEXAMPLE"), accounts("AKIAEXAMPLE"), lookups
        ('300000000001', '300000000001', ['AKIAEXAMPLE'])
    """

    def __init__(self, lookup: Callable[[str], str]) -> None:
        self._lookup = lookup
        self._known: dict[str, str] = {}

    def __call__(self, access_key: str) -> str:
        account_id = self._known.get(access_key)
        if account_id is None:
            account_id = self._known[access_key] = self._lookup(access_key)
        return account_id


class LocalAws:
    """moto in-process, seeded from ``scenario``, with the SSM sync emulation, faults and AWS's access rules."""

    _active_lock = threading.Lock()
    _active: LocalAws | None = None

    def __init__(self, scenario: Scenario, clock: VirtualClock | None = None) -> None:
        self.scenario = scenario
        self.clock = clock or VirtualClock()
        self.organization_id = scenario.organization.id
        self.aggregator_account_id = scenario.aggregator.account_id
        self.organization_reader_role_arn = (
            f"arn:aws:iam::{scenario.organization.management_account_id}:role/{ORGANIZATION_READER_ROLE_NAME}"
        )
        self.faults = FaultInjector(scenario.faults, {a.id: a.name for a in scenario.accounts})
        self.syncs = ResourceDataSyncBackends(self)
        self.associations = AssociationBackends(self)
        self._mock: Any = None
        self._boundary: RequestBoundary | None = None
        self._saved_env: dict[str, str | None] = {}
        self._keys: dict[str, tuple[str, str]] = {}
        self._keys_lock = threading.Lock()
        self._ou_ids: dict[str, str] = {}
        self._root_id = ""
        self._client_session: boto3.Session | None = None
        #: (policy SSM still sees, until this simulated timestamp) after set_bucket_policy with propagation.
        self._stale_policy: tuple[bytes | None, float] | None = None
        self._s3_utcnow: Any = None
        self._account_lookup: Any = None
        self._entered = False

    # --- context manager ---------------------------------------------------------------------------------------

    def __enter__(self) -> LocalAws:
        with LocalAws._active_lock:
            if LocalAws._active is not None:
                raise RuntimeError("another LocalAws is active in this process; leave it first")
            LocalAws._active = self
        try:
            self._start()
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop()

    def _start(self) -> None:
        self._saved_env = {key: os.environ.get(key) for key in _ENV_KEYS}
        self._entered = True
        self.faults = FaultInjector(self.scenario.faults, {a.id: a.name for a in self.scenario.accounts})
        self.syncs = ResourceDataSyncBackends(self)
        self.associations = AssociationBackends(self)
        self._keys = {}
        self._stale_policy = None
        self._mock = mock_aws(config=MOTO_CONFIG)
        self._mock.start()
        self._seed_organization()
        for account in self.scenario.accounts:
            self._seed_account(account)
        self._seed_reader_role()
        self._seed_bucket()
        key, secret = self._credentials(self.aggregator_account_id)
        for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_SECURITY_TOKEN"):
            os.environ.pop(name, None)
        os.environ.update(
            AWS_ACCESS_KEY_ID=key,
            AWS_SECRET_ACCESS_KEY=secret,
            AWS_DEFAULT_REGION=self.scenario.aggregator.region,
            AWS_REGION=self.scenario.aggregator.region,
        )
        for account in self.scenario.accounts:
            self._seed_existing_syncs(account)
        ssm_sync.install(self.syncs)
        ssm_associations.install(self.associations)
        self._boundary = RequestBoundary([self._region_guard, self.faults, self._assume_role_guard])
        self._boundary.install()
        owner, attribute, self._account_lookup = seams.ACCESS_KEY_ACCOUNT.resolve()
        setattr(owner, attribute, AccessKeyAccounts(self._account_lookup))
        # Every object (SSM's marker, the Lambdas' records) is stamped on the virtual clock: the marker check
        # compares LastModified with the sync's creation time, which the emulated SSM takes from that clock.
        owner, attribute, self._s3_utcnow = seams.S3_LAST_MODIFIED.resolve()
        setattr(owner, attribute, lambda: self.clock.now().astimezone(UTC).replace(tzinfo=None))

    def _stop(self) -> None:
        try:
            if self._account_lookup is not None:
                owner, attribute, _ = seams.ACCESS_KEY_ACCOUNT.resolve()
                setattr(owner, attribute, self._account_lookup)
                self._account_lookup = None
            if self._s3_utcnow is not None:
                owner, attribute, _ = seams.S3_LAST_MODIFIED.resolve()
                setattr(owner, attribute, self._s3_utcnow)
                self._s3_utcnow = None
            if self._boundary is not None:
                self._boundary.uninstall()
                self._boundary = None
            if ssm_sync.installed() is self.syncs:
                ssm_sync.uninstall()
            if ssm_associations.installed() is self.associations:
                ssm_associations.uninstall()
            for account in self.scenario.accounts:
                if organizations_backends.master_accounts.get(account.id, ("", ""))[0] == (
                    self.scenario.organization.management_account_id
                ):
                    organizations_backends.master_accounts.pop(account.id, None)
            if self._mock is not None:
                self._mock.stop()
                self._mock = None
        finally:
            if self._entered:
                for key, value in self._saved_env.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
                self._entered = False
            self._client_session = None
            with LocalAws._active_lock:
                if LocalAws._active is self:
                    LocalAws._active = None

    # --- sessions and clients ----------------------------------------------------------------------------------

    def session(self, account_id: str, region: str | None = None) -> boto3.Session:
        """A boto3 session whose calls land in ``account_id`` (an IAM user's key in that account).

        Example: ``aws.session("200000000001", "us-east-1").client("ssm").list_resource_data_sync()``.
        """
        key, secret = self._credentials(account_id)
        return boto3.Session(
            aws_access_key_id=key, aws_secret_access_key=secret, region_name=region or self.scenario.aggregator.region
        )

    def client(self, service: str, account_id: str | None = None, region: str | None = None) -> Any:
        """A client whose calls land in ``account_id`` (default: the aggregator) and ``region`` (default: its)."""
        key, secret = self._credentials(account_id or self.aggregator_account_id)
        if self._client_session is None:
            # One shared session: a client from it costs ~6 ms, a client from a new session ~60 ms.
            self._client_session = boto3.Session()
        return self._client_session.client(
            service,  # type: ignore[call-overload]
            region_name=region or self.scenario.aggregator.region,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
        )

    def credentials(self, account_id: str) -> dict[str, str]:
        """``{"aws_access_key_id", "aws_secret_access_key"}`` of a user in ``account_id`` (for clients of your own)."""
        key, secret = self._credentials(account_id)
        return {"aws_access_key_id": key, "aws_secret_access_key": secret}

    def _credentials(self, account_id: str) -> tuple[str, str]:
        with self._keys_lock:
            if account_id not in self._keys:
                iam = iam_backends[account_id]["global"]
                if LOCAL_USER_NAME not in iam.users:
                    iam.create_user(self.scenario.aggregator.region, LOCAL_USER_NAME)
                access_key = iam.create_access_key(LOCAL_USER_NAME)
                self._keys[account_id] = (access_key.access_key_id, access_key.secret_access_key)
            return self._keys[account_id]

    # --- seeding -----------------------------------------------------------------------------------------------

    @property
    def _organizations(self) -> OrganizationsBackend:
        return organizations_backends[self.scenario.organization.management_account_id][PARTITION]

    def _seed_organization(self) -> None:
        org = self.scenario.organization
        self._root_id = "r-" + derive_id(f"root:{org.id}", LOWER_ALPHANUMERIC, 4)
        backend = self._organizations
        with (
            patch.object(organizations_utils, "make_random_org_id", return_value=org.id),
            patch.object(organizations_utils, "make_random_root_id", return_value=self._root_id),
        ):
            backend.create_organization(region="us-east-1", FeatureSet="ALL")
        management = self.scenario.management_account
        for fake in backend.accounts:
            if fake.id == management.id:
                fake.name, fake.email = management.name, management.email
                fake.status = fake.state = management.state
        self._ou_ids = {"/": self._root_id}
        for ou in org.walk():
            parent_path = ou.path.rsplit("/", 1)[0] or "/"
            ou_id = f"ou-{self._root_id[2:]}-{derive_id(f'ou:{org.id}:{ou.path}', LOWER_ALPHANUMERIC, 8)}"
            with patch.object(organizations_utils, "make_random_ou_id", return_value=ou_id):
                backend.create_organizational_unit(Name=ou.name, ParentId=self._ou_ids[parent_path])
            self._ou_ids[ou.path] = ou_id

    def _seed_account(self, account: Account) -> None:
        backend = self._organizations
        if account.id != self.scenario.organization.management_account_id:
            if account.ou_path not in self._ou_ids:
                raise ValueError(f"no OU at path {account.ou_path!r}")
            with patch.object(organizations_utils, "make_random_account_id", return_value=account.id):
                backend.create_account(AccountName=account.name, Email=account.email)
            fake = backend.get_account_by_id(account.id)
            fake.parent_id = self._ou_ids[account.ou_path]
            fake.status = fake.state = account.state
        if account.member_role:
            self._create_role(account.id, MEMBER_ROLE_NAME, "orgsync member role (local)")

    def _seed_reader_role(self) -> None:
        self._create_role(
            self.scenario.organization.management_account_id,
            ORGANIZATION_READER_ROLE_NAME,
            "orgsync organization reader (local)",
        )

    def _create_role(self, account_id: str, name: str, description: str) -> None:
        """Create role ``name`` in ``account_id``, trusting the aggregator account to assume it."""
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{self.aggregator_account_id}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        iam_backends[account_id]["global"].create_role(
            role_name=name,
            assume_role_policy_document=json.dumps(trust),
            path="/",
            permissions_boundary=None,
            description=description,
            tags=[],
            max_session_duration="3600",
        )

    def _seed_bucket(self) -> None:
        aggregator = self.scenario.aggregator
        s3 = s3_backends[aggregator.account_id][PARTITION]
        s3.create_bucket(aggregator.bucket, aggregator.region)
        document = policy_document(aggregator.bucket_policy, aggregator.bucket, aggregator.prefix, self.organization_id)
        if document is not None:
            s3.put_bucket_policy(aggregator.bucket, json.dumps(document).encode())

    def _seed_existing_syncs(self, account: Account) -> None:
        created = self.clock.now() - _EXISTING_SYNC_AGE
        last_run = self.clock.now() - timedelta(hours=1)
        for existing in account.existing_syncs:
            sync = ResourceDataSync(
                name=existing.name,
                sync_type=SYNC_TO_DESTINATION,
                s3_destination=_destination(existing),
                sync_source=None,
                created_time=created,
                last_modified_time=created,
                last_status=existing.last_status,
                last_status_message=existing.last_status_message,
                last_sync_time=None if existing.last_status == "InProgress" else last_run,
                last_successful_sync_time=last_run if existing.last_status == "Successful" else None,
            )
            self.syncs.backend(account.id, existing.region).seed(sync)
            if existing.bucket == self.scenario.aggregator.bucket:
                self._write_objects(account, existing.region, existing.prefix, last_run)

    # --- AssociationEnvironment (what State Manager reaches outside itself) --------------------------------------

    def seeded_documents(self, account_id: str, region: str) -> list[str]:
        """The scenario's inventory association (``inventoryAssociation``) of an account-region, if any."""
        account = self._account(account_id)
        return ["AWS-GatherSoftwareInventory"] if account and account.collects_inventory(region) else []

    def association_created(self, account_id: str, region: str, association: Association) -> None:
        """A new inventory association collects at once, and every working sync of the account-region exports it."""
        if association.name != "AWS-GatherSoftwareInventory":
            return
        account = self._account(account_id)
        for sync in list(self.syncs.backend(account_id, region).syncs.values()):
            destination = sync.s3_destination
            if destination is None or sync.last_status != "Successful":
                continue
            bucket = self._bucket(str(destination["BucketName"]))
            if bucket is not None:
                self._put_objects(bucket, account_id, region, destination.get("Prefix"), self.clock.now(), account)

    # --- SyncEnvironment (what SSM reaches outside itself) ----------------------------------------------------------

    def now(self) -> datetime:
        """The simulated time (the emulated SSM's clock)."""
        return self.clock.now()

    def check_destination(self, account_id: str, region: str, destination: Mapping[str, Any]) -> None:
        """Can SSM, syncing ``account_id`` in ``region``, write its marker? Raises the S3 write failure if not."""
        bucket_name = str(destination["BucketName"])
        bucket = self._bucket(bucket_name)

        def failed(reason: str) -> ResourceDataSyncInvalidConfigurationException:
            return ResourceDataSyncInvalidConfigurationException(f"S3 write failed for bucket {bucket_name}: {reason}")

        if bucket is None:
            raise failed("NoSuchBucket (The specified bucket does not exist)")
        if bucket.region_name != destination["Region"]:
            raise failed(f"PermanentRedirect (the bucket is in {bucket.region_name}, not {destination['Region']})")
        if getattr(bucket, "object_lock_enabled", False):
            raise failed("buckets with Object Lock are not supported")
        denial = ssm_write_denial(
            self._policy_seen_by_ssm(bucket),
            bucket_name,
            destination.get("Prefix"),
            account_id,
            region,
            self._organization_of(account_id),
        )
        if denial is not None:
            raise failed(f"Access Denied ({denial})")

    def sync_created(self, account_id: str, region: str, sync: ResourceDataSync) -> None:
        """Schedule the marker and inventory writes after the account's ``markerDelaySeconds``."""
        if sync.s3_destination is None:
            sync.mark_successful(self.clock.now())
            return
        account = self._account(account_id)
        delay = account.marker_delay_seconds if account else 0.0
        backend = self.syncs.backend(account_id, region)
        destination = sync.s3_destination

        def write() -> None:
            if backend.syncs.get(sync.name) is not sync:
                return  # deleted (or replaced) before SSM got to it
            at = self.clock.now()
            bucket = self._bucket(str(destination["BucketName"]))
            if bucket is None:
                sync.mark_failed(at, f"S3 write failed for bucket {destination['BucketName']}: NoSuchBucket")
                return
            self._put_objects(bucket, account_id, region, destination.get("Prefix"), at, account)
            sync.mark_successful(at)

        self.clock.call_later(delay, write)

    # --- helpers ---------------------------------------------------------------------------------------------------

    def _account(self, account_id: str) -> Account | None:
        try:
            return self.scenario.account(account_id)
        except KeyError:
            return None

    def _organization_of(self, account_id: str) -> str | None:
        return self.organization_id if self._account(account_id) is not None else None

    @staticmethod
    def _bucket(name: str) -> FakeBucket | None:
        owner = s3_backends.bucket_accounts.get(name)
        if owner is None:
            return None
        partition, account_id = owner
        bucket: FakeBucket | None = s3_backends[account_id][partition].buckets.get(name)
        return bucket

    def _policy_seen_by_ssm(self, bucket: FakeBucket) -> bytes | None:
        if self._stale_policy is not None and bucket.name == self.scenario.aggregator.bucket:
            old, until = self._stale_policy
            if self.clock.time() < until:
                return old
        policy: bytes | None = bucket.policy
        return policy

    def _write_objects(self, account: Account, region: str, prefix: str | None, at: datetime) -> None:
        bucket = self._bucket(self.scenario.aggregator.bucket)
        if bucket is not None:
            self._put_objects(bucket, account.id, region, prefix, at, account)

    def _put_objects(
        self,
        bucket: FakeBucket,
        account_id: str,
        region: str,
        prefix: str | None,
        at: datetime,
        account: Account | None,
    ) -> None:
        # Written straight into the backend: SSM already passed the policy check, and it is not a caller of ours.
        s3 = s3_backends[bucket.account_id][PARTITION]
        nodes = account_nodes(account, region) if account else []
        # Collected types exist where an inventory association exists now (the scenario's, or one created since).
        collected = self.associations.collects(account_id, region)
        for key, body in [
            marker_object(prefix, account_id, at),
            *inventory_objects(prefix, account_id, nodes, at, collected),
        ]:
            stored = s3.put_object(bucket.name, key, body)
            # SSM wrote it at simulated time ``at``: LastModified says so whatever clock moto's S3 reads (naive UTC).
            stored.last_modified = at.astimezone(UTC).replace(tzinfo=None)

    # --- guards ----------------------------------------------------------------------------------------------------

    def _region_guard(self, call: Call) -> ServiceError | None:
        account = self._account(call.account_id or "")
        if account is None or call.region not in account.disabled_regions:
            return None
        if call.service == "sts":
            return ServiceError(
                "RegionDisabledException",
                f"STS is not activated in this region for account:{account.id}. Your account administrator can "
                "activate STS in this region using the IAM Console.",
                403,
            )
        return ServiceError(
            "UnrecognizedClientException", "The security token included in the request is invalid.", 400
        )

    def _assume_role_guard(self, call: Call) -> ServiceError | None:
        if call.service != "sts" or call.operation != "AssumeRole":
            return None
        role_arn = call.form().get("RoleArn", "")
        parts = role_arn.split(":")
        if len(parts) < 6 or not parts[4].isdigit():
            return None  # moto validates the ARN itself
        try:
            iam_backends[parts[4]]["global"].get_role_by_arn(role_arn)
            return None
        except Exception:  # moto's NotFoundException: the role does not exist
            pass
        caller = call.account_id or ""
        caller_arn = sts_backends[caller][PARTITION].get_caller_identity(call.access_key or "", call.region or "")[1]
        return ServiceError(
            "AccessDenied",
            f"User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
            403,
        )

    # --- run-time changes --------------------------------------------------------------------------------------

    def add_fault(
        self,
        api: str,
        error: str,
        times: int = 1,
        account: str | None = None,
        region: str | None = None,
        message: str | None = None,
        http_status: int | None = None,
    ) -> Fault:
        """Inject a fault from now on (same fields as the scenario's ``faults``; ``account`` is a NAME).

        Example: ``aws.add_fault("ssm:ListResourceDataSync", "ThrottlingException", times=2, account="sb-1")``.
        """
        spec: dict[str, Any] = {"api": api, "error": error, "times": times}
        optional = {"account": account, "region": region, "message": message, "httpStatus": http_status}
        spec.update({k: v for k, v in optional.items() if v is not None})
        fault = parse_fault(spec, {a.name for a in self.scenario.accounts})
        self.faults.add(fault)
        return fault

    def add_account(self, ou_path: str, name: str, account_id: str | None = None, **account_fields: Any) -> str:
        """Add an account to the OU at ``ou_path`` (``"/"`` for the root) after the start; returns its id.

        ``account_fields`` take the scenario's keys: ``memberRole``, ``state``, ``instances``,
        ``markerDelaySeconds``, ``disabledRegions``, ``existingSyncs``, ``email``.
        Example: ``aws.add_account("/Workloads/Prod", "prod-new", memberRole=False)``.
        """
        if ou_path not in self._ou_ids:
            raise ValueError(f"no OU at path {ou_path!r} (known: {', '.join(sorted(self._ou_ids))})")
        data: dict[str, Any] = {"name": name, **account_fields}
        if account_id is not None:
            data["id"] = account_id
        parser = _Parser("add_account")
        taken = {a.id: a.name for a in self.scenario.accounts}
        if any(a.name == name for a in self.scenario.accounts):
            raise ValueError(f"an account named {name!r} exists already")
        if account_id is not None and account_id in taken:
            raise ValueError(f"account {account_id} exists already")
        raw = _RawAccount("account", data, ou_path)
        parser.accounts([raw])  # validates keys, name and id
        account = parser.account(raw, account_id or parser.generated_id(name, taken))
        self.scenario = dataclasses.replace(self.scenario, accounts=(*self.scenario.accounts, account))
        self._seed_account(account)
        self._seed_existing_syncs(account)
        self.faults.name_account(account.id, account.name)
        return account.id

    def move_account(self, account_id: str, ou_path: str) -> None:
        """Move an account to the OU at ``ou_path`` (``"/"`` for the root)."""
        if ou_path not in self._ou_ids:
            raise ValueError(f"no OU at path {ou_path!r}")
        account = self.scenario.account(account_id)
        self._organizations.get_account_by_id(account_id).parent_id = self._ou_ids[ou_path]
        moved = dataclasses.replace(account, ou_path=ou_path)
        self.scenario = dataclasses.replace(
            self.scenario, accounts=tuple(moved if a.id == account_id else a for a in self.scenario.accounts)
        )

    def set_bucket_policy(self, kind: str, propagation_seconds: float = 0) -> None:
        """Replace the aggregator bucket's policy with the documented one of ``kind`` (or none).

        For ``propagation_seconds`` of simulated time SSM still sees the previous policy (S3 shows the new one at
        once), as after a real policy change.
        """
        aggregator = self.scenario.aggregator
        s3 = s3_backends[aggregator.account_id][PARTITION]
        bucket = s3.get_bucket(aggregator.bucket)
        old: bytes | None = bucket.policy
        document = policy_document(kind, aggregator.bucket, aggregator.prefix, self.organization_id)
        if document is None:
            s3.delete_bucket_policy(aggregator.bucket)
        else:
            s3.put_bucket_policy(aggregator.bucket, json.dumps(document).encode())
        self._stale_policy = (old, self.clock.time() + propagation_seconds) if propagation_seconds > 0 else None

    def sync_names(self, account_id: str, region: str) -> list[str]:
        """The names of the syncs of ``account_id`` in ``region``, in creation order (read from the backend)."""
        return list(self.syncs.backend(account_id, region).syncs)

    def ou_id(self, ou_path: str) -> str:
        """The Organizations id of the OU at ``ou_path`` (``"/"`` is the root)."""
        return self._ou_ids[ou_path]

    @property
    def root_id(self) -> str:
        """The organization root's id."""
        return self._root_id


def _destination(existing: ExistingSync) -> dict[str, Any]:
    destination: dict[str, Any] = {
        "BucketName": existing.bucket,
        "SyncFormat": "JsonSerDe",
        "Region": existing.bucket_region,
    }
    if existing.prefix is not None:
        destination["Prefix"] = existing.prefix
    if existing.organization:
        destination["DestinationDataSharing"] = {"DestinationDataSharingType": "Organization"}
    return destination
