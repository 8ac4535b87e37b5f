"""The wire layer: CreateAssociation and ListAssociations, added to moto's SSM response class while installed.

moto 5.2.5 implements neither; :func:`install` adds them (and refuses if moto grew its own), :func:`uninstall`
removes them.

Example::

    >>> installed() is None
    True
"""

from __future__ import annotations

from typing import Any

from workflow.local.seams import ActionResult, SimpleSystemManagerResponse
from workflow.local.ssm_actions import SsmActions
from workflow.local.ssm_associations.models import AssociationBackend, AssociationBackends


def _backend(response: SimpleSystemManagerResponse) -> AssociationBackend:
    return ACTIONS.backends().backend(response.current_account, response.region)


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


ACTIONS: SsmActions[AssociationBackends] = SsmActions(
    "the association emulation",
    {
        "create_association": create_association,
        "list_associations": list_associations,
    },
)

install = ACTIONS.install
uninstall = ACTIONS.uninstall
installed = ACTIONS.installed
