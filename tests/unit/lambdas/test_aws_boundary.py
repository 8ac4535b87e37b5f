"""The AWS boundary: error codes turned into named errors, backoff on the clock, clients reused per credentials."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from lambdas import aws
from lambdas.aws import AccessDenied, AwsCallFailed, RegionDisabled, translate, with_backoff
from lambdas.errors import S3WriteFailed, Throttled
from workflow.local.clock import VirtualClock


def error(code: str, message: str = "m") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "Operation")


@pytest.mark.parametrize(
    ("code", "message", "named"),
    [
        ("TooManyRequestsException", "m", Throttled),
        ("Throttling", "m", Throttled),
        ("ThrottlingException", "m", Throttled),
        ("RequestLimitExceeded", "m", Throttled),
        ("AccessDenied", "m", AccessDenied),
        ("AccessDeniedException", "m", AccessDenied),
        ("UnrecognizedClientException", "m", RegionDisabled),
        ("RegionDisabledException", "m", RegionDisabled),
        ("InvalidClientTokenId", "m", RegionDisabled),
        ("ResourceDataSyncInvalidConfigurationException", "S3 write failed for bucket b: Access Denied", S3WriteFailed),
        ("ResourceDataSyncInvalidConfigurationException", "The KMS key is invalid", AwsCallFailed),
        ("ResourceDataSyncCountExceededException", "m", AwsCallFailed),
    ],
)
def test_codes_become_named_errors_naming_the_action(code: str, message: str, named: type[Exception]) -> None:
    translated = translate(error(code, message), "ssm:CreateResourceDataSync in 200000000001 us-east-1")
    assert type(translated) is named
    assert "ssm:CreateResourceDataSync in 200000000001 us-east-1" in str(translated) and code in str(translated)


def test_unknown_error_keeps_code_and_message() -> None:
    translated = translate(error("Weird", "strange"), "x:Y")
    assert isinstance(translated, AwsCallFailed) and (translated.code, translated.aws_message) == ("Weird", "strange")


def test_backoff_retries_throttling_and_transient_faults_on_the_clock(virtual_clock: VirtualClock) -> None:
    failures = [error("ThrottlingException"), error("InternalServerError")]

    def flaky(**kwargs: Any) -> str:
        if failures:
            raise failures.pop(0)
        return "ok"

    assert with_backoff("ssm:ListResourceDataSync", flaky) == "ok"
    assert len(virtual_clock.sleeps) == 2 and all(0 <= s <= 2 for s in virtual_clock.sleeps)


def test_backoff_gives_up_with_throttled_after_its_attempts(virtual_clock: VirtualClock) -> None:
    def throttled(**kwargs: Any) -> None:
        raise error("ThrottlingException")

    with pytest.raises(Throttled):
        with_backoff("ssm:ListResourceDataSync", throttled, attempts=4)
    assert len(virtual_clock.sleeps) == 3


def test_other_errors_are_not_retried(virtual_clock: VirtualClock) -> None:
    def denied(**kwargs: Any) -> None:
        raise error("AccessDenied")

    with pytest.raises(AccessDenied):
        with_backoff("ssm:ListResourceDataSync", denied)
    assert virtual_clock.sleeps == []


def test_clients_are_reused_per_credentials_and_have_no_botocore_retries() -> None:
    aws.clear_credentials_cache()
    first = aws.client("s3", "us-east-1")
    assert aws.client("s3", "us-east-1") is first
    assert aws.client("s3", "eu-west-1") is not first
    other = aws.Credentials("AKIAOTHER", "secret", "token", first_expiry())
    assert aws.client("s3", "us-east-1", other) is not first
    assert first.meta.config.retries["total_max_attempts"] == 1
    aws.clear_credentials_cache()


def first_expiry() -> Any:
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC) + timedelta(hours=1)
