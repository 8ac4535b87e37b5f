"""SSM resource data sync emulation, shaped like a moto service.

``models`` holds the rules (a backend per account and region), ``responses`` the wire layer installed into
moto's SSM response class, ``exceptions`` one class per AWS error code. ``workflow.local.aws.LocalAws``
installs it; nothing here patches anything by itself.
"""

from workflow.local.ssm_sync.models import (
    ResourceDataSync,
    ResourceDataSyncBackend,
    ResourceDataSyncBackends,
    SyncEnvironment,
)
from workflow.local.ssm_sync.responses import install, installed, uninstall

__all__ = [
    "ResourceDataSync",
    "ResourceDataSyncBackend",
    "ResourceDataSyncBackends",
    "SyncEnvironment",
    "install",
    "installed",
    "uninstall",
]
