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

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

import boto3

from lambdas.errors import InvalidInput
from lambdas.models import Destination, Mode, OnConflict, RolloutInput
from lambdas.modes import MODES
from lambdas.settings import DEFAULT_MARKER_TIMEOUT_SECONDS, Settings
from lambdas.teardown import require_confirmation

# Identifier forms, as Organizations documents them.
OU_ID = re.compile(r"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$")
ROOT_ID = re.compile(r"^r-[0-9a-z]{4,32}$")
ACCOUNT_ID = re.compile(r"^\d{12}$")
#: An OU path from the root as the console names OUs: "/Workloads/Prod" ("/" is the root). OU names: 1-128 chars.
OU_PATH = re.compile(r"^(/|(/[^/]{1,128})+)$")
#: SSM's SyncName pattern (botocore's ResourceDataSyncName is 1-64 characters).
SYNC_NAME = re.compile(r"^[a-zA-Z0-9_\-.]{1,64}$")
#: S3 general purpose bucket naming rules: 3-63 characters, lowercase, digits, dots, hyphens; starts and ends
#: with a letter or digit; no "..", not an IP address, none of the reserved prefixes/suffixes.
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
IP_ADDRESS = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
KMS_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)/[a-zA-Z0-9/_+=.@:-]{1,256}$")
#: IAM role names: 1-64 characters of [\w+=,.@-].
ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")

MIN_MARKER_TIMEOUT_SECONDS = 0
#: One hour: SSM writes test.json within minutes; the state machine's marker Retry is sized for this bound.
MAX_MARKER_TIMEOUT_SECONDS = 3600
MAX_PREFIX_LENGTH = 256

KNOWN_KEYS = frozenset(
    {
        "mode",
        "targets",
        "regions",
        "excludeAccounts",
        "syncName",
        "destination",
        "onConflict",
        "markerTimeoutSeconds",
        "memberRoleName",
        "confirm",
        "within",
        "adopt",
    }
)
KNOWN_DESTINATION_KEYS = frozenset({"bucket", "region", "prefix", "kmsKeyArn"})

#: Modes this version can run: the registry's (lambdas.modes).
SUPPORTED_MODES: frozenset[Mode] = frozenset(MODES)


@functools.cache
def known_regions() -> frozenset[str]:
    """Every region botocore knows an SSM endpoint for, opt-in regions included, in every partition.

    >>> "us-east-1" in known_regions() and "af-south-1" in known_regions()
    True
    """
    session = boto3.session.Session()
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions("ssm", partition_name=partition))
    return frozenset(regions)


def _fail(field: str, value: Any, why: str) -> InvalidInput:
    return InvalidInput(f"{field}: {value!r} {why}")


def _string(raw: Mapping[str, Any], field: str, default: str | None, label: str | None = None) -> str | None:
    value = raw.get(field, default)
    if value is None:
        return None
    if not isinstance(value, str):
        raise _fail(label or field, value, "must be a string")
    return value


def _string_list(raw: Mapping[str, Any], field: str, default: tuple[str, ...]) -> list[str]:
    value = raw.get(field, list(default))
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _fail(field, value, "must be a list of strings")
    return [item.strip() for item in value]


def _check_target(target: str, field: str = "targets") -> None:
    checks: list[tuple[Callable[[str], bool], str]] = [
        (lambda t: bool(OU_ID.match(t)), "OU ID"),
        (lambda t: bool(ROOT_ID.match(t)), "root ID"),
        (lambda t: bool(ACCOUNT_ID.match(t)), "account ID"),
        (lambda t: bool(OU_PATH.match(t)), "OU path"),
    ]
    if any(check(target) for check, _ in checks):
        return
    raise _fail(
        field,
        target,
        "is not an OU ID (ou-xxxx-xxxxxxxx), a root ID (r-xxxx), a 12-digit account ID or an OU path (/Workloads/Prod)",
    )


def _check_bucket(bucket: str) -> None:
    field = "destination.bucket"
    if not BUCKET_NAME.match(bucket):
        raise _fail(field, bucket, "is not a valid S3 bucket name (3-63 lowercase letters, digits, '.', '-')")
    if ".." in bucket or ".-" in bucket or "-." in bucket or IP_ADDRESS.match(bucket):
        raise _fail(field, bucket, "is not a valid S3 bucket name")
    if bucket.startswith(BUCKET_RESERVED_PREFIXES) or bucket.endswith(BUCKET_RESERVED_SUFFIXES):
        raise _fail(field, bucket, "uses a prefix or suffix S3 reserves")


def _check_prefix(prefix: str) -> None:
    field = "destination.prefix"
    if not 1 <= len(prefix) <= MAX_PREFIX_LENGTH:
        raise _fail(field, prefix, f"must be 1-{MAX_PREFIX_LENGTH} characters")
    if prefix.startswith("/") or prefix.endswith("/") or "//" in prefix:
        raise _fail(field, prefix, "must not start or end with '/' nor contain '//'")
    if prefix == "orgsync" or prefix.startswith("orgsync/"):
        raise _fail(field, prefix, "collides with orgsync's own reports (orgsync/...)")


