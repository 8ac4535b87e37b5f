"""The errors the CLI turns into one line on stderr and exit code 2.

Anything the user can fix (a missing file, a malformed input, an unknown execution) is a :class:`CliError`
whose message names what is wrong; ``workflow.cli`` prints it without a traceback.

Example::

    >>> str(CliError("input file 'x.json' does not exist"))
    "input file 'x.json' does not exist"
"""

from __future__ import annotations


class CliError(Exception):
    """Something the user asked for cannot be done; the message says what and, where possible, how to fix it."""
