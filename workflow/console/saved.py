"""Local executions saved for later: what ``orgsync report ARN`` and ``orgsync watch ARN`` read once the local
engine that ran them is gone.

A local run lives in one process: its simulated Step Functions and S3 end with it. So when a local execution
ends, its ``DescribeExecution`` answer, its history and its report are saved as one JSON file,
``<state dir>/executions/<execution name>.json``. The state directory is ``$ORGSYNC_STATE_DIR``, else
``$XDG_CACHE_HOME/orgsync/local``, else ``~/.cache/orgsync/local``. Files are written to a temporary name and
renamed, so a crash leaves the previous file (or none), never half of one.

Example::

    >>> import tempfile
    >>> state = Path(tempfile.mkdtemp())
    >>> arn = "arn:aws:states:us-east-1:300000000001:execution:orgsync:demo-1"
    >>> _ = save_execution({"executionArn": arn, "status": "SUCCEEDED"}, [], None, state_dir=state)
    >>> load_execution(arn, state_dir=state).description["status"]
    'SUCCEEDED'
    >>> load_execution(arn.replace("demo-1", "other"), state_dir=state) is None
    True
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Points every local command at another state directory (``--state`` wins over it where a command has one).
STATE_DIR_ENV = "ORGSYNC_STATE_DIR"

#: The layout version of a state directory: another version is refused rather than misread.
FORMAT_VERSION = 1


def default_state_dir() -> Path:
    """``$ORGSYNC_STATE_DIR``, else ``$XDG_CACHE_HOME/orgsync/local``, else ``~/.cache/orgsync/local``."""
    explicit = os.environ.get(STATE_DIR_ENV)
    if explicit:
        return Path(explicit)
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "orgsync" / "local"


def write_json_atomically(path: Path, document: Any) -> None:
    """Write ``document`` to ``path`` through a temporary file and a rename: readers see the old file or the new."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(document, file, default=str)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class SavedExecution:
    """A finished local execution as it was saved."""

    description: dict[str, Any]
    history: list[dict[str, Any]]
    report: dict[str, Any] | None

    @property
    def execution_arn(self) -> str:
        return str(self.description["executionArn"])


def _path(execution_arn: str, state_dir: Path | None) -> Path:
    name = execution_arn.rsplit(":", 1)[-1]
    return (state_dir or default_state_dir()) / "executions" / f"{name}.json"


def save_execution(
    description: dict[str, Any],
    history: list[dict[str, Any]],
    report: dict[str, Any] | None,
    *,
    state_dir: Path | None = None,
) -> Path:
    """Save a finished local execution; returns the file written."""
    path = _path(str(description["executionArn"]), state_dir)
    document = {"version": FORMAT_VERSION, "description": description, "history": history, "report": report}
    write_json_atomically(path, document)
    return path


def load_execution(execution_arn: str, *, state_dir: Path | None = None) -> SavedExecution | None:
    """The saved local execution with this ARN, or None when there is none (then it is not a local one)."""
    path = _path(execution_arn, state_dir)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return None
    if not isinstance(document, dict) or document.get("version") != FORMAT_VERSION:
        return None
    description = document.get("description")
    if not isinstance(description, dict) or description.get("executionArn") != execution_arn:
        return None
    return SavedExecution(
        description=description, history=list(document.get("history") or []), report=document.get("report")
    )
