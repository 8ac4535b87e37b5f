"""An execution input is checked against what the deployment's IAM and policies name, before any account is touched.

A deployment's member role may act only on its sync name, its task roles may assume only its member role name, its
bucket policy and marker permissions name only its prefix, its key policy only its key, and its bucket policy only
the regional SSM principals of the opt-in regions it was deployed with. Locally (no deployment) nothing of that is
checked: whatever was valid stays valid.
"""

from __future__ import annotations

from typing import Any

import pytest

from lambdas.errors import InvalidInput
from lambdas.input import validate_input
from lambdas.settings import ENV_BUCKET_POLICY_OPT_IN_REGIONS, ENV_DEPLOYED, Settings

KEY = "arn:aws:kms:eu-west-1:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OTHER_KEY = "arn:aws:kms:eu-west-1:222222222222:key/9999abcd-12ab-34cd-56ef-1234567890ab"
DEPLOYED = Settings(
    destination_bucket="acme-inventory",
    destination_region="eu-west-1",
    destination_prefix="inventory/ssm",
    kms_key_arn=KEY,
    sync_name="acme-inventory",
    member_role_name="AcmeOrgSyncMember",
    deployed=True,
    bucket_policy_opt_in_regions=("af-south-1",),
)
LOCAL = Settings(destination_bucket="acme-inventory", destination_region="eu-west-1")
BASE: dict[str, Any] = {"targets": ["r-ab12"], "regions": ["eu-west-1", "af-south-1"]}

# (change to the input, field, value shown, deployed value shown)
OUTSIDE_THE_DEPLOYMENT = [
    ({"syncName": "org-inventory"}, "syncName", '"org-inventory"', '"acme-inventory"'),
    ({"memberRoleName": "OrgSyncMemberRole"}, "memberRoleName", '"OrgSyncMemberRole"', '"AcmeOrgSyncMember"'),
    ({"destination": {"prefix": "default"}}, "destination.prefix", '"default"', '"inventory/ssm"'),
    ({"destination": {"kmsKeyArn": OTHER_KEY}}, "destination.kmsKeyArn", f'"{OTHER_KEY}"', f'"{KEY}"'),
    ({"regions": ["eu-west-1", "ap-east-1"]}, "regions", '"ap-east-1"', '["af-south-1"]'),
]


@pytest.mark.parametrize(("change", "field", "value", "deployed"), OUTSIDE_THE_DEPLOYMENT, ids=lambda v: str(v)[:30])
def test_a_value_the_deployment_cannot_honour_is_refused_naming_field_value_and_deployed_value(
    change: dict[str, Any], field: str, value: str, deployed: str
) -> None:
    # GIVEN a deployment's settings, WHEN the input asks for another value than the deployment's policies name
    with pytest.raises(InvalidInput) as raised:
        validate_input({**BASE, **change}, DEPLOYED)
    # THEN it is refused with the field, the value and the deployed value
    message = str(raised.value)
    assert message.startswith(f"{field}: {value} "), message
    assert deployed in message, message


def test_the_deployed_values_and_the_defaults_pass() -> None:
    run = validate_input(
        {**BASE, "syncName": "acme-inventory", "memberRoleName": "AcmeOrgSyncMember",
         "destination": {"prefix": "inventory/ssm", "kmsKeyArn": KEY}},
        DEPLOYED,
    )
    assert run.syncName == "acme-inventory"
    assert validate_input(BASE, DEPLOYED).destination.kmsKeyArn == KEY
    # Regions that are not opt-in need no regional principal in the bucket policy.
    assert validate_input({**BASE, "regions": ["us-east-1", "eu-central-1"]}, DEPLOYED).regions


def test_a_deployment_without_a_key_refuses_a_key() -> None:
    no_key = Settings(**{**DEPLOYED.__dict__, "kms_key_arn": None})
    refused = r"^destination\.kmsKeyArn: \".*\" is not this deployment's null: its bucket"
    with pytest.raises(InvalidInput, match=refused):
        validate_input({**BASE, "destination": {"kmsKeyArn": OTHER_KEY}}, no_key)


@pytest.mark.parametrize(("change", "field", "value", "deployed"), OUTSIDE_THE_DEPLOYMENT, ids=lambda v: str(v)[:30])
def test_locally_nothing_valid_today_is_refused(change: dict[str, Any], field: str, value: str, deployed: str) -> None:
    # GIVEN settings that are no deployment's (the local engine, orgsync validate without ORGSYNC_DEPLOYED)
    # WHEN the same inputs are validated THEN they pass, as they did before deployments were checked
    assert validate_input({**BASE, **change}, LOCAL).targets == ("r-ab12",)


def test_the_deployment_settings_travel_through_the_environment() -> None:
    env = DEPLOYED.to_env()
    assert env[ENV_DEPLOYED] == "true"
    assert env[ENV_BUCKET_POLICY_OPT_IN_REGIONS] == '["af-south-1"]'
    assert Settings.from_env(env) == DEPLOYED
    # A deployment with no opt-in region says so ("[]"): every opt-in region is then refused.
    none = Settings(destination_bucket="acme-inventory", destination_region="eu-west-1", deployed=True)
    assert none.to_env()[ENV_BUCKET_POLICY_OPT_IN_REGIONS] == "[]"
    with pytest.raises(InvalidInput, match=r"^regions: \"af-south-1\" is an opt-in region .* \(it names \[\]\)"):
        validate_input(BASE, Settings.from_env(none.to_env()))
    # Without the variable the settings are no deployment's.
    assert ENV_DEPLOYED not in LOCAL.to_env()
    assert Settings.from_env(LOCAL.to_env()).deployed is False
