"""The errors the CLI turns into one line on stderr and exit code 2.

Anything the user can fix (a missing file, a malformed input, an unknown execution) is a :class:`CliError`
whose message names what is wrong; ``workflow.cli`` prints it without a traceback.

Example::

    >>> str(CliError("input file 'x.json' does not exist"))
    "input file 'x.json' does not exist"
"""

from __future__ import annotations


class CliError(Exception):
    """Something the user asked for cannot be done; the message says what and, where possible, how to fix it.

    ``exit_code`` is 2 (rejected) unless the command ran and something else went wrong: an execution that failed
    without a report is 1, like one that needs attention; an interrupted wait is 130.
    """

    def __init__(self, message: str, *, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code
