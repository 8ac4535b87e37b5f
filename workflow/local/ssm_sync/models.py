"""Resource data syncs with AWS's rules, one backend per account and region.

The rules (``docs/aws-behaviour.md``): a name is unique per account-region; at most 5 syncs per account-region; at most
one organization-based sync (``DestinationDataSharingType=Organization``) per account-region; the S3
destination is validated; SSM must be able to write the marker into the bucket. What lies outside SSM (the
bucket, its policy, time, the marker write) is reached through a :class:`SyncEnvironment`, which
``workflow.local.ssm_environment.SsmEnvironment`` provides.

Which error AWS returns for a second organization-based sync is unknown. We raise
``ResourceDataSyncCountExceededException``: the rule is a count limit (a quota of one organization sync) and this
is the API's only count error. orgsync must not depend on the choice: it lists the syncs and classifies.

Example::

    >>> from datetime import UTC, datetime
    >>> class Env:
    ...     def now(self): return datetime(2026, 1, 1, tzinfo=UTC)
    ...     def check_destination(self, account_id, region, destination): pass
    ...     def sync_created(self, account_id, region, sync): sync.mark_successful(self.now())
    >>> backends = ResourceDataSyncBackends(Env())
    >>> dest = {"BucketName": "b", "SyncFormat": "JsonSerDe", "Region": "us-east-1"}
    >>> backends.backend("200000000001", "us-east-1").create("org-inventory", dest).last_status
    'Successful'
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Protocol

import botocore.session

from workflow.local.ssm_sync.exceptions import (
    InvalidNextToken,
    ResourceDataSyncAlreadyExistsException,
    ResourceDataSyncCountExceededException,
    ResourceDataSyncInvalidConfigurationException,
    ResourceDataSyncNotFoundException,
    ValidationException,
)

MAX_SYNCS_PER_ACCOUNT_REGION = 5
MAX_ORGANIZATION_SYNCS_PER_ACCOUNT_REGION = 1
MAX_SYNC_NAME_LENGTH = 64
MAX_PREFIX_LENGTH = 256
MAX_LIST_RESULTS = 50

SYNC_TO_DESTINATION = "SyncToDestination"
SYNC_FROM_SOURCE = "SyncFromSource"
SYNC_TYPES = (SYNC_TO_DESTINATION, SYNC_FROM_SOURCE)
SYNC_FORMATS = ("JsonSerDe",)
DATA_SHARING_TYPES = ("Organization",)
SOURCE_TYPES = ("AwsOrganizations", "SingleAccountMultiRegions")

KMS_KEY_ARN_RE = re.compile(r"^arn:aws(-[a-z-]+)?:kms:(?P<region>[a-z0-9-]+):\d{12}:key/[A-Za-z0-9-]+$")


@cache
def ssm_regions() -> frozenset[str]:
    """Every region where SSM exists, per botocore's endpoint data (opt-in regions included)."""
    return frozenset(botocore.session.get_session().get_available_regions("ssm"))


class SyncEnvironment(Protocol):
    """What SSM reaches outside itself: time, the destination bucket, and the writes that follow a creation."""

    def now(self) -> datetime:
        """The current (simulated) time."""
        ...

    def check_destination(self, account_id: str, region: str, destination: Mapping[str, Any]) -> None:
        """Raise ``ResourceDataSyncInvalidConfigurationException`` unless SSM can write the marker."""
        ...

    def sync_created(self, account_id: str, region: str, sync: ResourceDataSync) -> None:
        """Schedule what SSM does after a creation (marker, inventory, status changes)."""
        ...


