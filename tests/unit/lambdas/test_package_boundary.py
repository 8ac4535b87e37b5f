"""The Lambda asset is the lambdas/ package alone, run on the Python runtime with its bundled boto3 and AWS's
Powertools layer (infra adds it to every function): nothing else may be imported, or a function would fail on AWS
with Runtime.ImportModuleError while every local test passes."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

LAMBDAS = Path(__file__).resolve().parents[3] / "lambdas"
#: What the Lambda Python runtime provides besides the standard library, the Powertools layer, and the package itself.
RUNTIME_PROVIDED = {"boto3", "botocore", "aws_lambda_powertools", "lambdas"}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imported_top_level_modules(source: Path) -> set[str]:
    """The top-level modules ``source`` imports at run time (``if TYPE_CHECKING:`` blocks never run)."""
    modules: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            modules.add(node.module.split(".")[0])
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source.read_text(encoding="utf-8"), filename=str(source)))
    return modules


@pytest.mark.parametrize("source", sorted(LAMBDAS.glob("*.py")), ids=lambda path: path.name)
def test_lambda_module_imports_only_what_the_runtime_provides(source: Path) -> None:
    foreign = imported_top_level_modules(source) - set(sys.stdlib_module_names) - {"__future__"} - RUNTIME_PROVIDED
    assert foreign == set(), f"{source.name} imports {sorted(foreign)}, which the Lambda asset does not carry"


def test_the_check_sees_a_foreign_import(tmp_path: Path) -> None:
    module = tmp_path / "handler.py"
    module.write_text(
        "import boto3\nfrom aws_lambda_powertools import Logger\n"
        "from workflow.local import aws\nfrom . import sibling\n"
        "if TYPE_CHECKING:\n    from mypy_boto3_s3 import S3Client\n"
        "def handler():\n    import yaml\n",
        encoding="utf-8",
    )
    assert imported_top_level_modules(module) == {"boto3", "aws_lambda_powertools", "workflow", "yaml"}

