"""The execution input: structural validation with the deployment's defaults applied, no AWS needed.

:func:`validate_input` is what ``Resolve targets`` runs first and what ``orgsync validate`` runs offline. It
raises :class:`~lambdas.errors.InvalidInput` naming the field and the value. Whether an OU path, OU ID or
account ID exists needs the organization, so that check happens in :mod:`lambdas.targets` (still before any
account is touched).

Example::

    >>> from lambdas.settings import Settings
    >>> settings = Settings(destination_bucket="acme-inventory", destination_region="us-east-1")
    >>> run = validate_input({"targets": ["/Workloads/Prod"], "regions": ["us-east-1"]}, settings)
    >>> run.syncName, run.destination.prefix, str(run.onConflict)
    ('org-inventory', 'default', 'report')
    >>> validate_input({"targets": [], "regions": ["us-east-1"]}, settings)
    Traceback (most recent call last):
    ...
    lambdas.errors.InvalidInput: targets: must be a non-empty list of OU IDs, OU paths, account IDs or root IDs
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from lambdas import identifiers
from lambdas.collection import DEFAULT_SCHEDULE, check_schedule
from lambdas.errors import InvalidInput
from lambdas.identifiers import ACCOUNT_ID, BUCKET_NAME, KMS_KEY_ARN, PREFIX, REGION, ROLE_NAME, SYNC_NAME, TARGET
from lambdas.models import DEFAULT_BUSY_WAIT_SECONDS, Destination, Mode, OnConflict, RolloutInput, WhenBusy
from lambdas.modes import MODES
from lambdas.regions import OPT_IN_REGIONS, ssm_service_principal
from lambdas.settings import DEFAULT_MARKER_TIMEOUT_SECONDS, Settings
from lambdas.teardown import require_confirmation

#: One poll (lambdas.leases.BUSY_POLL_SECONDS) to 12 hours: at a poll a minute, the waiting run's history stays
#: near 6,500 events, far from Step Functions' 25,000.
MIN_BUSY_WAIT_SECONDS = 60
MAX_BUSY_WAIT_SECONDS = 43_200
MIN_MARKER_TIMEOUT_SECONDS = 0
#: One hour: SSM writes test.json within minutes; the state machine's marker Retry is sized for this bound.
MAX_MARKER_TIMEOUT_SECONDS = 3600

KNOWN_KEYS = frozenset(
    {
        "mode",
        "targets",
        "regions",
        "excludeAccounts",
        "syncName",
        "destination",
        "onConflict",
        "ensureCollection",
        "collectionSchedule",
        "markerTimeoutSeconds",
        "memberRoleName",
        "confirm",
        "within",
        "adopt",
        "canary",
        "whenBusy",
        "busyWaitSeconds",
    }
)
KNOWN_DESTINATION_KEYS = frozenset({"bucket", "region", "prefix", "kmsKeyArn"})

#: Modes this version can run: the registry's (lambdas.modes).
SUPPORTED_MODES: frozenset[Mode] = frozenset(MODES)
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _fail(field: str, value: Any, why: str) -> InvalidInput:
    """The error naming ``field`` and its value as JSON (``null``, ``true``, ``"x"``), as the user wrote it."""
    return InvalidInput(f"{field}: {json.dumps(value, default=str, ensure_ascii=False)} {why}")


def key_label(key: str) -> str:
    """An input key as a message names it: as is when plain, else JSON-quoted (a key with ':' or a newline in it
    would make the message ambiguous).

    >>> key_label("regionz"), key_label("a: b")
    ('regionz', '"a: b"')
    """
    return key if _PLAIN_KEY.fullmatch(key) else json.dumps(key)


def _string(
    raw: Mapping[str, Any], field: str, default: str | None, label: str | None = None, nullable: bool = False
) -> str | None:
    """The string at ``field``, ``default`` when absent; an explicit null only where ``nullable`` (no key)."""
    value = raw.get(field, default)
    if value is None:
        if field in raw and not nullable:
            raise _fail(label or field, value, "must be a string")
        return None
    if not isinstance(value, str):
        raise _fail(label or field, value, "must be a string")
    return value


def _string_list(raw: Mapping[str, Any], field: str, default: tuple[str, ...]) -> list[str]:
    value = raw.get(field, list(default))
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _fail(field, value, "must be a list of strings")
    return [item.strip() for item in value]


def _check(rule: identifiers.Rule, value: str, field: str) -> None:
    why = rule.problem(value)
    if why is not None:
        raise _fail(field, value, why)


def _destination(raw: Mapping[str, Any], settings: Settings) -> Destination:
    value = raw.get("destination", {})
    if not isinstance(value, dict):
        raise _fail("destination", value, "must be an object with bucket, region, prefix and optional kmsKeyArn")
    unknown = sorted(set(value) - KNOWN_DESTINATION_KEYS)
    if unknown:
        raise _fail(f"destination.{key_label(unknown[0])}", value[unknown[0]], "is not a known key")
    bucket = _string(value, "bucket", settings.destination_bucket, "destination.bucket")
    region = _string(value, "region", settings.destination_region, "destination.region")
    prefix = _string(value, "prefix", settings.destination_prefix, "destination.prefix")
    kms_key_arn = _string(value, "kmsKeyArn", settings.kms_key_arn, "destination.kmsKeyArn", nullable=True)
    if bucket is None:
        raise _fail("destination.bucket", None, "is required (no deployed default)")
    _check(BUCKET_NAME, bucket, "destination.bucket")
    if settings.destination_bucket is not None and bucket != settings.destination_bucket:
        # The deployment's roles may read and write only its own bucket: another one would fail midway.
        raise _fail(
            "destination.bucket", bucket, f"is not this deployment's bucket {json.dumps(settings.destination_bucket)}"
        )
    if region is None:
        raise _fail("destination.region", None, "is required (no deployed default)")
    _check(REGION, region, "destination.region")
    if bucket == settings.destination_bucket and settings.destination_region not in (None, region):
        raise _fail(
            "destination.region",
            region,
            f"is not the region of bucket {json.dumps(bucket)} ({settings.destination_region})",
        )
    assert prefix is not None  # Settings always carries a default prefix
    _check(PREFIX, prefix, "destination.prefix")
    if kms_key_arn is not None:
        _check(KMS_KEY_ARN, kms_key_arn, "destination.kmsKeyArn")
        if identifiers.kms_key_region(kms_key_arn) != region:
            raise _fail("destination.kmsKeyArn", kms_key_arn, f"must be a key in the bucket's region {region}")
    return Destination(bucket=bucket, region=region, prefix=prefix, kmsKeyArn=kms_key_arn)


def _check_deployment(
    settings: Settings, regions: list[str], sync_name: str, role_name: str, destination: Destination
) -> None:
    """Refuse what the deployment's IAM and policies cannot honour (only when ``settings.deployed``).

    Each such value would pass every structural check and then fail in every account-region (ACCESS_DENIED or a
    marker that never comes, with the wrong advice), so it is refused before any account is touched.

    >>> deployed = Settings(destination_bucket="acme-inventory", destination_region="us-east-1", deployed=True)
    >>> validate_input({"targets": ["r-ab12"], "regions": ["us-east-1"], "syncName": "other"}, deployed)
    Traceback (most recent call last):
    ...
    lambdas.errors.InvalidInput: syncName: "other" is not this deployment's "org-inventory": its member role may ...
    """
    fixed: tuple[tuple[str, str | None, str | None, str], ...] = (
        ("syncName", sync_name, settings.sync_name, "its member role may create and delete only that sync"),
        ("memberRoleName", role_name, settings.member_role_name, "its task roles may assume only that role"),
        (
            "destination.prefix",
            destination.prefix,
            settings.destination_prefix,
            "its bucket policy and marker permissions name only that prefix",
        ),
        (
            "destination.kmsKeyArn",
            destination.kmsKeyArn,
            settings.kms_key_arn,
            "its key policy lets SSM encrypt only with that key" if settings.kms_key_arn else "its bucket has no key",
        ),
    )
    for field, value, deployed, why in fixed:
        if value != deployed:
            raise _fail(field, value, f"is not this deployment's {json.dumps(deployed)}: {why}")
    named = sorted(settings.bucket_policy_opt_in_regions)
    for region in regions:
        if region in OPT_IN_REGIONS and region not in named:
            raise _fail(
                "regions",
                region,
                f"is an opt-in region the deployment's bucket policy does not name (it names {json.dumps(named)}): "
                f"SSM writes from there as {ssm_service_principal(region)}; add the region to the deployment's "
                "regions and redeploy",
            )


def validate_input(raw: Any, settings: Settings) -> RolloutInput:
    """Validate an execution input and apply ``settings``' defaults; raises ``InvalidInput`` naming field and value.

    Structural checks only (formats, known regions, bounds, unknown keys): no AWS call is made.

    >>> settings = Settings(destination_bucket="acme-inventory", destination_region="us-east-1")
    >>> validate_input({"targets": ["r-ab12"], "regions": ["mars-1"]}, settings)
    Traceback (most recent call last):
    ...
    lambdas.errors.InvalidInput: regions: "mars-1" is not a known AWS region with SSM (such as us-east-1)
    """
    if not isinstance(raw, dict):
        raise _fail("input", raw, "must be a JSON object")
    unknown = sorted(set(raw) - KNOWN_KEYS)
    if unknown:
        raise _fail(
            key_label(unknown[0]), raw[unknown[0]], f"is not a known key (known: {', '.join(sorted(KNOWN_KEYS))})"
        )

    mode_value = _string(raw, "mode", str(Mode.ROLLOUT))
    try:
        mode = Mode(mode_value or "")
    except ValueError:
        raise _fail("mode", mode_value, f"must be one of {', '.join(Mode)}") from None
    if mode not in SUPPORTED_MODES:
        supported = ", ".join(sorted(SUPPORTED_MODES))
        raise _fail("mode", mode_value, f"is not available in this version (supported: {supported})")
    # A teardown deletes syncs: refused here, before any account is touched, unless explicitly confirmed.
    require_confirmation(raw)

    targets = _string_list(raw, "targets", settings.default_targets)
    if not targets:
        raise InvalidInput("targets: must be a non-empty list of OU IDs, OU paths, account IDs or root IDs")
    for target in targets:
        _check(TARGET, target, "targets")

    regions = _string_list(raw, "regions", settings.default_regions)
    if not regions:
        raise InvalidInput("regions: must be a non-empty list of AWS regions")
    for region in regions:
        _check(REGION, region, "regions")

    exclude_accounts = _string_list(raw, "excludeAccounts", ())
    for account_id in exclude_accounts:
        _check(ACCOUNT_ID, account_id, "excludeAccounts")

    sync_name = _string(raw, "syncName", settings.sync_name)
    assert sync_name is not None
    _check(SYNC_NAME, sync_name, "syncName")

    on_conflict_value = _string(raw, "onConflict", str(OnConflict.REPORT))
    try:
        on_conflict = OnConflict(on_conflict_value or "")
    except ValueError:
        raise _fail("onConflict", on_conflict_value, "must be report or replace") from None

    timeout = raw.get("markerTimeoutSeconds", DEFAULT_MARKER_TIMEOUT_SECONDS)
    if isinstance(timeout, bool) or not isinstance(timeout, int):
        raise _fail("markerTimeoutSeconds", timeout, "must be an integer number of seconds")
    if not MIN_MARKER_TIMEOUT_SECONDS <= timeout <= MAX_MARKER_TIMEOUT_SECONDS:
        raise _fail(
            "markerTimeoutSeconds",
            timeout,
            f"must be between {MIN_MARKER_TIMEOUT_SECONDS} and {MAX_MARKER_TIMEOUT_SECONDS}",
        )

    role_name = _string(raw, "memberRoleName", settings.member_role_name)
    assert role_name is not None
    _check(ROLE_NAME, role_name, "memberRoleName")

    adopt = raw.get("adopt", False)
    if not isinstance(adopt, bool):
        raise _fail("adopt", adopt, "must be true or false")
    if adopt and not MODES[mode].adopts:
        raise _fail("adopt", adopt, "is for a rollout (or its plan): verify and teardown adopt nothing")

    confirm = _string(raw, "confirm", None, nullable=True)
    within = _string_list(raw, "within", ())
    if "within" in raw and not within:
        raise InvalidInput("within: must be a non-empty list of OU IDs, OU paths, account IDs or root IDs when given")
    for target in within:
        _check(TARGET, target, "within")
    destination = _destination(raw, settings)
    if settings.deployed:
        _check_deployment(settings, regions, sync_name, role_name, destination)
    ensure_collection, collection_schedule = _collection(raw, mode)
    canary, canary_at = _canary(raw, mode, regions, exclude_accounts)
    when_busy, busy_wait_seconds = _when_busy(raw)

    return RolloutInput(
        mode=mode,
        targets=tuple(dict.fromkeys(targets)),
        regions=tuple(dict.fromkeys(regions)),
        excludeAccounts=tuple(dict.fromkeys(exclude_accounts)),
        syncName=sync_name,
        destination=destination,
        onConflict=on_conflict,
        markerTimeoutSeconds=timeout,
        memberRoleName=role_name,
        confirm=confirm,
        within=tuple(dict.fromkeys(within)),
        adopt=adopt,
        ensureCollection=ensure_collection,
        collectionSchedule=collection_schedule,
        canary=canary,
        canaryAt=canary_at,
        whenBusy=when_busy,
        busyWaitSeconds=busy_wait_seconds,
    )


def _canary(
    raw: dict[str, Any], mode: Mode, regions: list[str], excluded: list[str]
) -> tuple[bool, tuple[str, str] | None]:
    """``canary``: true (the default), false, or the account-region to reconcile first ``{"accountId", "region"}``.

    >>> _canary({"canary": {"accountId": "200000000001", "region": "us-east-1"}}, Mode.ROLLOUT, ["us-east-1"], [])
    (True, ('200000000001', 'us-east-1'))
    >>> _canary({"canary": {"accountId": "200000000001", "region": "eu-west-1"}}, Mode.ROLLOUT, ["us-east-1"], [])
    Traceback (most recent call last):
    ...
    lambdas.errors.InvalidInput: canary.region: "eu-west-1" is not one of the run's regions (us-east-1)
    """
    value = raw.get("canary", True)
    if isinstance(value, bool):
        return value, None
    if not isinstance(value, dict):
        raise _fail("canary", value, 'must be true, false or {"accountId": "...", "region": "..."}')
    unknown = sorted(set(value) - {"accountId", "region"})
    if unknown:
        raise _fail(f"canary.{key_label(unknown[0])}", value[unknown[0]], "is not a known key (accountId, region)")
    if not MODES[mode].canary:
        raise _fail("canary", value, f"names an account-region, but {mode} runs no canary (only a rollout does)")
    account_id = _string(value, "accountId", None, "canary.accountId")
    region = _string(value, "region", None, "canary.region")
    if account_id is None:
        raise _fail("canary.accountId", None, "is required")
    _check(ACCOUNT_ID, account_id, "canary.accountId")
    if account_id in excluded:
        raise _fail("canary.accountId", account_id, "is in excludeAccounts")
    if region is None:
        raise _fail("canary.region", None, "is required")
    _check(REGION, region, "canary.region")
    if region not in regions:
        raise _fail("canary.region", region, f"is not one of the run's regions ({', '.join(regions)})")
    return True, (account_id, region)


def _when_busy(raw: dict[str, Any]) -> tuple[WhenBusy, int]:
    """``whenBusy`` and its ``busyWaitSeconds`` (only with ``wait``): what a run does about a running one.

    >>> _when_busy({"whenBusy": "fail", "busyWaitSeconds": 600})
    Traceback (most recent call last):
    ...
    lambdas.errors.InvalidInput: busyWaitSeconds: 600 only with whenBusy: "wait"
    """
    value = _string(raw, "whenBusy", str(WhenBusy.WAIT))
    try:
        when_busy = WhenBusy(value or "")
    except ValueError:
        raise _fail("whenBusy", value, f"must be one of {', '.join(WhenBusy)}") from None
    seconds = raw.get("busyWaitSeconds", DEFAULT_BUSY_WAIT_SECONDS)
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise _fail("busyWaitSeconds", seconds, "must be an integer number of seconds")
    if "busyWaitSeconds" in raw and when_busy is not WhenBusy.WAIT:
        raise _fail("busyWaitSeconds", seconds, f'only with whenBusy: "{WhenBusy.WAIT}"')
    if not MIN_BUSY_WAIT_SECONDS <= seconds <= MAX_BUSY_WAIT_SECONDS:
        raise _fail(
            "busyWaitSeconds", seconds, f"must be between {MIN_BUSY_WAIT_SECONDS} and {MAX_BUSY_WAIT_SECONDS}"
        )
    return when_busy, seconds


def _collection(raw: dict[str, Any], mode: Mode) -> tuple[bool, str]:
    """``ensureCollection`` (only in a mode that checks collection and writes) and its ``collectionSchedule``."""
    ensure = raw.get("ensureCollection", False)
    if not isinstance(ensure, bool):
        raise _fail("ensureCollection", ensure, "must be true or false")
    spec = MODES[mode]
    # A plan takes its rollout's input as it is (it creates nothing: its report says what is collected).
    if ensure and (not spec.checks_collection or (spec.read_only and not spec.plans)):
        raise _fail("ensureCollection", ensure, "creates associations: only in rollout mode (or its plan)")
    schedule = _string(raw, "collectionSchedule", DEFAULT_SCHEDULE)
    assert schedule is not None
    if "collectionSchedule" in raw and not ensure:
        raise _fail("collectionSchedule", schedule, "only with ensureCollection: true")
    return ensure, check_schedule(schedule)
