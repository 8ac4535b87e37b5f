"""The errors of the resource data sync APIs, one class per AWS error code, named exactly like the code.

moto serializes them with the SSM service model, so a boto3 caller sees the real ``Error.Code``, the message
and the error's extra members (``SyncName``, ``SyncType``).

Example::

    >>> ResourceDataSyncNotFoundException("org-inventory", "SyncToDestination").code
    'ResourceDataSyncNotFoundException'
"""

from __future__ import annotations

from workflow.local.seams import ServiceException


class ResourceDataSyncAlreadyExistsException(ServiceException):
    """A sync with this name already exists in the account-region."""

    code = "ResourceDataSyncAlreadyExistsException"

    def __init__(self, sync_name: str) -> None:
        super().__init__(f"Resource data sync {sync_name} already exists.")
        self.SyncName = sync_name


class ResourceDataSyncCountExceededException(ServiceException):
    """The account-region already holds as many syncs (or organization syncs) as AWS allows."""

    code = "ResourceDataSyncCountExceededException"


class ResourceDataSyncInvalidConfigurationException(ServiceException):
    """The sync's configuration is invalid, or SSM cannot write to the destination bucket."""

    code = "ResourceDataSyncInvalidConfigurationException"


class ResourceDataSyncNotFoundException(ServiceException):
    """No sync of this name (and type) exists in the account-region."""

    code = "ResourceDataSyncNotFoundException"

    def __init__(self, sync_name: str, sync_type: str) -> None:
        super().__init__(f"Resource data sync {sync_name} of type {sync_type} is not found.")
        self.SyncName = sync_name
        self.SyncType = sync_type


class InvalidNextToken(ServiceException):
    """The NextToken of a ListResourceDataSync call is not one the service issued."""

    code = "InvalidNextToken"
    message = "The specified token isn't valid."


class ValidationException(ServiceException):
    """A parameter breaks a constraint of the API model (length, enum), checked by the service."""

    code = "ValidationException"
