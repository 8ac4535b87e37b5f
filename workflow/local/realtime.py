"""Real time for the local engine (``orgsync local serve --real-time``): the wall clock drives the simulated AWS.

A :class:`RealTimeClock` is a :class:`~workflow.local.clock.VirtualClock` whose time is the wall clock's:

- ``now()`` is the wall clock (plus any :meth:`~workflow.local.clock.VirtualClock.advance`, which still jumps);
- ``sleep(seconds)`` really waits: a Retry's ``IntervalSeconds`` (after backoff), a Wait state, a Lambda's own
  backoff or marker poll take that long. Whoever sleeps holding ``lock`` (the engine's backend lock: a sleep on
  the virtual clock runs SSM's due writes, which need it) lets go of it while waiting, so the rest of the
  simulated AWS keeps answering meanwhile;
- callbacks fall due on the wall clock: :meth:`tick` runs the due ones (SSM writing the ``test.json`` marker
  ``markerDelaySeconds`` after it created a sync), under ``lock``; :meth:`start_ticking` does so every
  ``interval`` seconds on a thread of its own until :meth:`stop_ticking`.

Example::

    >>> import threading
    >>> clock = RealTimeClock(threading.RLock())
    >>> fired = []
    >>> clock.call_later(0.05, lambda: fired.append("marker"))
    >>> clock.sleep(0.1); clock.tick(); fired
    ['marker']
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Any

from workflow.local.clock import VirtualClock


class RealTimeClock(VirtualClock):
    """The virtual clock's interface on the wall clock (see the module docstring)."""

    def __init__(self, lock: Any, start: datetime | None = None) -> None:
        super().__init__(start)
        self._lock_held_by_sleepers = lock
        self._started = time.monotonic()
        self._ticker: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def elapsed(self) -> float:
        """Seconds since the clock started: the wall clock's, plus every explicit advance."""
        return super().elapsed + (time.monotonic() - self._started)

    def now(self) -> datetime:
        """The wall clock's time (UTC), moved on by explicit advances."""
        return super().now() + timedelta(seconds=time.monotonic() - self._started)

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of real time, letting go of the backend lock meanwhile if this thread holds it."""
        self.sleeps.append(float(seconds))
        if seconds <= 0:
            return
        condition = threading.Condition(self._lock_held_by_sleepers)
        try:
            # Condition.wait releases the lock fully (an RLock held several times too) and takes it back after.
            condition.wait(timeout=seconds)
        except RuntimeError:  # this thread does not hold the lock: a plain wait
            time.sleep(seconds)

    def tick(self) -> None:
        """Run the callbacks that have fallen due on the wall clock (under the backend lock)."""
        with self._lock_held_by_sleepers:
            self.advance(0)

    def start_ticking(self, interval: float = 0.05) -> None:
        """Run :meth:`tick` every ``interval`` seconds on a thread until :meth:`stop_ticking`."""
        if self._ticker is not None:
            return
        self._stop.clear()

        def run() -> None:
            while not self._stop.wait(interval):
                self.tick()

        self._ticker = threading.Thread(target=run, name="orgsync-real-time-clock", daemon=True)
        self._ticker.start()

    def stop_ticking(self) -> None:
        """Stop the ticking thread and wait for it to end (safe to call twice)."""
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join(timeout=5)
            self._ticker = None
