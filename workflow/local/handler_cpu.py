"""The handlers' own CPU on the modelled timeline (opt-in): what a Lambda's code computes takes time on AWS too.

The latency table charges each AWS call; the code between calls (building a boto3 client, serialising a request,
parsing the answer, classifying syncs) costs nothing there, though on AWS a 256 MB function has about a seventh
of a vCPU: Lambda allocates CPU in proportion to memory, one vCPU at 1,769 MB (the Lambda Developer Guide, "Memory
and computing power"). With a :class:`HandlerCpu` in use (:func:`use`), each invocation's thread CPU time, without
the time moto spends answering its calls (that is AWS's side, charged as latency), is charged to the invocation's
timeline, scaled to its memory (:func:`lambda_seconds`): so its duration, its GB-seconds and its Timeout count it.

The figure is this machine's CPU time, taken as a Lambda vCPU's (:data:`LAMBDA_VCPU_PER_LOCAL_CORE`): it varies
with the machine and from run to run, so it is off unless asked for (``LocalRun(..., handler_cpu=True)``, the
benchmark's ``--handler-cpu``), and no test relies on its exact value.

Example::

    >>> lambda_seconds(0.010, memory_mb=256)  # 10 ms of this machine's CPU in a 256 MB function
    0.0691015625
    >>> lambda_seconds(0.010, memory_mb=3008)  # one thread never gets more than one vCPU
    0.01
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from workflow.local import timeline

#: Memory at which a function has the equivalent of one vCPU (Lambda Developer Guide, "Memory and computing power").
LAMBDA_MB_PER_VCPU = 1769
#: How fast a Lambda vCPU runs our code against one core of the machine measuring it: assumed equal (both are
#: current x86-64 server cores; Lambda publishes no clock rate). A figure, not a measurement.
LAMBDA_VCPU_PER_LOCAL_CORE = 1.0


def lambda_seconds(cpu_seconds: float, memory_mb: int) -> float:
    """Seconds that ``cpu_seconds`` of this machine's CPU take in a function of ``memory_mb`` (one thread)."""
    share = min(1.0, memory_mb / LAMBDA_MB_PER_VCPU) * LAMBDA_VCPU_PER_LOCAL_CORE
    return cpu_seconds / share


def shared_seconds(cpu_seconds: float, memory_mb: int) -> float:
    """Seconds that ``cpu_seconds`` of this machine's CPU, spread over threads, take at the least in a function of
    ``memory_mb``: its threads share its vCPUs (a fraction of one below 1,769 MB, more above).

    >>> shared_seconds(0.2, memory_mb=LAMBDA_MB_PER_VCPU), shared_seconds(0.2, memory_mb=2 * LAMBDA_MB_PER_VCPU)
    (0.2, 0.1)
    """
    return cpu_seconds / (memory_mb / LAMBDA_MB_PER_VCPU * LAMBDA_VCPU_PER_LOCAL_CORE)


class HandlerCpu:
    """Charges each invocation thread's own CPU time, scaled to its function's memory, to its current timeline.

    :meth:`running` brackets a handler (and each thread of a parallel read in it, :meth:`carried`);
    :meth:`answering` brackets moto's answer to a call, which is not charged. ``charged`` totals what was charged.
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self._lock = threading.Lock()
        #: Simulated seconds charged in all, over every invocation.
        self.charged = 0.0

    @contextmanager
    def running(self, memory_mb: int) -> Iterator[None]:
        """The calling thread runs handler code of a ``memory_mb`` function until the block ends."""
        previous = getattr(self._local, "memory_mb", None), getattr(self._local, "mark", None)
        self._local.memory_mb, self._local.mark = memory_mb, time.thread_time()
        try:
            yield
        finally:
            self._charge()
            self._local.memory_mb, self._local.mark = previous

    def _thread_cpu(self) -> float:
        """This machine's CPU seconds charged on the calling thread so far."""
        return float(getattr(self._local, "cpu", 0.0))

    def memory_mb(self) -> int | None:
        """The memory of the function whose code this thread runs, if any (for :meth:`carried`)."""
        return getattr(self._local, "memory_mb", None)

    @contextmanager
    def carried(self, memory_mb: int | None, fan_out: timeline.MapRun | None) -> Iterator[None]:
        """:meth:`running` on a thread of a parallel read in the handler (``memory_mb``: the handler thread's, None:
        none). The read's threads share the function's vCPUs, so the CPU used puts a floor under ``fan_out``'s
        makespan (:func:`shared_seconds`), whatever its lanes."""
        if memory_mb is None:
            yield
            return
        before = self._thread_cpu()
        try:
            with self.running(memory_mb):
                yield
        finally:
            if fan_out is not None:
                fan_out.add_floor(shared_seconds(self._thread_cpu() - before, memory_mb))

    @contextmanager
    def answering(self) -> Iterator[None]:
        """moto answers a call on this thread: what it computes is AWS's, charged as the call's latency."""
        if getattr(self._local, "mark", None) is None:
            yield
            return
        self._charge()
        try:
            yield
        finally:
            self._local.mark = time.thread_time()

    def _charge(self) -> None:
        mark, memory_mb = getattr(self._local, "mark", None), getattr(self._local, "memory_mb", None)
        if mark is None or memory_mb is None:
            return
        now = time.thread_time()
        self._local.mark = now
        used = max(0.0, now - mark)
        self._local.cpu = self._thread_cpu() + used
        seconds = lambda_seconds(used, memory_mb)
        timeline.charge(seconds)
        with self._lock:
            self.charged += seconds


_active: HandlerCpu | None = None


def use(model: HandlerCpu | None) -> HandlerCpu | None:
    """Make ``model`` the one the runtime and the request boundary charge through (None: none); returns the
    previous one."""
    global _active
    previous, _active = _active, model
    return previous


def active() -> HandlerCpu | None:
    """The model in use, if any."""
    return _active


@contextmanager
def running(memory_mb: int) -> Iterator[None]:
    """:meth:`HandlerCpu.running` of the model in use; nothing without one."""
    model = _active
    if model is None:
        yield
        return
    with model.running(memory_mb):
        yield


@contextmanager
def answering() -> Iterator[None]:
    """:meth:`HandlerCpu.answering` of the model in use; nothing without one."""
    model = _active
    if model is None:
        yield
        return
    with model.answering():
        yield
