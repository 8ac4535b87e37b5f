"""Refresh the README's example run with what the command prints now: ``python -m workflow.console.readme_example``.

The README shows a real run of ``orgsync run`` over the bundled example organization, and
``tests/cli/test_readme.py`` fails when the command no longer prints it (the example scenario, a detail's
wording or the table changed). This reruns the command the README names, in a 110-column console, and
replaces the block between ``<!-- example-run:start -->`` and ``<!-- example-run:end -->``: the live view's
last frame (stderr), the report (stdout) and the exit code, as a terminal would show them.

Example::

    >>> block = render_block("orgsync report r.json", "", "1 account-region\\n", 0)
    >>> block.splitlines()[:3]
    ['```console', '$ orgsync report r.json', '1 account-region']
"""

from __future__ import annotations

import re
import shlex
import sys
from pathlib import Path

START = "<!-- example-run:start -->"
END = "<!-- example-run:end -->"
WIDTH = 110


def render_block(command: str, stderr: str, stdout: str, exit_code: int) -> str:
    """The console block: the command, what it printed (stderr first, as the live view ends before the report)."""
    lines = [f"$ {command}"]
    lines += [line.rstrip() for line in stderr.rstrip("\n").splitlines()]
    lines += [line.rstrip() for line in stdout.rstrip("\n").splitlines()]
    lines += ["$ echo $?", str(exit_code)]
    return "```console\n" + "\n".join(lines) + "\n```\n"


def refresh(readme: Path) -> int:
    """Rerun the README's example command and rewrite its block; returns the command's exit code."""
    from click.testing import CliRunner

    from workflow.cli import cli

    text = readme.read_text()
    head, rest = text.split(START + "\n", 1)
    block, tail = rest.split(END, 1)
    match = re.search(r"^\$ (orgsync run .*)$", block, flags=re.M)
    if match is None:
        raise SystemExit(f"{readme}: no '$ orgsync run ...' line between {START} and {END}")
    command = match.group(1)
    result = CliRunner().invoke(cli, shlex.split(command)[1:], env={"COLUMNS": str(WIDTH)})
    readme.write_text(
        head + START + "\n" + render_block(command, result.stderr, result.stdout, result.exit_code) + END + tail
    )
    return result.exit_code


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("README.md")
    print(f"{path}: example run refreshed (the command exited {refresh(path)})")
