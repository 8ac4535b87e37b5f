"""orgsync's CDK app: parse the context, build the three stacks, run cdk-nag's AwsSolutions checks.

Run by ``npx cdk synth`` / ``npx cdk deploy`` from infra/ (see cdk.json), or ``python -m infra.app`` from the
repository root. Synthesis needs no AWS credentials and makes no lookups: every account and region comes from
context (docs/deployment.md).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __name__ == "__main__" and not __package__:  # pragma: no cover - run as `python infra/app.py`
    # infra/ must not be on sys.path: infra/constructs would shadow the `constructs` library.
    _here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(_here)]
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from aws_cdk import App, Environment

from infra.config import CONTEXT_KEYS, ConfigError, OrgSyncConfig, parse_config
from infra.nag import add_nag_checks
from infra.stacks.aggregator import AggregatorStack
from infra.stacks.member_role import MemberRoleStack
from infra.stacks.organization_reader import OrganizationReaderStack

AGGREGATOR_STACK = "OrgSyncAggregator"
ORGANIZATION_READER_STACK = "OrgSyncOrganizationReader"
MEMBER_ROLE_STACK = "OrgSyncMemberRole"

#: Feature flags the stacks rely on (also in cdk.json): S3 access logs delivered through the bucket policy,
#: not ACLs (the log bucket has ACLs disabled).
FEATURE_FLAGS: dict[str, Any] = {"@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy": True}


@dataclass(frozen=True)
class OrgSyncApp:
    app: App
    config: OrgSyncConfig
    aggregator: AggregatorStack
    organization_reader: OrganizationReaderStack
    member_role: MemberRoleStack


def context_of(app: App) -> dict[str, Any]:
    """The context keys orgsync reads (from cdk.json, -c, or the App's context)."""
    values = {key: app.node.try_get_context(key) for key in CONTEXT_KEYS}
    return {key: value for key, value in values.items() if value is not None}


def build(app: App, definition: Mapping[str, Any] | None = None) -> OrgSyncApp:
    """Add orgsync's stacks to ``app``; ``definition`` defaults to ``workflow.definition.build_definition()``."""
    for flag, value in FEATURE_FLAGS.items():
        if app.node.try_get_context(flag) is None:
            app.node.set_context(flag, value)
    config = parse_config(context_of(app))
    if definition is None:
        from workflow.definition import build_definition

        definition = build_definition(**config.definition_shape())
    aggregator = AggregatorStack(
        app,
        AGGREGATOR_STACK,
        config=config,
        definition=definition,
        env=Environment(account=config.aggregator_account_id, region=config.aggregator_region),
        description="orgsync: inventory bucket, task functions, state machine, schedule and alerts",
    )
    reader = OrganizationReaderStack(
        app,
        ORGANIZATION_READER_STACK,
        config=config,
        env=Environment(account=config.management_account_id, region=config.management_region),
        description="orgsync: the role ResolveTargets assumes to read the organization",
    )
    member_role = MemberRoleStack(
        app,
        MEMBER_ROLE_STACK,
        config=config,
        # With DELEGATED_ADMIN the StackSet lives in the delegated administrator's account: left to the CLI.
        env=Environment(
            account=config.management_account_id if config.stack_set_call_as == "SELF" else None,
            region=config.management_region,
        ),
        description="orgsync: the member role, as a service-managed StackSet over the target OUs",
    )
    add_nag_checks(app)
    return OrgSyncApp(app, config, aggregator, reader, member_role)


def main() -> None:
    app = App()
    try:
        build(app)
    except ConfigError as exc:
        sys.exit(f"orgsync: {exc}")
    app.synth()


if __name__ == "__main__":
    main()
