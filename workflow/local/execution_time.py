"""The time an execution would take on AWS, modelled from the run's own durations (not the local wall time).

:class:`ExecutionTimes` gives the local engine three hooks into moto's interpreter (declared in
:mod:`workflow.local.seams`):

- the interpreter's helper threads (a program's, a state body's) carry their creator's timeline;
- each **state entered** is a Standard workflow's state transition: its latency is charged to the thread's
  timeline; the first state of an execution opens the execution's own :class:`~workflow.local.timeline.Timeline`;
- each **Map worker launched** (on the parent's thread, once per concurrent slot: MaxConcurrency, or one per item)
  opens or widens the Map's :class:`~workflow.local.timeline.MapRun` on the parent's timeline;
- each **Map iteration** (a Distributed Map's child execution) runs on its own timeline, opened with an
  execution start for a Distributed Map's child, and records its duration in the Map's run when it ends.

Lambda invocations (:mod:`workflow.local.lambda_runtime`), Retry and Wait sleeps (:class:`VirtualClock.sleep
<workflow.local.clock.VirtualClock>`) and AWS calls (:mod:`workflow.local.faults`' boundary) charge whichever
timeline is current on their thread. :meth:`ExecutionTimes.seconds` is then the execution's start plus its
timeline: its own states, calls and sleeps, and each Map's makespan (:func:`~workflow.local.timeline.makespan`).

What this leaves out, knowingly: a Parallel state's branches (run on threads of their own, not charged to the
execution), Step Functions' own throttling of transitions, and the dispatch of an inline Map's iterations.

Example::

    >>> times = ExecutionTimes()
    >>> times.seconds("arn:aws:states:us-east-1:300000000001:execution:sm:never-ran") is None
    True
"""

from __future__ import annotations

import threading
import types
import weakref
from collections.abc import Callable
from typing import Any

from workflow.local import latency, seams, timeline
from workflow.local.timeline import MapRun, Timeline


class ExecutionTimes:
    """The modelled timelines of the executions a local engine runs, by execution ARN."""

    def __init__(self) -> None:
        self._executions: dict[str, Timeline] = {}
        self._map_runs: weakref.WeakKeyDictionary[Any, MapRun] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self._entered: dict[str, int] = {}

    # --- what tests and the benchmark read --------------------------------------------------------------------

    def timeline(self, execution_arn: str) -> Timeline | None:
        """The execution's own timeline (None if it never entered a state here)."""
        with self._lock:
            return self._executions.get(execution_arn)

    def states_entered(self, execution_arn: str) -> int:
        """States the execution entered, its Map iterations' (child executions') included: a Distributed Map's
        children run in frames of the parent's environment, whose context names the parent execution. Retries are
        not states entered (the engine counts them, :attr:`LocalEngine.retry_sleeps`)."""
        with self._lock:
            return self._entered.get(execution_arn, 0)

    def seconds(self, execution_arn: str) -> float | None:
        """Modelled seconds the execution would take on AWS: its start, then its timeline (None if unknown)."""
        found = self.timeline(execution_arn)
        if found is None:
            return None
        return latency.active().seconds("states:ExecutionStart") + found.elapsed

    # --- the hooks --------------------------------------------------------------------------------------------

    def patches(self) -> list[tuple[seams.Seam, Any]]:
        """``(seam, replacement)`` for the engine to install, each wrapping the seam's current value."""
        threading_module = types.ModuleType("threading", "threading, whose threads carry their creator's timeline")
        threading_module.__dict__.update({k: v for k, v in vars(threading).items() if not k.startswith("__")})
        threading_module.Thread = timeline.CarryingThread  # type: ignore[attr-defined]
        return [
            (seams.PROGRAM_THREADING, threading_module),
            (seams.STATE_THREAD, timeline.CarryingThread),
            (seams.STATE_ENTERED, self._state_entered(seams.STATE_ENTERED.resolve()[2])),
            (seams.MAP_WORKER_LAUNCHED, self._map_worker_launched(seams.MAP_WORKER_LAUNCHED.resolve()[2])),
            (seams.INLINE_ITERATION, self._iteration(seams.INLINE_ITERATION.resolve()[2], distributed=False)),
            (seams.DISTRIBUTED_ITERATION, self._iteration(seams.DISTRIBUTED_ITERATION.resolve()[2], distributed=True)),
        ]

    def _state_entered(self, original: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
        def eval_body(state: Any, env: Any) -> None:
            execution_arn = str(env.states.context_object.context_object_data["Execution"]["Id"])
            with self._lock:
                self._entered[execution_arn] = self._entered.get(execution_arn, 0) + 1
            if timeline.current() is None:
                # The first state of an execution, on its program's thread: that thread is the execution's.
                with self._lock:
                    root = self._executions.get(execution_arn)
                    if root is None:
                        root = self._executions[execution_arn] = Timeline("execution", execution_arn)
                    else:
                        # Another thread of an execution already timed (a Parallel branch): not modelled.
                        root = Timeline("execution", f"{execution_arn} (untimed thread)")
                timeline.adopt(root)
            timeline.charge(latency.active().seconds("states:StateTransition"))
            original(state, env)

        return eval_body

    def _map_worker_launched(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def launch_worker(component: Any, env: Any, eval_input: Any, job_pool: Any) -> Any:
            parent = timeline.current()
            with self._lock:
                run = self._map_runs.get(job_pool)
                if run is None:
                    distributed = isinstance(component, seams.DistributedIterationComponent)
                    owner = parent if parent is not None else Timeline("execution", "untimed Map")
                    run = self._map_runs[job_pool] = owner.open_map(distributed, concurrency=0)
                run.concurrency += 1
            return original(component, env=env, eval_input=eval_input, job_pool=job_pool)

        return launch_worker

    def _iteration(
        self, original: Callable[[Any, Any, Any], None], distributed: bool
    ) -> Callable[[Any, Any, Any], None]:
        def eval_job(worker: Any, env: Any, job: Any) -> None:
            with self._lock:
                run = self._map_runs.get(worker._job_pool)
            own = Timeline("child", f"item {job.job_index}")
            if distributed:
                own.charge(latency.active().seconds("states:ExecutionStart"))
            try:
                with timeline.entered(own):
                    original(worker, env, job)
            finally:
                if run is not None:
                    run.record(int(job.job_index), own.elapsed)

        return eval_job
