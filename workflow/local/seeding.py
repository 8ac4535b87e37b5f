"""Seeding moto from a scenario: the organization with the scenario's ids, roles, users, the bucket, existing syncs.

:class:`Seeder` writes straight into moto's backends (not through requests, so no guard or fault sees it):

- the organization in the management account's Organizations backend with the scenario's exact ids
  (organization, root, OUs, accounts; ``Status``/``State`` ACTIVE or SUSPENDED); member accounts see it too;
- ``OrgSyncMemberRole`` in every account whose ``memberRole`` is true, ``OrgSyncOrganizationReader`` in the
  management account, each trusting the aggregator account;
- the aggregator bucket with the scenario's bucket policy, and each account's ``existingSyncs`` (with the marker
  and inventory SSM wrote for those pointing at the aggregator bucket).

:class:`Credentials` issues an IAM user's access key per account, on first use.

Example::

    >>> from workflow.local.scenario import example_scenario_path, load_scenario
    >>> from workflow.local.aws import LocalAws
    >>> with LocalAws(load_scenario(example_scenario_path())) as aws:
    ...     aws.ou_id("/") == aws.root_id
    True
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from typing import Any
from unittest.mock import patch

from workflow.local.bucket_policy import policy_document
from workflow.local.scenario import LOWER_ALPHANUMERIC, Account, ExistingSync, Scenario, derive_id
from workflow.local.seams import (
    OrganizationsBackend,
    iam_backends,
    organizations_backends,
    organizations_utils,
    s3_backends,
)
from workflow.local.ssm_environment import SsmEnvironment, find_bucket, write_ssm_objects
from workflow.local.ssm_sync.models import SYNC_TO_DESTINATION, ResourceDataSync

MEMBER_ROLE_NAME = "OrgSyncMemberRole"
ORGANIZATION_READER_ROLE_NAME = "OrgSyncOrganizationReader"
LOCAL_USER_NAME = "orgsync-local"
PARTITION = "aws"
#: Existing syncs were created this long before the scenario starts (the value is not part of any contract).
EXISTING_SYNC_AGE = timedelta(days=30)


class Seeder:
    """Seeds ``scenario``'s organization, roles, bucket and existing syncs into moto (moto must be started)."""

    def __init__(self, scenario: Scenario, ssm: SsmEnvironment) -> None:
        self.organization = scenario.organization
        self.aggregator = scenario.aggregator
        self.management = scenario.management_account
        self.ssm = ssm
        #: OU path -> OU id ("/" is the root), filled by :meth:`seed_organization`.
        self.ou_ids: dict[str, str] = {}
        self.root_id = ""

    @property
    def organizations(self) -> OrganizationsBackend:
        """The management account's Organizations backend."""
        return organizations_backends[self.organization.management_account_id][PARTITION]

    def seed(self, accounts: tuple[Account, ...]) -> None:
        """Everything but the existing syncs: organization, ``accounts``, the reader role, the bucket."""
        self.seed_organization()
        for account in accounts:
            self.seed_account(account)
        self.create_role(
            self.organization.management_account_id,
            ORGANIZATION_READER_ROLE_NAME,
            "orgsync organization reader (local)",
        )
        self.seed_bucket()

    def seed_organization(self) -> None:
        """The organization, its root and OU tree, with the scenario's ids."""
        org = self.organization
        self.root_id = "r-" + derive_id(f"root:{org.id}", LOWER_ALPHANUMERIC, 4)
        backend = self.organizations
        with (
            patch.object(organizations_utils, "make_random_org_id", return_value=org.id),
            patch.object(organizations_utils, "make_random_root_id", return_value=self.root_id),
        ):
            backend.create_organization(region="us-east-1", FeatureSet="ALL")
        management = self.management
        for fake in backend.accounts:
            if fake.id == management.id:
                fake.name, fake.email = management.name, management.email
                fake.status = fake.state = management.state
        self.ou_ids = {"/": self.root_id}
        for ou in org.walk():
            parent_path = ou.path.rsplit("/", 1)[0] or "/"
            ou_id = f"ou-{self.root_id[2:]}-{derive_id(f'ou:{org.id}:{ou.path}', LOWER_ALPHANUMERIC, 8)}"
            with patch.object(organizations_utils, "make_random_ou_id", return_value=ou_id):
                backend.create_organizational_unit(Name=ou.name, ParentId=self.ou_ids[parent_path])
            self.ou_ids[ou.path] = ou_id

    def seed_account(self, account: Account) -> None:
        """``account`` in its OU, with its state and (if ``memberRole``) the member role."""
        backend = self.organizations
        if account.id != self.organization.management_account_id:
            if account.ou_path not in self.ou_ids:
                raise ValueError(f"no OU at path {account.ou_path!r}")
            with patch.object(organizations_utils, "make_random_account_id", return_value=account.id):
                backend.create_account(AccountName=account.name, Email=account.email)
            fake = backend.get_account_by_id(account.id)
            fake.parent_id = self.ou_ids[account.ou_path]
            fake.status = fake.state = account.state
        if account.member_role:
            self.create_role(account.id, MEMBER_ROLE_NAME, "orgsync member role (local)")

    def place_account(self, account_id: str, ou_path: str) -> None:
        """Move the account to the OU at ``ou_path``."""
        if ou_path not in self.ou_ids:
            raise ValueError(f"no OU at path {ou_path!r}")
        self.organizations.get_account_by_id(account_id).parent_id = self.ou_ids[ou_path]

    def create_role(self, account_id: str, name: str, description: str) -> None:
        """Create role ``name`` in ``account_id``, trusting the aggregator account to assume it."""
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{self.aggregator.account_id}:root"},
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

    def seed_bucket(self) -> None:
        """The aggregator bucket with the scenario's bucket policy."""
        aggregator = self.aggregator
        s3 = s3_backends[aggregator.account_id][PARTITION]
        s3.create_bucket(aggregator.bucket, aggregator.region)
        document = policy_document(aggregator.bucket_policy, aggregator.bucket, aggregator.prefix, self.organization.id)
        if document is not None:
            s3.put_bucket_policy(aggregator.bucket, json.dumps(document).encode())

    def put_bucket_policy(self, kind: str) -> bytes | None:
        """Give the aggregator bucket the documented policy of ``kind`` (or none); returns the previous policy."""
        aggregator = self.aggregator
        s3 = s3_backends[aggregator.account_id][PARTITION]
        old: bytes | None = s3.get_bucket(aggregator.bucket).policy
        document = policy_document(kind, aggregator.bucket, aggregator.prefix, self.organization.id)
        if document is None:
            s3.delete_bucket_policy(aggregator.bucket)
        else:
            s3.put_bucket_policy(aggregator.bucket, json.dumps(document).encode())
        return old

    def seed_existing_syncs(self, account: Account) -> None:
        """``account``'s existing syncs, and the files SSM wrote for those syncing to the aggregator bucket."""
        clock = self.ssm.clock
        created = clock.now() - EXISTING_SYNC_AGE
        last_run = clock.now() - timedelta(hours=1)
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
            self.ssm.syncs.backend(account.id, existing.region).seed(sync)
            if existing.bucket == self.aggregator.bucket:
                bucket = find_bucket(self.aggregator.bucket)
                if bucket is not None:
                    collected = self.ssm.associations.collects(account.id, existing.region)
                    write_ssm_objects(
                        bucket, account.id, existing.region, existing.prefix, last_run, account, collected
                    )

    def forget(self, accounts: tuple[Account, ...]) -> None:
        """Drop the accounts' membership entries, which moto keeps outside the per-account state it resets."""
        for account in accounts:
            if organizations_backends.master_accounts.get(account.id, ("", ""))[0] == (
                self.organization.management_account_id
            ):
                organizations_backends.master_accounts.pop(account.id, None)


class Credentials:
    """An IAM user's access key in each account, created on first use (thread-safe)."""

    def __init__(self, region: str) -> None:
        self._region = region
        self._keys: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()

    def __call__(self, account_id: str) -> tuple[str, str]:
        """``(access key id, secret)`` of the local user in ``account_id``."""
        with self._lock:
            if account_id not in self._keys:
                iam = iam_backends[account_id]["global"]
                if LOCAL_USER_NAME not in iam.users:
                    iam.create_user(self._region, LOCAL_USER_NAME)
                access_key = iam.create_access_key(LOCAL_USER_NAME)
                self._keys[account_id] = (access_key.access_key_id, access_key.secret_access_key)
            return self._keys[account_id]


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
