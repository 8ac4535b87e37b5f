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

from lambdas import batch, leases, report, sync, targets
from lambdas import canary as canary_steps
from lambdas.aws import ClientProvider
from lambdas.defaults import with_deployed_defaults
from lambdas.models import TargetItem
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
def claim_account_regions(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Claim the run's account-regions (or say who holds them). ``event``: ``{"run", "itemsLocation",
    "executionArn", "executionStartTime"}``."""
    return leases.claim_event(event, ClientProvider.from_environment())


@instrumented
def release_account_regions(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Release the run's account-regions. ``event``: ``{"run", "executionArn"}``."""
    return leases.release_event(event, ClientProvider.from_environment())


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


@instrumented
def canary(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The canary's three steps (:mod:`lambdas.canary`). ``event``: ``{"step", "canary", "reconcile" | "error"}``."""
    clients = ClientProvider.from_environment()
    item = TargetItem.from_dict(event["canary"]["item"])
    if event["step"] == "reconcile":
        return canary_steps.reconcile_step(event, lambda item: sync.member_ssm(clients, item))
    s3 = report.s3_client(clients, item.run)
    if event["step"] == "check":
        return canary_steps.check_step(s3, event)
    kms = clients.client("kms", item.run.destination.region) if item.run.destination.kmsKeyArn else None
    return canary_steps.explain_step(s3, kms, event)
