"""Verify: read every target account-region's syncs and the markers, change nothing; the report adds coverage.

Everything but a healthy sync in place (IN_SYNC, or an EQUIVALENT sync under another name) and SKIPPED needs
attention.

Example::

    >>> SPEC.read_only, Status.MISSING in SPEC.attention, Status.IN_SYNC in SPEC.attention
    (True, True, False)
"""

from __future__ import annotations

from lambdas.coverage import report_section
from lambdas.errors import VerificationFailed
from lambdas.models import Mode, Status
from lambdas.modes.base import ModeFailure, ModeSpec
from lambdas.verify import check_marker_once, reconcile_verify

SPEC = ModeSpec(
    mode=Mode.VERIFY,
    summary="Read-only: is orgsync's sync in place and healthy everywhere, and which accounts deliver?",
    reconcile=reconcile_verify,
    check_marker=check_marker_once,
    attention=frozenset(Status) - {Status.IN_SYNC, Status.EQUIVALENT, Status.SKIPPED},
    failure=ModeFailure("Verification failed", VerificationFailed),
    report_extras=report_section,
    read_only=True,
    checks_collection=True,
)