@dataclass
class ResourceDataSync:
    """One sync configuration and its status, as ``ListResourceDataSync`` reports it."""

    name: str
    sync_type: str
    s3_destination: dict[str, Any] | None
    sync_source: dict[str, Any] | None
    created_time: datetime
    last_modified_time: datetime
    last_status: str = "InProgress"
    last_status_message: str | None = None
    last_sync_time: datetime | None = None
    last_successful_sync_time: datetime | None = None

    @property
    def is_organization(self) -> bool:
        """True when the sync shares its destination with the organization (the one-per-region kind)."""
        sharing = (self.s3_destination or {}).get("DestinationDataSharing") or {}
        return bool(sharing.get("DestinationDataSharingType") == "Organization")

    def mark_successful(self, at: datetime) -> None:
        """Record a successful sync at ``at`` (SSM wrote the marker / inventory)."""
        self.last_status = "Successful"
        self.last_status_message = None
        self.last_sync_time = at
        self.last_successful_sync_time = at

    def mark_failed(self, at: datetime, message: str) -> None:
        """Record a failed sync at ``at``."""
        self.last_status = "Failed"
        self.last_status_message = message
        self.last_sync_time = at

    def to_item(self) -> dict[str, Any]:
        """The ``ResourceDataSyncItem`` shape (keys without a value are left out, as AWS does)."""
        item: dict[str, Any] = {
            "SyncName": self.name,
            "SyncType": self.sync_type,
            "SyncCreatedTime": self.created_time,
            "SyncLastModifiedTime": self.last_modified_time,
            "LastStatus": self.last_status,
        }
        optional = {
            "S3Destination": copy.deepcopy(self.s3_destination),
            "SyncSource": copy.deepcopy(self.sync_source),
            "LastSyncTime": self.last_sync_time,
            "LastSuccessfulSyncTime": self.last_successful_sync_time,
            "LastSyncStatusMessage": self.last_status_message,
        }
        item.update({key: value for key, value in optional.items() if value is not None})
        return item


def _length_error(field: str, value: str, maximum: int) -> ValidationException:
    return ValidationException(
        f"1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: "
        f"Member must have length less than or equal to {maximum}"
    )


