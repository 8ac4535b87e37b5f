"""Rollout: create orgsync's sync where it is missing (replace ours that points elsewhere if asked; adopt an
equivalent sync if asked), then wait for SSM's test.json marker to prove it writes.

Example::

    >>> SPEC.failure.state, sorted(str(s) for s in SPEC.attention)[:2]
    ('Rollout needs attention', ['ACCESS_DENIED', 'CONFLICT'])
"""

from __future__ import annotations

from lambdas.adoption import adopt_and_check
from lambdas.errors import RolloutIncomplete
from lambdas.models import Mode, Status
from lambdas.modes.base import ModeFailure, ModeSpec
from lambdas.sync import reconcile_rollout

SPEC = ModeSpec(
    mode=Mode.ROLLOUT,
    summary="Create orgsync's sync in every target account-region and prove it writes (the default).",
    reconcile=reconcile_rollout,
    check_marker=adopt_and_check,
    attention=frozenset(
        {
            Status.CONFLICT,
            Status.QUOTA_EXCEEDED,
            Status.ACCESS_DENIED,
            Status.REGION_DISABLED,
            Status.FAILED,
            Status.RESTORED,
            Status.RESTORE_FAILED,
        }
    ),
    failure=ModeFailure("Rollout needs attention", RolloutIncomplete),
    adopts=True,
    checks_collection=True,
    canary=True,
)
