"""Simulated time shared by the local engine and the emulated services.

Retry intervals, Wait states, Lambda backoffs and SSM's marker delay all read and advance one
:class:`VirtualClock`, so a 15-minute wait costs microseconds and everything agrees on "now".

Concurrent sleepers (Map iterations on worker threads) each advance the one clock: simulated time then runs
ahead of what parallel waits would take on AWS. That only over-approximates waits, which is the safe side
for deadlines such as ``markerTimeoutSeconds``. The time the execution would take on AWS is not read from this
clock: each sleep is also charged to the sleeping thread's own timeline (:mod:`workflow.local.timeline`), where
concurrent children overlap instead of adding up.

Example::

    >>> from datetime import UTC, datetime
    >>> clock = VirtualClock(start=datetime(2026, 1, 1, tzinfo=UTC))
    >>> fired = []
    >>> clock.call_at(clock.now().timestamp() + 60, lambda: fired.append("marker"))
    >>> clock.sleep(30); fired
    []
    >>> clock.sleep(30); fired
    ['marker']
    >>> clock.elapsed
    60.0
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from workflow.local import timeline


class VirtualClock:
    """A clock that only moves when someone sleeps on it or advances it."""

    def __init__(self, start: datetime | None = None) -> None:
        self._start = start or datetime.now(UTC)
        if self._start.tzinfo is None:
            raise ValueError("VirtualClock start must be timezone-aware")
        self._elapsed = 0.0
        self._lock = threading.RLock()
        self._sequence = itertools.count()
        self._due: list[tuple[float, int, Callable[[], None]]] = []
        #: Every sleep taken, in order: lets tests assert the backoff a retry policy produced.
        self.sleeps: list[float] = []

    @property
    def elapsed(self) -> float:
        """Simulated seconds since the clock started."""
        return self._elapsed

    def now(self) -> datetime:
        """The simulated current time (UTC)."""
        with self._lock:
            return self._start + timedelta(seconds=self._elapsed)

    def time(self) -> float:
        """The simulated current time as a POSIX timestamp, a drop-in for ``time.time``."""
        return self.now().timestamp()

    def sleep(self, seconds: float) -> None:
        """Advance simulated time by ``seconds`` instead of waiting, recording the sleep (and charging it to the
        sleeping thread's timeline)."""
        with self._lock:
            self.sleeps.append(float(seconds))
        timeline.charge(float(seconds))
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        """Move time forward, running every callback that falls due, in time order."""
        if seconds < 0:
            raise ValueError(f"cannot move a clock backwards by {seconds} seconds")
        with self._lock:
            self._elapsed += float(seconds)
            now = self.time()
            ready: list[Callable[[], None]] = []
            while self._due and self._due[0][0] <= now:
                ready.append(heapq.heappop(self._due)[2])
        for callback in ready:
            callback()

    def call_at(self, timestamp: float, callback: Callable[[], None]) -> None:
        """Run ``callback`` once simulated time reaches ``timestamp`` (at once if it already has)."""
        with self._lock:
            if timestamp > self.time():
                heapq.heappush(self._due, (timestamp, next(self._sequence), callback))
                return
        callback()

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        """Run ``callback`` after ``delay`` simulated seconds."""
        self.call_at(self.time() + delay, callback)
