"""Redeployable: after ``cdk destroy`` the retained resources stay behind, and deploying again must not collide.

CloudFormation refuses to create a resource whose physical name is taken ("already exists"). Every resource
that ``cdk destroy`` retains must therefore be named by CloudFormation, or by a name unique to each creation of
the stack; the one exception is a bucket name the user configured on purpose (``bucketName``, documented in
docs/deployment.md with what to do before deploying again).
"""

from __future__ import annotations

from typing import Any

import pytest
from infra_support import Synthesized

from workflow.functions import ALL_FUNCTIONS

#: The property that holds a resource's physical name, per resource type that orgsync retains.
NAME_PROPERTIES = {
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::KMS::Key": None,
}


def references_stack_id(value: Any) -> bool:
    """True when ``value`` is built from ``AWS::StackId`` (new with every creation of the stack)."""
    if isinstance(value, dict):
        return value == {"Ref": "AWS::StackId"} or any(references_stack_id(v) for v in value.values())
    if isinstance(value, list):
        return any(references_stack_id(v) for v in value)
    return False


def fixed_names_of_retained_resources(synthesized: Synthesized) -> list[str]:
    configured_bucket = synthesized.stacks.config.bucket_name
    found = []
    for stack_name in synthesized.stack_names:
        for logical, resource in synthesized.template_json(stack_name)["Resources"].items():
            if resource.get("DeletionPolicy") != "Retain":
                continue
            assert resource["Type"] in NAME_PROPERTIES, f"{stack_name}/{logical}: a retained {resource['Type']}"
            name_property = NAME_PROPERTIES[resource["Type"]]
            if name_property is None:
                continue
            name = resource["Properties"].get(name_property)
            if name is None or references_stack_id(name):
                continue
            if resource["Type"] == "AWS::S3::Bucket" and configured_bucket is not None and name == configured_bucket:
                continue  # the user asked for this name (bucketName)
            found.append(f"{stack_name}/{logical} {name_property}={name!r}")
    return found


@pytest.mark.parametrize("variant", ["base", "full"])
def test_no_retained_resource_has_a_fixed_name(variant: str, request: pytest.FixtureRequest) -> None:
    synthesized: Synthesized = request.getfixturevalue(variant)
    assert fixed_names_of_retained_resources(synthesized) == []


def test_retained_resources_are_there_to_be_checked(base: Synthesized, full: Synthesized) -> None:
    # The check above would pass vacuously if nothing were retained: the bucket, its log bucket, the state
    # machine's and each function's log group are (and the KMS key with kms=true, the enrolment function's and
    # the enrolment waiter's log groups with enrolment=true).
    def retained(synthesized: Synthesized) -> dict[str, int]:
        counts: dict[str, int] = {}
        for name in synthesized.stack_names:
            for resource in synthesized.template_json(name)["Resources"].values():
                if resource.get("DeletionPolicy") == "Retain":
                    counts[resource["Type"]] = counts.get(resource["Type"], 0) + 1
        return counts

    # Three buckets: the inventory, its access logs, the Athena query results (infra/constructs/inventory_catalog.py).
    log_groups = 1 + len(ALL_FUNCTIONS)  # the state machine's and each task function's
    assert retained(base) == {"AWS::S3::Bucket": 3, "AWS::Logs::LogGroup": log_groups}
    assert retained(full) == {"AWS::S3::Bucket": 3, "AWS::Logs::LogGroup": log_groups + 2, "AWS::KMS::Key": 1}


def test_the_state_machine_log_group_keeps_its_vended_logs_prefix_and_is_unique_per_stack(base: Synthesized) -> None:
    template = base.template_json("OrgSyncAggregator")
    (logical,) = [
        key
        for key, r in template["Resources"].items()
        if r["Type"] == "AWS::Logs::LogGroup" and "/Rollout/Logs/" in r["Metadata"]["aws:cdk:path"]
    ]
    name = template["Resources"][logical]["Properties"]["LogGroupName"]
    # /aws/vendedlogs/ spares the account's size-limited CloudWatch Logs resource policy an entry per log group
    assert name == {
        "Fn::Join": [
            "",
            [
                "/aws/vendedlogs/states/orgsync-",
                {"Fn::Select": [2, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]},
            ],
        ]
    }
    # the name is not known before deployment: the stack's outputs say it
    assert {"Ref": logical} in [output["Value"] for output in template["Outputs"].values()]
