"""A Distributed Map's ResultWriter output as Step Functions writes it: the manifest and the result files.

moto 5.2.5's interpreter writes only an empty ``manifest.json``. :class:`MapResults` gives the local engine four
hooks (declared in :mod:`workflow.local.seams`):

- each **child execution's input**, after ItemSelector/Parameters, is noted on its worker thread;
- each **child execution** (a Distributed Map iteration) is recorded when it ends: a name, an ARN under the Map
  Run's state machine, its status (``SUCCEEDED``, ``FAILED``, ``TIMED_OUT``, ``ABORTED``), input, output or error
  and cause, start and stop dates on the engine's clock;
- the **ItemReader's** ``s3:getObject`` and the ResultWriter's writes fail the Map state as on AWS
  (``States.ItemReaderFailed``, ``States.ResultWriterFailed``: :mod:`workflow.local.map_io`);
- the **ResultWriter's** ``s3:putObject`` writes, under ``<Prefix>/<Map Run id>/``, ``SUCCEEDED_n.json`` and
  ``FAILED_n.json`` (failed, timed out and aborted children; ``PENDING_n.json`` holds children never started,
  which only a failed or aborted Map Run leaves and moto ends such a Map Run before its ResultWriter), each a
  JSON array of child entries in the ``Transformation: NONE`` shape, a new file whenever the next entry would
  take a file past 5 GB; then ``manifest.json`` (``DestinationBucket``, ``MapRunArn``, ``ResultFiles`` by
  status, each ``[{"Key", "Size"}]``). The Map state's result is ``{"MapRunArn", "ResultWriterDetails":
  {"Bucket", "Key"}}`` (the manifest's key), as on AWS.

The format and its sources are in ``docs/aws-behaviour.md`` (Step Functions, ResultWriter).

Example::

    >>> child = ChildExecution(0, "n0", "arn:aws:states:us-east-1:300000000001:execution:sm/Map:n0",
    ...     "arn:aws:states:us-east-1:300000000001:stateMachine:sm/Map", "SUCCEEDED", {"a": 1}, {"ok": True},
    ...     "2026-01-01T09:00:00.000Z", "2026-01-01T09:00:01.000Z")
    >>> [(key, [e["Name"] for e in entries]) for key, entries in result_files("runs/m", "id1", [child])]
    [('runs/m/id1/SUCCEEDED_0.json', ['n0'])]
    >>> child.entry()["Output"], child.entry()["RedriveStatus"]
    ('{"ok":true}', 'NOT_REDRIVABLE')
"""

from __future__ import annotations

import datetime as _datetime
import json
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from lambdas.errors import RESULT_WRITER_FAILED
from workflow.local import seams
from workflow.local.clock import VirtualClock
from workflow.local.map_io import failing_as, item_reader_patch

#: Step Functions starts another result file past this size ("individual result files of up to 5 GB").
RESULT_FILE_MAX_BYTES: Final = 5 * 1024**3
#: Which result file each child status goes to: failed, timed out and aborted children share FAILED_n.json.
RESULT_FILE_OF_STATUS: Final = {
    "SUCCEEDED": "SUCCEEDED",
    "FAILED": "FAILED",
    "TIMED_OUT": "FAILED",
    "ABORTED": "FAILED",
    "PENDING": "PENDING",
}
RESULT_FILE_STATUSES: Final = ("FAILED", "PENDING", "SUCCEEDED")
MANIFEST_NAME: Final = "manifest.json"


