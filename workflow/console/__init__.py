"""What the ``orgsync`` command shows: reports (table, JSON, CSV, Markdown), the live progress view, and
execution histories read back into per account-region progress.

Everything here is plain functions over plain data so tests can call them without a terminal; ``workflow.cli``
only parses arguments and picks which of these to call.
"""
