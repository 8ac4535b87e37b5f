"""validate_input: every field refused with its name and value, defaults applied, no AWS needed."""

from __future__ import annotations

from typing import Any

import pytest

from lambdas.errors import InvalidInput
from lambdas.input import validate_input
from lambdas.models import DEFAULT_BUSY_WAIT_SECONDS, Mode, OnConflict, WhenBusy
from lambdas.settings import Settings

SETTINGS = Settings(destination_bucket="acme-inventory", destination_region="ap-northeast-1")
GOOD: dict[str, Any] = {"targets": ["ou-ab12-34cdef56", "/Workloads/Prod", "123456789012", "r-ab12"],
                        "regions": ["ap-northeast-1", "us-east-1"]}


def test_minimal_input_gets_the_deployment_defaults() -> None:
    # GIVEN only targets and regions WHEN validated THEN every other field comes from Settings or the contract
    run = validate_input(GOOD, SETTINGS)
    assert run.mode is Mode.ROLLOUT
    assert run.targets == tuple(GOOD["targets"])
    assert run.syncName == "org-inventory"
    assert run.destination.bucket == "acme-inventory"
    assert run.destination.region == "ap-northeast-1"
    assert run.destination.prefix == "default"
    assert run.destination.kmsKeyArn is None
    assert run.onConflict is OnConflict.REPORT
    assert run.markerTimeoutSeconds == 900
    assert run.memberRoleName == "OrgSyncMemberRole"