class ResourceDataSyncBackend:
    """The syncs of one account in one region, and the rules on them."""

    def __init__(self, account_id: str, region: str, environment: SyncEnvironment) -> None:
        self.account_id = account_id
        self.region = region
        self.environment = environment
        self.syncs: dict[str, ResourceDataSync] = {}
        self._lock = threading.RLock()

    def create(
        self,
        sync_name: str,
        s3_destination: Mapping[str, Any] | None = None,
        sync_type: str | None = None,
        sync_source: Mapping[str, Any] | None = None,
    ) -> ResourceDataSync:
        """CreateResourceDataSync: validate, enforce the limits, check the bucket, then store and schedule."""
        sync_type = sync_type or SYNC_TO_DESTINATION
        self._validate_request(sync_name, s3_destination, sync_type, sync_source)
        with self._lock:
            if sync_name in self.syncs:
                raise ResourceDataSyncAlreadyExistsException(sync_name)
            if len(self.syncs) >= MAX_SYNCS_PER_ACCOUNT_REGION:
                raise ResourceDataSyncCountExceededException(
                    f"The number of resource data syncs in this account and Region has reached the maximum "
                    f"({MAX_SYNCS_PER_ACCOUNT_REGION})."
                )
            now = self.environment.now()
            sync = ResourceDataSync(
                name=sync_name,
                sync_type=sync_type,
                s3_destination=copy.deepcopy(dict(s3_destination)) if s3_destination else None,
                sync_source=copy.deepcopy(dict(sync_source)) if sync_source else None,
                created_time=now,
                last_modified_time=now,
            )
            if sync.is_organization and sum(s.is_organization for s in self.syncs.values()) >= (
                MAX_ORGANIZATION_SYNCS_PER_ACCOUNT_REGION
            ):
                # The real error is unknown (see the module docstring): a count limit of one, so the count error.
                raise ResourceDataSyncCountExceededException(
                    "Only one resource data sync with DestinationDataSharingType Organization is allowed per "
                    "account and Region."
                )
            if sync.s3_destination is not None:
                self.environment.check_destination(self.account_id, self.region, sync.s3_destination)
            self.syncs[sync_name] = sync
        self.environment.sync_created(self.account_id, self.region, sync)
        return sync

    def seed(self, sync: ResourceDataSync) -> None:
        """Store a sync that exists before the scenario starts, without any rule (the scenario was validated)."""
        with self._lock:
            self.syncs[sync.name] = sync

    def list(
        self, sync_type: str | None = None, next_token: str | None = None, max_results: int | None = None
    ) -> tuple[list[ResourceDataSync], str | None]:
        """ListResourceDataSync: one page of the syncs (of ``sync_type`` if given) and the next token."""
        if max_results is not None and max_results > MAX_LIST_RESULTS:
            raise ValidationException(
                f"1 validation error detected: Value '{max_results}' at 'maxResults' failed to satisfy constraint: "
                f"Member must have value less than or equal to {MAX_LIST_RESULTS}"
            )
        if sync_type is not None and sync_type not in SYNC_TYPES:
            raise ResourceDataSyncInvalidConfigurationException(f"SyncType {sync_type} is not supported.")
        # Without SyncType we list every type: whether AWS then lists only SyncToDestination syncs is unknown, and
        # listing all is the side that never hides a sync taking one of the five slots.
        page_size = max_results or MAX_LIST_RESULTS
        start = self._decode_token(next_token, sync_type) if next_token else 0
        with self._lock:
            matching = [s for s in self.syncs.values() if sync_type is None or s.sync_type == sync_type]
        page = matching[start : start + page_size]
        end = start + len(page)
        token = self._encode_token(end, sync_type) if end < len(matching) else None
        return page, token

    def delete(self, sync_name: str, sync_type: str | None = None) -> None:
        """DeleteResourceDataSync. Objects the sync wrote stay in the bucket, as on AWS."""
        if len(sync_name) > MAX_SYNC_NAME_LENGTH:
            raise _length_error("syncName", sync_name, MAX_SYNC_NAME_LENGTH)
        with self._lock:
            sync = self.syncs.get(sync_name)
            if sync is None or (sync_type is not None and sync.sync_type != sync_type):
                raise ResourceDataSyncNotFoundException(sync_name, sync_type or SYNC_TO_DESTINATION)
            del self.syncs[sync_name]

    # --- rules ---------------------------------------------------------------------------------------------

    def _validate_request(
        self,
        sync_name: str,
        s3_destination: Mapping[str, Any] | None,
        sync_type: str,
        sync_source: Mapping[str, Any] | None,
    ) -> None:
        if len(sync_name) > MAX_SYNC_NAME_LENGTH:
            raise _length_error("syncName", sync_name, MAX_SYNC_NAME_LENGTH)
        if sync_type not in SYNC_TYPES:
            raise ResourceDataSyncInvalidConfigurationException(
                f"SyncType {sync_type} is not supported. Specify {SYNC_TO_DESTINATION} or {SYNC_FROM_SOURCE}."
            )
        if sync_type == SYNC_TO_DESTINATION:
            if s3_destination is None:
                raise ResourceDataSyncInvalidConfigurationException(
                    f"S3Destination is required when SyncType is {SYNC_TO_DESTINATION}."
                )
            if sync_source is not None:
                raise ResourceDataSyncInvalidConfigurationException(
                    f"SyncSource is not supported when SyncType is {SYNC_TO_DESTINATION}."
                )
            self._validate_destination(s3_destination)
        else:
            if sync_source is None:
                raise ResourceDataSyncInvalidConfigurationException(
                    f"SyncSource is required when SyncType is {SYNC_FROM_SOURCE}."
                )
            if s3_destination is not None:
                raise ResourceDataSyncInvalidConfigurationException(
                    f"S3Destination is not supported when SyncType is {SYNC_FROM_SOURCE}."
                )
            self._validate_source(sync_source)

    def _validate_destination(self, destination: Mapping[str, Any]) -> None:
        sync_format = destination.get("SyncFormat")
        if sync_format not in SYNC_FORMATS:
            raise ValidationException(
                f"1 validation error detected: Value '{sync_format}' at 's3Destination.syncFormat' failed to satisfy "
                f"constraint: Member must satisfy enum value set: [{', '.join(SYNC_FORMATS)}]"
            )
        region = destination.get("Region", "")
        if region not in ssm_regions():
            raise ResourceDataSyncInvalidConfigurationException(f"The S3 destination Region {region} is not valid.")
        prefix = destination.get("Prefix")
        if prefix is not None and len(prefix) > MAX_PREFIX_LENGTH:
            raise _length_error("s3Destination.prefix", prefix, MAX_PREFIX_LENGTH)
        key_arn = destination.get("AWSKMSKeyARN")
        if key_arn is not None:
            match = KMS_KEY_ARN_RE.match(key_arn)
            if match is None:
                raise ResourceDataSyncInvalidConfigurationException(
                    f"The AWSKMSKeyARN {key_arn} is not a valid KMS key ARN."
                )
            if match.group("region") != region:
                raise ResourceDataSyncInvalidConfigurationException(
                    f"The KMS key {key_arn} must be in the Region of the destination bucket ({region})."
                )
        sharing = destination.get("DestinationDataSharing")
        if sharing is not None:
            sharing_type = sharing.get("DestinationDataSharingType")
            if sharing_type not in DATA_SHARING_TYPES:
                raise ResourceDataSyncInvalidConfigurationException(
                    f"DestinationDataSharingType {sharing_type} is not supported. Only Organization is supported."
                )

    def _validate_source(self, source: Mapping[str, Any]) -> None:
        source_type = source.get("SourceType")
        if source_type not in SOURCE_TYPES:
            raise ResourceDataSyncInvalidConfigurationException(f"SourceType {source_type} is not supported.")
        for region in source.get("SourceRegions", []):
            if region not in ssm_regions():
                raise ResourceDataSyncInvalidConfigurationException(f"The source Region {region} is not valid.")

    @staticmethod
    def _encode_token(offset: int, sync_type: str | None) -> str:
        raw = json.dumps({"offset": offset, "syncType": sync_type}).encode()
        return base64.urlsafe_b64encode(raw).decode()

    @staticmethod
    def _decode_token(token: str, sync_type: str | None) -> int:
        try:
            data = json.loads(base64.urlsafe_b64decode(token.encode()))
            offset = data["offset"]
            token_type = data["syncType"]
        except (binascii.Error, ValueError, KeyError, TypeError) as exc:
            raise InvalidNextToken() from exc
        if not isinstance(offset, int) or offset < 0 or token_type != sync_type:
            raise InvalidNextToken()
        return offset


