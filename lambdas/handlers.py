"""The Lambda handlers: one line each, handing the event to a plain function with real clients.

Settings and the :class:`~lambdas.aws.ClientProvider` come from the invocation's environment
(:mod:`lambdas.invocation`: the process's on AWS, each invocation's own on the local engine, which runs a Map's
invocations concurrently), and the plain functions get the provider as a parameter. Powertools logs, traces
and measures every handler (:mod:`lambdas.observability`). Every handler returns JSON-ready data; a raised
:class:`~lambdas.errors.OrgSyncError` fails the task with the class name as its Step Functions error.

Example::

    >>> from workflow.functions import ALL_FUNCTIONS
    >>> all(callable(globals()[f.handler.rsplit(".", 1)[1]]) for f in ALL_FUNCTIONS)
    True
"""

from __future__ import annotations

from typing import Any

from lambdas import batch, report, sync, targets
from lambdas.aws import ClientProvider
from lambdas.defaults import with_deployed_defaults
from lambdas.observability import emit_outcomes, instrumented
from lambdas.settings import Settings


@instrumented
def resolve_targets(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Validate the input, resolve the targets, record SKIPPED outcomes, write the items file.

    ``event``: ``{"input": <execution input>, "executionName": "..."}``.
    """
    settings = with_deployed_defaults(Settings.from_env())
    return targets.resolve_event(event, settings, ClientProvider.from_environment())


@instrumented
def reconcile_sync(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Reconcile a batch's account-regions (list, classify, create/replace). ``event``: the child's input
    (``BatchInput`` and ``Items``) or a step's output (:class:`lambdas.batch.Batch`)."""
    clients = ClientProvider.from_environment()
    return batch.reconcile_batch(batch.Batch.from_event(event), lambda item: sync.member_ssm(clients, item)).to_dict()


@instrumented
def check_marker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Check the markers of a batch's reconciled account-regions; record the batch when nothing is left."""
    pending = batch.Batch.from_event(event)
    return batch.check_markers(pending, report.s3_client(ClientProvider.from_environment(), pending.run)).to_dict()


@instrumented
def record_failure(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Record every account-region of a batch without an outcome as FAILED. ``event``: the batch plus ``error``."""
    failed = batch.Batch.from_event(event)
    s3 = report.s3_client(ClientProvider.from_environment(), failed.run)
    return batch.record_failures(failed, event.get("error") or {}, s3).to_dict()


@instrumented
def summarize(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Read every outcome record, write the report, return the summary. ``event``: ``{"run", "itemsLocation"}``."""
    summary = report.summarize_event(event, ClientProvider.from_environment())
    emit_outcomes(summary)
    return summary
