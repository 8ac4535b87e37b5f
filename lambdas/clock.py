"""The time source of the Lambda code.

On AWS this is the wall clock. The local engine installs its virtual clock with :func:`use`, so that a
15-minute marker wait or a throttling backoff costs no wall time and the emulated services agree on "now".
Its Lambda runtime also gives each invocation a clock of its own with :func:`during` (a ContextVar, so per
thread): concurrent invocations then each count their own waits against their own function Timeout.

Example::

    >>> from lambdas import clock
    >>> clock.now().tzinfo is not None
    True
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Anything that can tell the time and wait."""

    def now(self) -> datetime:
        """The current time, timezone-aware (UTC)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        ...


class WallClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


_current: Clock = WallClock()
_invocation: ContextVar[Clock | None] = ContextVar("orgsync_invocation_clock", default=None)


def use(source: Clock) -> Clock:
    """Make ``source`` the clock of all Lambda code; returns the previous one so callers can restore it."""
    global _current
    previous, _current = _current, source
    return previous


@contextmanager
def during(source: Clock) -> Iterator[None]:
    """Make ``source`` the clock of the Lambda code running in this thread (one invocation) for the block."""
    token = _invocation.set(source)
    try:
        yield
    finally:
        _invocation.reset(token)


def current() -> Clock:
    """The clock of the running invocation, else the installed one."""
    return _invocation.get() or _current


def now() -> datetime:
    """The current time according to the running invocation's clock."""
    return current().now()


def sleep(seconds: float) -> None:
    """Wait ``seconds`` according to the running invocation's clock."""
    current().sleep(seconds)
