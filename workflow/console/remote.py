"""Executions on a Step Functions endpoint (AWS, or a local engine's server via ``--endpoint-url``).

:class:`AwsBackend` is the :class:`~workflow.runs.RunBackend` of a deployed state machine: it starts an
execution, follows it with :class:`~workflow.console.poller.ExecutionPoller` and reads its report back. The
helpers here parse ARNs, make the clients and find a finished execution's report (its output, its cause, or
the S3 folder its input names).

Example::

    >>> parse_execution_arn("arn:aws:states:eu-west-1:123456789012:execution:orgsync:run-1").region
    'eu-west-1'
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any

from lambdas.models import Mode
from lambdas.modes import failure_errors
from workflow.console.errors import CliError
from workflow.console.report import Report
from workflow.runs import ExecutionResult, list_outcomes, result_from_description

if TYPE_CHECKING:
    from rich.console import Console

#: Fail-state errors that mean "the run finished and the report says what needs attention".
INCOMPLETE_ERRORS = failure_errors()

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
    outcomes = list_outcomes(s3, bucket, "", prefix=key.rstrip("/") + "/results/")
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
    bucket = find_bucket(json_or_none(described.get("input")))
    if bucket:
        return load_report_from_s3(s3, f"s3://{bucket}/{REPORTS_PREFIX}/{parsed.name}/")
    error = described.get("error") or status
    raise CliError(f"execution {parsed.name} ended {status} ({error}) without a report")


def json_or_none(text: Any) -> Any:
    try:
        return json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None




class AwsBackend:
    """A deployed state machine as a :class:`~workflow.runs.RunBackend` (``endpoint_url``: another endpoint).

    Example::

        with AwsBackend("arn:aws:states:eu-west-1:111122223333:stateMachine:orgsync") as backend:
            arn = backend.start({"targets": ["/"], "regions": ["eu-west-1"]})
            backend.follow(arn, None, interval=2)
            result = backend.finish(arn)
    """

    def __init__(self, state_machine_arn: str, endpoint_url: str | None = None) -> None:
        self.state_machine_arn = state_machine_arn
        self.sfn, self.s3 = clients(parse_state_machine_arn(state_machine_arn), endpoint_url)
        self._modes: dict[str, Mode] = {}

    def __enter__(self) -> AwsBackend:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None  # nothing to stop: the execution runs on AWS

    def start(self, execution_input: dict[str, Any], name: str | None = None) -> str:
        """Start an execution (see :func:`start_execution`); returns its ARN."""
        arn = start_execution(self.sfn, self.state_machine_arn, execution_input, name)
        self._modes[arn] = mode_of(execution_input)
        return arn

    def follow(self, execution_arn: str, console: Console | None, interval: float) -> None:
        """Poll the execution until it ends, drawing the live view on ``console`` (waiting only when None)."""
        from workflow.console.poller import ExecutionPoller, follow_poller

        poller = ExecutionPoller(self.sfn, self.s3, execution_arn, mode=self._modes.get(execution_arn, Mode.ROLLOUT))
        follow_poller(poller, console, interval)

    def finish(self, execution_arn: str) -> ExecutionResult:
        """How the execution ended, with its report when it finished its job (SUCCEEDED or *Incomplete/Failed)."""
        described = self.sfn.describe_execution(executionArn=execution_arn)
        report = None
        if described["status"] == "SUCCEEDED" or described.get("error") in INCOMPLETE_ERRORS:
            report = load_report_for_execution(self.sfn, self.s3, execution_arn).to_dict()
        return result_from_description(described, report)
