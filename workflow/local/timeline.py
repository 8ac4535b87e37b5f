"""Simulated time on AWS, kept apart from local wall time and from concurrency.

Each execution, each Map iteration (a Distributed Map's child execution) and each Lambda invocation has its own
:class:`Timeline`: the simulated seconds its own work takes, one after another. What is charged to a timeline is
what happens on it: the latency of each AWS call it makes (:mod:`workflow.local.latency`), its sleeps (Retry
intervals, Wait states, a Lambda's backoff), state transitions and Lambda start-ups. Children that run at the same
time on AWS do not add up: a Map's iterations are recorded in a :class:`MapRun`, and the parent is charged the
Map's makespan, computed by :func:`makespan` from the children's own durations, the Map's concurrency and, for a
Distributed Map, the rate at which Step Functions starts child executions.

Locally, iterations run on the interpreter's worker threads; the timeline that a call or a sleep is charged to
is the one entered on the calling thread (:func:`entered`, :func:`charge`); the interpreter's helper threads
(a program's, a state's body) are each a :class:`CarryingThread`, started with its creator's timeline. Nothing
here reads the wall clock: the figures are a model computed from the run's own durations, not a measurement.

Example::

    >>> parent = Timeline("execution")
    >>> run = parent.open_map(distributed=False, concurrency=2)
    >>> for index, seconds in enumerate([3.0, 1.0, 1.0, 1.0]):
    ...     run.record(index, seconds)
    >>> parent.charge(0.5)
    >>> parent.elapsed  # 0.5 s of its own, then the Map: [3] on one slot, [1, 1, 1] on the other
    3.5
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any, Literal

#: Child executions a Distributed Map starts per second (Standard children): the Step Functions service quotas
#: page, https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html (Express children: 1,000/s).
DISTRIBUTED_MAP_DISPATCH_PER_SECOND = 100.0
#: Child executions of one Map Run running at once at most (same page); MaxConcurrency 0 means this many.
DISTRIBUTED_MAP_MAX_CONCURRENCY = 10_000

Kind = Literal["execution", "child", "invocation"]


def makespan(durations: Sequence[float], concurrency: int, dispatch_per_second: float | None = None) -> float:
    """Seconds from a Map's start to its last child's end: children in order, each on the first free slot.

    Child ``i`` starts when a slot of ``concurrency`` is free and, with ``dispatch_per_second``, not before
    ``i / dispatch_per_second`` (the rate at which they are started).

    Example::

        >>> makespan([10.0] * 4, concurrency=2)
        20.0
        >>> makespan([1.0] * 300, concurrency=1000, dispatch_per_second=100)  # dispatch-bound: 299th at 2.99 s
        3.99
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, not {concurrency}")
    slots = [0.0] * min(concurrency, max(len(durations), 1))
    finish = 0.0
    for index, duration in enumerate(durations):
        free = heapq.heappop(slots)
        start = max(free, index / dispatch_per_second) if dispatch_per_second else free
        end = start + duration
        heapq.heappush(slots, end)
        finish = max(finish, end)
    return round(finish, 9)


class MapRun:
    """The iterations of one Map state: each one's simulated duration, and how they are scheduled on AWS."""

    def __init__(self, distributed: bool, concurrency: int) -> None:
        self.distributed = distributed
        self.concurrency = concurrency
        self._durations: dict[int, float] = {}
        #: Seconds the iterations take at the least together, whatever the concurrency (CPU they share).
        self.floor = 0.0
        self._lock = threading.Lock()

    def record(self, index: int, seconds: float) -> None:
        """Iteration ``index`` (its position in the items) took ``seconds`` on its own timeline."""
        with self._lock:
            self._durations[index] = seconds

    @property
    def durations(self) -> list[float]:
        """The iterations' durations, in item order."""
        with self._lock:
            return [self._durations[index] for index in sorted(self._durations)]

    def add_floor(self, seconds: float) -> None:
        """The iterations together take at least ``seconds`` more (CPU they share: :mod:`.handler_cpu`)."""
        with self._lock:
            self.floor += seconds

    def makespan(self) -> float:
        """The Map's simulated duration on AWS (see :func:`makespan`), and no less than its :attr:`floor`."""
        durations = self.durations
        if not durations:
            return 0.0
        if self.distributed:
            concurrency = min(self.concurrency or DISTRIBUTED_MAP_MAX_CONCURRENCY, DISTRIBUTED_MAP_MAX_CONCURRENCY)
            scheduled = makespan(durations, concurrency, DISTRIBUTED_MAP_DISPATCH_PER_SECOND)
        else:
            scheduled = makespan(durations, self.concurrency or len(durations))
        with self._lock:
            return max(self.floor, scheduled)


