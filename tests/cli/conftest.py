"""Shared fixtures of the CLI tests: a report covering every kind of group, written to a file; a moto bucket."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambdas.models import Outcome, Status, Summary, Verification


def sample_outcomes() -> list[Outcome]:
    """Outcomes that need attention (CONFLICT, QUOTA_EXCEEDED, FAILED, a pending marker) and that do not."""
    return [
        Outcome("200000000001", "prod-a", "/Workloads/Prod", "us-east-1", Status.CREATED, Verification.VERIFIED),
        Outcome("200000000001", "prod-a", "/Workloads/Prod", "eu-west-1", Status.IN_SYNC, Verification.VERIFIED),
        Outcome("200000000002", "prod-b", "/Workloads/Prod", "us-east-1", Status.CREATED, Verification.PENDING),
        Outcome(
            "200000000003",
            "legacy",
            "/Workloads/Legacy",
            "us-east-1",
            Status.CONFLICT,
            detail="other-sync (s3://someone-else/inv|x) holds the only organization slot",
            existingSync={"name": "other-sync", "bucket": "someone-else", "prefix": "inv|x"},
        ),
        Outcome(
            "200000000004",
            "crowded",
            "/Workloads/Dev",
            "us-east-1",
            Status.QUOTA_EXCEEDED,
            existingSync=[{"name": f"s{i}", "bucket": "b", "prefix": "p"} for i in range(5)],
        ),
        Outcome("200000000005", "broken", "/Workloads/Dev", "us-east-1", Status.FAILED, detail="InternalServerError"),
        Outcome("200000000006", "closed", "/Suspended", "us-east-1", Status.SKIPPED, detail="account is SUSPENDED"),
    ]


def sample_report() -> dict[str, Any]:
    """A report document as the Summarize step writes it."""
    outcomes = sample_outcomes()
    return {
        "executionName": "rollout-1",
        "mode": "rollout",
        "summary": Summary.of(outcomes).to_dict(),
        "reportLocation": "s3://acme-inventory/orgsync/reports/rollout-1/report.json",
        "results": [o.to_dict() for o in outcomes],
    }


@pytest.fixture
def report_file(tmp_path: Path) -> Path:
    path = tmp_path / "report.json"
    path.write_text(json.dumps(sample_report()))
    return path


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A moto S3 client with the empty bucket acme-inventory; credentials in the environment for the CLI's session."""
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="acme-inventory")
        yield s3


@pytest.fixture(autouse=True)
def _local_state_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Local executions save what `report`/`watch` need under a state directory: each test gets its own."""
    state = tmp_path_factory.mktemp("orgsync-state")
    monkeypatch.setenv("ORGSYNC_STATE_DIR", str(state))
    return state
