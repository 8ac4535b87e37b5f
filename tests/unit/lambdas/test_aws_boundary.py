"""The AWS boundary: error codes turned into named errors, backoff on the clock, clients reused per credentials."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from http_faults import HttpFaults
from moto import mock_aws

from lambdas import aws, invocation
from lambdas.aws import AccessDenied, AwsCallFailed, RegionDisabled, translate
from lambdas.errors import TRANSIENT_LAMBDA_ERRORS, AwsUnavailable, S3WriteFailed, Throttled
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


@pytest.fixture
def sts() -> Iterator[Any]:
    """An STS client as the Lambda code makes it (boto's standard retries on the clock), answered by moto."""
    with mock_aws():
        aws.clear_credentials_cache()
        yield aws.ClientProvider("us-east-1", aws.Credentials("AKIDTEST", "secret")).client("sts")
        aws.clear_credentials_cache()


def test_boto_retries_throttling_and_transient_faults_waiting_on_the_clock(
    sts: Any, virtual_clock: VirtualClock
) -> None:
    # GIVEN STS throttling the first attempt and failing the second with a 503
    faults = HttpFaults(sts, lambda attempt: {1: "Throttling", 2: "ServiceUnavailable"}.get(attempt))
    started = time.monotonic()
    # WHEN the Lambda code calls it
    identity = aws.call("sts:GetCallerIdentity", sts.get_caller_identity)
    # THEN boto retried it (3 attempts), its two waits taken on the (virtual) clock, not in real time
    assert identity["Account"] and faults.attempts == 3
    assert len(virtual_clock.sleeps) == 2 and 0 <= virtual_clock.sleeps[0] <= 1 and 0 <= virtual_clock.sleeps[1] <= 2
    assert time.monotonic() - started < 1


def test_throttling_that_outlasts_boto_retries_is_throttled(sts: Any, virtual_clock: VirtualClock) -> None:
    faults = HttpFaults(sts, lambda attempt: "Throttling")
    with pytest.raises(Throttled, match="sts:GetCallerIdentity throttled"):
        aws.call("sts:GetCallerIdentity", sts.get_caller_identity)
    assert faults.attempts == aws.MAX_ATTEMPTS and len(virtual_clock.sleeps) == aws.MAX_ATTEMPTS - 1


@pytest.mark.parametrize(
    "failure",
    [
        EndpointConnectionError(endpoint_url="https://sts.us-east-1.amazonaws.com/"),
        ConnectTimeoutError(endpoint_url="https://sts.us-east-1.amazonaws.com/"),
        ReadTimeoutError(endpoint_url="https://sts.us-east-1.amazonaws.com/"),
        ConnectionClosedError(endpoint_url="https://sts.us-east-1.amazonaws.com/"),
    ],
    ids=lambda failure: type(failure).__name__,
)
def test_connection_errors_are_retried_then_named_like_service_errors(
    sts: Any, virtual_clock: VirtualClock, failure: Exception
) -> None:
    faults = HttpFaults(sts, lambda attempt: failure)
    named = f"sts:GetCallerIdentity failed after 3 attempts .{type(failure).__name__}"
    with pytest.raises(AwsUnavailable, match=named):
        aws.call("sts:GetCallerIdentity", sts.get_caller_identity)
    assert faults.attempts == aws.MAX_ATTEMPTS


def test_a_transient_fault_that_persists_is_named_for_the_state_retry(sts: Any, virtual_clock: VirtualClock) -> None:
    HttpFaults(sts, lambda attempt: "InternalError")
    with pytest.raises(AwsUnavailable, match="InternalError"):
        aws.call("sts:GetCallerIdentity", sts.get_caller_identity)
    assert aws.AwsUnavailable.__name__ in TRANSIENT_LAMBDA_ERRORS and aws.OutOfTime.__name__ in TRANSIENT_LAMBDA_ERRORS


def test_other_errors_are_not_retried(sts: Any, virtual_clock: VirtualClock) -> None:
    faults = HttpFaults(sts, lambda attempt: "AccessDenied")
    with pytest.raises(AccessDenied):
        aws.call("sts:GetCallerIdentity", sts.get_caller_identity)
    assert faults.attempts == 1 and virtual_clock.sleeps == []


class Context:
    def __init__(self, remaining_seconds: float) -> None:
        self.remaining_seconds = remaining_seconds

    def get_remaining_time_in_millis(self) -> int:
        return int(self.remaining_seconds * 1000)


def test_no_call_starts_without_time_for_its_worst_case(sts: Any) -> None:
    # The worst case of one call: every attempt waits out both timeouts, with the longest backoffs between.
    assert aws.WORST_CASE_CALL_SECONDS == 3 * (2 + 5) + (1 + 5) + (2 + 5)
    with invocation.timed_by(Context(aws.WORST_CASE_CALL_SECONDS + 1)):
        assert aws.call("sts:GetCallerIdentity", sts.get_caller_identity)["Account"]
    with invocation.timed_by(Context(aws.WORST_CASE_CALL_SECONDS - 1)), pytest.raises(aws.OutOfTime, match="33 s left"):
        aws.call("sts:GetCallerIdentity", sts.get_caller_identity)


def test_clients_are_reused_per_credentials_with_boto_standard_retries() -> None:
    aws.clear_credentials_cache()
    clients = aws.ClientProvider("us-east-1")
    first = clients.client("s3")
    assert clients.client("s3", "us-east-1") is first
    assert aws.ClientProvider("us-east-1").client("s3") is first  # a warm container's next invocation
    assert clients.client("s3", "eu-west-1") is not first
    other = aws.Credentials("AKIAOTHER", "secret", "token", first_expiry())
    assert aws.ClientProvider("us-east-1", other).client("s3") is not first
    assert first.meta.config.retries == {"mode": "standard", "total_max_attempts": aws.MAX_ATTEMPTS}
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


@pytest.mark.parametrize(
    "execution_name",
    ["rollout-1", "enrol-200000000009-7bf73129-1428-4cd3-a780-95db273d1602", "déploiement #1", "x" * 80, "a:b/c"],
)
def test_session_names_are_what_sts_accepts_and_traceable_to_the_execution(execution_name: str) -> None:
    name = aws.session_name(execution_name)
    assert re.fullmatch(r"[\w+=,.@-]{2,64}", name, re.ASCII)
    assert name.startswith("orgsync-" + re.sub(r"[^\w+=,.@-]", "-", execution_name, flags=re.ASCII)[:20])
    # Two names that clean alike still differ
    assert aws.session_name(execution_name + "!") != aws.session_name(execution_name + "?")


def test_credentials_never_show_their_secret_or_token() -> None:
    credentials = aws.Credentials("ASIAKEYID", "the-secret", "the-token")
    shown = f"{credentials!r} {credentials} {aws.ClientProvider('us-east-1', credentials)!r}"
    assert "ASIAKEYID" in shown and "the-secret" not in shown and "the-token" not in shown


def test_a_read_timeout_while_an_objects_body_streams_is_aws_unavailable() -> None:
    # GIVEN S3 answers GetObject, then the connection stalls while the body is read (botocore's StreamingBody
    # raises ReadTimeoutError then, after the call has returned)
    class StalledBody:
        def read(self) -> bytes:
            raise ReadTimeoutError(endpoint_url="https://acme-inventory.s3.amazonaws.com/orgsync/x.json")

    class S3:
        def get_object(self, **kwargs: Any) -> dict[str, Any]:
            return {"Body": StalledBody(), "ETag": '"e"'}

    # THEN the read is part of the call: AwsUnavailable naming the object, which the state machine retries
    with pytest.raises(AwsUnavailable, match=r"s3:GetObject on s3://acme-inventory/orgsync/x\.json") as raised:
        aws.read_object(S3(), "acme-inventory", "orgsync/x.json")
    assert type(raised.value).__name__ in TRANSIENT_LAMBDA_ERRORS
