"""HTTP-level faults for the Lambda unit tests: what boto's own retries see, unlike an error raised in Python."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from moto.core.botocore_stubber import MockRawResponse


class HttpFaults:
    """Answers a client's HTTP attempts with a fault before they reach moto (botocore's ``before-send`` event, where
    a handler may return the response or raise a connection error), so that boto's own retries see each one.

    ``fault(attempt_number)`` returns an error code (answered as a 400 JSON/XML error), an exception to raise, or
    None to let the attempt through. ``attempts`` counts every attempt seen.
    """

    def __init__(self, client: Any, fault: Callable[[int], str | Exception | None]) -> None:
        self.client = client
        self.fault = fault
        self.attempts = 0
        client.meta.events.register_first("before-send", self._before_send)

    def _before_send(self, request: AWSPreparedRequest, **kwargs: Any) -> AWSResponse | None:
        self.attempts += 1
        answer = self.fault(self.attempts)
        if answer is None:
            return None
        if isinstance(answer, Exception):
            raise answer
        protocol = self.client.meta.service_model.protocol
        if protocol.startswith("json"):
            body = json.dumps({"__type": answer, "message": "injected"}).encode()
            headers = {"Content-Type": "application/x-amz-json-1.1"}
        else:
            body = (
                f"<ErrorResponse><Error><Type>Sender</Type><Code>{answer}</Code><Message>injected</Message>"
                f"</Error><RequestId>r</RequestId></ErrorResponse>"
            ).encode()
            headers = {"Content-Type": "text/xml"}
        status = 503 if answer in {"ServiceUnavailable", "InternalError", "SlowDown"} else 400
        return AWSResponse(request.url, status, headers, MockRawResponse(body))  # type: ignore[arg-type]