def aws_timestamp(moment: _datetime.datetime) -> str:
    """Step Functions' time format in the context object and the result files: ``2026-01-01T09:00:00.000Z``.

    >>> aws_timestamp(_datetime.datetime(2026, 1, 1, 9, 0, 0, 123456, tzinfo=_datetime.UTC))
    '2026-01-01T09:00:00.123Z'
    """
    utc = moment.astimezone(_datetime.UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond // 1000:03d}Z"


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


@dataclass(frozen=True)
class ChildExecution:
    """One child execution of a Map Run, as it ended."""

    index: int
    name: str
    execution_arn: str
    state_machine_arn: str
    status: str
    input: Any
    output: Any
    start_date: str
    stop_date: str
    error: str | None = None
    cause: str | None = None

    def entry(self) -> dict[str, Any]:
        """The child's entry in a result file (``Transformation: NONE``: DescribeExecution's fields, capitalised).

        A succeeded child's entry has ``Output``; a failed one's has ``Error`` and ``Cause`` instead, and is
        redrivable only by redriving its Map Run.
        """
        entry: dict[str, Any] = {
            "ExecutionArn": self.execution_arn,
            "Input": _compact(self.input),
            "InputDetails": {"Included": True},
            "Name": self.name,
        }
        if self.status == "SUCCEEDED":
            entry["Output"] = _compact(self.output)
            entry["OutputDetails"] = {"Included": True}
            entry.update(
                RedriveCount=0,
                RedriveStatus="NOT_REDRIVABLE",
                RedriveStatusReason="Execution is SUCCEEDED and cannot be redriven",
            )
        else:
            if self.error is not None:
                entry["Error"] = self.error
            if self.cause is not None:
                entry["Cause"] = self.cause
            entry.update(RedriveCount=0, RedriveStatus="REDRIVABLE_BY_MAP_RUN")
        entry.update(
            StartDate=self.start_date,
            StateMachineArn=self.state_machine_arn,
            Status=self.status,
            StopDate=self.stop_date,
        )
        return entry


def result_files(
    prefix: str, map_run_id: str, children: Iterable[ChildExecution], max_bytes: int = RESULT_FILE_MAX_BYTES
) -> list[tuple[str, list[dict[str, Any]]]]:
    """The result files of a Map Run: ``(key, entries)`` per file, by status, split at ``max_bytes`` of JSON.

    ``prefix`` is the ResultWriter's ``Prefix`` (a ``/`` is added unless empty). A status without children has
    no file. A file holds at least one entry, whatever its size.

    >>> def child(i, status="SUCCEEDED"):
    ...     return ChildExecution(i, f"n{i}", "arn", "sm", status, {}, {}, "t0", "t1")
    >>> [key for key, _ in result_files("p/", "id", [child(0), child(1, "FAILED"), child(2)], max_bytes=400)]
    ['p/id/FAILED_0.json', 'p/id/SUCCEEDED_0.json', 'p/id/SUCCEEDED_1.json']
    """
    base = _run_folder(prefix, map_run_id)
    by_file: dict[str, list[ChildExecution]] = {status: [] for status in RESULT_FILE_STATUSES}
    for child in sorted(children, key=lambda c: c.index):
        by_file[RESULT_FILE_OF_STATUS[child.status]].append(child)
    files: list[tuple[str, list[dict[str, Any]]]] = []
    for status in RESULT_FILE_STATUSES:
        current: list[dict[str, Any]] = []
        size, index = 2, 0  # the brackets; the file's index
        for child in by_file[status]:
            entry = child.entry()
            entry_size = len(_compact(entry).encode())
            if current and size + 1 + entry_size > max_bytes:
                files.append((f"{base}{status}_{index}.json", current))
                current, size, index = [], 2, index + 1
            size += entry_size + (1 if current else 0)  # a comma between entries
            current.append(entry)
        if current:
            files.append((f"{base}{status}_{index}.json", current))
    return files


def _run_folder(prefix: str, map_run_id: str) -> str:
    """``<Prefix>/<Map Run id>/``, as Step Functions joins them (no leading ``/`` without a prefix)."""
    return f"{prefix.rstrip('/')}/{map_run_id}/" if prefix.strip("/") else f"{map_run_id}/"


def result_file_body(entries: Sequence[dict[str, Any]]) -> bytes:
    """A result file's bytes: the entries as one compact JSON array."""
    return _compact(list(entries)).encode()


class MapResults:
    """The child executions of each Distributed Map Run the engine runs, and the ResultWriter that exports them.

    ``max_file_bytes`` is where a result file is split (5 GB on AWS; a test may lower it).
    """

    def __init__(self, clock: VirtualClock, max_file_bytes: int = RESULT_FILE_MAX_BYTES) -> None:
        self.clock = clock
        self.max_file_bytes = max_file_bytes
        self._children: dict[str, list[ChildExecution]] = {}
        self._lock = threading.Lock()
        self._local = threading.local()

    def children(self, map_run_arn: str) -> list[ChildExecution]:
        """The children of a Map Run recorded so far, in item order."""
        with self._lock:
            return sorted(self._children.get(map_run_arn, []), key=lambda c: c.index)

    # --- the hooks --------------------------------------------------------------------------------------------

    def patches(self) -> list[tuple[seams.Seam, Any]]:
        """``(seam, replacement)`` for the engine to install, each wrapping the seam's current value.

        Resolved when called: install them after any other wrapper of the same seams (the modelled timeline's).
        """
        return [
            (seams.CHILD_INPUT, self._child_input(seams.CHILD_INPUT.resolve()[2])),
            (seams.DISTRIBUTED_ITERATION, self._child_execution(seams.DISTRIBUTED_ITERATION.resolve()[2])),
            (seams.RESULT_WRITER_PUT_OBJECT, staticmethod(self._put_object)),
            item_reader_patch(),
        ]

    def _child_input(self, original: Callable[[Any, Any], None]) -> Callable[[Any, Any], None]:
        def eval_input(worker: Any, env_frame: Any) -> None:
            original(worker, env_frame)
            # After ItemSelector/Parameters (or the item itself without them): the child execution's input.
            self._local.input = env_frame.states.get_input()

        return eval_input

    def _child_execution(self, original: Callable[[Any, Any, Any], None]) -> Callable[[Any, Any, Any], None]:
        def eval_job(worker: Any, env: Any, job: Any) -> None:
            started = aws_timestamp(self.clock.now())
            self._local.input = job.job_input
            try:
                original(worker, env, job)
            finally:
                self._record(worker._map_run_record, env, job, started)

        return eval_job

    def _record(self, map_run_record: Any, env: Any, job: Any, started: str) -> None:
        state = env.program_state()
        error: str | None = None
        cause: str | None = None
        if isinstance(state, seams.ProgramEnded):
            status = "SUCCEEDED"
        elif isinstance(state, seams.ProgramStopped):
            status, error, cause = "ABORTED", state.error, state.cause
        elif isinstance(state, seams.ProgramTimedOut):
            status, error = "TIMED_OUT", "States.Timeout"
        else:
            # ProgramError, or an exception moto caught around the program (it counts the item failed).
            status = "FAILED"
            details = getattr(state, "error", None) or {}
            error, cause = details.get("error"), details.get("cause")
        arn = str(map_run_record.map_run_arn)
        map_state_machine = str(map_run_record.map_state_machine_arn)
        name = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{arn}#{job.job_index}"))
        child = ChildExecution(
            index=int(job.job_index),
            name=name,
            execution_arn=f"{map_state_machine.replace(':stateMachine:', ':execution:', 1)}:{name}",
            state_machine_arn=map_state_machine,
            status=status,
            input=getattr(self._local, "input", job.job_input),
            output=job.job_output if status == "SUCCEEDED" else None,
            start_date=started,
            stop_date=aws_timestamp(self.clock.now()),
            error=error,
            cause=cause,
        )
        with self._lock:
            self._children.setdefault(arn, []).append(child)

    def _put_object(self, env: Any, resource_runtime_part: Any, state_credentials: Any) -> None:
        """Stands in for moto's ResultWriter ``s3:putObject``: the result files, then the manifest.

        A write that fails fails the Map state with ``States.ResultWriterFailed`` (:mod:`workflow.local.map_io`).
        """
        parameters = env.stack.pop()
        env.stack.pop()  # the children's outputs: the result files are built from the recorded children
        map_run_record = env.map_run_record_pool_manager.get_all().pop()
        arn = str(map_run_record.map_run_arn)
        map_run_id = arn.rsplit(":", 1)[-1]
        bucket, prefix = str(parameters["Bucket"]), str(parameters.get("Prefix", ""))
        s3 = seams.result_writer_s3.ResourceEvalS3._get_s3_client(
            resource_runtime_part=resource_runtime_part, state_credentials=state_credentials
        )
        with self._lock:
            children = self._children.pop(arn, [])
        manifest_files: dict[str, list[dict[str, Any]]] = {status: [] for status in RESULT_FILE_STATUSES}
        for key, entries in result_files(prefix, map_run_id, children, self.max_file_bytes):
            body = result_file_body(entries)
            with failing_as(env, RESULT_WRITER_FAILED, "PutObject", bucket, key):
                s3.put_object(Bucket=bucket, Key=key, Body=body)
            manifest_files[key.rsplit("/", 1)[-1].split("_", 1)[0]].append({"Key": key, "Size": len(body)})
        manifest_key = f"{_run_folder(prefix, map_run_id)}{MANIFEST_NAME}"
        manifest = {"DestinationBucket": bucket, "MapRunArn": arn, "ResultFiles": manifest_files}
        with failing_as(env, RESULT_WRITER_FAILED, "PutObject", bucket, manifest_key):
            s3.put_object(Bucket=bucket, Key=manifest_key, Body=_compact(manifest).encode())
        env.stack.append({"MapRunArn": arn, "ResultWriterDetails": {"Bucket": bucket, "Key": manifest_key}})
