"""The one reader of a Lambda error's cause: the ``errorMessage`` inside AWS's error document, else the cause.

When a Lambda function raises, Lambda returns ``{"errorMessage", "errorType", "stackTrace", ...}`` and Step
Functions passes that document on, as a JSON string, in the ``Cause`` of a Catch, a failed task event or a
failed execution. People want the message, not the document; anything else is returned as it is.

Example::

    >>> error_message('{"errorMessage": "targets: must not be empty", "errorType": "InvalidInput"}')
    'targets: must not be empty'
    >>> error_message("States.Timeout"), error_message(None)
    ('States.Timeout', None)
"""

from __future__ import annotations

import json


def error_message(cause: str | None) -> str | None:
    """The ``errorMessage`` of a Lambda error document in ``cause``; ``cause`` itself when it is not one."""
    if cause is None:
        return None
    try:
        parsed = json.loads(cause)
    except ValueError:
        return cause
    if isinstance(parsed, dict) and isinstance(parsed.get("errorMessage"), str):
        return str(parsed["errorMessage"])
    return cause
