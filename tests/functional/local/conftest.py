"""Fixtures for the local AWS tests: a running LocalAws over the small scenario, on a virtual clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from local_aws_support import small_scenario

from workflow.local.aws import LocalAws
from workflow.local.clock import VirtualClock


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(start=datetime(2026, 1, 1, tzinfo=UTC))


@pytest.fixture
def aws(clock: VirtualClock) -> Iterator[LocalAws]:
    with LocalAws(small_scenario(), clock=clock) as local:
        yield local
