"""moto is the `local` extra: without it everything but the local engine works, and a local command says in one
line what to install (exit 2).

Each test runs a fresh interpreter in which importing moto or Flask fails as if they were not installed
(``sys.modules[name] = None`` makes ``import name`` raise ModuleNotFoundError).
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

WITHOUT_LOCAL_EXTRA = "import sys\nfor name in ('moto', 'flask', 'flask_cors'):\n    sys.modules[name] = None\n"


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_LOCAL_EXTRA + code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["demo", "--no-progress"],
        ["run", "--scenario", "workflow/scenarios/example.json", "--input", "docs/examples/rollout-input.json"],
    ],
    ids=["demo", "run --scenario"],
)
def test_local_command_without_moto_says_what_to_install(args: list[str]) -> None:
    # GIVEN an installation without the local extra
    # WHEN a command that needs the local engine runs
    result = run_python(f"from workflow.cli import main\nmain({args!r})\n")

    # THEN it exits 2 with one line naming the extra to install, and no traceback
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    expected = "orgsync: error: the local engine needs moto, which is not installed: pip install 'orgsync[local]'"
    assert lines == [expected]
    assert "Traceback" not in result.stderr


def test_coverage_on_a_scenario_without_moto_says_what_to_install() -> None:
    args = ["coverage", "--scenario", "workflow/scenarios/example.json"]
    result = run_python(f"from workflow.cli import main\nmain({args!r})\n")

    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        "orgsync: error: coverage: the local engine needs moto, which is not installed: pip install 'orgsync[local]'"
    ]


def test_cli_lambdas_and_infra_import_without_moto() -> None:
    # GIVEN an installation without the local extra
    # WHEN the CLI starts (its help and validate) and every module of lambdas/ and infra/ is imported
    code = """
import importlib, pkgutil
import lambdas, infra
from click.testing import CliRunner
from workflow.cli import cli
for package in (lambdas, infra):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        importlib.import_module(module.name)
for name in ("workflow.definition", "workflow.graph", "workflow.console.remote", "workflow.console.report",
             "workflow.console.watch", "workflow.console.live", "workflow.local", "workflow.local.scenario"):
    importlib.import_module(name)
result = CliRunner().invoke(cli, ["--help"])
assert result.exit_code == 0, result.output
print("imported", sorted(m for m in sys.modules if m.startswith(("lambdas.", "infra."))).__len__())
"""
    result = run_python(code)

    # THEN nothing there needed moto
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("imported ")
    assert int(result.stdout.split()[1]) > 20  # every lambdas/ and infra/ module, not an empty walk


def test_moto_is_only_in_the_local_extra_and_dev_includes_it() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert not [d for d in project["dependencies"] if d.lower().startswith(("moto", "flask"))]
    assert [d for d in project["optional-dependencies"]["local"] if d.startswith("moto")] == ["moto[server]==5.2.5"]
    assert any("local" in d for d in project["optional-dependencies"]["dev"] if d.startswith("orgsync["))
    assert "pip install -q -e '.[local]'" in (REPO / "scripts" / "demo").read_text()
