"""The examples in the CLI modules' docstrings run and print what they say (CI does not collect doctests)."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "workflow.cli",
    "workflow.graph",
    "workflow.console.errors",
    "workflow.console.history",
    "workflow.console.live",
    "workflow.console.local",
    "workflow.console.poller",
    "workflow.console.readme_example",
    "workflow.console.remote",
    "workflow.console.report",
    "workflow.console.saved",
    "workflow.console.state",
    "workflow.console.watch",
    "workflow.runs",
    "lambdas.causes",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no example"
    assert result.failed == 0
