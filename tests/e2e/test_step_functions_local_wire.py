"""The Lambda calls AWS Step Functions Local makes through ``LAMBDA_ENDPOINT``, on the wire, against ``orgsync local
serve``: ``POST /2015-03-31/functions/<function ARN>/invocations`` with the Invoke API's documented headers
(``X-Amz-Invocation-Type: RequestResponse``, ``X-Amz-Log-Type``), the task's input as the body, and no signature
made with the credentials it was given (its configuration page says it does not use them for endpoint overrides).
The function name is sent as the ARN of the task's ``Resource``, percent-encoded or not (SDKs differ).

Step Functions Local itself cannot be run here (neither its JAR nor its image can be downloaded): these are the
requests its Lambda client sends, made by hand with ``http.client``.
"""

from __future__ import annotations

import http.client
import json
from pathlib import Path
from urllib.parse import quote

import pytest
from test_local_serve import AWS_CLI, EVENTS, REGION, Served, served  # noqa: F401  (the module's server fixture)

AGGREGATOR = "300000000001"

pytestmark = pytest.mark.skipif(not Path(AWS_CLI[0]).exists(), reason="the AWS CLI (awscli) is not installed")


def invoke(server: Served, function: str, body: bytes, *, encode: bool) -> tuple[int, dict[str, str], bytes]:
    arn = f"arn:aws:lambda:{REGION}:{AGGREGATOR}:function:{function}"
    name = quote(arn, safe="") if encode else arn
    host, port = server.endpoint.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=120)
    try:
        connection.request(
            "POST",
            f"/2015-03-31/functions/{name}/invocations",
            body=body,
            headers={
                "X-Amz-Invocation-Type": "RequestResponse",
                "X-Amz-Log-Type": "None",
                "Content-Type": "application/json",  # what a Java SDK sends for the payload; botocore sends none
            },
        )
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("encode", [False, True], ids=["arn-as-is", "arn-percent-encoded"])
def test_an_unsigned_invoke_by_arn_answers_the_handler_result(served: Served, encode: bool) -> None:  # noqa: F811
    status, headers, body = invoke(
        served, "ResolveTargets", (EVENTS / "resolve-targets.json").read_bytes(), encode=encode
    )
    assert status == 200, body
    assert headers["x-amz-executed-version"] == "$LATEST"
    assert "x-amz-function-error" not in headers
    result = json.loads(body)
    assert "errorType" not in result and result  # the handler's own result document


@pytest.mark.parametrize("encode", [False, True], ids=["arn-as-is", "arn-percent-encoded"])
def test_an_unsigned_invoke_of_a_failing_function_is_reported_as_lambda_does(
    served: Served,  # noqa: F811
    encode: bool,
) -> None:
    status, headers, body = invoke(
        served, "ResolveTargets", (EVENTS / "resolve-targets-invalid-region.json").read_bytes(), encode=encode
    )
    # Lambda: HTTP 200, the error in X-Amz-Function-Error, the runtime's error document as the payload; Step
    # Functions takes errorType as the error name (what orgsync's Retry and Catch match) and the document as cause.
    assert status == 200
    assert headers["x-amz-function-error"] == "Unhandled"
    document = json.loads(body)
    assert sorted(document) == ["errorMessage", "errorType", "requestId", "stackTrace"]
    assert document["errorType"] == "InvalidInput"


def test_an_unsigned_call_to_another_service_is_refused(served: Served) -> None:  # noqa: F811
    # Only Lambda's function path is taken unsigned: an S3 read (what a Distributed Map's ItemReader would make) is
    # refused, so nothing but Step Functions Local's Lambda calls act as the aggregator without credentials.
    host, port = served.endpoint.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        connection.request("GET", "/acme-inventory/orgsync/runs/x/targets.json")
        response = connection.getresponse()
        assert response.status == 403
        assert json.loads(response.read())["__type"] == "MissingAuthenticationTokenException"
    finally:
        connection.close()
