"""The examples in every module's docstrings run and print what they say: lambdas/, workflow/ and infra/.

Each module is one test. A module that imports an optional dependency (moto for the local engine, graphviz,
the CDK) is skipped only when that dependency is not installed, with the reason; any other import error fails.
"""

from __future__ import annotations

import doctest
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("lambdas", "workflow", "infra")
#: Optional dependencies and the extra that installs each (pyproject.toml).
OPTIONAL = {
    "moto": "local",
    "flask": "local",
    "graphviz": "graph",
    "aws_cdk": "cdk",
    "constructs": "cdk",
    "cdk_nag": "cdk",
}


def module_names() -> list[str]:
    names = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


MODULES = module_names()


@pytest.fixture(autouse=True)
def fresh_aws_boundary() -> Iterator[None]:
    # lambdas.aws keeps one boto3 session per process. A session made by one module's example before moto was
    # imported has none of moto's hooks, and a later example on the local engine would reach real AWS through it.
    yield
    from lambdas import aws

    aws.clear_credentials_cache()


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        root = (exc.name or "").split(".")[0]
        if root not in OPTIONAL:
            raise
        pytest.skip(f"{name} imports {root}, which is not installed (pip install 'orgsync[{OPTIONAL[root]}]')")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, report=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples of {name} failed (run doctest -v)"


def test_every_package_is_collected() -> None:
    # A sanity check on the walk: the CLI, the Lambda code, the local engine and the CDK app are all in it.
    for name in ("workflow.cli", "lambdas.input", "lambdas.identifiers", "workflow.local.runner", "infra.config"):
        assert name in MODULES
    assert len(MODULES) > 50
