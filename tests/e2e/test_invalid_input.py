"""Bad inputs end the execution at its first state with InvalidInput naming field and value; nothing is touched."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from workflow.local.runner import LocalRun
from workflow.local.scenario import example_scenario_path, load_scenario

REGIONS = ["ap-northeast-1", "us-east-1"]
BUCKET = "acme-inventory"


@pytest.fixture(scope="module")
def local() -> Iterator[LocalRun]:
    # One simulated AWS for every case: each asserts that it stays exactly as seeded.
    with LocalRun(load_scenario(example_scenario_path())) as run:
        yield run


def all_syncs(local: LocalRun) -> dict[tuple[str, str], list[str]]:
    return {(a.id, r): local.aws.sync_names(a.id, r) for a in local.scenario.accounts for r in REGIONS}


def orgsync_objects(local: LocalRun) -> list[str]:
    listed = local.aws.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="orgsync/")
    return [obj["Key"] for obj in listed.get("Contents", [])]


@pytest.mark.parametrize(
    ("request_input", "cause_starts_with"),
    [
        ({"targets": ["/Workloads/Nowhere"], "regions": REGIONS}, 'targets: OU path "/Workloads/Nowhere"'),
        ({"targets": ["ou-zzzz-zzzzzzzz"], "regions": REGIONS}, 'targets: "ou-zzzz-zzzzzzzz"'),
        ({"targets": ["ou-12"], "regions": REGIONS}, 'targets: "ou-12"'),
        ({"targets": ["999999999999"], "regions": REGIONS}, 'targets: "999999999999"'),
        ({"targets": ["r-zzzz"], "regions": REGIONS}, 'targets: "r-zzzz"'),
        ({"targets": [], "regions": REGIONS}, "targets: must be a non-empty list"),
        ({"targets": ["/"], "regions": ["moon-base-1"]}, 'regions: "moon-base-1"'),
        ({"targets": ["/"], "regions": REGIONS, "destination": {"bucket": "Not_A_Bucket"}},
         'destination.bucket: "Not_A_Bucket"'),
        ({"targets": ["/"], "regions": REGIONS, "mode": "destroy"}, 'mode: "destroy"'),
        ({"targets": ["/"], "regions": REGIONS, "syncName": "s" * 65}, 'syncName: "s'),
        ({"targets": ["/"], "regions": REGIONS, "onConflict": "overwrite"}, 'onConflict: "overwrite"'),
        ({"targets": ["/"], "regions": REGIONS, "markerTimeoutSeconds": 99999}, "markerTimeoutSeconds: 99999"),
        ({"targets": ["/"], "regions": REGIONS, "surprise": 1}, "surprise: 1 is not a known key"),
    ],
)
def test_bad_input_fails_at_the_first_state_with_nothing_created(
    local: LocalRun, request_input: dict[str, Any], cause_starts_with: str
) -> None:
    before = all_syncs(local)
    invoked_before = len(local.engine.invocations)

    result = local.run(request_input)

    assert (result.status, result.error) == ("FAILED", "InvalidInput")
    assert (result.cause_message() or "").startswith(cause_starts_with), result.cause_message()
    assert result.report is None
    # nothing touched: no sync anywhere changed, nothing written, no Lambda but the first ran
    assert all_syncs(local) == before
    assert orgsync_objects(local) == []
    assert [i.function_name for i in local.engine.invocations[invoked_before:]] == ["ResolveTargets"]
    failed_at = [e for e in local.history(result.execution_arn) if e["type"] == "TaskStateEntered"]
    assert [e["stateEnteredEventDetails"]["name"] for e in failed_at] == ["Resolve targets"]
