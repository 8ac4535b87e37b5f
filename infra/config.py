"""The deployment's configuration: CDK context parsed once, into one typed value, with clear errors.

Every stack and construct takes its settings from :class:`OrgSyncConfig`; nothing reads context elsewhere.
Context comes from ``infra/cdk.json`` and ``-c key=value`` on the command line (where every value is a
string, so lists may be given as JSON or comma-separated and booleans as ``true``/``false``).

Example::

    >>> cfg = parse_config({"organizationId": "o-abcdefghij", "managementAccountId": "111111111111",
    ...                     "aggregatorAccountId": "222222222222", "targets": "ou-ab12-abcdefgh,333333333333"})
    >>> cfg.targets, cfg.member_role_organizational_units
    (('ou-ab12-abcdefgh', '333333333333'), ('ou-ab12-abcdefgh',))
    >>> parse_config({"organizationId": "o-1"})
    Traceback (most recent call last):
    ...
    infra.config.ConfigError: context organizationId='o-1' is not an organization ID (o-xxxxxxxxxx)
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

from lambdas.identifiers import (
    ACCOUNT_ID,
    BUCKET_NAME,
    ORGANIZATION_ID,
    PARENT,
    PREFIX,
    REGION,
    ROLE_ARN,
    ROLE_NAME,
    STATE_MACHINE_NAME,
    SYNC_NAME,
    TARGET,
    Rule,
)
from lambdas.models import Mode
from lambdas.settings import DEFAULT_MEMBER_ROLE_NAME, DEFAULT_PREFIX, DEFAULT_SYNC_NAME

# Identifier forms are lambdas.identifiers' (shared with the execution input and the scenario parser); these two
# are the deployment's own.
SCHEDULE = Rule(
    "an EventBridge Scheduler expression: rate(<n> <unit>), cron(<6 fields>) or off",
    re.compile(r"rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\([^()]+\)"),
)
EMAIL = Rule("an e-mail address", re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+"))

#: Organizations events (CloudTrail) are delivered only in us-east-1.
ORGANIZATIONS_EVENTS_REGION = "us-east-1"

DEFAULT_SCHEDULE = "rate(1 day)"
DEFAULT_STATE_MACHINE_NAME = "orgsync"


#: Every context key parse_config reads.
CONTEXT_KEYS: tuple[str, ...] = (
    "organizationId",
    "managementAccountId",
    "aggregatorAccountId",
    "aggregatorRegion",
    "managementRegion",
    "targets",
    "regions",
    "syncName",
    "memberRoleName",
    "inventoryPrefix",
    "bucketName",
    "kms",
    "schedule",
    "scheduleMode",
    "memberRoleOrganizationalUnits",
    "memberRoleRegion",
    "stackSetCallAs",
    "stateMachineName",
    "notificationEmail",
    "enrolment",
    "readerRoleArns",
    "accountsPerBatch",
    "maxConcurrency",
)


class ConfigError(ValueError):
    """A context value is missing or malformed; the message names the key, the value and what is expected."""


class DefinitionShape(TypedDict, total=False):
    """How a deployment shapes the Distributed Map (``build_definition``'s keyword arguments it sets)."""

    accounts_per_batch: int
    max_concurrency: int


@dataclass(frozen=True)
class OrgSyncConfig:
    """Everything a deployment fixes. Field docs say which context key sets them."""

    organization_id: str
    """``organizationId`` (required): scopes the bucket policy, the KMS key policy and every trust."""
    management_account_id: str
    """``managementAccountId`` (required): where the organization reader and the StackSet are deployed."""
    aggregator_account_id: str
    """``aggregatorAccountId`` (required): the bucket's account, where orgsync runs (its role ARNs are trusted)."""
    aggregator_region: str | None
    """``aggregatorRegion``: the bucket's region; None leaves the aggregator stack region-agnostic."""
    management_region: str
    """``managementRegion`` (default us-east-1, where Organizations events arrive)."""
    targets: tuple[str, ...]
    """``targets``: default target ids (r-..., ou-..., account ids) of an execution without ``targets``."""
    regions: tuple[str, ...]
    """``regions``: default regions of an execution without ``regions``."""
    sync_name: str
    member_role_name: str
    inventory_prefix: str
    """``inventoryPrefix``: the S3 prefix SSM writes under (the sync's S3Destination.Prefix)."""
    bucket_name: str | None
    kms: bool
    """``kms``: SSE-KMS with a customer managed key instead of SSE-S3."""
    schedule: str | None
    """``schedule``: an EventBridge Scheduler rate()/cron() expression, or None (``"off"``) for no schedule."""
    schedule_mode: Mode
    """``scheduleMode``: verify (default) or rollout (idempotent; enrols accounts new to a target OU)."""
    member_role_organizational_units: tuple[str, ...]
    """``memberRoleOrganizationalUnits``: StackSet targets; defaults to the root/OU ids among ``targets``."""
    member_role_region: str
    """``memberRoleRegion``: the one region of the StackSet instances (IAM is global)."""
    stack_set_call_as: str
    """``stackSetCallAs``: SELF (management account) or DELEGATED_ADMIN."""
    state_machine_name: str
    notification_email: str | None
    enrolment: bool
    """``enrolment``: start a rollout for an account created in, or moved into, the default targets."""
    reader_role_arns: tuple[str, ...]
    """``readerRoleArns``: principals (Athena/Glue readers) given kms:Decrypt in the key policy."""
    accounts_per_batch: int | None = None
    """``accountsPerBatch``: accounts per child execution of the Distributed Map (1-100); None: the definition's
    default (``workflow.definition.ACCOUNTS_PER_BATCH``, which the local engine runs too)."""
    max_concurrency: int | None = None
    """``maxConcurrency``: child executions at once (1-10000); None: ``workflow.definition.MAX_CONCURRENCY``."""

    def definition_shape(self) -> DefinitionShape:
        """The keyword arguments of ``workflow.definition.build_definition`` this deployment sets."""
        shape = DefinitionShape()
        if self.accounts_per_batch is not None:
            shape["accounts_per_batch"] = self.accounts_per_batch
        if self.max_concurrency is not None:
            shape["max_concurrency"] = self.max_concurrency
        return shape

    @property
    def resolve_targets_role_name(self) -> str:
        """Fixed so the organization reader (another account) can trust it without a lookup."""
        return "OrgSyncResolveTargetsRole"

    @property
    def reconcile_sync_role_name(self) -> str:
        """Fixed so the member role (every member account) can trust it without a lookup."""
        return "OrgSyncReconcileSyncRole"

    @property
    def organization_reader_role_name(self) -> str:
        return "OrgSyncOrganizationReader"

    def aggregator_role_arn(self, role_name: str, partition: str = "aws") -> str:
        return f"arn:{partition}:iam::{self.aggregator_account_id}:role/{role_name}"

    @property
    def organization_reader_role_arn(self) -> str:
        return f"arn:aws:iam::{self.management_account_id}:role/{self.organization_reader_role_name}"


def _require_str(context: Mapping[str, Any], key: str, rule: Rule, what: str) -> str:
    value = context.get(key)
    if value is None or value == "":
        raise ConfigError(f"context {key} is required ({what}): pass -c {key}=... or set it in infra/cdk.json")
    return _check(key, value, rule)


def _optional_str(context: Mapping[str, Any], key: str, rule: Rule, default: str | None = None) -> str | None:
    value = context.get(key)
    if value is None or value == "":
        return default
    return _check(key, value, rule)


def _check(key: str, value: Any, rule: Rule) -> str:
    why = rule.problem(value)
    if why is not None:
        raise ConfigError(f"context {key}={value!r} {why}")
    assert isinstance(value, str)
    return value


def _list(context: Mapping[str, Any], key: str, rule: Rule) -> tuple[str, ...]:
    raw = context.get(key)
    if raw is None or raw == "":
        return ()
    items: Any = raw
    if isinstance(raw, str):
        try:
            items = json.loads(raw) if raw.lstrip().startswith("[") else raw.split(",")
        except json.JSONDecodeError as exc:
            raise ConfigError(f"context {key}={raw!r} is invalid: not a JSON list ({exc.msg})") from exc
    if not isinstance(items, list):
        raise ConfigError(f"context {key}={raw!r} is invalid: expected a list of {rule.what}")
    values = tuple(str(item).strip() for item in items if str(item).strip())
    for index, item in enumerate(values):
        _check(f"{key}[{index}]", item, rule)
    if len(set(values)) != len(values):
        raise ConfigError(f"context {key}={list(values)!r} is invalid: duplicate entries")
    return values


def _bool(context: Mapping[str, Any], key: str, default: bool = False) -> bool:
    raw = context.get(key)
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in {"true", "false"}:
        return raw.lower() == "true"
    raise ConfigError(f"context {key}={raw!r} is invalid: expected true or false")


def _int(context: Mapping[str, Any], key: str, low: int, high: int) -> int | None:
    raw = context.get(key)
    if raw is None or raw == "":
        return None
    try:
        value = int(str(raw), 10)
    except ValueError:
        value = None
    if value is None or isinstance(raw, bool) or not low <= value <= high:
        raise ConfigError(f"context {key}={raw!r} is invalid: expected a whole number from {low} to {high}")
    return value


def parse_config(context: Mapping[str, Any]) -> OrgSyncConfig:
    """Parse and check the CDK context; raise :class:`ConfigError` naming the first bad key."""
    organization_id = _require_str(context, "organizationId", ORGANIZATION_ID, "the organization's id")
    management = _require_str(context, "managementAccountId", ACCOUNT_ID, "the management account's 12-digit id")
    aggregator = _require_str(context, "aggregatorAccountId", ACCOUNT_ID, "the bucket account's 12-digit id")
    aggregator_region = _optional_str(context, "aggregatorRegion", REGION)
    management_region = _optional_str(
        context, "managementRegion", REGION, ORGANIZATIONS_EVENTS_REGION
    )
    targets = _list(context, "targets", TARGET)
    regions = _list(context, "regions", REGION)

    schedule_raw = context.get("schedule", DEFAULT_SCHEDULE)
    schedule = None if schedule_raw in (None, "", "off", False) else _check("schedule", schedule_raw, SCHEDULE)
    mode_raw = context.get("scheduleMode", Mode.VERIFY.value)
    if mode_raw not in (Mode.VERIFY.value, Mode.ROLLOUT.value):
        raise ConfigError(f"context scheduleMode={mode_raw!r} is invalid: expected verify or rollout")

    stack_set_ous = _list(context, "memberRoleOrganizationalUnits", PARENT)
    if not stack_set_ous:
        stack_set_ous = tuple(t for t in targets if PARENT.matches(t))
    if not stack_set_ous:
        raise ConfigError(
            "context memberRoleOrganizationalUnits is required when targets name no root or OU id: the member-role "
            "StackSet deploys to OU ids, not paths (give the root id r-... for the whole organization)"
        )
    call_as = context.get("stackSetCallAs", "SELF")
    if call_as not in ("SELF", "DELEGATED_ADMIN"):
        raise ConfigError(f"context stackSetCallAs={call_as!r} is invalid: expected SELF or DELEGATED_ADMIN")

    enrolment = _bool(context, "enrolment")
    if enrolment:
        if not targets:
            raise ConfigError(
                "context targets is required with enrolment=true: an account is enrolled only when it is within "
                "the deployed default targets (lambdas.enrolment)"
            )
        if not regions:
            raise ConfigError(
                "context regions is required with enrolment=true: an enrolment rollout runs in the deployed "
                "default regions (lambdas.enrolment starts nothing without them)"
            )
        if aggregator_region is None:
            raise ConfigError(
                "context aggregatorRegion is required with enrolment=true: the management account forwards "
                "Organizations events to the aggregator's event bus in that region"
            )
        if management_region != ORGANIZATIONS_EVENTS_REGION:
            raise ConfigError(
                f"context managementRegion={management_region!r} is invalid with enrolment=true: Organizations "
                f"events are delivered only in {ORGANIZATIONS_EVENTS_REGION}"
            )
    return OrgSyncConfig(
        organization_id=organization_id,
        management_account_id=management,
        aggregator_account_id=aggregator,
        aggregator_region=aggregator_region,
        management_region=management_region or ORGANIZATIONS_EVENTS_REGION,
        targets=targets,
        regions=regions,
        sync_name=_optional_str(context, "syncName", SYNC_NAME, DEFAULT_SYNC_NAME)
        or DEFAULT_SYNC_NAME,
        member_role_name=_optional_str(
            context, "memberRoleName", ROLE_NAME, DEFAULT_MEMBER_ROLE_NAME
        )
        or DEFAULT_MEMBER_ROLE_NAME,
        inventory_prefix=_optional_str(
            context, "inventoryPrefix", PREFIX, DEFAULT_PREFIX
        )
        or DEFAULT_PREFIX,
        bucket_name=_optional_str(context, "bucketName", BUCKET_NAME),
        kms=_bool(context, "kms"),
        schedule=schedule,
        schedule_mode=Mode(mode_raw),
        member_role_organizational_units=stack_set_ous,
        member_role_region=_optional_str(
            context, "memberRoleRegion", REGION, management_region or ORGANIZATIONS_EVENTS_REGION
        )
        or ORGANIZATIONS_EVENTS_REGION,
        stack_set_call_as=call_as,
        state_machine_name=_optional_str(
            context, "stateMachineName", STATE_MACHINE_NAME, DEFAULT_STATE_MACHINE_NAME
        )
        or DEFAULT_STATE_MACHINE_NAME,
        notification_email=_optional_str(context, "notificationEmail", EMAIL),
        enrolment=enrolment,
        reader_role_arns=_list(context, "readerRoleArns", ROLE_ARN),
        accounts_per_batch=_int(context, "accountsPerBatch", 1, 100),
        max_concurrency=_int(context, "maxConcurrency", 1, 10_000),
    )
