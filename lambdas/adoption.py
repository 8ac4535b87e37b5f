"""Adoption records: which equivalent syncs orgsync took over (``"adopt": true``), remembered in the bucket.

An equivalent sync (another name, writing to exactly the run's destination) is left alone unless a rollout is
asked to adopt it. Adopting writes one small JSON record per account-region,
``orgsync/adoptions/<prefix>/<account>/<region>/<sync name>.json`` (the destination prefix URL-quoted, ``%00``
for none), in the destination bucket, beside orgsync's other records. ``Resolve targets`` lists them once per
run (one paginated ListObjectsV2; the key alone says everything) and hands each item its adopted sync's name;
from then on rollout, verify and teardown treat that sync as orgsync's own (:func:`lambdas.classification.classify`).
A teardown that deletes it, or finds it gone, removes the record.

Why a record rather than a rule on the listing ("a sync writing to our destination is ours"): the rule would
make every equivalent sync deletable by teardown without anyone having said so, and would forget nothing when
the user repoints it. The record is an explicit, per-account-region decision that the user can read and delete.

Example::

    >>> from lambdas.models import Destination
    >>> adoption_key(Destination("acme-inventory", "us-east-1", "default"), "200000000001", "us-east-1", "org-sync")
    'orgsync/adoptions/default/200000000001/us-east-1/org-sync.json'
    >>> parse_adoption_key("orgsync/adoptions/default/200000000001/us-east-1/org-sync.json")
    ('200000000001', 'us-east-1', 'org-sync')
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from lambdas.aws import call, list_object_pages
from lambdas.marker import check_marker
from lambdas.models import Destination, Outcome, Status, TargetItem

ADOPTIONS_PREFIX = "orgsync/adoptions"
#: The prefix segment of a destination without a prefix (a real prefix never contains a NUL byte).
NO_PREFIX = "%00"


def adoptions_prefix(destination: Destination) -> str:
    """Where the adoption records of ``destination`` live (one folder per destination prefix)."""
    return f"{ADOPTIONS_PREFIX}/{quote(destination.prefix, safe='') or NO_PREFIX}/"


def adoption_key(destination: Destination, account_id: str, region: str, sync_name: str) -> str:
    """The key of the record that ``sync_name`` in ``account_id``/``region`` is orgsync's."""
    return f"{adoptions_prefix(destination)}{account_id}/{region}/{sync_name}.json"


def parse_adoption_key(key: str) -> tuple[str, str, str] | None:
    """``(account, region, sync name)`` of a record's key, or None for any other key."""
    parts = key.split("/")
    if len(parts) != 6 or not parts[5].endswith(".json"):
        return None
    return parts[3], parts[4], parts[5].removesuffix(".json")


def read_adoptions(s3: Any, destination: Destination) -> dict[tuple[str, str], str]:
    """Every adoption of ``destination``: ``(account, region) -> sync name`` (a listing of keys, paginated)."""
    bucket, prefix = destination.bucket, adoptions_prefix(destination)
    found: dict[tuple[str, str], str] = {}
    for page in list_object_pages(s3, bucket, prefix):
        for obj in page.get("Contents", []):
            parsed = parse_adoption_key(obj["Key"])
            if parsed is not None:
                account, region, name = parsed
                found[(account, region)] = name
    return found


def with_adoptions(items: list[TargetItem], adoptions: dict[tuple[str, str], str]) -> list[TargetItem]:
    """``items``, each with the sync adopted in its account-region (if any)."""
    return [replace(item, adoptedSync=adoptions.get((item.accountId, item.region))) for item in items]


def record_adoption(s3: Any, item: TargetItem, sync_name: str) -> str:
    """Remember that ``sync_name`` in ``item``'s account-region is orgsync's; returns the record's key."""
    destination = item.run.destination
    key = adoption_key(destination, item.accountId, item.region, sync_name)
    body = json.dumps(
        {"syncName": sync_name, "destination": destination.to_dict(), "adoptedBy": item.run.executionName}
    ).encode()
    call(
        f"s3:PutObject on s3://{destination.bucket}/{key}",
        s3.put_object,
        Bucket=destination.bucket,
        Key=key,
        Body=body,
        ContentType="application/json",
    )
    return key


def forget_adoption(s3: Any, item: TargetItem, sync_name: str) -> None:
    """Remove the record of ``sync_name`` in ``item``'s account-region (teardown removed the sync)."""
    destination = item.run.destination
    key = adoption_key(destination, item.accountId, item.region, sync_name)
    call(f"s3:DeleteObject on s3://{destination.bucket}/{key}", s3.delete_object, Bucket=destination.bucket, Key=key)


def adopt_and_check(s3: Any, item: TargetItem, reconciled: dict[str, Any]) -> Outcome:
    """``Check marker`` in rollout mode: record an adoption the reconcile step decided, then check the marker
    (:func:`lambdas.marker.check_marker`; any marker proves an adopted sync, as one already in place)."""
    if Status(reconciled["status"]) is Status.ADOPTED and reconciled.get("sync"):
        record_adoption(s3, item, str(reconciled["sync"]))
    return check_marker(s3, item, reconciled)
