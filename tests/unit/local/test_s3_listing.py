"""The local S3's prefixed listing gives moto's answers while reading only the objects under the prefix."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import pytest

from workflow.local import seams
from workflow.local.s3_listing import prefix_listing

BUCKET = "acme-inventory"
REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account: the bare mock below signs with its keys
MARKER = "default/AWS:InstanceInformation/accountid={}/test.json"


@pytest.fixture
def s3() -> Iterator[Any]:
    with seams.mock_aws():
        client = boto3.client("s3", region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="x")
        client.create_bucket(Bucket=BUCKET)
        yield client


@contextmanager
def prefix_listing_installed() -> Iterator[None]:
    owner, attribute, original = seams.S3_PREFIX_LISTING.resolve()
    patch = seams.Patch(owner, attribute, prefix_listing(original, seams.FakeBucket))
    patch.install()
    try:
        yield
    finally:
        patch.uninstall()


def _listings(s3: Any) -> list[Any]:
    """Listings of every shape the project and a user make: exact keys, prefixes, delimiters, pages."""
    requests: list[dict[str, Any]] = [
        {"Prefix": MARKER.format("200000000007"), "MaxKeys": 1},
        {"Prefix": MARKER.format("299999999999"), "MaxKeys": 1},
        {"Prefix": "default/AWS:InstanceInformation/"},
        {"Prefix": "default/", "Delimiter": "/"},
        {"Prefix": "orgsync/reports/exec-1/results/", "MaxKeys": 3},
        {"Prefix": "orgsync/reports/exec-1/results/", "StartAfter": "orgsync/reports/exec-1/results/200000000003"},
        {"Prefix": "orgsync/", "Delimiter": "/results/"},
        {"Prefix": "no-such-prefix/"},
        {},
    ]
    answers = []
    for request in requests:
        pages = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, **request):
            pages.append(
                (
                    [(o["Key"], o["Size"], o["ETag"]) for o in page.get("Contents", [])],
                    [p["Prefix"] for p in page.get("CommonPrefixes", [])],
                    page["KeyCount"],
                    page["IsTruncated"],
                )
            )
        answers.append(pages)
    answers.append(s3.list_objects(Bucket=BUCKET, Prefix="orgsync/", Delimiter="/", MaxKeys=2)["CommonPrefixes"])
    return answers


def _fill(s3: Any) -> None:
    for n in range(12):
        s3.put_object(Bucket=BUCKET, Key=MARKER.format(f"2000000000{n:02d}"), Body=b"{}")
        s3.put_object(Bucket=BUCKET, Key=f"orgsync/reports/exec-1/results/2000000000{n:02d}/us-east-1.json", Body=b"[]")
    s3.put_object(Bucket=BUCKET, Key="orgsync/reports/exec-1/report.json", Body=b"{}")
    s3.delete_object(Bucket=BUCKET, Key=MARKER.format("200000000011"))


def test_every_listing_answers_as_moto_does(s3: Any) -> None:
    # GIVEN markers, records and a deleted marker, listed by moto itself
    _fill(s3)
    expected = _listings(s3)
    # WHEN the same listings go through the prefix listing
    with prefix_listing_installed():
        answers = _listings(s3)
    # THEN every page is the same: keys, sizes, ETags, common prefixes, counts and truncation
    assert answers == expected


def test_a_versioned_bucket_lists_as_moto_does(s3: Any) -> None:
    # GIVEN a versioned bucket where a marker was overwritten and another deleted (a delete marker on top)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    _fill(s3)
    s3.put_object(Bucket=BUCKET, Key=MARKER.format("200000000003"), Body=b'{"again": true}')
    expected = _listings(s3)
    with prefix_listing_installed():
        answers = _listings(s3)
    assert answers == expected
    # the deleted marker is absent either way, the overwritten one lists its latest size
    listed = {key for key, _, _ in answers[2][0][0]}
    assert MARKER.format("200000000011") not in listed and MARKER.format("200000000003") in listed


def test_a_listing_reads_only_the_objects_under_its_prefix(s3: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN a bucket of 500 markers, every read of an object's versions counted
    for n in range(500):
        s3.put_object(Bucket=BUCKET, Key=MARKER.format(f"2000000{n:05d}"), Body=b"{}")
    store = seams.s3_backends[ACCOUNT]["aws"].buckets[BUCKET].keys
    reads: list[str] = []
    store_type = type(store)
    original = store_type.__getitem__

    def counted(self: Any, key: str) -> Any:
        reads.append(key)
        return original(self, key)

    monkeypatch.setattr(store_type, "__getitem__", counted)
    one = MARKER.format("200000000042")
    # moto alone reads every object for one marker's listing
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=one, MaxKeys=1)["Contents"]] == [one]
    assert len(reads) >= 500
    reads.clear()
    # WHEN the prefix listing lists it
    with prefix_listing_installed():
        listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=one, MaxKeys=1)["Contents"]
    # THEN the same object, and only it was read
    assert [o["Key"] for o in listed] == [one]
    assert reads == [one]
