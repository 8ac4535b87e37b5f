"""Identifier forms and AWS limits orgsync relies on, each with its source; one definition for every validator.

The execution input (:mod:`lambdas.input`), the scenario parser (:mod:`workflow.local.scenario`) and the CDK
configuration (:mod:`infra.config`) check identifiers with these rules only, so a value one of them accepts the
others accept too. Each :class:`Rule` says what it is called in messages and why a value is refused; the caller
wraps that reason in its own error (``InvalidInput``, ``ScenarioError``, ``ConfigError``) with the field's name.
``docs/aws-behaviour.md`` lists the same rules with their sources and whether they were verified.

Example::

    >>> OU_PATH.problem("/"), OU_PATH.problem("/Workloads/Prod"), OU_PATH.problem("Workloads")
    (None, None, 'is not an OU path (/Workloads/Prod; / is the root)')
    >>> BUCKET_NAME.problem("a..b")
    "is not a valid S3 bucket name (no '..', '.-' or '-.')"
    >>> TARGET.matches("ou-ab12-abcdefgh"), TARGET.matches("12345678901")
    (True, False)
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from lambdas.regions import known_regions


@dataclass(frozen=True)
class Rule:
    """An identifier form: its name in messages, its pattern, and the refusals a pattern cannot say."""

    what: str
    pattern: re.Pattern[str]
    refusals: tuple[tuple[Callable[[str], bool], str], ...] = ()

    def problem(self, value: object) -> str | None:
        """Why ``value`` is not of this form (``"is not ..."``), or None when it is."""
        if not isinstance(value, str) or not self.pattern.fullmatch(value):
            return f"is not {self.what}"
        for refused, why in self.refusals:
            if refused(value):
                return why
        return None

    def matches(self, value: object) -> bool:
        """Whether ``value`` is of this form.

        >>> ACCOUNT_ID.matches("123456789012"), ACCOUNT_ID.matches(123456789012)
        (True, False)
        """
        return self.problem(value) is None


def _any_of(what: str, *rules: Rule) -> Rule:
    """One rule accepting a value of any of ``rules`` (none of which has extra refusals)."""
    assert all(not rule.refusals for rule in rules)
    return Rule(what, re.compile("|".join(f"(?:{rule.pattern.pattern})" for rule in rules)))


# --- Organizations -----------------------------------------------------------------------------------------
# botocore data/organizations/2016-11-28/service-2.json: AccountId, OrganizationalUnitId, RootId, OrganizationId.

ACCOUNT_ID = Rule("a 12-digit account ID", re.compile(r"\d{12}"))
OU_ID = Rule("an OU ID (ou-xxxx-xxxxxxxx)", re.compile(r"ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}"))
ROOT_ID = Rule("a root ID (r-xxxx)", re.compile(r"r-[0-9a-z]{4,32}"))
ORGANIZATION_ID = Rule("an organization ID (o-xxxxxxxxxx)", re.compile(r"o-[a-z0-9]{10,32}"))
#: OU names (botocore OrganizationalUnitName): 1-128 characters. orgsync names an OU by its path from the root as
#: the console shows it, so a name must not contain "/"; "/" alone is the root.
MAX_OU_NAME_LENGTH = 128
OU_NAME = Rule(
    f"an OU name (1-{MAX_OU_NAME_LENGTH} characters, no '/', no leading or trailing space)",
    re.compile(rf"[^/\s](?:[^/]{{0,{MAX_OU_NAME_LENGTH - 2}}}[^/\s])?"),
)
OU_PATH = Rule(
    "an OU path (/Workloads/Prod; / is the root)",
    re.compile(rf"/|(?:/(?:{OU_NAME.pattern.pattern}))+"),
)
#: What an execution input, a deployment's default targets or ``within`` may name.
TARGET = _any_of(
    "an OU ID (ou-xxxx-xxxxxxxx), a root ID (r-xxxx), a 12-digit account ID or an OU path (/Workloads/Prod)",
    OU_ID,
    ROOT_ID,
    ACCOUNT_ID,
    OU_PATH,
)
#: What a StackSet deploys to (CloudFormation DeploymentTargets.OrganizationalUnitIds takes root and OU ids).
PARENT = _any_of("a root ID (r-...) or an OU ID (ou-...-...)", ROOT_ID, OU_ID)

# --- Regions -------------------------------------------------------------------------------------------------
# The form of a region name (botocore data/endpoints.json partitions' regionRegex, e.g. ^(us|eu|ap|...)\-\w+\-\d+$,
# and the GovCloud/China/ISO partitions); a name must also be a region botocore knows an SSM endpoint for.

REGION = Rule(
    "a known AWS region with SSM (such as us-east-1)",
    re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d+"),
    ((lambda region: region not in known_regions(), "is not a known AWS region with SSM (such as us-east-1)"),),
)

# --- SSM resource data sync ----------------------------------------------------------------------------------
# botocore data/ssm/2014-11-06/service-2.json: ResourceDataSyncName (1-64), ResourceDataSyncS3Prefix (1-256),
# ResourceDataSyncS3BucketName (1-2048, S3 has the last word), ResourceDataSyncAWSKMSKeyARN (1-512, arn:.*).

#: AWS allows any 1-64 characters in a sync name; orgsync's own name also appears in the member role's IAM resource
#: ARN (resource-data-sync/NAME), so it keeps to characters with no meaning in an ARN or a policy.
MAX_SYNC_NAME_LENGTH = 64
SYNC_NAME = Rule(
    f"a sync name (1-{MAX_SYNC_NAME_LENGTH} characters of letters, digits, '_', '-', '.')",
    re.compile(rf"[A-Za-z0-9_.-]{{1,{MAX_SYNC_NAME_LENGTH}}}"),
)
#: AWS Systems Manager quotas: 5 resource data syncs per account and region.
MAX_SYNCS_PER_REGION = 5
#: Only one organization-based sync (DestinationDataSharingType=Organization) per account and region.
MAX_ORGANIZATION_SYNCS_PER_REGION = 1

MAX_PREFIX_LENGTH = 256
#: Where orgsync keeps its own run state and reports in the bucket (lambdas.report: orgsync/runs, orgsync/reports).
OWN_RECORDS_ROOT = "orgsync"
#: The prefix becomes part of the bucket policy's resource ``arn:aws:s3:::BUCKET/PREFIX/*/accountid=*/*``: S3's
#: safe key characters (S3 User Guide, "Naming Amazon S3 objects") without ``*``, a wildcard in a policy ARN.
PREFIX = Rule(
    f"an S3 key prefix (1-{MAX_PREFIX_LENGTH} of letters, digits and !_.'()-, segments separated by single '/', "
    "no leading or trailing '/')",
    re.compile(r"[A-Za-z0-9!_.'()-]+(?:/[A-Za-z0-9!_.'()-]+)*"),
    (
        (lambda prefix: len(prefix) > MAX_PREFIX_LENGTH, f"is longer than {MAX_PREFIX_LENGTH} characters"),
        (
            lambda prefix: prefix == OWN_RECORDS_ROOT or prefix.startswith(f"{OWN_RECORDS_ROOT}/"),
            f"collides with orgsync's own reports ({OWN_RECORDS_ROOT}/...)",
        ),
    ),
)

# --- S3 ------------------------------------------------------------------------------------------------------
# S3 User Guide, "General purpose bucket naming rules": 3-63 characters of lowercase letters, digits, '.' and '-';
# begins and ends with a letter or digit; no two adjacent periods; not formatted as an IP address; none of the
# reserved prefixes and suffixes.

BUCKET_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
BUCKET_NAME = Rule(
    "a valid S3 bucket name (3-63 lowercase letters, digits, '.', '-')",
    re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]"),
    (
        (
            lambda name: ".." in name or ".-" in name or "-." in name,
            "is not a valid S3 bucket name (no '..', '.-' or '-.')",
        ),
        (
            lambda name: re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", name) is not None,
            "is not a valid S3 bucket name (an IP address)",
        ),
        (
            lambda name: name.startswith(BUCKET_RESERVED_PREFIXES) or name.endswith(BUCKET_RESERVED_SUFFIXES),
            "uses a prefix or suffix S3 reserves",
        ),
    ),
)

# --- KMS -----------------------------------------------------------------------------------------------------
# AWS KMS Developer Guide, "Key identifiers": arn:PARTITION:kms:REGION:ACCOUNT:key/KEY_ID (or alias/NAME).

KMS_KEY_ARN = Rule(
    "a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/…)",
    re.compile(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(?:key|alias)/[a-zA-Z0-9/_+=.@:-]{1,256}"),
)


def kms_key_region(arn: str) -> str:
    """The region field of a KMS key ARN.

    >>> kms_key_region("arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")
    'eu-west-1'
    """
    return arn.split(":")[3]


# --- IAM, STS, Step Functions --------------------------------------------------------------------------------
# IAM User Guide, "IAM object quotas" and botocore iam roleNameType: 1-64 of [\w+=,.@-].
ROLE_NAME = Rule("an IAM role name (1-64 letters, digits or +=,.@_-)", re.compile(r"[\w+=,.@-]{1,64}", re.ASCII))
ROLE_ARN = Rule("an IAM role ARN", re.compile(r"arn:aws[a-z-]*:iam::\d{12}:(?:role|root)(?:/[\w+=,.@/-]+)?", re.ASCII))
#: botocore sts roleSessionNameType: 2-64 of [\w+=,.@-].
MAX_ROLE_SESSION_NAME_LENGTH = 64
ROLE_SESSION_NAME = Rule("an STS role session name (2-64 of [\\w+=,.@-])", re.compile(r"[\w+=,.@-]{2,64}", re.ASCII))
#: botocore stepfunctions Name: 1-80 characters; Step Functions refuses whitespace, brackets, wildcards, special
#: characters and control characters in names (StartExecution API reference); orgsync's own names use this subset.
EXECUTION_NAME = Rule("an execution name (1-80 of [A-Za-z0-9_-])", re.compile(r"[A-Za-z0-9_-]{1,80}"))
STATE_MACHINE_NAME = Rule("a state machine name (1-80 of [A-Za-z0-9_-])", re.compile(r"[A-Za-z0-9_-]{1,80}"))

# --- Payloads ------------------------------------------------------------------------------------------------
#: Step Functions quotas: 256 KiB per state input, output or execution input (UTF-8 bytes).
MAX_STATES_PAYLOAD_BYTES = 256 * 1024
#: Lambda quotas: 6 MB for a synchronous invocation's request and response payload each.
MAX_LAMBDA_SYNC_PAYLOAD_BYTES = 6 * 1024 * 1024
#: Lambda quotas: 4 KB in total for a function's environment variables.
MAX_LAMBDA_ENVIRONMENT_BYTES = 4 * 1024
