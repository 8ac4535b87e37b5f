"""The wire layer: CreateAssociation and ListAssociations, added to moto's SSM response class while installed.

moto 5.2.5 implements neither; :func:`install` adds them (and refuses if moto grew its own), :func:`uninstall`
removes them.

Example::

    >>> installed() is None
    True
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from workflow.local.seams import ActionResult, SimpleSystemManagerResponse
from workflow.local.ssm_associations.models import AssociationBackend, AssociationBackends

_lock = threading.Lock()
_backends: AssociationBackends | None = None


def _backend(response: SimpleSystemManagerResponse) -> AssociationBackend:
    backends = _backends
    if backends is None:  # pragma: no cover - the methods only exist while installed
        raise RuntimeError("the association emulation is not installed")
    return backends.backend(response.current_account, response.region)


def create_association(self: SimpleSystemManagerResponse) -> ActionResult:
    association = _backend(self).create(
        name=self._get_param("Name"),
        targets=self._get_param("Targets"),
        schedule=self._get_param("ScheduleExpression"),
        association_name=self._get_param("AssociationName"),
        parameters=self._get_param("Parameters"),
    )
    return ActionResult({"AssociationDescription": association.to_description()})


def list_associations(self: SimpleSystemManagerResponse) -> ActionResult:
    associations, token = _backend(self).list(
        filters=self._get_param("AssociationFilterList"),
        next_token=self._get_param("NextToken"),
        max_results=self._get_param("MaxResults"),
    )
    result: dict[str, Any] = {"Associations": [a.to_item() for a in associations]}
    if token is not None:
        result["NextToken"] = token
    return ActionResult(result)


ACTIONS: dict[str, Callable[[SimpleSystemManagerResponse], ActionResult]] = {
    "create_association": create_association,
    "list_associations": list_associations,
}


def install(backends: AssociationBackends) -> None:
    """Add the actions to moto's SSM responses, answering from ``backends``. Refuses a second install."""
    global _backends
    with _lock:
        if _backends is not None:
            raise RuntimeError("the association emulation is already installed")
        for name in ACTIONS:
            if name in vars(SimpleSystemManagerResponse):
                raise RuntimeError(f"moto's SimpleSystemManagerResponse already defines {name}")
        for name, action in ACTIONS.items():
            setattr(SimpleSystemManagerResponse, name, action)
        _backends = backends


def uninstall() -> None:
    """Remove the actions again (idempotent)."""
    global _backends
    with _lock:
        for name, action in ACTIONS.items():
            if vars(SimpleSystemManagerResponse).get(name) is action:
                delattr(SimpleSystemManagerResponse, name)
        _backends = None


def installed() -> AssociationBackends | None:
    """The backends answering now, or None when the emulation is not installed."""
    return _backends
