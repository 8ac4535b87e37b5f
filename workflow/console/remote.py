"""Executions on a Step Functions endpoint (AWS, or a local engine's server via ``--endpoint-url``).

Starting an execution, polling it into a :class:`~workflow.console.live.Snapshot`, and reading its report back.
Progress comes from three places, whichever answers: the execution history (task attempts, retries, errors,
outcomes returned by inline Map iterations), the Distributed Map run's item counts (``DescribeMapRun``) and
child executions, and the outcome records each item writes to
``s3://<bucket>/orgsync/reports/<execution>/results/<account>/<region>.json``. Any of these may fail on a given
endpoint (moto cannot list a map run's executions): each is tried and skipped quietly when it does.

Example::

    >>> parse_execution_arn("arn:aws:states:eu-west-1:123456789012:execution:orgsync:run-1").region
    'eu-west-1'
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lambdas.models import Mode, Outcome
from workflow.console.errors import CliError
from workflow.console.history import ExecutionView, analyze, fetch_history
from workflow.console.live import Snapshot
from workflow.console.report import Report

REPORTS_PREFIX = "orgsync/reports"


@dataclass(frozen=True)
class ExecutionArn:
    """The parts of an execution ARN."""

    arn: str
    region: str
    account: str
    state_machine: str
    name: str


def parse_execution_arn(arn: str) -> ExecutionArn:
    """Split an execution ARN; a malformed one is a :class:`CliError` naming it."""
    parts = arn.split(":")
    if len(parts) < 8 or parts[0] != "arn" or parts[2] != "states" or parts[5] not in {"execution", "express"}:
        raise CliError(
            f"not a Step Functions execution ARN: {arn!r} (expected arn:aws:states:REGION:ACCOUNT:"
            "execution:STATE_MACHINE:NAME)"
        )
    return ExecutionArn(arn=arn, region=parts[3], account=parts[4], state_machine=parts[6], name=parts[7])


def parse_state_machine_arn(arn: str) -> str:
    """The region of a state machine ARN; a malformed one is a :class:`CliError`."""
    parts = arn.split(":")
    if len(parts) != 7 or parts[0] != "arn" or parts[2] != "states" or parts[5] != "stateMachine":
        raise CliError(
            f"not a Step Functions state machine ARN: {arn!r} (expected arn:aws:states:REGION:ACCOUNT:"
            "stateMachine:NAME)"
        )
    return parts[3]


def clients(region: str | None, endpoint_url: str | None) -> tuple[Any, Any]:
    """(stepfunctions, s3) clients; ``endpoint_url`` points Step Functions (and S3) at a local engine."""
    import boto3

    session = boto3.session.Session(region_name=region) if region else boto3.session.Session()
    sfn = session.client("stepfunctions", endpoint_url=endpoint_url)
    s3 = session.client("s3", endpoint_url=endpoint_url)
    return sfn, s3


def mode_of(execution_input: dict[str, Any]) -> Mode:
    """The mode an input asks for (rollout when absent or unknown: the workflow refuses an unknown one itself)."""
    value = execution_input.get("mode", Mode.ROLLOUT.value)
    return Mode(value) if value in {m.value for m in Mode} else Mode.ROLLOUT


def execution_name(execution_input: dict[str, Any], now: datetime | None = None) -> str:
    """``rollout-20261128T124512Z-1a2b3c``: the report's S3 folder is named after it, so make it say what and when.

    Some endpoints (moto) name every unnamed execution ``None``, so the CLI always names its own.
    """
    mode = str(execution_input.get("mode", "rollout"))
    mode = mode if mode.isalnum() else "run"
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return f"{mode}-{stamp}-{secrets.token_hex(3)}"


def start_execution(sfn: Any, state_machine_arn: str, execution_input: dict[str, Any], name: str | None) -> str:
    """Start an execution (named by :func:`execution_name` unless ``name`` is given); returns its ARN."""
    from botocore.exceptions import ClientError

    kwargs: dict[str, Any] = {
        "stateMachineArn": state_machine_arn,
        "input": json.dumps(execution_input),
        "name": name or execution_name(execution_input),
    }
    try:
        return str(sfn.start_execution(**kwargs)["executionArn"])
    except ClientError as exc:
        error = exc.response.get("Error", {})
        raise CliError(
            f"cannot start {state_machine_arn}: {error.get('Code', '')}: {error.get('Message', exc)}"
        ) from exc


def find_bucket(value: Any, depth: int = 0) -> str | None:
    """The destination bucket named somewhere in an execution's input or a task's output."""
    if depth > 5:
        return None
    if isinstance(value, dict):
        destination = value.get("destination")
        if isinstance(destination, dict) and isinstance(destination.get("bucket"), str):
            return str(destination["bucket"])
        for key in ("destinationBucket", "bucket", "Bucket"):
            if isinstance(value.get(key), str):
                return str(value[key])
        for nested in value.values():
            found = find_bucket(nested, depth + 1)
            if found:
                return found
    if isinstance(value, list):
        for nested in value[:5]:
            found = find_bucket(nested, depth + 1)
            if found:
                return found
    return None


def _find_s3_uri(value: Any, depth: int = 0) -> str | None:
    """A ``s3://.../report.json`` URI named in an execution's output or cause."""
    if depth > 5:
        return None
    if isinstance(value, str) and value.startswith("s3://") and value.endswith(".json"):
        return value
    if isinstance(value, dict):
        bucket, key = value.get("bucket"), value.get("key")
        if isinstance(bucket, str) and isinstance(key, str) and key.endswith("report.json"):
            return f"s3://{bucket}/{key}"
        values: list[Any] = list(value.values())
    elif isinstance(value, list):
        values = value
    else:
        return None
    for nested in values:
        found = _find_s3_uri(nested, depth + 1)
        if found:
            return found
    return None


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/key`` -> (bucket, key)."""
    if not uri.startswith("s3://") or ("/" not in uri[5:] and not uri[5:]):
        raise CliError(f"not an S3 URI: {uri!r} (expected s3://BUCKET/KEY)")
    bucket, _, key = uri[5:].partition("/")
    if not bucket:
        raise CliError(f"not an S3 URI: {uri!r} (expected s3://BUCKET/KEY)")
    return bucket, key


def read_outcome_records(s3: Any, bucket: str, execution_name: str) -> list[Outcome]:
    """The outcome records written so far for an execution (empty when there are none, or none readable)."""
    prefix = f"{REPORTS_PREFIX}/{execution_name}/results/"
    outcomes: list[Outcome] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
            try:
                outcomes.append(Outcome.from_dict(json.loads(body)))
            except (ValueError, KeyError, TypeError):
                continue  # a record being written, or not ours: progress is best-effort
    return outcomes


def load_report_from_s3(s3: Any, uri: str) -> Report:
    """A report at ``s3://bucket/key``; a prefix (an execution's report folder) is read as its report.json,
    else assembled from the outcome records under it."""
    bucket, key = split_s3_uri(uri)
    from botocore.exceptions import ClientError

    candidates = [key] if key.endswith(".json") else [key.rstrip("/") + "/report.json"]
    for candidate in candidates:
        try:
            body = s3.get_object(Bucket=bucket, Key=candidate)["Body"].read()
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in {"NoSuchKey", "404", "NotFound"} and not key.endswith(".json"):
                break
            raise CliError(f"cannot read s3://{bucket}/{candidate}: {code or exc}") from exc
        try:
            return Report.from_dict(json.loads(body), source=f"s3://{bucket}/{candidate}")
        except ValueError as exc:
            raise CliError(f"s3://{bucket}/{candidate} is not valid JSON: {exc}") from exc
    # A report folder without report.json: the execution is still running or Summarize failed.
    prefix = key.rstrip("/")
    outcomes: list[Outcome] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix + "/results/"):
        for item in page.get("Contents", []):
            outcomes.append(Outcome.from_dict(json.loads(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read())))
    if not outcomes:
        raise CliError(f"no report at {uri}: neither report.json nor outcome records under it")
    return Report.from_outcomes(outcomes, location=uri, partial=True)


def load_report_for_execution(sfn: Any, s3: Any, arn: str) -> Report:
    """The report of a finished execution: its output or cause, else the report it names in S3."""
    from botocore.exceptions import ClientError

    parsed = parse_execution_arn(arn)
    try:
        described = sfn.describe_execution(executionArn=arn)
    except ClientError as exc:
        raise CliError(f"cannot describe execution {arn}: {exc.response.get('Error', {}).get('Message', exc)}") from exc
    status = described.get("status")
    if status == "RUNNING":
        raise CliError(f"execution {parsed.name} is still running: follow it with 'orgsync watch {arn}'")
    document: Any = None
    for text in (described.get("output"), described.get("cause")):
        try:
            document = json.loads(text) if text else None
        except ValueError:
            document = None
        complete = isinstance(document, dict) and not document.get("resultsTruncated")
        if complete and isinstance(document, dict) and isinstance(document.get("results"), list):
            return Report.from_dict(document, source=f"execution {parsed.name}")
        uri = _find_s3_uri(document)
        if uri:
            return load_report_from_s3(s3, uri)
    bucket = find_bucket(_json_or_none(described.get("input")))
    if bucket:
        return load_report_from_s3(s3, f"s3://{bucket}/{REPORTS_PREFIX}/{parsed.name}/")
    error = described.get("error") or status
    raise CliError(f"execution {parsed.name} ended {status} ({error}) without a report")


def _json_or_none(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None


@dataclass
class ExecutionPoller:
    """Builds a :class:`Snapshot` of an execution from its history, map runs and outcome records."""

    sfn: Any
    s3: Any
    execution_arn: str
    mode: Mode = Mode.ROLLOUT
    bucket: str | None = None
    view: ExecutionView = field(default_factory=ExecutionView)
    warnings: list[str] = field(default_factory=list)
    max_child_reads: int = 25
    #: Counts retries the history cannot show (the local engine's children are not listable; it records each
    #: retry's sleep instead).
    retry_counter: Callable[[], int] | None = None
    _finished_children: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.name = parse_execution_arn(self.execution_arn).name

    def refresh(self) -> ExecutionView:
        """Read the whole history again (and child executions of Distributed Maps when they can be listed)."""
        view = analyze(fetch_history(self.sfn, self.execution_arn))
        for map_run in view.map_run_arns:
            self._count_map_run(view, map_run)
            self._read_children(view, map_run)
        if self.bucket is None:
            self.bucket = self._bucket(view)
        self.view = view
        return view

    def _count_map_run(self, view: ExecutionView, map_run: str) -> None:
        try:
            counts = self.sfn.describe_map_run(mapRunArn=map_run).get("itemCounts", {})
        except Exception:  # best effort: not every endpoint describes map runs
            return
        view.map_item_count = max(view.map_item_count or 0, int(counts.get("total", 0)))
        finished = sum(int(counts.get(k, 0)) for k in ("succeeded", "failed", "timedOut", "aborted"))
        view.map_iterations_done = max(view.map_iterations_done, finished)

    def _read_children(self, view: ExecutionView, map_run: str) -> None:
        """Merge the child executions' histories: a finished child's is read once and kept, a running child's
        is read again, and at most :attr:`max_child_reads` histories are fetched per poll (thousands of children
        would otherwise throttle GetExecutionHistory); the others are read on later polls."""
        try:
            children = [
                child
                for page in self.sfn.get_paginator("list_executions").paginate(mapRunArn=map_run)
                for child in page.get("executions", [])
            ]
        except Exception:  # moto cannot list a map run's executions: the outcome records in S3 cover it
            return
        reads = 0
        for child in children:
            arn = str(child["executionArn"])
            events = self._finished_children.get(arn)
            if events is None and reads < self.max_child_reads:
                reads += 1
                try:
                    events = fetch_history(self.sfn, arn)
                except Exception:  # a child that vanished or was throttled: next poll
                    continue
                if child.get("status") != "RUNNING":
                    self._finished_children[arn] = events
            if events is not None:
                analyze(events, view, top_level=False)

    def _bucket(self, view: ExecutionView) -> str | None:
        try:
            described = self.sfn.describe_execution(executionArn=self.execution_arn)
        except Exception:  # the bucket is a nicety for progress; the history alone still works
            described = {}
        return find_bucket(_json_or_none(described.get("input"))) or find_bucket(view.task_outputs)

    def outcomes(self) -> list[Outcome]:
        """Outcomes known so far: from S3 records when readable, merged with those seen in the history."""
        found: dict[tuple[str, str], Outcome] = {}
        for record in self.view.outcomes():
            try:
                outcome = Outcome.from_dict(record)
            except (KeyError, ValueError, TypeError):
                continue
            found[(outcome.accountId, outcome.region)] = outcome
        if self.bucket:
            try:
                for outcome in read_outcome_records(self.s3, self.bucket, self.name):
                    found[(outcome.accountId, outcome.region)] = outcome
            except Exception as exc:  # no read access to the bucket: the history alone, and say so once
                message = f"outcome records in s3://{self.bucket} not readable ({type(exc).__name__})"
                if message not in self.warnings:
                    self.warnings.append(message)
        return list(found.values())

    def snapshot(self) -> Snapshot:
        """Poll once."""
        view = self.refresh()
        outcomes = self.outcomes()
        by_status: dict[str, int] = {}
        for outcome in outcomes:
            by_status[str(outcome.status)] = by_status.get(str(outcome.status), 0) + 1
        done = max(len(outcomes), view.map_iterations_done)
        skipped = by_status.get("SKIPPED", 0)
        planned = _planned(view.task_outputs)
        total: int | None = planned  # known as soon as Resolve targets returns, before the Map starts
        if view.map_item_count is not None:
            # SKIPPED accounts are recorded before the Map and are not Map items: count them on both sides.
            # A map run's total grows while its ItemReader loads, so Resolve targets' plan wins when larger.
            known = max(view.map_item_count + skipped, planned or 0)
            done = max(done, min(known, view.map_iterations_done + skipped))
            total = known
        errors = [
            f"{item.account_id}/{item.region} {e.function}: {e.error} {_short(e.cause)}"
            for item in view.items.values()
            for e in item.errors
        ] + [f"{e.function}: {e.error} {_short(e.cause)}" for e in view.other_errors]
        phase = ", ".join(view.current_states[:2]) or "running"
        if view.finished:
            phase = f"{view.status} ({view.error})" if view.error else view.status
        return Snapshot(
            total=total,
            done=done if total is None else min(done, total),
            by_status=by_status,
            pending=sum(o.verification == "PENDING" for o in outcomes),
            retries=max(view.retries, self.retry_counter() if self.retry_counter else 0),
            phase=phase,
            finished=view.finished,
            recent_errors=tuple(errors[-3:]),
            mode=self.mode,
            error=view.error,
        )


def _planned(outputs: list[Any]) -> int | None:
    """The account-regions Resolve targets planned (its ``counts``: Map items plus SKIPPED), if it said."""
    for output in outputs:
        payload = output.get("Payload", output) if isinstance(output, dict) else None
        counts = payload.get("counts") if isinstance(payload, dict) else None
        if isinstance(counts, dict) and isinstance(counts.get("items"), int):
            return int(counts["items"]) + int(counts.get("skipped", 0))
    return None


def _short(text: str, limit: int = 100) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