def _destination(raw: Mapping[str, Any], settings: Settings, regions: frozenset[str]) -> Destination:
    value = raw.get("destination", {})
    if not isinstance(value, dict):
        raise _fail("destination", value, "must be an object with bucket, region, prefix and optional kmsKeyArn")
    unknown = sorted(set(value) - KNOWN_DESTINATION_KEYS)
    if unknown:
        raise _fail(f"destination.{unknown[0]}", value[unknown[0]], "is not a known key")
    bucket = _string(value, "bucket", settings.destination_bucket, "destination.bucket")
    region = _string(value, "region", settings.destination_region, "destination.region")
    prefix = _string(value, "prefix", settings.destination_prefix, "destination.prefix")
    kms_key_arn = _string(value, "kmsKeyArn", settings.kms_key_arn, "destination.kmsKeyArn")
    if bucket is None:
        raise _fail("destination.bucket", None, "is required (no deployed default)")
    _check_bucket(bucket)
    if settings.destination_bucket is not None and bucket != settings.destination_bucket:
        # The deployment's roles may read and write only its own bucket: another one would fail midway.
        raise _fail(
            "destination.bucket", bucket, f"is not this deployment's bucket {settings.destination_bucket!r}"
        )
    if region is None:
        raise _fail("destination.region", None, "is required (no deployed default)")
    if region not in regions:
        raise _fail("destination.region", region, "is not a known AWS region")
    if bucket == settings.destination_bucket and settings.destination_region not in (None, region):
        raise _fail(
            "destination.region", region, f"is not the region of bucket {bucket!r} ({settings.destination_region})"
        )
    assert prefix is not None  # Settings always carries a default prefix
    _check_prefix(prefix)
    if kms_key_arn is not None:
        if not KMS_KEY_ARN.match(kms_key_arn):
            raise _fail("destination.kmsKeyArn", kms_key_arn, "is not a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/…)")
        if kms_key_arn.split(":")[3] != region:
            raise _fail("destination.kmsKeyArn", kms_key_arn, f"must be a key in the bucket's region {region}")
    return Destination(bucket=bucket, region=region, prefix=prefix, kmsKeyArn=kms_key_arn)


def validate_input(raw: Any, settings: Settings) -> RolloutInput:
    """Validate an execution input and apply ``settings``' defaults; raises ``InvalidInput`` naming field and value.

    Structural checks only (formats, known regions, bounds, unknown keys): no AWS call is made.

    >>> settings = Settings(destination_bucket="acme-inventory", destination_region="us-east-1")
    >>> validate_input({"targets": ["r-ab12"], "regions": ["mars-1"]}, settings)
    Traceback (most recent call last):
    ...
    lambdas.errors.InvalidInput: regions: 'mars-1' is not a known AWS region with SSM
    """
    if not isinstance(raw, dict):
        raise _fail("input", raw, "must be a JSON object")
    unknown = sorted(set(raw) - KNOWN_KEYS)
    if unknown:
        raise _fail(unknown[0], raw[unknown[0]], f"is not a known key (known: {', '.join(sorted(KNOWN_KEYS))})")

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
        _check_target(target)

    regions = _string_list(raw, "regions", settings.default_regions)
    if not regions:
        raise InvalidInput("regions: must be a non-empty list of AWS regions")
    available = known_regions()
    for region in regions:
        if region not in available:
            raise _fail("regions", region, "is not a known AWS region with SSM")

    exclude_accounts = _string_list(raw, "excludeAccounts", ())
    for account_id in exclude_accounts:
        if not ACCOUNT_ID.match(account_id):
            raise _fail("excludeAccounts", account_id, "is not a 12-digit account ID")

    sync_name = _string(raw, "syncName", settings.sync_name)
    assert sync_name is not None
    if not SYNC_NAME.match(sync_name):
        raise _fail("syncName", sync_name, "must be 1-64 characters of letters, digits, '_', '-', '.'")

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
    if not ROLE_NAME.match(role_name):
        raise _fail("memberRoleName", role_name, "is not an IAM role name (1-64 letters, digits or +=,.@_-)")

    adopt = raw.get("adopt", False)
    if not isinstance(adopt, bool):
        raise _fail("adopt", adopt, "must be true or false")
    if adopt and not MODES[mode].adopts:
        raise _fail("adopt", adopt, "is for a rollout (or its plan): verify and teardown adopt nothing")

    confirm = _string(raw, "confirm", None)
    within = _string_list(raw, "within", ())
    if "within" in raw and not within:
        raise InvalidInput("within: must be a non-empty list of OU IDs, OU paths, account IDs or root IDs when given")
    for target in within:
        _check_target(target, "within")
    destination = _destination(raw, settings, available)

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
    )
