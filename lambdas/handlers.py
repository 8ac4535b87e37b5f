"""The Lambda handlers: one line each, handing the event to a plain function with real clients.

Settings are read per invocation (the local engine applies each function's environment per call) and
clients come from one shared session (:mod:`lambdas.aws`). Every handler returns JSON-ready data; a raised
:class:`~lambdas.errors.OrgSyncError` fails the task with the class name as its Step Functions error.

Example::

    >>> from workflow.functions import ALL_FUNCTIONS
    >>> all(callable(globals()[f.handler.rsplit(".", 1)[1]]) for f in ALL_FUNCTIONS)
    True
"""

from __future__ import annotations

from typing import Any

from lambdas import coverage, marker, report, sync, targets, teardown, verify
from lambdas.defaults import with_deployed_defaults
from lambdas.models import Mode, TargetItem
from lambdas.settings import Settings

# The lifecycle modes (issue 6) plug into the per-mode hooks of the rollout's modules. They are registered here,
# where the handlers load every module: verify and teardown build on sync and marker, so registering them from
# inside those modules would be an import cycle.
sync.RECONCILERS.update({Mode.VERIFY: verify.reconcile_verify, Mode.TEARDOWN: teardown.reconcile_teardown})
marker.MARKER_CHECKS.update({Mode.VERIFY: verify.check_marker_once, Mode.TEARDOWN: teardown.record_outcome})
report.REPORT_EXTRAS.update({Mode.VERIFY: coverage.report_section})


def resolve_targets(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Validate the input, resolve the targets, record SKIPPED outcomes, write the items file.

    ``event``: ``{"input": <execution input>, "executionName": "..."}``.
    """
    return targets.resolve_event(event, with_deployed_defaults(Settings.from_env()))


def reconcile_sync(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """List, classify and create/replace one account-region's sync. ``event``: one item of the items file."""
    return sync.reconcile(TargetItem.from_dict(event), sync.member_ssm).to_dict()


def check_marker(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Check the marker and write the outcome record. ``event``: the item plus ``reconcile``."""
    return marker.check_and_record(report.s3_client(TargetItem.from_dict(event).run), event)


def record_failure(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Write the outcome record of a failed item. ``event``: the item plus ``error`` (and ``reconcile``)."""
    return marker.record_failure(report.s3_client(TargetItem.from_dict(event).run), event)


def summarize(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Read every outcome record, write the report, return the summary. ``event``: ``{"run", "itemsLocation"}``."""
    return report.summarize_event(event)
