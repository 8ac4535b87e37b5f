"""The AWS boundary: error codes turned into named errors, backoff on the clock, clients reused per credentials."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lambdas import aws, invocation
from lambdas.aws import AccessDenied, AwsCallFailed, RegionDisabled, translate, with_backoff
from lambdas.errors import S3WriteFailed, Throttled
from lambdas.settings import Settings
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
    clients = aws.ClientProvider("us-east-1")
    first = clients.client("s3")
    assert clients.client("s3", "us-east-1") is first
    assert aws.ClientProvider("us-east-1").client("s3") is first  # a warm container's next invocation
    assert clients.client("s3", "eu-west-1") is not first
    other = aws.Credentials("AKIAOTHER", "secret", "token", first_expiry())
    assert aws.ClientProvider("us-east-1", other).client("s3") is not first
    assert first.meta.config.retries["total_max_attempts"] == 1
    aws.clear_credentials_cache()


def test_a_provider_reads_the_invocations_environment_not_the_process() -> None:
    own = {"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "AKIDOWN", "AWS_SECRET_ACCESS_KEY": "s", "X": "1"}
    with invocation.environment_of(own):
        clients = aws.ClientProvider.from_environment()
        settings = Settings.from_env()
    assert clients.region == "eu-west-1"
    assert clients.credentials is not None and clients.credentials.access_key_id == "AKIDOWN"
    assert clients.client("sts").meta.region_name == "eu-west-1"
    assert settings == Settings()
    assert "X" not in os.environ


def test_clients_are_made_safely_from_many_threads() -> None:
    # boto3's Session.client is not thread-safe: the provider serialises creation, and every thread gets a client.
    aws.clear_credentials_cache()
    start = threading.Barrier(8)
    made: list[Any] = []

    def make(index: int) -> None:
        start.wait(timeout=10)
        credentials = aws.Credentials(f"AKID{index}", "secret", "token")
        made.append(aws.ClientProvider("us-east-1", credentials).client("ssm", "eu-west-1"))

    threads = [threading.Thread(target=make, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len({id(client) for client in made}) == 8
    assert {client.meta.region_name for client in made} == {"eu-west-1"}
    aws.clear_credentials_cache()


def first_expiry() -> Any:
    from datetime import UTC, datetime, timedelta

    return datetime.now(UTC) + timedelta(hours=1)
