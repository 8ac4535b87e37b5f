"""The errors of the State Manager association APIs orgsync calls, one class per AWS error code, named like the code.

Example::

    >>> InvalidSchedule("rate(1 second)").code
    'InvalidSchedule'
"""

from __future__ import annotations

from workflow.local.seams import ServiceException


class InvalidDocument(ServiceException):
    """The association's document does not exist."""

    code = "InvalidDocument"


class InvalidSchedule(ServiceException):
    """The schedule expression is not one State Manager accepts."""

    code = "InvalidSchedule"

    def __init__(self, expression: str) -> None:
        super().__init__(f"Schedule expression {expression} is invalid.")


class InvalidTargets(ServiceException):
    """The targets are missing or malformed."""

    code = "InvalidTargets"


class InvalidNextToken(ServiceException):
    """The pagination token is not one this API returned."""

    code = "InvalidNextToken"

    def __init__(self) -> None:
        super().__init__("The specified token is not valid.")


class ValidationException(ServiceException):
    """A parameter is outside its documented constraints."""

    code = "ValidationException"
