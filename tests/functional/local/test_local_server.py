"""``LocalServer`` in-process, spoken to over raw HTTP (urllib: no botocore, so no in-process mock in the way).

The AWS CLI and boto3 against a server process are in ``tests/e2e/test_local_serve.py``; this file covers what
those clients cannot send: an unsigned Lambda call (as Step Functions Local may make), an unknown service, moto's
account header, and the real-time clock letting go of the backend lock while it waits.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from workflow.local.realtime import RealTimeClock
from workflow.local.scenario import example_scenario_path, load_scenario
from workflow.local.server import LocalServer, PortInUse

AGGREGATOR = "300000000001"
REGION = "ap-northeast-1"


def _signed(service: str, key: str = "AKIDLOCAL", region: str = REGION) -> str:
    scope = f"{key}/20261201/{region}/{service}/aws4_request"
    return f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host, Signature=0"


def call(
    server: LocalServer, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(server.endpoint_url + path, data=body or None, method=method)
    for key, value in (headers or {}).items():
        request.add_header(key, value)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {k.lower(): v for k, v in error.headers.items()}, error.read()


@pytest.fixture(scope="module")
def server() -> Any:
    with LocalServer(load_scenario(example_scenario_path()), port=0) as running:
        yield running


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/x-amz-json-1.1", "application/x-www-form-urlencoded", "application/octet-stream"],
)
def test_an_unsigned_invoke_acts_as_the_aggregator_and_reports_a_function_error_as_lambda_does(
    server: LocalServer, content_type: str
) -> None:
    # Lambda takes an invocation's payload whatever its Content-Type; Step Functions Local's SDK picks its own.
    event = {"input": {"targets": ["/Workloads"], "regions": ["mars-north-1"]}, "executionName": "unsigned"}
    arn = f"arn%3Aaws%3Alambda%3A{REGION}%3A{AGGREGATOR}%3Afunction%3AResolveTargets"
    status, headers, body = call(
        server,
        "POST",
        f"/2015-03-31/functions/{arn}/invocations",
        json.dumps(event).encode(),
        {"Content-Type": content_type},
    )
    assert status == 200
    assert headers["x-amz-function-error"] == "Unhandled"
    assert headers["x-amz-executed-version"] == "$LATEST"
    payload = json.loads(body)
    assert sorted(payload) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert payload["errorType"] == "InvalidInput"


def test_moto_s_account_header_is_ignored_the_credentials_decide(server: LocalServer) -> None:
    status, _, body = call(
        server,
        "POST",
        "/",
        b"Action=GetCallerIdentity&Version=2011-06-15",
        {
            "Authorization": _signed("sts"),
            "Content-Type": "application/x-www-form-urlencoded",
            "x-moto-account-id": "200000000001",
        },
    )
    assert status == 200
    assert f"<Account>{AGGREGATOR}</Account>" in body.decode()


def test_an_unsigned_request_elsewhere_and_an_unknown_service_are_refused(server: LocalServer) -> None:
    status, _, body = call(server, "POST", "/", b"Action=GetCallerIdentity&Version=2011-06-15")
    assert (status, json.loads(body)["__type"]) == (403, "MissingAuthenticationTokenException")
    status, _, body = call(server, "POST", "/", b"{}", {"Authorization": _signed("dynamodb")})
    answer = json.loads(body)
    assert (status, answer["__type"]) == (400, "UnrecognizedClientException")
    assert answer["message"].startswith("orgsync local serve does not answer the 'dynamodb' service")


def test_a_second_server_on_the_same_port_is_refused_before_anything_starts(server: LocalServer) -> None:
    with pytest.raises(PortInUse, match=rf"port {server.port} on 127.0.0.1 is already in use"):
        LocalServer(load_scenario(example_scenario_path()), port=server.port).start()


def test_the_real_time_clock_lets_go_of_the_lock_while_it_waits() -> None:
    # GIVEN a thread sleeping 0.3 s of real time while it holds the backend lock (as a Retry does)
    lock = threading.RLock()
    clock = RealTimeClock(lock)
    fired: list[float] = []
    clock.call_later(0.1, lambda: fired.append(time.monotonic()))
    began = time.monotonic()

    def sleeper() -> None:
        with lock, lock:  # held twice: an RLock taken again by the same thread
            clock.sleep(0.3)

    thread = threading.Thread(target=sleeper)
    thread.start()
    time.sleep(0.05)
    # WHEN another thread needs the lock meanwhile THEN it gets it at once, and the ticker fires what falls due
    got = lock.acquire(timeout=0.1)
    assert got
    lock.release()
    clock.start_ticking(interval=0.02)
    thread.join(timeout=5)
    clock.stop_ticking()
    assert 0.3 <= time.monotonic() - began < 2
    assert len(fired) == 1 and fired[0] - began >= 0.1
    assert clock.sleeps == [0.3]
