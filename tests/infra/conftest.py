"""The CDK fixtures: each configuration is synthesized once per test session (synthesis is slow)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from infra_support import BASE_CONTEXT, FULL_CONTEXT, Synthesized, synthesize


@pytest.fixture(scope="session")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    yield synthesize(BASE_CONTEXT, tmp_path_factory.mktemp("cdk-base"))


@pytest.fixture(scope="session")
def full(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    yield synthesize(FULL_CONTEXT, tmp_path_factory.mktemp("cdk-full"))
