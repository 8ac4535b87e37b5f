"""The modes orgsync runs, one module each, and the registry everything reads them from.

A mode is a :class:`~lambdas.modes.base.ModeSpec` (its reconcile step, its marker check, its report extras, its
Fail state, what needs attention) declared as ``SPEC`` in ``lambdas/modes/<mode>.py``. The member of
:class:`~lambdas.models.Mode` is the registration: :data:`MODES` loads one module per member, at import, so a
member without its module fails at start-up, not in the middle of a run. The definition's Choice and Fail states,
the report's failure error and extras, the CLI's "finished with findings" errors and the Lambdas' dispatch all
read this registry; nothing registers into it from elsewhere.

Adding a mode: a new ``lambdas/modes/<mode>.py`` with its ``SPEC``, and one member in ``Mode``.

Example::

    >>> [str(mode) for mode in MODES]
    ['rollout', 'verify', 'teardown', 'plan']
    >>> spec_of("verify").report_extras is not None
    True
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from types import MappingProxyType

from lambdas.models import Mode
from lambdas.modes.base import ModeFailure, ModeSpec

__all__ = ["MODES", "ModeFailure", "ModeSpec", "failure_errors", "load_spec", "spec_of"]


def load_spec(mode: Mode) -> ModeSpec:
    """The ``SPEC`` of ``lambdas/modes/<mode>.py``, checked to be that mode's.

    >>> load_spec(Mode.TEARDOWN).failure.state
    'Teardown incomplete'
    """
    spec = getattr(import_module(f"{__name__}.{mode.value}"), "SPEC", None)
    if not isinstance(spec, ModeSpec) or spec.mode is not mode:
        raise TypeError(f"lambdas/modes/{mode.value}.py must declare SPEC = ModeSpec(mode=Mode.{mode.name}, ...)")
    return spec


#: Every mode's spec, in the order of :class:`Mode` (the order the definition lists their Fail states).
MODES: Mapping[Mode, ModeSpec] = MappingProxyType({mode: load_spec(mode) for mode in Mode})


def spec_of(mode: Mode | str) -> ModeSpec:
    """The spec of ``mode`` (a :class:`Mode` or its JSON value)."""
    return MODES[Mode(mode)]


def failure_errors(modes: Mapping[Mode, ModeSpec] = MODES) -> frozenset[str]:
    """The Fail states' error names: "the run finished and its report says what needs attention".

    >>> sorted(failure_errors())
    ['RolloutIncomplete', 'TeardownIncomplete', 'VerificationFailed']
    """
    return frozenset(spec.failure.error.__name__ for spec in modes.values() if spec.failure is not None)
