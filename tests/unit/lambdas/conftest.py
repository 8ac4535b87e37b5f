"""Fixtures shared by the Lambda unit tests: a moto S3 bucket, a virtual clock for the Lambda code."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambdas import clock
from workflow.local.clock import VirtualClock

#: The bucket the ``s3`` fixture creates (the tests' ``BUCKET``).
INVENTORY_BUCKET = "acme-inventory"


@pytest.fixture
def s3() -> Iterator[Any]:
    """A moto S3 client (us-east-1) with the empty bucket acme-inventory."""
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=INVENTORY_BUCKET)
        yield client


@pytest.fixture
def virtual_clock() -> Iterator[VirtualClock]:
    """A virtual clock installed as the Lambda code's clock for the test (the previous one restored after)."""
    virtual = VirtualClock()
    previous = clock.use(virtual)
    yield virtual
    clock.use(previous)
