"""Deployed defaults of the Lambda functions, read from their environment.

CDK sets these variables on every function; the local engine sets them on the functions it creates. The
execution input overrides each of them, so ``{"targets": [...], "regions": [...]}`` is a complete rollout input
on a deployed state machine.

Example::

    >>> s = Settings.from_env({"ORGSYNC_DESTINATION_BUCKET": "acme-inventory"})
    >>> s.destination_bucket, s.sync_name, s.member_role_name, s.deployed
    ('acme-inventory', 'org-inventory', 'OrgSyncMemberRole', False)
    >>> deployed = Settings(deployed=True, bucket_policy_opt_in_regions=("ap-east-1",))
    >>> Settings.from_env(deployed.to_env()) == deployed
    True
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from lambdas import invocation

DEFAULT_SYNC_NAME = "org-inventory"
DEFAULT_MEMBER_ROLE_NAME = "OrgSyncMemberRole"
DEFAULT_PREFIX = "default"
DEFAULT_MARKER_TIMEOUT_SECONDS = 900

#: The environment variable of each setting: CDK (infra/) and the local engine set exactly these.
ENV_DESTINATION_BUCKET = "ORGSYNC_DESTINATION_BUCKET"
ENV_DESTINATION_REGION = "ORGSYNC_DESTINATION_REGION"
ENV_DESTINATION_PREFIX = "ORGSYNC_DESTINATION_PREFIX"
ENV_KMS_KEY_ARN = "ORGSYNC_KMS_KEY_ARN"
ENV_SYNC_NAME = "ORGSYNC_SYNC_NAME"
ENV_MEMBER_ROLE_NAME = "ORGSYNC_MEMBER_ROLE_NAME"
ENV_ORGANIZATION_READER_ROLE_ARN = "ORGSYNC_ORGANIZATION_READER_ROLE_ARN"
ENV_DEFAULT_TARGETS = "ORGSYNC_DEFAULT_TARGETS"
ENV_DEFAULT_REGIONS = "ORGSYNC_DEFAULT_REGIONS"
#: Set ("true") by CDK only: these settings are a deployment's, whose IAM and policies name exactly these values.
ENV_DEPLOYED = "ORGSYNC_DEPLOYED"
#: The opt-in regions whose SSM principal the deployment's bucket policy names (a JSON list, "[]" for none).
ENV_BUCKET_POLICY_OPT_IN_REGIONS = "ORGSYNC_BUCKET_POLICY_OPT_IN_REGIONS"


@dataclass(frozen=True)
class Settings:
    """What a deployment fixes; every field may be overridden by the execution input."""

    destination_bucket: str | None = None
    destination_region: str | None = None
    destination_prefix: str = DEFAULT_PREFIX
    kms_key_arn: str | None = None
    sync_name: str = DEFAULT_SYNC_NAME
    member_role_name: str = DEFAULT_MEMBER_ROLE_NAME
    organization_reader_role_arn: str | None = None
    default_targets: tuple[str, ...] = ()
    default_regions: tuple[str, ...] = ()
    deployed: bool = False
    """True on a deployment (CDK sets it): its member role may act only on ``sync_name``, its roles are named
    ``member_role_name``, its bucket and marker permissions name only ``destination_prefix``, its key policy only
    ``kms_key_arn``, and its bucket policy only the opt-in regions of ``bucket_policy_opt_in_regions``. An input
    asking for another value is refused before any account is touched (:mod:`lambdas.input`). False locally and in
    tests: nothing is checked against values no policy fixes."""
    bucket_policy_opt_in_regions: tuple[str, ...] = ()
    """The opt-in regions whose regional SSM principal the deployed bucket policy names (read when ``deployed``)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``environ``; empty values count as unset.

        By default, the invocation's environment (:func:`lambdas.invocation.environment`): the process's on AWS,
        the one the local engine gave this invocation locally.
        """
        env = invocation.environment() if environ is None else environ

        def get(name: str) -> str | None:
            return env.get(name) or None

        def get_list(name: str) -> tuple[str, ...]:
            raw = get(name)
            if raw is None:
                return ()
            value = json.loads(raw) if raw.lstrip().startswith("[") else raw.split(",")
            return tuple(str(item).strip() for item in value if str(item).strip())

        return cls(
            destination_bucket=get(ENV_DESTINATION_BUCKET),
            destination_region=get(ENV_DESTINATION_REGION),
            destination_prefix=get(ENV_DESTINATION_PREFIX) or DEFAULT_PREFIX,
            kms_key_arn=get(ENV_KMS_KEY_ARN),
            sync_name=get(ENV_SYNC_NAME) or DEFAULT_SYNC_NAME,
            member_role_name=get(ENV_MEMBER_ROLE_NAME) or DEFAULT_MEMBER_ROLE_NAME,
            organization_reader_role_arn=get(ENV_ORGANIZATION_READER_ROLE_ARN),
            default_targets=get_list(ENV_DEFAULT_TARGETS),
            default_regions=get_list(ENV_DEFAULT_REGIONS),
            deployed=(get(ENV_DEPLOYED) or "").lower() == "true",
            bucket_policy_opt_in_regions=get_list(ENV_BUCKET_POLICY_OPT_IN_REGIONS),
        )

    def to_env(self) -> dict[str, str]:
        """The environment variables that reproduce these settings (for CDK and the local engine)."""
        env = {
            ENV_DESTINATION_PREFIX: self.destination_prefix,
            ENV_SYNC_NAME: self.sync_name,
            ENV_MEMBER_ROLE_NAME: self.member_role_name,
        }
        optional = {
            ENV_DESTINATION_BUCKET: self.destination_bucket,
            ENV_DESTINATION_REGION: self.destination_region,
            ENV_KMS_KEY_ARN: self.kms_key_arn,
            ENV_ORGANIZATION_READER_ROLE_ARN: self.organization_reader_role_arn,
            ENV_DEFAULT_TARGETS: json.dumps(list(self.default_targets)) if self.default_targets else None,
            ENV_DEFAULT_REGIONS: json.dumps(list(self.default_regions)) if self.default_regions else None,
        }
        env.update({key: value for key, value in optional.items() if value})
        if self.deployed:
            env[ENV_DEPLOYED] = "true"
            env[ENV_BUCKET_POLICY_OPT_IN_REGIONS] = json.dumps(list(self.bucket_policy_opt_in_regions))
        return env
