"""The time source of the Lambda code.

On AWS this is the wall clock. The local engine installs its virtual clock with :func:`use`, so that a
15-minute marker wait or a throttling backoff costs no wall time and the emulated services agree on "now".

Example::

    >>> from lambdas import clock
    >>> clock.now().tzinfo is not None
    True
"""

from __future__ import annotations

import time
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


def use(source: Clock) -> Clock:
    """Make ``source`` the clock of all Lambda code; returns the previous one so callers can restore it."""
    global _current
    previous, _current = _current, source
    return previous


def now() -> datetime:
    """The current time according to the installed clock."""
    return _current.now()


def sleep(seconds: float) -> None:
    """Wait ``seconds`` according to the installed clock."""
    _current.sleep(seconds)
