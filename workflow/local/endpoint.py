"""The HTTP face of the simulated AWS: a WSGI app that answers AWS clients on one local endpoint.

``orgsync local serve`` puts this app on ``127.0.0.1``. Each request is turned into the request botocore would
have sent to AWS (``https://<service>.<region>.amazonaws.com/...``: the service and region come from the SigV4
credential scope, as AWS's own front end routes by them) and handed to moto's in-process stubber, the very path
the local engine's and the Lambdas' own calls take. So a request from the AWS CLI meets everything an
in-process call meets: the request boundary (:mod:`workflow.local.faults`: disabled regions, the scenario's
faults, AssumeRole into a missing role), the resource data sync emulation (:mod:`workflow.local.ssm_sync`), the
serialisation of moto's backends (:data:`workflow.local.engine.BACKEND_LOCK`) and the in-process Lambdas.

What the front adds, each as AWS does it:

- **Who calls.** An access key the simulated AWS has issued (a scenario user's, or one from ``sts:AssumeRole``)
  acts in its account. Any other key acts as the aggregator account's user, as after ``aws configure`` with
  that account's keys (moto alone would put it in its default account, 123456789012). moto's own
  ``x-moto-account-id`` header is dropped: the account comes from the credentials, as in production.
- **Lambda function errors.** ``Invoke`` of a function that raised answers HTTP 200 with
  ``X-Amz-Function-Error: Unhandled`` (moto says ``Handled``; AWS's Python runtime reports an uncaught exception
  as ``Unhandled``) and the runtime's error document ``{"errorMessage", "errorType", "requestId",
  "stackTrace"}``, and ``X-Amz-Executed-Version``: what Step Functions Local reads through ``LAMBDA_ENDPOINT``.
- **Refusals.** An unsigned request is ``MissingAuthenticationTokenException`` (403), except a call on Lambda's
  function path (Step Functions Local may call its Lambda endpoint without signing: it acts as the aggregator); a
  service the simulated AWS does not serve is named in a 400 ``UnrecognizedClientException``.

Example::

    >>> credential_scope("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261201/us-east-1/ssm/aws4_request, "
    ...                  "SignedHeaders=host, Signature=0")
    Scope(access_key='AKIDEXAMPLE', region='us-east-1', signing_name='ssm')
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, quote, unquote

import botocore.session
from botocore.awsrequest import AWSPreparedRequest
from botocore.compat import HTTPHeaders

from workflow.local.seams import botocore_stubber, get_service_router, iam_backends, iam_models, normalize_request

#: The services the endpoint answers (botocore names): the ones orgsync and its runbook use.
SERVED_SERVICES = ("stepfunctions", "organizations", "sts", "s3", "ssm", "lambda", "iam")

_CREDENTIAL = re.compile(r"Credential=(?P<key>[^/,\s]+)/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request")
_LAMBDA_FUNCTION_PATH = re.compile(r"^/2015-03-31/functions/(?P<function>[^/]+)/")
_LAMBDA_ARN = re.compile(r"^arn:[^:]+:lambda:(?P<region>[a-z0-9-]+):\d{12}:function:")
#: Request headers that must not reach moto: it routes by ``x-moto-account-id`` before the credentials.
_DROPPED_REQUEST_HEADERS = frozenset({"x-moto-account-id", "host", "content-length"})
#: moto puts these in its response headers for itself (``status``) or they are the server's to set.
_DROPPED_RESPONSE_HEADERS = frozenset({"status", "content-length", "transfer-encoding", "connection", "server", "date"})

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


@dataclass(frozen=True)
class Scope:
    """The SigV4 credential scope of a request: who signs, for which region and service (signing name)."""

    access_key: str
    region: str
    signing_name: str


def credential_scope(authorization: str | None, query: str = "") -> Scope | None:
    """The credential scope of an ``Authorization`` header (or a presigned URL's ``X-Amz-Credential``)."""
    text = authorization or ""
    if not text and "X-Amz-Credential" in query:
        values = parse_qs(query).get("X-Amz-Credential", [""])
        text = f"Credential={values[0]}"
    found = _CREDENTIAL.search(text)
    if found is None:
        return None
    return Scope(found.group("key"), found.group("region"), found.group("service"))


@dataclass(frozen=True)
class Service:
    """A served service as botocore models it."""

    name: str  # botocore name: "stepfunctions"
    service_id: str  # hyphenized service id, as in botocore's event names: "sfn"
    endpoint_prefix: str  # "states"
    global_endpoint: bool

    def host(self, region: str) -> str:
        """The AWS host the request would have gone to (which moto recognises the service by)."""
        if self.global_endpoint:
            return f"{self.endpoint_prefix}.amazonaws.com"
        return f"{self.endpoint_prefix}.{region}.amazonaws.com"


@cache
def services_by_signing_name() -> dict[str, Service]:
    """The served services, by the SigV4 signing name their requests carry (``states`` for Step Functions)."""
    session = botocore.session.get_session()
    found: dict[str, Service] = {}
    for name in SERVED_SERVICES:
        model = session.get_service_model(name)
        signing = str(model.metadata.get("signingName") or model.endpoint_prefix)
        found[signing] = Service(
            name=name,
            service_id=model.service_id.hyphenize(),
            endpoint_prefix=str(model.endpoint_prefix),
            global_endpoint=name == "iam",
        )
    return found


class EndpointApp:
    """The WSGI app: every request through moto's stubber, as if botocore had sent it to AWS in-process.

    ``default_access_key``: the key unknown credentials are replaced with (the aggregator account's user).
    """

    def __init__(self, default_access_key: str, default_region: str) -> None:
        self.default_access_key = default_access_key
        self.default_region = default_region
        self._known: dict[str, bool] = {}
        self._known_lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = str(environ.get("REQUEST_METHOD", "GET"))
        try:
            status, headers, body = self.handle(
                method, _raw_uri(environ), _request_headers(environ), _request_body(environ)
            )
        except Exception as exc:  # moto failing on a request is AWS's InternalFailure, not a dropped connection
            status, headers, body = _json_error(500, "InternalFailure", f"{type(exc).__name__}: {exc}")
        if method != "HEAD":
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(body))))
        start_response(f"{status} {_reason(status)}", headers)
        return [] if method == "HEAD" else [body]

    def handle(
        self, method: str, raw_uri: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """One request (method, path with query, headers, body) to ``(status, headers, body)``."""
        path, _, query = raw_uri.partition("?")
        lowered = {key.lower(): value for key, value in headers.items()}
        scope = credential_scope(lowered.get("authorization"), query) or self._unsigned_lambda_call(path)
        if scope is None:
            return _json_error(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
        service = services_by_signing_name().get(scope.signing_name)
        if service is None:
            served = ", ".join(sorted(s.name for s in services_by_signing_name().values()))
            return _json_error(
                400,
                "UnrecognizedClientException",
                f"orgsync local serve does not answer the {scope.signing_name!r} service (it answers {served})",
            )
        host = service.host(scope.region)
        url = f"https://{host}{path}" + (f"?{query}" if query else "")
        kept = {key: value for key, value in headers.items() if key.lower() not in _DROPPED_REQUEST_HEADERS}
        if service.name == "lambda" and _LAMBDA_FUNCTION_PATH.match(path):
            # Lambda takes any Content-Type for an invocation's payload (the SDKs send different ones); moto routes
            # a JSON or form Content-Type as another protocol and finds no operation. botocore sends none.
            kept = {key: value for key, value in kept.items() if key.lower() != "content-type"}
        if "authorization" not in lowered and "X-Amz-Credential" not in query:
            # An unsigned Lambda call: moto finds the caller's account by the key in the Authorization header.
            kept["Authorization"] = (
                f"AWS4-HMAC-SHA256 Credential={scope.access_key}/19700101/{scope.region}/lambda/aws4_request, "
                "SignedHeaders=host, Signature=unsigned"
            )
        if not self._issued(scope.access_key):
            kept = {
                key: value.replace(f"Credential={scope.access_key}/", f"Credential={self.default_access_key}/")
                if key.lower() == "authorization"
                else value
                for key, value in kept.items()
            }
            url = url.replace(quote(scope.access_key, safe=""), self.default_access_key)
        forwarded = HTTPHeaders()  # an email Message: assigning a name twice would add a second header
        for key, value in kept.items():
            forwarded[key] = value
        forwarded["Host"] = host
        if body:
            forwarded["Content-Length"] = str(len(body))
        request = AWSPreparedRequest(method=method, url=url, headers=forwarded, body=body, stream_output=False)
        operation = _operation_name(service.name, request)
        response = botocore_stubber(f"before-send.{service.service_id}.{operation}", request)
        if response is None:
            return _json_error(404, "UnknownOperationException", f"no {service.name} operation at {method} {path}")
        content = bytes(response.content or b"")
        out = [(str(k), str(v)) for k, v in response.headers.items() if str(k).lower() not in _DROPPED_RESPONSE_HEADERS]
        if method == "HEAD" and "content-length" in {k.lower() for k in response.headers}:
            out.append(("Content-Length", str(response.headers["content-length"])))
        if service.name == "lambda" and operation == "Invoke":
            out = _as_lambda_invoke(out)
        return int(response.status_code), out, content

    def _unsigned_lambda_call(self, path: str) -> Scope | None:
        """The scope of an unsigned call to a Lambda function, or None for any other unsigned request.

        Step Functions Local does not sign with the credentials it is given when it calls an endpoint override
        (its documentation says so; what it sends instead is not documented): a call on Lambda's function path is
        taken as the aggregator's, in the region of the function's ARN.
        """
        found = _LAMBDA_FUNCTION_PATH.match(path)
        if found is None:
            return None
        arn = _LAMBDA_ARN.match(unquote(found.group("function")))
        return Scope(self.default_access_key, arn.group("region") if arn else self.default_region, "lambda")

    def _issued(self, access_key: str) -> bool:
        """Whether the simulated AWS issued ``access_key`` (a seeded user's or an assumed role's)."""
        with self._known_lock:
            known = self._known.get(access_key)
        if known is None:
            # Looked up through the module: LocalAws caches moto's scan over every account. An unknown key lands
            # in moto's default account, where it is not among the access keys.
            account = iam_models.get_account_id_from(access_key)
            known = access_key in iam_backends[account]["aws"].access_keys
            with self._known_lock:
                self._known[access_key] = known
        return known


def _operation_name(service_name: str, request: AWSPreparedRequest) -> str:
    try:
        operation, _ = get_service_router(service_name).match(normalize_request(request))
        return str(operation.name)
    except Exception:  # no modelled operation: moto answers it (or not) as it would in-process
        return "Unknown"


def _as_lambda_invoke(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Invoke's response headers as Lambda sends them for a synchronous invocation of $LATEST."""
    out: list[tuple[str, str]] = []
    for key, value in headers:
        if key.lower() == "x-amz-function-error":
            # AWS's runtimes report an exception the handler did not catch as Unhandled; moto says Handled.
            value = "Unhandled"
        out.append((key, value))
    if "x-amz-executed-version" not in {k.lower() for k, _ in out}:
        out.append(("X-Amz-Executed-Version", "$LATEST"))
    return out


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Status"


def _json_error(status: int, code: str, message: str) -> tuple[int, list[tuple[str, str]], bytes]:
    body = json.dumps({"__type": code, "message": message}).encode()
    return status, [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", code)], body


def _raw_uri(environ: dict[str, Any]) -> str:
    # werkzeug's server keeps the path as sent (percent-encoded): Lambda's Invoke path holds an encoded ARN.
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        return str(raw)
    query = environ.get("QUERY_STRING", "")
    return quote(str(environ.get("PATH_INFO", "/"))) + (f"?{query}" if query else "")


def _request_headers(environ: dict[str, Any]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").title()] = str(value)
    if environ.get("CONTENT_TYPE"):
        headers["Content-Type"] = str(environ["CONTENT_TYPE"])
    return headers


def _request_body(environ: dict[str, Any]) -> bytes:
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = environ.get("CONTENT_LENGTH") or ""
    if length.isdigit():
        return bytes(stream.read(int(length)))
    if environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked" or environ.get("wsgi.input_terminated"):
        return bytes(stream.read())
    return b""