class Timeline:
    """One execution's, iteration's or invocation's own simulated time (thread-safe)."""

    def __init__(self, kind: Kind, name: str = "") -> None:
        self.kind = kind
        self.name = name
        self._own = 0.0
        self._maps: list[MapRun] = []
        self._lock = threading.Lock()

    def charge(self, seconds: float) -> None:
        """``seconds`` of simulated work or waiting happened on this timeline."""
        if seconds < 0:
            raise ValueError(f"cannot charge {seconds} seconds")
        with self._lock:
            self._own += seconds

    def open_map(self, distributed: bool, concurrency: int) -> MapRun:
        """A Map starts on this timeline; its makespan counts toward :attr:`elapsed` from now on."""
        run = MapRun(distributed, concurrency)
        with self._lock:
            self._maps.append(run)
        return run

    @property
    def maps(self) -> list[MapRun]:
        """The Maps run on this timeline, in order."""
        with self._lock:
            return list(self._maps)

    @property
    def elapsed(self) -> float:
        """Simulated seconds so far: what was charged, plus each Map's makespan."""
        with self._lock:
            own, maps = self._own, list(self._maps)
        return own + sum(run.makespan() for run in maps)


_local = threading.local()


def current() -> Timeline | None:
    """The timeline entered last on this thread, if any."""
    stack: list[Timeline] = getattr(_local, "stack", [])
    return stack[-1] if stack else None


@contextmanager
def entered(timeline: Timeline) -> Iterator[Timeline]:
    """Charge what this thread does to ``timeline`` until the block ends."""
    stack: list[Timeline] | None = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    stack.append(timeline)
    try:
        yield timeline
    finally:
        stack.pop()


def adopt(timeline: Timeline) -> None:
    """Make ``timeline`` this thread's own for the rest of the thread's life (an execution's program thread)."""
    stack: list[Timeline] | None = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    stack.insert(0, timeline)


class CarryingThread(threading.Thread):
    """A thread that starts with its creator's current timeline entered (the interpreter's helper threads)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._creators_timeline = current()

    def run(self) -> None:
        carried = self._creators_timeline
        if carried is None:
            super().run()
            return
        with entered(carried):
            super().run()


def charge(seconds: float) -> None:
    """Charge ``seconds`` to this thread's current timeline (nothing if none: the test or the CLI calling)."""
    timeline = current()
    if timeline is not None:
        timeline.charge(seconds)


class _TimedFanOut:
    """One parallel read in a Lambda: each task on its own timeline, the caller charged the makespan."""

    def __init__(self, run: MapRun | None) -> None:
        # Imported here: handler_cpu charges through this module.
        from workflow.local import handler_cpu

        self._run = run
        self._cpu = handler_cpu.active()
        # Read on the handler's thread: the tasks' threads run its code, at its memory.
        self._memory_mb = self._cpu.memory_mb() if self._cpu is not None else None

    @contextmanager
    def task(self, index: int) -> Iterator[Timeline]:
        own = Timeline("child", f"task {index}")
        cpu = self._cpu
        try:
            with entered(own), cpu.carried(self._memory_mb, self._run) if cpu is not None else nullcontext():
                yield own
        finally:
            if self._run is not None:
                self._run.record(index, own.elapsed)


class ParallelTimelines:
    """The :class:`lambdas.parallel.Tracker` of the local engine: a fan-out's tasks run on ``lanes`` timelines.

    The calling thread's timeline (a Lambda invocation's) is charged the makespan of the tasks' own durations on
    ``lanes`` lanes, as the threads of one execution environment run them on AWS; so the invocation's Timeout and
    ``get_remaining_time_in_millis()`` count a parallel read at its parallel duration.

    Example::

        >>> from lambdas import parallel
        >>> invocation = Timeline("invocation")
        >>> previous = parallel.use(ParallelTimelines())
        >>> with entered(invocation):
        ...     _ = parallel.bounded_map(lambda seconds: charge(seconds), [1.0, 1.0, 1.0, 1.0], workers=2)
        >>> _ = parallel.use(previous)
        >>> invocation.elapsed  # four one-second reads on two lanes
        2.0
    """

    def fan_out(self, lanes: int) -> _TimedFanOut:
        caller = current()
        return _TimedFanOut(caller.open_map(distributed=False, concurrency=lanes) if caller is not None else None)
