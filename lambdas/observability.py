"""Logs, traces and metrics of the Lambdas, with Powertools for AWS Lambda (Python).

- **Logs**: one JSON object per line (Powertools' Logger), each with the execution name, account, region and
  sync name the invocation works on (``executionName``, ``account``, ``region``, ``syncName``; absent when the
  event has none) and the function's name and request id. Keys are appended per thread (Powertools'
  ``thread_safe_append_keys``): the local engine runs a Map's invocations concurrently in one process.
- **Traces**: the Tracer wraps each handler where X-Ray is on. Powertools disables it outside Lambda (no
  ``LAMBDA_TASK_ROOT`` in the process environment) and when ``POWERTOOLS_TRACE_DISABLED`` is true there; an
  invocation whose own environment says ``POWERTOOLS_TRACE_DISABLED=true`` (the local engine's do) is not traced.
- **Metrics**: Summarize emits one CloudWatch metric per outcome status (``Outcomes`` in namespace ``orgsync``,
  dimensions ``mode`` and ``status``) in Embedded Metric Format, a log line CloudWatch turns into metrics; every
  handler that fails emits ``Errors`` (dimensions ``function`` and ``error``).

Nothing here logs an event, a result or an environment wholesale: only the named keys and error names, so no
credential can reach a log line through them.

Example::

    >>> keys_of({"accountId": "200000000001", "region": "eu-west-1",
    ...          "run": {"executionName": "exec-1", "syncName": "org-inventory"}})
    {'executionName': 'exec-1', 'account': '200000000001', 'region': 'eu-west-1', 'syncName': 'org-inventory'}
    >>> keys_of({"BatchInput": {"run": {"executionName": "exec-1", "syncName": "org-inventory"}}, "Items": []})
    {'executionName': 'exec-1', 'syncName': 'org-inventory'}
"""

from __future__ import annotations

import functools
import io
import sys
from collections.abc import Callable, Mapping
from typing import IO, Any, cast

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.metrics import EphemeralMetrics, MetricUnit

from lambdas import invocation

SERVICE = "orgsync"
METRICS_NAMESPACE = "orgsync"
#: What CDK puts in every function's environment so Powertools names the service and namespace on AWS.
POWERTOOLS_ENVIRONMENT = {
    "POWERTOOLS_SERVICE_NAME": SERVICE,
    "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
    "POWERTOOLS_LOG_LEVEL": "INFO",
}

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


class _CurrentStdout(io.TextIOBase):
    """Writes to whatever ``sys.stdout`` is at the time of the write.

    On AWS stdout is the function's log. The local engine captures each invocation's prints per thread by
    replacing ``sys.stdout`` around it; a handler holding the stream found at import would write past it.
    """

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


# A text stream in all but its static type (TextIOBase is not typing.IO), which Logger only writes to.
logger = Logger(service=SERVICE, stream=cast("IO[str]", _CurrentStdout()))
tracer = Tracer(service=SERVICE)


def keys_of(event: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The log keys of an event: the execution, account, region and sync name it is about, where it says them.

    An event is an item (``accountId``, ``region``, ``run``), a run's or a batch's (``run``, or ``BatchInput.run``)
    or ResolveTargets' (``executionName``, ``input``); ResolveTargets' sync name is the input's, else the deployed
    default.
    """
    batch_input = event.get("BatchInput")
    if isinstance(event.get("run"), Mapping):
        run: Mapping[str, Any] = event["run"]
    elif isinstance(batch_input, Mapping) and isinstance(batch_input.get("run"), Mapping):
        run = batch_input["run"]  # a Map child's input (lambdas.batch): the run comes once per batch
    else:
        run = {}
    raw_input: Mapping[str, Any] = event["input"] if isinstance(event.get("input"), Mapping) else {}
    environ = invocation.environment() if environ is None else environ
    found = {
        "executionName": run.get("executionName") or event.get("executionName"),
        "account": event.get("accountId"),
        "region": event.get("region"),
        "syncName": run.get("syncName") or raw_input.get("syncName") or (
            environ.get("ORGSYNC_SYNC_NAME") if "input" in event else None
        ),
    }
    return {key: str(value) for key, value in found.items() if isinstance(value, str | int) and value != ""}


def instrumented(handler: Handler) -> Handler:
    """``handler`` with Powertools: its log keys on every line, traced where X-Ray is on, ``Errors`` on failure.

    Example::

        @instrumented
        def reconcile_sync(event, context): ...
    """
    function_name = handler.__name__

    @functools.wraps(handler)
    def run(event: dict[str, Any], context: Any) -> dict[str, Any]:
        logger.thread_safe_clear_keys()
        logger.thread_safe_append_keys(
            function=getattr(context, "function_name", function_name),
            requestId=getattr(context, "aws_request_id", ""),
            **keys_of(event if isinstance(event, Mapping) else {}),
        )
        try:
            logger.info(f"{function_name} started")
            with invocation.timed_by(context):
                result = handler(event, context)
            status = result.get("status") if isinstance(result, Mapping) else None
            logger.info(f"{function_name} finished", extra={"status": status} if status else None)
            return result
        except Exception as exc:
            # The error's name and message only: messages are built by orgsync and carry no credential.
            logger.error(f"{function_name} failed: {type(exc).__name__}: {exc}", extra={"error": type(exc).__name__})
            emit(METRICS_NAMESPACE, "Errors", 1, function=function_name, error=type(exc).__name__)
            raise
        finally:
            logger.thread_safe_clear_keys()

    traced: Handler = tracer.capture_lambda_handler(run, capture_response=False)

    @functools.wraps(handler)
    def entry(event: dict[str, Any], context: Any) -> dict[str, Any]:
        if invocation.environment().get("POWERTOOLS_TRACE_DISABLED", "").lower() == "true":
            return run(event, context)
        return traced(event, context)

    return entry


def emit(namespace: str, name: str, value: float, **dimensions: str) -> None:
    """Print one EMF metric with ``dimensions`` (a fresh metric set: concurrent invocations share nothing)."""
    metrics = EphemeralMetrics(namespace=namespace, service=SERVICE)
    for dimension, dimension_value in dimensions.items():
        metrics.add_dimension(dimension, dimension_value)
    metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    metrics.flush_metrics()


def emit_outcomes(summary: Mapping[str, Any]) -> None:
    """One ``Outcomes`` metric per status of a run's summary (Summarize's output), dimensions mode and status."""
    by_status = summary.get("summary", {}).get("byStatus", {})
    for status, count in sorted(by_status.items()):
        emit(METRICS_NAMESPACE, "Outcomes", count, mode=str(summary.get("mode", "")), status=str(status))
