"""Shared CDK test helpers: the contexts, synthesis and template readers (the fixtures are in conftest.py).

A module with its own name, imported as ``infra_support``: ``from conftest import`` would resolve to whichever
test directory's conftest was imported first when several directories are collected together.

``Synthesized`` holds the app's stacks and their templates (read from the cloud assembly, so the nag checks
and synthesis ran exactly as ``cdk synth`` runs them) plus the validation report cdk-nag wrote.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")

from aws_cdk import App
from aws_cdk.assertions import Template

from infra.app import AGGREGATOR_STACK, MEMBER_ROLE_STACK, ORGANIZATION_READER_STACK, OrgSyncApp, build

ORG_ID = "o-abcdefghij"
MANAGEMENT = "111111111111"
AGGREGATOR = "222222222222"
REGION = "eu-west-1"
OU = "ou-ab12-abcdefgh"

#: The smallest valid context (SSE-S3, default schedule, no enrolment).
BASE_CONTEXT: dict[str, Any] = {
    "organizationId": ORG_ID,
    "managementAccountId": MANAGEMENT,
    "aggregatorAccountId": AGGREGATOR,
    "aggregatorRegion": REGION,
    "targets": [OU, "/Workloads/Prod"],
    "regions": [REGION, "us-east-1"],
}

#: Every option on: SSE-KMS with a reader, enrolment, an e-mail, an opt-in region, a rollout schedule.
FULL_CONTEXT: dict[str, Any] = {
    **BASE_CONTEXT,
    "regions": [REGION, "af-south-1"],
    "kms": True,
    "readerRoleArns": ["arn:aws:iam::333333333333:role/AthenaReader"],
    "enrolment": True,
    "notificationEmail": "ops@example.com",
    "schedule": "cron(0 6 * * ? *)",
    "scheduleMode": "rollout",
    "bucketName": "acme-org-inventory",
    "inventoryPrefix": "inventory/ssm",
    "syncName": "acme-inventory",
    "memberRoleName": "AcmeOrgSyncMember",
}


@dataclass
class Synthesized:
    stacks: OrgSyncApp
    outdir: Path

    def template(self, stack_name: str) -> Template:
        return Template.from_json(self.template_json(stack_name))

    def template_json(self, stack_name: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.outdir / f"{stack_name}.template.json").read_text())
        return data

    @property
    def validation_report(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.outdir / "validation-report.json").read_text())
        return data

    @property
    def stack_names(self) -> tuple[str, ...]:
        return (AGGREGATOR_STACK, ORGANIZATION_READER_STACK, MEMBER_ROLE_STACK)


def synthesize(context: dict[str, Any], outdir: Path) -> Synthesized:
    # Path and asset metadata on, as `cdk synth` has them: tests find resources by construct path.
    app = App(
        context={**context, "aws:cdk:enable-path-metadata": True, "aws:cdk:enable-asset-metadata": True},
        outdir=str(outdir),
    )
    stacks = build(app)
    app.synth()
    return Synthesized(stacks, outdir)


def resources_of(template: dict[str, Any], resource_type: str) -> dict[str, dict[str, Any]]:
    """The resources of ``resource_type``, by logical id."""
    return {key: r for key, r in template["Resources"].items() if r["Type"] == resource_type}


def logical_id(template: dict[str, Any], resource_type: str, path_part: str) -> str:
    """The one logical id of ``resource_type`` whose CDK path contains ``path_part``."""
    found = [
        key
        for key, r in resources_of(template, resource_type).items()
        if path_part in r.get("Metadata", {}).get("aws:cdk:path", key)
    ]
    assert len(found) == 1, f"{resource_type} with {path_part!r} in its path: {found}"
    return found[0]


def render(value: Any) -> Any:
    """A CloudFormation value as a readable string (``<Logical.Arn>``, ``<AWS::Partition>``), recursively."""
    from infra.nag import render_for_nag

    if isinstance(value, list):
        return [render(v) for v in value]
    if isinstance(value, dict) and len(value) == 1 and next(iter(value)) in ("Ref", "Fn::GetAtt", "Fn::Join"):
        return render_for_nag(value)
    if isinstance(value, dict):
        return {k: render(v) for k, v in value.items()}
    return value


def role_statements(template: dict[str, Any], role_id: str) -> list[dict[str, Any]]:
    """Every statement of the inline policies attached to ``role_id``, rendered, without Effect Allow noise."""
    statements: list[dict[str, Any]] = []
    for policy in resources_of(template, "AWS::IAM::Policy").values():
        if {"Ref": role_id} in policy["Properties"]["Roles"]:
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                assert statement["Effect"] == "Allow"
                rendered = render({k: v for k, v in statement.items() if k != "Effect"})
                for key in ("Action", "Resource"):
                    if isinstance(rendered.get(key), str):
                        rendered[key] = [rendered[key]]
                statements.append(rendered)
    return statements
