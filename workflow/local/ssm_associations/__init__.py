"""State Manager association emulation (CreateAssociation, ListAssociations), shaped like a moto service.

``models`` holds the rules (a backend per account and region), ``responses`` the wire layer installed into moto's
SSM response class, ``exceptions`` one class per AWS error code. ``workflow.local.aws.LocalAws`` installs it.
"""

from workflow.local.ssm_associations.models import (
    Association,
    AssociationBackend,
    AssociationBackends,
    AssociationEnvironment,
)
from workflow.local.ssm_associations.responses import install, installed, uninstall

__all__ = [
    "Association",
    "AssociationBackend",
    "AssociationBackends",
    "AssociationEnvironment",
    "install",
    "installed",
    "uninstall",
]
