"""AWS prices the benchmark's cost per run is computed with: one place, with their date and region.

us-east-1 list prices as of 2026 (the AWS pricing pages of Step Functions, Lambda and S3; check them before
quoting a figure). Lambda's GB-second is the arm64 price: CDK deploys the task functions on ARM_64
(``infra/constructs/task_functions.py``). Requests to SSM's resource data sync APIs, STS and Organizations are
not charged. A Distributed Map's Standard child executions are billed like any Standard execution: per state
transition, retries included.

Example::

    >>> round(PRICES.cost({"s3:PutObject": 1000, "s3:GetObject": 1000}, transitions=1000, invocations=0,
    ...                   gb_seconds=0.0), 4)
    0.0304
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Prices:
    """List prices in USD."""

    as_of: str
    region: str
    #: Standard workflows, per state transition.
    state_transition: float
    #: Lambda, per request and per GB-second (arm64).
    lambda_request: float
    lambda_gb_second: float
    #: S3 Standard, per PUT, COPY, POST or LIST request, and per GET (and all other reads) request.
    s3_put_or_list: float
    s3_get: float

    def s3_request(self, api: str) -> float:
        """The price of one S3 request of ``api`` (``s3:PutObject``); 0 for other services."""
        if not api.startswith("s3:"):
            return 0.0
        action = api.removeprefix("s3:")
        if action.startswith(("Put", "Copy", "Post", "List", "Create")):
            return self.s3_put_or_list
        return self.s3_get

    def cost(self, calls: Mapping[str, int], *, transitions: int, invocations: int, gb_seconds: float) -> float:
        """USD for one run: state transitions, Lambda requests and duration, S3 requests."""
        return (
            transitions * self.state_transition
            + invocations * self.lambda_request
            + gb_seconds * self.lambda_gb_second
            + sum(count * self.s3_request(api) for api, count in calls.items())
        )


PRICES = Prices(
    as_of="2026",
    region="us-east-1",
    state_transition=0.025 / 1000,
    lambda_request=0.20 / 1_000_000,
    lambda_gb_second=0.0000133334,
    s3_put_or_list=0.005 / 1000,
    s3_get=0.0004 / 1000,
)
