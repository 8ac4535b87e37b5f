"""Teardown: delete orgsync's own sync (named syncName, writing into our bucket and prefix), nothing else.

No marker check: the marker stays, as all bucket data. An adopted sync counts as ours (and loses its record).

Example::

    >>> Status.NOT_OURS in SPEC.attention, Status.FAILED in SPEC.attention
    (False, True)
"""

from __future__ import annotations

from lambdas.errors import TeardownIncomplete
from lambdas.models import Mode, Status
from lambdas.modes.base import ModeFailure, ModeSpec
from lambdas.teardown import forget_and_record, reconcile_teardown

SPEC = ModeSpec(
    mode=Mode.TEARDOWN,
    summary="Delete orgsync's sync everywhere (needs confirm=teardown); bucket data stays.",
    reconcile=reconcile_teardown,
    check_marker=forget_and_record,
    attention=frozenset({Status.ACCESS_DENIED, Status.REGION_DISABLED, Status.FAILED}),
    failure=ModeFailure("Teardown incomplete", TeardownIncomplete),
)
