"""The environment of the running invocation: where the Lambda code reads its variables and credentials.

On AWS each execution environment runs one invocation at a time, and its variables are the process's
(``os.environ``). The local engine runs many invocations at once, on worker threads of one process (a Map's
children, up to its MaxConcurrency): it gives each its own environment here, a :class:`~contextvars.ContextVar`
set in the invocation's thread, instead of changing ``os.environ`` for everyone.

Example::

    >>> with environment_of({"ORGSYNC_SYNC_NAME": "org-inventory"}):
    ...     environment()["ORGSYNC_SYNC_NAME"]
    'org-inventory'
    >>> environment() is os.environ
    True
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

_ENVIRONMENT: ContextVar[Mapping[str, str] | None] = ContextVar("orgsync_invocation_environment", default=None)
_REMAINING: ContextVar[Callable[[], float] | None] = ContextVar("orgsync_invocation_remaining", default=None)


def environment() -> Mapping[str, str]:
    """The variables of the running invocation: the ones the runtime set for it, else ``os.environ``."""
    variables = _ENVIRONMENT.get()
    return os.environ if variables is None else variables


@contextmanager
def environment_of(variables: Mapping[str, str]) -> Iterator[None]:
    """Run the block (in this thread) as an invocation whose environment is exactly ``variables``."""
    token = _ENVIRONMENT.set(MappingProxyType(dict(variables)))
    try:
        yield
    finally:
        _ENVIRONMENT.reset(token)


def remaining_seconds() -> float | None:
    """Seconds left before the running invocation's Timeout (None outside a handler, e.g. in a test or the CLI)."""
    remaining = _REMAINING.get()
    return None if remaining is None else remaining()


@contextmanager
def timed_by(context: Any) -> Iterator[None]:
    """Run the block as a handler whose time left is ``context.get_remaining_time_in_millis()`` (Lambda's)."""
    method = getattr(context, "get_remaining_time_in_millis", None)
    token = _REMAINING.set((lambda: method() / 1000) if callable(method) else None)
    try:
        yield
    finally:
        _REMAINING.reset(token)
