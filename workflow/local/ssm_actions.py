"""Actions added to moto's SSM response class while an emulation is installed (the wire layer's one mechanism).

moto dispatches an SSM request to the ``SimpleSystemManagerResponse`` method named after the action
(``create_resource_data_sync``). An emulation of actions moto lacks (resource data syncs, associations) declares
them in a :class:`SsmActions`; :meth:`SsmActions.install` adds the methods, answering from the emulation's
backends, and refuses if moto grew its own (ours would silently shadow it); :meth:`SsmActions.uninstall` removes
them, so plain moto answers "not implemented" again.

Example::

    >>> actions = SsmActions("the example emulation", {})
    >>> actions.installed() is None
    True
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

from workflow.local.seams import ActionResult, SimpleSystemManagerResponse

#: The emulation's backends (per account and region).
Backends = TypeVar("Backends")
Action = Callable[[SimpleSystemManagerResponse], ActionResult]


class SsmActions(Generic[Backends]):
    """The actions of one emulation and the backends answering them while installed."""

    def __init__(self, what: str, actions: Mapping[str, Action]) -> None:
        self.what = what
        self.actions = dict(actions)
        self._lock = threading.Lock()
        self._backends: Backends | None = None

    def backends(self) -> Backends:
        """The backends answering now (the methods exist only while installed)."""
        backends = self._backends
        if backends is None:  # pragma: no cover - the methods only exist while installed
            raise RuntimeError(f"{self.what} is not installed")
        return backends

    def install(self, backends: Backends) -> None:
        """Add the actions to moto's SSM responses, answering from ``backends``. Refuses a second install."""
        with self._lock:
            if self._backends is not None:
                raise RuntimeError(f"{self.what} is already installed")
            for name in self.actions:
                if name in vars(SimpleSystemManagerResponse):
                    # moto grew its own implementation: ours would silently shadow it. Fail loudly instead.
                    raise RuntimeError(f"moto's SimpleSystemManagerResponse already defines {name}")
            for name, action in self.actions.items():
                setattr(SimpleSystemManagerResponse, name, action)
            self._backends = backends

    def uninstall(self) -> None:
        """Remove the actions again (idempotent)."""
        with self._lock:
            for name, action in self.actions.items():
                if vars(SimpleSystemManagerResponse).get(name) is action:
                    delattr(SimpleSystemManagerResponse, name)
            self._backends = None

    def installed(self) -> Backends | None:
        """The backends answering now, or None when the emulation is not installed."""
        return self._backends