class ResourceDataSyncBackends:
    """Every account-region's backend, created on first use: ``backends[account_id][region]``."""

    def __init__(self, environment: SyncEnvironment) -> None:
        self.environment = environment
        self._backends: dict[tuple[str, str], ResourceDataSyncBackend] = {}
        self._lock = threading.Lock()

    def backend(self, account_id: str, region: str) -> ResourceDataSyncBackend:
        """The backend of ``account_id`` in ``region``."""
        with self._lock:
            key = (account_id, region)
            if key not in self._backends:
                self._backends[key] = ResourceDataSyncBackend(account_id, region, self.environment)
            return self._backends[key]

    def __getitem__(self, account_id: str) -> _AccountBackends:
        """moto's ``backends[account][region]`` form: ``backends["200000000001"]["us-east-1"]``."""
        return _AccountBackends(self, account_id)

    def items(self) -> list[tuple[tuple[str, str], ResourceDataSyncBackend]]:
        """Every (account, region) backend created so far."""
        with self._lock:
            return list(self._backends.items())


@dataclass(frozen=True)
class _AccountBackends:
    backends: ResourceDataSyncBackends
    account_id: str

    def __getitem__(self, region: str) -> ResourceDataSyncBackend:
        return self.backends.backend(self.account_id, region)
