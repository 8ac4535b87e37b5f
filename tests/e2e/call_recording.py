"""Every AWS call of a local run, recorded at the emulation's request boundary, and which of them could write.

Used by the e2e tests that prove a run changed nothing (verify, a refused input): the recorder answers nothing and
remembers every call; :func:`writes` keeps the calls that could change something, except orgsync's own records.
"""

from __future__ import annotations

from lambdas import invocation
from workflow.local.faults import Call, RequestBoundary, ServiceError

READ_PREFIXES = ("List", "Get", "Describe", "Head")
#: Calls that change nothing in the organization, its syncs or its data: credentials, running the workflow.
NON_MUTATING = {"sts:AssumeRole", "lambda:Invoke", "states:StartExecution"}


class CallRecorder:
    """A guard at the emulation's request boundary that answers nothing and remembers every call."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        #: The Lambda function that made each call (None: the engine itself, or the test).
        self.callers: list[str | None] = []

    def __call__(self, call: Call) -> ServiceError | None:
        self.calls.append(call)
        # The boundary runs on the calling thread, inside the invocation's own environment.
        self.callers.append(invocation.environment().get("AWS_LAMBDA_FUNCTION_NAME"))
        return None

    def __enter__(self) -> CallRecorder:
        boundary = RequestBoundary.installed()
        assert boundary is not None, "LocalAws installs the request boundary"
        boundary.guards.insert(0, self)
        return self

    def __exit__(self, *exc: object) -> None:
        boundary = RequestBoundary.installed()
        if boundary is not None and self in boundary.guards:
            boundary.guards.remove(self)


def writes(calls: list[Call], bucket: str) -> list[str]:
    """The calls that could change something, except orgsync's own records under orgsync/ in ``bucket``."""
    found = []
    for call in calls:
        if call.operation.startswith(READ_PREFIXES) or call.api in NON_MUTATING:
            continue
        if call.api == "s3:PutObject" and call.s3_bucket == bucket and (call.s3_key or "").startswith("orgsync/"):
            continue
        found.append(f"{call.api} by {call.account_id} in {call.region}")
    return found