def test_full_input_overrides_every_default_and_round_trips() -> None:
    raw = {
        **GOOD,
        "mode": "rollout",
        "excludeAccounts": ["123456789012"],
        "syncName": "inv.sync_1",
        "destination": {"bucket": "other-bucket", "region": "us-east-1", "prefix": "inv/v1",
                        "kmsKeyArn": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"},
        "onConflict": "replace",
        "markerTimeoutSeconds": 60,
        "memberRoleName": "Custom.Role@x",
    }
    # (settings without a deployed bucket: a deployment's own bucket cannot be overridden, see below)
    run = validate_input(raw, Settings())
    assert run.onConflict is OnConflict.REPLACE
    assert run.destination.prefix == "inv/v1"
    assert validate_input(run.to_dict(), Settings()) == run


@pytest.mark.parametrize(
    ("destination", "field", "message"),
    [
        (
            {"bucket": "other-bucket"},
            "destination.bucket",
            '"other-bucket" is not this deployment\'s bucket "acme-inventory"',
        ),
        (
            {"bucket": "acme-inventory", "region": "us-east-1"},
            "destination.region",
            '"us-east-1" is not the region of bucket "acme-inventory" (ap-northeast-1)',
        ),
    ],
)
def test_a_deployment_refuses_another_bucket_or_region(destination: dict[str, str], field: str, message: str) -> None:
    # GIVEN a deployment (its roles may only use its own bucket) WHEN the input names another bucket or region
    with pytest.raises(InvalidInput) as refused:
        validate_input({**GOOD, "destination": destination}, SETTINGS)
    # THEN it is refused before anything is touched, naming the field and the value
    assert str(refused.value) == f"{field}: {message}"
    assert validate_input({**GOOD, "destination": {"bucket": "acme-inventory"}}, SETTINGS).destination.bucket == (
        "acme-inventory"
    )


def test_duplicate_targets_and_regions_are_collapsed_in_order() -> None:
    run = validate_input({"targets": ["r-ab12", "r-ab12"], "regions": ["us-east-1", "us-east-1"]}, SETTINGS)
    assert run.targets == ("r-ab12",)
    assert run.regions == ("us-east-1",)


def test_opt_in_regions_are_known() -> None:
    run = validate_input({"targets": ["r-ab12"], "regions": ["af-south-1", "me-south-1"]}, SETTINGS)
    assert run.regions == ("af-south-1", "me-south-1")


def test_default_targets_and_regions_from_settings() -> None:
    settings = Settings(destination_bucket="acme-inventory", destination_region="us-east-1",
                        default_targets=("r-ab12",), default_regions=("us-east-1",))
    run = validate_input({}, settings)
    assert run.targets == ("r-ab12",) and run.regions == ("us-east-1",)


@pytest.mark.parametrize(
    ("change", "field", "value"),
    [
        ({"mode": "explode"}, "mode", '"explode"'),
        ({"targets": []}, "targets", ""),
        ({"targets": "r-ab12"}, "targets", '"r-ab12"'),
        ({"targets": ["ou-AB12-34cdef56"]}, "targets", '"ou-AB12-34cdef56"'),
        ({"targets": ["12345678901"]}, "targets", '"12345678901"'),
        ({"targets": ["Workloads/Prod"]}, "targets", '"Workloads/Prod"'),
        ({"regions": []}, "regions", ""),
        ({"regions": ["mars-east-1"]}, "regions", '"mars-east-1"'),
        ({"excludeAccounts": ["abc"]}, "excludeAccounts", '"abc"'),
        ({"syncName": ""}, "syncName", '""'),
        ({"syncName": "x" * 65}, "syncName", '"' + "x" * 65 + '"'),
        ({"syncName": "has space"}, "syncName", '"has space"'),
        ({"destination": {"bucket": "Bad_Bucket"}}, "destination.bucket", '"Bad_Bucket"'),
        ({"destination": {"bucket": "ab"}}, "destination.bucket", '"ab"'),
        ({"destination": {"bucket": "192.168.1.1"}}, "destination.bucket", '"192.168.1.1"'),
        ({"destination": {"bucket": "a..b"}}, "destination.bucket", '"a..b"'),
        ({"destination": {"region": "nowhere-1"}}, "destination.region", '"nowhere-1"'),
        ({"destination": {"prefix": "/lead"}}, "destination.prefix", '"/lead"'),
        ({"destination": {"prefix": ""}}, "destination.prefix", '""'),
        ({"destination": {"prefix": "orgsync/x"}}, "destination.prefix", '"orgsync/x"'),
        ({"destination": {"kmsKeyArn": "key-1"}}, "destination.kmsKeyArn", '"key-1"'),
        ({"destination": {"kmsKeyArn": "arn:aws:kms:us-east-1:111122223333:key/abc"}}, "destination.kmsKeyArn",
         '"arn:aws:kms:us-east-1:111122223333:key/abc"'),
        ({"destination": {"bucket": "acme-inventory", "color": "red"}}, "destination.color", '"red"'),
        ({"onConflict": "overwrite"}, "onConflict", '"overwrite"'),
        ({"markerTimeoutSeconds": -1}, "markerTimeoutSeconds", "-1"),
        ({"markerTimeoutSeconds": 3601}, "markerTimeoutSeconds", "3601"),
        ({"markerTimeoutSeconds": "900"}, "markerTimeoutSeconds", '"900"'),
        ({"markerTimeoutSeconds": True}, "markerTimeoutSeconds", "true"),
        ({"memberRoleName": "bad role"}, "memberRoleName", '"bad role"'),
        ({"memberRoleName": "r" * 65}, "memberRoleName", '"' + "r" * 65 + '"'),
        ({"regionz": ["us-east-1"]}, "regionz", '["us-east-1"]'),
        ({"whenBusy": "queue"}, "whenBusy", '"queue"'),
        ({"whenBusy": None}, "whenBusy", "null"),
        ({"busyWaitSeconds": 59}, "busyWaitSeconds", "59"),
        ({"busyWaitSeconds": 43_201}, "busyWaitSeconds", "43201"),
        ({"busyWaitSeconds": 600.0}, "busyWaitSeconds", "600.0"),
        ({"whenBusy": "fail", "busyWaitSeconds": 600}, "busyWaitSeconds", "600"),
    ],
)
def test_invalid_field_is_refused_naming_field_and_value(change: dict[str, Any], field: str, value: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        validate_input({**GOOD, **change}, SETTINGS)
    message = str(raised.value)
    assert message.startswith(f"{field}: "), message
    assert value in message


def test_a_run_waits_for_a_running_one_by_default_and_when_busy_round_trips_to_every_item() -> None:
    run = validate_input(GOOD, SETTINGS)
    assert (run.whenBusy, run.busyWaitSeconds) == (WhenBusy.WAIT, DEFAULT_BUSY_WAIT_SECONDS) == (WhenBusy.WAIT, 3600)
    for raw in ({**GOOD, "busyWaitSeconds": 43_200}, {**GOOD, "whenBusy": "fail"}):
        run = validate_input(raw, SETTINGS)
        assert validate_input(run.to_dict(), SETTINGS) == run
        parameters = run.run_parameters("e")
        assert type(parameters).from_dict(parameters.to_dict()) == parameters
    assert validate_input({**GOOD, "whenBusy": "fail"}, SETTINGS).run_parameters("e").to_dict()["whenBusy"] == "fail"


def test_missing_bucket_without_deployed_default_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r"^destination\.bucket: null is required"):
        validate_input(GOOD, Settings(destination_region="us-east-1"))


def test_input_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(InvalidInput, match=r'^input: \["r-ab12"\] must be a JSON object'):
        validate_input(["r-ab12"], SETTINGS)


def test_lifecycle_modes_are_accepted_teardown_only_when_confirmed() -> None:
    assert validate_input({**GOOD, "mode": "verify"}, SETTINGS).mode is Mode.VERIFY
    confirmed = validate_input({**GOOD, "mode": "teardown", "confirm": "teardown"}, SETTINGS)
    assert (confirmed.mode, confirmed.confirm) == (Mode.TEARDOWN, "teardown")
    with pytest.raises(InvalidInput, match=r'^confirm: null must be "teardown"'):
        validate_input({**GOOD, "mode": "teardown"}, SETTINGS)


def test_within_is_checked_like_targets_and_carried() -> None:
    assert validate_input({**GOOD, "within": ["/Workloads/Prod"]}, SETTINGS).within == ("/Workloads/Prod",)
    assert validate_input(GOOD, SETTINGS).within == ()
    with pytest.raises(InvalidInput, match=r'^within: "Prod" is not an OU ID'):
        validate_input({**GOOD, "within": ["Prod"]}, SETTINGS)
    with pytest.raises(InvalidInput, match=r"^within: must be a non-empty list"):
        validate_input({**GOOD, "within": []}, SETTINGS)
