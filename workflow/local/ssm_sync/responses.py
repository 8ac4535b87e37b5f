"""The wire layer: the three resource data sync actions, added to moto's SSM response class while installed.

moto dispatches an SSM request to the ``SimpleSystemManagerResponse`` method named after the action
(``create_resource_data_sync``); while :func:`install` is in effect those methods exist and hand the request to
our backend of the calling account and region. :func:`uninstall` removes them, so plain moto answers "not
implemented" again.

Example::

    >>> installed() is None
    True
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from workflow.local.seams import ActionResult, EmptyResult, SimpleSystemManagerResponse
from workflow.local.ssm_sync.models import ResourceDataSyncBackend, ResourceDataSyncBackends

_lock = threading.Lock()
_backends: ResourceDataSyncBackends | None = None


def _backend(response: SimpleSystemManagerResponse) -> ResourceDataSyncBackend:
    backends = _backends
    if backends is None:  # pragma: no cover - the methods only exist while installed
        raise RuntimeError("the resource data sync emulation is not installed")
    return backends[response.current_account][response.region]


def create_resource_data_sync(self: SimpleSystemManagerResponse) -> ActionResult:
    _backend(self).create(
        sync_name=self._get_param("SyncName"),
        s3_destination=self._get_param("S3Destination"),
        sync_type=self._get_param("SyncType"),
        sync_source=self._get_param("SyncSource"),
    )
    return EmptyResult()


def list_resource_data_sync(self: SimpleSystemManagerResponse) -> ActionResult:
    syncs, token = _backend(self).list(
        sync_type=self._get_param("SyncType"),
        next_token=self._get_param("NextToken"),
        max_results=self._get_param("MaxResults"),
    )
    result: dict[str, Any] = {"ResourceDataSyncItems": [sync.to_item() for sync in syncs]}
    if token is not None:
        result["NextToken"] = token
    return ActionResult(result)


def delete_resource_data_sync(self: SimpleSystemManagerResponse) -> ActionResult:
    _backend(self).delete(sync_name=self._get_param("SyncName"), sync_type=self._get_param("SyncType"))
    return EmptyResult()


ACTIONS: dict[str, Callable[[SimpleSystemManagerResponse], ActionResult]] = {
    "create_resource_data_sync": create_resource_data_sync,
    "list_resource_data_sync": list_resource_data_sync,
    "delete_resource_data_sync": delete_resource_data_sync,
}


def install(backends: ResourceDataSyncBackends) -> None:
    """Add the actions to moto's SSM responses, answering from ``backends``. Refuses a second install."""
    global _backends
    with _lock:
        if _backends is not None:
            raise RuntimeError("the resource data sync emulation is already installed")
        for name in ACTIONS:
            if name in vars(SimpleSystemManagerResponse):
                # moto grew its own implementation: ours would silently shadow it. Fail loudly instead.
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


def installed() -> ResourceDataSyncBackends | None:
    """The backends answering now, or None when the emulation is not installed."""
    return _backends
