"""What the project rests on is documented inside it: no file cites a document outside the repository."""

from __future__ import annotations

import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
# Built from parts so that this file does not match itself.
OUTSIDE_CITATIONS = ("../" + "shared", "aws-" + "facts")


def test_no_tracked_file_cites_a_document_outside_the_repository() -> None:
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    citing = []
    for name in files:
        path = REPO / name
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        citing.extend(f"{name}: {needle}" for needle in OUTSIDE_CITATIONS if needle in text.lower())
    assert citing == []


def test_the_behaviour_document_covers_the_identifier_module() -> None:
    text = (REPO / "docs" / "aws-behaviour.md").read_text(encoding="utf-8")
    for needle in ("lambdas/identifiers.py", "botocore", "verified", "documented", "assumed"):
        assert needle in text
