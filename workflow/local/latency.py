"""How long each AWS call takes on the modelled timeline: one table of per-API defaults, each with its basis.

The local substrate answers every call in about a millisecond; AWS does not. Every call a Lambda or the
interpreter makes costs :meth:`LatencyTable.seconds` of simulated time on the caller's own timeline
(:mod:`workflow.local.timeline`). A scenario overrides any entry with its ``latencies`` key
(``{"ssm:CreateResourceDataSync": 0.5, "s3:*": 0.05, "*": 0.1}``): an exact ``service:Action`` first, then
``service:*``, then ``*``, any override before any default.

Each default says what it rests on: ``documented`` (AWS's documentation), ``benchmark`` (a public measurement)
or ``assumed`` (our reasoning, stated). None was measured against AWS from here (these machines cannot reach
it). Entries that are not API calls model the platform: a Lambda cold or warm start, a Standard workflow's state
transition and the start of an execution. A figure computed with this table is a model of the run's own
durations, not a measurement; :meth:`LatencyTable.scaled` gives the table at half or double for sensitivity.

While a ``LocalAws`` is entered its table is the :func:`active` one (:func:`use`), which the request boundary
and the local engine read.

Example::

    >>> table = LatencyTable({"s3:*": 0.05})
    >>> table.seconds("s3:GetObject"), table.seconds("ssm:ListResourceDataSync"), table.seconds("kms:Decrypt")
    (0.05, 0.1, 0.1)
    >>> table.scaled(2).seconds("s3:GetObject")
    0.1
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

S3_LATENCY_SOURCE = (
    "AWS whitepaper 'Best Practices Design Patterns: Optimizing Amazon S3 Performance', Timeouts and Retries "
    "for Latency-Sensitive Applications: small requests (under 512 KB) have a median latency in the tens of "
    "milliseconds"
)
CONTROL_PLANE_REASON = (
    "no published figure; a regional control-plane API over a kept-alive TLS connection from a Lambda in "
    "another region of the same partition answers in tens to a hundred-odd milliseconds; we take the high end"
)
COLD_START_SOURCE = (
    "AWS Compute Blog 'Operating Lambda: Performance optimization - Part 1': cold start durations vary from "
    "under 100 ms to over 1 second; a Python function importing boto3 sits in the middle"
)


@dataclass(frozen=True)
class Latency:
    """One entry of the table: seconds on the caller's timeline and what the figure rests on."""

    seconds: float
    basis: Literal["documented", "benchmark", "assumed"]
    source: str


#: The defaults. Keys are ``iam-prefix:Action`` as faults name APIs (``states:`` for Step Functions).
DEFAULT_LATENCIES: Mapping[str, Latency] = {
    "s3:GetObject": Latency(0.03, "documented", S3_LATENCY_SOURCE),
    "s3:PutObject": Latency(0.03, "documented", S3_LATENCY_SOURCE),
    "s3:HeadObject": Latency(0.03, "documented", S3_LATENCY_SOURCE),
    "s3:ListObjectsV2": Latency(
        0.05, "assumed", "a listing reads an index and returns up to 1,000 keys: above a small GET's tens of ms"
    ),
    "s3:*": Latency(0.03, "documented", S3_LATENCY_SOURCE),
    "ssm:CreateResourceDataSync": Latency(
        0.3, "assumed", "SSM checks synchronously that it can write to the destination bucket (an S3 write inside)"
    ),
    "ssm:*": Latency(0.1, "assumed", CONTROL_PLANE_REASON),
    "sts:AssumeRole": Latency(0.1, "assumed", CONTROL_PLANE_REASON),
    "organizations:*": Latency(
        0.2, "assumed", "Organizations is a global service answered from us-east-1: one more region hop"
    ),
    "lambda:Invoke": Latency(
        0.02, "assumed", "Step Functions' synchronous Invoke to a warm function, within one region"
    ),
    "lambda:ColdStart": Latency(0.5, "benchmark", COLD_START_SOURCE),
    "lambda:WarmStart": Latency(0.005, "assumed", "a warm execution environment only dispatches the event"),
    "states:StateTransition": Latency(
        0.02, "assumed", "a Standard workflow persists each transition before the next state: tens of ms"
    ),
    "states:ExecutionStart": Latency(
        0.1, "assumed", "StartExecution (or a Distributed Map's child start) until the first state is entered"
    ),
    "*": Latency(0.1, "assumed", CONTROL_PLANE_REASON),
}


class LatencyError(ValueError):
    """A latency override is not a number of seconds >= 0, or names no API."""


class LatencyTable:
    """The defaults with ``overrides`` (``{"api" or "service:*" or "*": seconds}``) on top."""

    def __init__(self, overrides: Mapping[str, float] | None = None, factor: float = 1.0) -> None:
        self._overrides = dict(overrides or {})
        for api, seconds in self._overrides.items():
            if ":" not in api and api != "*":
                raise LatencyError(f"latencies: {api!r} is not 'service:Action', 'service:*' or '*'")
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
                raise LatencyError(f"latencies.{api}: {seconds!r} must be a number of seconds >= 0")
        self.factor = factor

    def seconds(self, api: str) -> float:
        """Simulated seconds one call of ``api`` (``service:Action``) costs."""
        service = api.partition(":")[0]
        keys = (api, f"{service}:*", "*")
        # Any override beats every default: "s3:*" in a scenario means all of S3, GetObject included.
        for key in keys:
            if key in self._overrides:
                return float(self._overrides[key]) * self.factor
        for key in keys:
            if key in DEFAULT_LATENCIES:
                return DEFAULT_LATENCIES[key].seconds * self.factor
        raise AssertionError("the table has a '*' entry")  # pragma: no cover

    def scaled(self, factor: float) -> LatencyTable:
        """The same table with every figure multiplied by ``factor`` (0.5 and 2 for the sensitivity)."""
        return LatencyTable(self._overrides, self.factor * factor)


_active = LatencyTable()


def use(table: LatencyTable) -> LatencyTable:
    """Make ``table`` the one calls are charged from; returns the previous one so callers can restore it."""
    global _active
    previous, _active = _active, table
    return previous


def active() -> LatencyTable:
    """The table calls are charged from now (the defaults unless a ``LocalAws`` installed its scenario's)."""
    return _active
