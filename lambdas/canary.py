"""The canary: one account-region reconciled, and its marker awaited, before a rollout fans out.

A broken bucket policy (or key policy) otherwise shows only after every account-region has failed with "S3 write
failed". So a mode that creates syncs (:attr:`lambdas.modes.base.ModeSpec.canary`) first:

1. ``Resolve targets`` checks the policies statically (:mod:`lambdas.destination_policy`) and stops with
   ``DestinationPolicyIncomplete`` on a definite gap, before anything is written;
2. it picks the canary (:func:`choose`): the account-region the input names (``"canary": {"accountId",
   "region"}``), else the aggregator's own account in the destination's region, else the first target in the
   destination's region, else the first target; the canary leaves the items file, so the Map does not reconcile it
   again, and its outcome record is written like any other (the report has it once);
3. ``Reconcile canary`` reconciles it (:func:`reconcile_step`, the plain per-account-region
   :func:`lambdas.sync.reconcile`), ``Check canary marker`` waits for its marker (:func:`check_step`, the mode's
   marker check, retried up to ``markerTimeoutSeconds``), and a failure of either is explained by
   :func:`explain_step` with the statements to add. The execution then ends in the ``Canary failed`` Fail state,
   error ``CanaryFailed``, before any other account is touched.

A canary that cannot decide (its account is ACCESS_DENIED, REGION_DISABLED, in CONFLICT, QUOTA_EXCEEDED, or FAILED
for a reason of its own, none of which expects a marker) lets the rollout go on: its outcome is reported with the
others, and the Map's account-regions are judged by their own markers. A canary whose steps fail otherwise
(throttling that outlasted its retries) stops the rollout too, with the error and no statement to add.

Example::

    >>> from lambdas.models import Destination, Mode, OnConflict, RunParameters, TargetItem
    >>> run = RunParameters("e", Mode.ROLLOUT, "s", Destination("b", "us-east-1", "p"), OnConflict.REPORT, 60, "R")
    >>> items = [TargetItem(a, a, "/", r, run) for a in ("200000000001", "100000000001") for r in ("eu-west-1",
    ...          "us-east-1")]
    >>> canary = choose(items, None, "100000000001", run.destination)
    >>> canary.accountId, canary.region
    ('100000000001', 'us-east-1')
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from lambdas import batch, marker, sync
from lambdas.aws import AccessDenied, AwsCallFailed, call
from lambdas.causes import error_message
from lambdas.destination_policy import bucket_statements, check_policies, key_statement, read_policies
from lambdas.errors import CanaryFailed, InvalidInput, MarkerNotYetWritten, S3WriteFailed
from lambdas.models import Destination, Outcome, RunParameters, TargetItem, Verification
from lambdas.regions import ssm_service_principal
from lambdas.report import RUNS_PREFIX

PASSED = "passed"


def canary_key(execution_name: str) -> str:
    """Where ``Resolve targets`` records the run's canary item, beside the items file the Map reads (without it).

    >>> canary_key("exec-1")
    'orgsync/runs/exec-1/canary.json'
    """
    return f"{RUNS_PREFIX}/{execution_name}/canary.json"


def record_choice(s3: Any, run: RunParameters, item: TargetItem) -> str:
    """Write the canary item to :func:`canary_key` (progress counts it with the items file); returns the key."""
    key = canary_key(run.executionName)
    body = json.dumps(item.to_dict()).encode()
    call(f"s3:PutObject on s3://{run.destination.bucket}/{key}", s3.put_object, Bucket=run.destination.bucket,
         Key=key, Body=body, ContentType="application/json")
    return key


def choose(
    items: list[TargetItem], named: tuple[str, str] | None, aggregator_account: str | None, destination: Destination
) -> TargetItem | None:
    """The canary among ``items`` (None when there is none); a ``named`` one that is not an item is ``InvalidInput``."""
    if not items:
        return None
    if named is not None:
        for item in items:
            if (item.accountId, item.region) == named:
                return item
        raise InvalidInput(
            f"canary: {json.dumps({'accountId': named[0], 'region': named[1]})} is not an ACTIVE target "
            "account-region of this run (not in its targets, excluded, or not ACTIVE)"
        )
    preferences: list[Callable[[TargetItem], bool]] = [
        lambda item: item.accountId == aggregator_account and item.region == destination.region,
        lambda item: item.region == destination.region,
    ]
    for preferred in preferences:
        for item in items:
            if preferred(item):
                return item
    return items[0]


def payload(item: TargetItem, organization_id: str | None) -> dict[str, Any]:
    """The ``canary`` of ``Resolve targets``' output: the item, and the organization the statements name."""
    return {"item": item.to_dict(), "organizationId": organization_id}


