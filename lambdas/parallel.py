"""Reads that grow with the organization, done in parallel within one invocation (bounded threads).

A Lambda waits on S3 far longer than it computes: reading N objects one after another takes N round trips, which
at a large organization passes the function's timeout. :func:`bounded_map` runs the reads on at most ``workers``
threads, each in a copy of the caller's context, so every read sees the invocation's environment, clock and time
left (:mod:`lambdas.invocation`, :mod:`lambdas.clock`).

The local engine models the time this takes on AWS: it installs a :class:`Tracker` (:func:`use`) that gives each
task its own simulated timeline and charges the invoking Lambda the makespan of the tasks on ``workers`` lanes
(``workflow.local.timeline``). On AWS there is no tracker.

Example::

    >>> bounded_map(lambda n: n * n, [1, 2, 3], workers=2)
    [1, 4, 9]
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from typing import Protocol, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: Threads one invocation reads S3 with. S3 serves 5,500 GETs per second per prefix, far above this; each thread
#: needs a connection of its client's pool (botocore keeps 10 by default: ``lambdas.aws.BOTO_CONFIG`` keeps this many).
READ_WORKERS = 32


class FanOut(Protocol):
    """One call of :func:`bounded_map` as the tracker sees it."""

    def task(self, index: int) -> AbstractContextManager[object]:
        """Entered on the worker thread around task ``index``."""
        ...


class Tracker(Protocol):
    """What observes the fan-outs (the local engine's modelled timeline); none on AWS."""

    def fan_out(self, lanes: int) -> FanOut:
        """A fan-out of ``lanes`` threads starts on the calling thread."""
        ...


class _Untracked:
    def task(self, index: int) -> AbstractContextManager[object]:
        return nullcontext()


_tracker: Tracker | None = None


def use(tracker: Tracker | None) -> Tracker | None:
    """Make ``tracker`` observe every fan-out; returns the previous one so callers can restore it."""
    global _tracker
    previous, _tracker = _tracker, tracker
    return previous


def bounded_map(function: Callable[[T], R], items: Iterable[T], workers: int = READ_WORKERS) -> list[R]:
    """``[function(item) for item in items]``, on at most ``workers`` threads; results in the items' order.

    The first exception a task raises is raised here once every task has ended.

    Example::

        bodies = bounded_map(lambda key: s3.get_object(Bucket=bucket, Key=key)["Body"].read(), keys)
    """
    listed = list(items)
    if not listed:
        return []
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")
    lanes = min(workers, len(listed))
    fan_out: FanOut = _tracker.fan_out(lanes) if _tracker is not None else _Untracked()

    def run(index: int, item: T) -> R:
        with fan_out.task(index):
            return function(item)

    # One copy of the caller's context per task: a context cannot be entered by two threads at once.
    contexts: Iterator[contextvars.Context] = (contextvars.copy_context() for _ in listed)
    with ThreadPoolExecutor(max_workers=lanes) as pool:
        futures = [
            pool.submit(context.run, run, index, item)
            for (index, item), context in zip(enumerate(listed), contexts, strict=True)
        ]
        return [future.result() for future in futures]
