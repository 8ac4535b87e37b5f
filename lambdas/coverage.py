"""The coverage view: which target accounts actually deliver inventory to the bucket, and what is stale.

SSM writes, per account, ``PREFIX/AWS:InstanceInformation/accountid=<id>/test.json`` (the marker) and per
managed node ``PREFIX/AWS:<Type>/accountid=<id>/region=<r>/resourcetype=ManagedInstanceInventory/<node>.json``.
Files of deleted nodes stay; whether a node is still alive is in its ``AWS:InstanceInformation`` record
(``InstanceStatus``). So, reading only the bucket (list + get, never a write):

- ``covered`` / ``notCovered``: target accounts with / without an ``accountid=`` prefix under
  ``PREFIX/AWS:InstanceInformation/``;
- ``notTargeted``: accounts with such a prefix that are not (or no longer) targeted;
- ``staleInstances``: nodes whose files remain while their ``AWS:InstanceInformation`` record says
  ``InstanceStatus`` is not ``Active`` (Terminated, Stopped, ...), or whose ``AWS:InstanceInformation``
  file is gone while other inventory files remain.

The marker is per account, so the bucket alone cannot say which of an account's regions deliver. When a run's
outcomes are given (the verify report, or ``orgsync coverage --from-report``), each account also lists its
``deliveringRegions`` (a sync to the destination in place there, marker not pending) and its
``regionsNotDelivering`` with the cause, from :mod:`lambdas.statuses` (no member role, quota, conflict, ...):
an account covered in one region but blocked by the quota in another shows as ``partlyCovered``.

Example::

    >>> report = CoverageReport(bucket="b", prefix="default", accounts=[
    ...     AccountCoverage("111111111111", "prod", targeted=True, inBucket=True, markerPresent=True, instances=2,
    ...                     regions=["us-east-1"]),
    ...     AccountCoverage("222222222222", "", targeted=False, inBucket=True, markerPresent=True, instances=0,
    ...                     regions=[])])
    >>> report.covered, report.notTargeted
    (['111111111111'], ['222222222222'])
    >>> delivering, not_delivering = region_delivery([
    ...     Outcome("111111111111", "prod", "/", "us-east-1", Status.IN_SYNC, Verification.VERIFIED),
    ...     Outcome("111111111111", "prod", "/", "eu-west-1", Status.QUOTA_EXCEEDED)])["111111111111"]
    >>> delivering, not_delivering[0]["cause"]
    (['us-east-1'], 'the quota of five syncs is full (QUOTA_EXCEEDED)')
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lambdas.aws import list_object_pages, read_object
from lambdas.models import Outcome, RunParameters, Status, Verification
from lambdas.parallel import READ_WORKERS, bounded_map
from lambdas.statuses import PENDING_CAUSE, STATUSES

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
else:
    S3Client = Any

INSTANCE_INFORMATION = "AWS:InstanceInformation"
ACTIVE = "Active"
MARKER_NAME = "test.json"

_ACCOUNT_PREFIX = re.compile(r"accountid=(?P<account>\d{12})/$")
_INVENTORY_KEY = re.compile(
    r"^(?P<type>[^/]+)/accountid=(?P<account>\d{12})/region=(?P<region>[^/]+)/"
    r"resourcetype=(?P<resourcetype>[^/]+)/(?P<node>[^/]+)\.json$"
)


@dataclass(frozen=True)
class StaleInstance:
    """A managed node whose inventory files remain in the bucket though the node is gone."""

    accountId: str
    region: str
    instanceId: str
    instanceStatus: str | None
    files: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "accountId": self.accountId,
            "region": self.region,
            "instanceId": self.instanceId,
            "instanceStatus": self.instanceStatus,
            "files": self.files,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class AccountCoverage:
    """One account as seen from the targets and from the bucket."""

    accountId: str
    accountName: str
    targeted: bool
    #: The account has an ``accountid=`` prefix under ``PREFIX/AWS:InstanceInformation/``.
    inBucket: bool
    markerPresent: bool
    #: Live (Active) managed nodes with inventory.
    instances: int
    regions: list[str]
    #: Target regions whose sync to the destination is in place (known only from a run's outcomes).
    deliveringRegions: list[str] = field(default_factory=list)
    #: Target regions that do not deliver: ``{"region", "status", "cause"}`` (known only from a run's outcomes).
    regionsNotDelivering: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "accountId": self.accountId,
            "accountName": self.accountName,
            "targeted": self.targeted,
            "inBucket": self.inBucket,
            "markerPresent": self.markerPresent,
            "instances": self.instances,
            "regions": self.regions,
            "deliveringRegions": self.deliveringRegions,
            "regionsNotDelivering": self.regionsNotDelivering,
        }


@dataclass(frozen=True)
class CoverageReport:
    """The coverage of a bucket prefix against a set of target accounts."""

    bucket: str
    prefix: str
    accounts: list[AccountCoverage]
    staleInstances: list[StaleInstance] = field(default_factory=list)

    @property
    def covered(self) -> list[str]:
        """Target accounts present in the bucket."""
        return [a.accountId for a in self.accounts if a.targeted and a.inBucket]

    @property
    def notCovered(self) -> list[str]:
        """Target accounts with nothing in the bucket (no marker, no inventory)."""
        return [a.accountId for a in self.accounts if a.targeted and not a.inBucket]

    @property
    def partlyCovered(self) -> list[str]:
        """Target accounts with data in the bucket, some of whose target regions do not deliver."""
        return [a.accountId for a in self.accounts if a.targeted and a.inBucket and a.regionsNotDelivering]

    @property
    def notTargeted(self) -> list[str]:
        """Accounts present in the bucket that are not among the targets."""
        return [a.accountId for a in self.accounts if not a.targeted and a.inBucket]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (the verify report's ``coverage`` key and ``orgsync coverage --json``)."""
        return {
            "bucket": self.bucket,
            "prefix": self.prefix,
            "targetAccounts": sum(a.targeted for a in self.accounts),
            "covered": self.covered,
            "notCovered": self.notCovered,
            "partlyCovered": self.partlyCovered,
            "notTargeted": self.notTargeted,
            "staleInstances": [s.to_dict() for s in self.staleInstances],
            "accounts": [a.to_dict() for a in self.accounts],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CoverageReport:
        """Read a report back from :meth:`to_dict`'s form (derived keys are recomputed)."""
        return cls(
            bucket=str(data["bucket"]),
            prefix=str(data.get("prefix", "")),
            accounts=[
                AccountCoverage(
                    accountId=str(a["accountId"]),
                    accountName=str(a.get("accountName", "")),
                    targeted=bool(a["targeted"]),
                    inBucket=bool(a.get("inBucket", False)),
                    markerPresent=bool(a.get("markerPresent", False)),
                    instances=int(a.get("instances", 0)),
                    regions=[str(r) for r in a.get("regions", [])],
                    deliveringRegions=[str(r) for r in a.get("deliveringRegions", [])],
                    regionsNotDelivering=[
                        {str(k): str(v) for k, v in r.items()} for r in a.get("regionsNotDelivering", [])
                    ],
                )
                for a in data.get("accounts", [])
            ],
            staleInstances=[
                StaleInstance(
                    accountId=str(s["accountId"]),
                    region=str(s["region"]),
                    instanceId=str(s["instanceId"]),
                    instanceStatus=s.get("instanceStatus"),
                    files=int(s.get("files", 0)),
                    reason=str(s.get("reason", "")),
                )
                for s in data.get("staleInstances", [])
            ],
        )


def _root(prefix: str) -> str:
    """Where SSM's type folders start: ``PREFIX/`` (or the bucket root without a prefix)."""
    prefix = prefix.strip("/")
    return f"{prefix}/" if prefix else ""


def type_folders(s3: S3Client, bucket: str, prefix: str) -> list[str]:
    """The inventory type folders under ``PREFIX/`` (``PREFIX/AWS:Application/``, ``PREFIX/Custom:X/``, ...).

    SSM's type names hold a colon (``AWS:`` or ``Custom:``); other folders (orgsync's own, without a prefix) are not
    SSM's.
    """
    root = _root(prefix)
    folders: list[str] = []
    for page in list_object_pages(s3, bucket, root, Delimiter="/"):
        for common in page.get("CommonPrefixes", []):
            folder = str(common.get("Prefix", ""))
            if ":" in folder[len(root) :]:
                folders.append(folder)
    return folders


def accounts_in_bucket(s3: S3Client, bucket: str, prefix: str) -> set[str]:
    """The account IDs with an ``accountid=`` prefix under ``PREFIX/AWS:InstanceInformation/`` (paginated).

    Example: ``accounts_in_bucket(boto3.client("s3"), "acme-inventory", "default")``.
    """
    base = f"{_root(prefix)}{INSTANCE_INFORMATION}/"
    found: set[str] = set()
    for page in list_object_pages(s3, bucket, base, Delimiter="/"):
        for common in page.get("CommonPrefixes", []):
            match = _ACCOUNT_PREFIX.search(common.get("Prefix", ""))
            if match:
                found.add(match["account"])
    return found


def _instance_status(s3: S3Client, bucket: str, key: str) -> str | None:
    """``InstanceStatus`` from a JsonSerDe file (one JSON object a line); None when no line carries it."""
    raw, _ = read_object(s3, bucket, key)
    body = raw.decode("utf-8", errors="replace")
    for line in body.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and record.get("InstanceStatus"):
            return str(record["InstanceStatus"])
    return None


class _BucketScan:
    """What the listings of the type folders found, merged page by page (the folders are listed in parallel)."""

    def __init__(self, root: str) -> None:
        self.root = root
        #: Accounts with an ``accountid=`` prefix under ``AWS:InstanceInformation/``; those with a marker.
        self.in_bucket: set[str] = set()
        self.markers: set[str] = set()
        #: Files per node ``(account, region, node)``; the key of each node's ``AWS:InstanceInformation`` file.
        self.files: dict[tuple[str, str, str], int] = {}
        self.info_keys: dict[tuple[str, str, str], str] = {}
        self._lock = threading.Lock()

    def folder(self, s3: S3Client, bucket: str, folder: str) -> None:
        for page in list_object_pages(s3, bucket, folder):
            self._page([obj["Key"] for obj in page.get("Contents", [])])

    def _page(self, keys: list[str]) -> None:
        accounts: set[str] = set()
        markers: set[str] = set()
        nodes: list[tuple[tuple[str, str, str], str | None]] = []
        info_prefix = f"{INSTANCE_INFORMATION}/accountid="
        for key in keys:
            rel = key[len(self.root) :]
            if rel.startswith(info_prefix):
                accounts.add(rel.split("/")[1].removeprefix("accountid="))
            match = _INVENTORY_KEY.match(rel)
            if match:
                info = key if match["type"] == INSTANCE_INFORMATION else None
                nodes.append(((match["account"], match["region"], match["node"]), info))
            elif rel.startswith(info_prefix) and rel.endswith(f"/{MARKER_NAME}"):
                markers.add(rel.split("/")[1].removeprefix("accountid="))
        with self._lock:
            self.in_bucket |= accounts
            self.markers |= markers
            for node, info in nodes:
                self.files[node] = self.files.get(node, 0) + 1
                if info is not None:
                    self.info_keys[node] = info


def region_delivery(outcomes: Sequence[Outcome]) -> dict[str, tuple[list[str], list[dict[str, str]]]]:
    """Per account: the regions that deliver, and those that do not with their status and cause.

    A region delivers when its status says a sync to the destination is in place and its marker is not PENDING;
    SKIPPED account-regions are not targets and are left out.
    """
    delivery: dict[str, tuple[list[str], list[dict[str, str]]]] = {}
    for outcome in sorted(outcomes, key=lambda o: (o.accountId, o.region)):
        if outcome.status is Status.SKIPPED:
            continue
        delivering, not_delivering = delivery.setdefault(outcome.accountId, ([], []))
        info = STATUSES[outcome.status]
        if info.delivers and outcome.verification is not Verification.PENDING:
            delivering.append(outcome.region)
            continue
        cause = PENDING_CAUSE if info.delivers else info.cause or f"its status is {outcome.status}"
        not_delivering.append({"region": outcome.region, "status": str(outcome.status), "cause": cause})
    return delivery


def build_coverage(
    s3: S3Client,
    *,
    bucket: str,
    prefix: str,
    targets: Mapping[str, str],
    outcomes: Sequence[Outcome] = (),
    workers: int = READ_WORKERS,
) -> CoverageReport:
    """Compare ``targets`` (account ID -> name) with what the bucket holds under ``prefix``; with a run's
    ``outcomes``, also say which target regions of each account deliver (:func:`region_delivery`).

    Reads only: a ``ListObjectsV2`` pass over each type folder under ``PREFIX/`` and one ``GetObject`` per node's
    ``AWS:InstanceInformation`` file, both on ``workers`` threads (:func:`lambdas.parallel.bounded_map`). Keys
    outside SSM's layout (e.g. orgsync's own reports) are ignored.

    Example: ``build_coverage(s3, bucket="acme-inventory", prefix="default", targets={"111111111111": "prod"})``.
    """
    root = _root(prefix)
    scan = _BucketScan(root)
    # One listing per type folder, the folders in parallel (a million objects are a thousand pages, most of a minute
    # one after another); each page is taken in as it comes, no key kept but the nodes' AWS:InstanceInformation.
    bounded_map(lambda folder: scan.folder(s3, bucket, folder), type_folders(s3, bucket, prefix), workers)
    # One GET per node's AWS:InstanceInformation file, in parallel: an old organization keeps the files of every
    # node it ever had (SSM never deletes them), a hundred thousand and more.
    ordered = sorted(scan.files.items())
    info_keys = [scan.info_keys[node] for node, _ in ordered if node in scan.info_keys]
    statuses = dict(
        zip(info_keys, bounded_map(lambda key: _instance_status(s3, bucket, key), info_keys, workers), strict=True)
    )
    stale: list[StaleInstance] = []
    live: dict[str, set[tuple[str, str]]] = {}
    for (account, region, node), files in ordered:
        info_key = scan.info_keys.get((account, region, node))
        if info_key is None:
            stale.append(StaleInstance(account, region, node, None, files, f"no {INSTANCE_INFORMATION} record remains"))
            continue
        status = statuses[info_key]
        if status != ACTIVE:
            stale.append(StaleInstance(account, region, node, status, files, f"InstanceStatus is {status or 'absent'}"))
            continue
        live.setdefault(account, set()).add((region, node))

    delivery = region_delivery(outcomes)
    accounts = []
    for account in sorted(set(targets) | scan.in_bucket):
        alive = live.get(account, set())
        delivering, not_delivering = delivery.get(account, ([], [])) if account in targets else ([], [])
        accounts.append(
            AccountCoverage(
                accountId=account,
                accountName=targets.get(account, ""),
                targeted=account in targets,
                inBucket=account in scan.in_bucket,
                markerPresent=account in scan.markers,
                instances=len(alive),
                regions=sorted({region for region, _ in alive}),
                deliveringRegions=delivering,
                regionsNotDelivering=not_delivering,
            )
        )
    return CoverageReport(bucket=bucket, prefix=prefix.strip("/"), accounts=accounts, staleInstances=stale)


def report_section(s3: S3Client, run: RunParameters, outcomes: Sequence[Outcome]) -> dict[str, Any]:
    """The verify report's ``coverage`` section: the run's targeted accounts against its destination's data.

    Targeted accounts are those of the run's outcomes that were not SKIPPED (excluded or not ACTIVE).

    Example::

        report_section(s3, run, outcomes)["coverage"]["notCovered"]
    """
    targets = {o.accountId: o.accountName for o in outcomes if o.status is not Status.SKIPPED}
    destination = run.destination
    report = build_coverage(
        s3, bucket=destination.bucket, prefix=destination.prefix, targets=targets, outcomes=outcomes
    )
    return {"coverage": report.to_dict()}