def reconcile_step(event: dict[str, Any], ssm_factory: Callable[[TargetItem], Any]) -> dict[str, Any]:
    """``Reconcile canary``: the canary's :func:`lambdas.sync.reconcile` (``S3WriteFailed`` retried, then explained)."""
    item = TargetItem.from_dict(event["canary"]["item"])
    item = replace(item, run=batch.with_claim_time(item.run, event))
    return sync.reconcile(item, ssm_factory).to_dict()


def check_step(s3: Any, event: dict[str, Any]) -> dict[str, Any]:
    """``Check canary marker``: the mode's marker check (``MarkerNotYetWritten`` until the deadline) and the record.

    Returns ``{"passed": true, "outcome": ...}``, or, when the marker never came, ``passed`` false with the cause.
    """
    item_data = event["canary"]["item"]
    outcome = Outcome.from_dict(marker.check_and_record(s3, {**item_data, "reconcile": event["reconcile"]}))
    if outcome.verification is Verification.PENDING:
        item = TargetItem.from_dict(item_data)
        what = (
            f"SSM did not write its marker within markerTimeoutSeconds={item.run.markerTimeoutSeconds} "
            f"(the sync is {outcome.status})"
        )
        return failed(item, what, event["canary"].get("organizationId"), s3, None)
    return {PASSED: True, "outcome": {"status": str(outcome.status), "verification": str(outcome.verification)}}


def explain_step(s3: Any, kms: Any | None, event: dict[str, Any]) -> dict[str, Any]:
    """``Explain canary failure``: record the canary's failure (``Record failure``'s logic) and say what to add."""
    item_data = event["canary"]["item"]
    error = event.get("error") or {}
    item = TargetItem.from_dict(item_data)
    marker.record_failure(s3, {**item_data, "error": error})
    name = str(error.get("Error") or "Unknown")
    message = error_message(str(error.get("Cause") or "")) or ""
    if name == S3WriteFailed.__name__:
        what = f"S3 write failed after the retries ({message})"
    elif name == MarkerNotYetWritten.__name__:
        what = f"SSM did not write its marker before the retries ran out ({message})"
    else:
        # Not a sign of the destination (throttling that outlasted its retries, a fault): nothing to add to a policy.
        destination = item.run.destination
        cause = (
            f"{CanaryFailed.__name__}: the canary {item.accountId} {item.region} failed before it could prove SSM "
            f"writes to {destination.where}: {name}: {message}. The rollout stopped before any other "
            "account-region; fix the cause and rerun (the rollout is idempotent), or name another canary."
        )
        return {PASSED: False, "error": CanaryFailed.__name__, "cause": cause}
    return failed(item, what, event["canary"].get("organizationId"), s3, kms)


def failed(item: TargetItem, what: str, organization_id: str | None, s3: Any, kms: Any | None) -> dict[str, Any]:
    """``passed`` false, and the cause of the ``Canary failed`` state: where, what, and the statements to add."""
    destination = item.run.destination
    cause = (
        f"{CanaryFailed.__name__}: the canary {item.accountId} {item.region} could not prove SSM writes to "
        f"{destination.where}: {what}. The rollout stopped before any other account-region. "
        + statements_hint(item, organization_id, s3, kms)
    )
    return {PASSED: False, "error": CanaryFailed.__name__, "cause": cause}


def statements_hint(item: TargetItem, organization_id: str | None, s3: Any, kms: Any | None) -> str:
    """What to add: the gaps the static check finds in the policies as they are now, else every documented statement.

    The policies may look right and still not work (a change not yet seen by SSM, a condition this check does not
    read): then the documented statements are given whole, to compare with.
    """
    destination = item.run.destination
    org = organization_id or "o-EXAMPLE (your organization id)"
    principal = ssm_service_principal(item.region)
    try:
        bucket_policy, key_policy = read_policies(s3, kms, destination)
    except (AccessDenied, AwsCallFailed) as exc:
        bucket_policy = key_policy = None
        read = f" (the policies could not be read: {exc})"
    else:
        read = ""
        if organization_id:
            check = check_policies(
                bucket_policy, key_policy, destination, organization_id, [item.region], [item.accountId],
                item.run.syncName,
            )
            if not check.ok:
                return check.message()
            read = (
                " (as they read now, the policies grant it: a change may not have reached SSM yet, so rerun in a "
                "few minutes; or a condition SSM's request does not meet, compare with)"
            )
    statements = bucket_statements(destination.bucket, destination.prefix, {"aws:SourceOrgID": org}, [principal])
    hint = f"The bucket policy of {destination.bucket} must contain{read}: {json.dumps(statements)}"
    if destination.kmsKeyArn:
        key = json.dumps(key_statement(org, [principal]))
        hint += f" The key policy of {destination.kmsKeyArn} must contain: {key}"
    return hint
