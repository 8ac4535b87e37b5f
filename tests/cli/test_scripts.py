"""``./scripts/demo`` and ``./scripts/test`` as a user runs them, in a copy of the repository whose ``.venv`` is a
recorder: which pip installs they run, and what reaches the terminal."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


def _stub_venv(clone: Path, python_body: str) -> Path:
    """A ``.venv`` whose python runs ``python_body`` (bash) and logs its arguments; orgsync, ruff and mypy log too."""
    bin_dir = clone / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (clone / ".venv" / "pyvenv.cfg").write_text("version = 3.11\n")
    log = clone / "calls.log"
    scripts = {
        "python": f'echo "python $*" >> {log}\n{python_body}',
        "orgsync": f'echo "orgsync $*" >> {log}',
        "ruff": f'echo "ruff $*" >> {log}',
        "mypy": f'echo "mypy $*" >> {log}',
    }
    for name, body in scripts.items():
        path = bin_dir / name
        path.write_text(f"#!/usr/bin/env bash\n{body}\n")
        path.chmod(0o755)
    return log


def _clone(tmp_path: Path) -> Path:
    clone = tmp_path / "orgsync"
    (clone / "scripts").mkdir(parents=True)
    for name in ("demo", "test"):
        shutil.copy2(ROOT / "scripts" / name, clone / "scripts" / name)
    shutil.copy2(ROOT / "pyproject.toml", clone / "pyproject.toml")
    return clone


def _pip_installs(log: Path) -> int:
    return sum("-m pip install -q -e" in line for line in log.read_text().splitlines())


def test_a_warm_demo_does_not_reinstall(tmp_path: Path) -> None:
    # GIVEN a clone whose .venv has orgsync installed by a first ./scripts/demo
    clone = _clone(tmp_path)
    log = _stub_venv(clone, "exit 0")
    env = {**os.environ, "PYTHON": sys.executable}
    subprocess.run([clone / "scripts" / "demo"], check=True, env=env)
    assert _pip_installs(log) == 1
    # WHEN the user runs it again
    subprocess.run([clone / "scripts" / "demo"], check=True, env=env)
    # THEN pip is not run again, and the demo is
    assert _pip_installs(log) == 1
    assert log.read_text().count("orgsync demo") == 2
    # AND a change of the dependencies installs again
    (clone / "pyproject.toml").write_text((clone / "pyproject.toml").read_text() + "\n# changed\n")
    subprocess.run([clone / "scripts" / "demo"], check=True, env=env)
    assert _pip_installs(log) == 2


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("node") is None, reason="the CDK needs Node.js")
def test_scripts_test_relays_no_node_banner_as_python_bytes(tmp_path: Path) -> None:
    # GIVEN ./scripts/test whose pytest step synthesizes a CDK app (what the infra tests do)
    clone = _clone(tmp_path)
    synth = "import aws_cdk as cdk; app = cdk.App(); cdk.Stack(app, 'S'); app.synth()"
    _stub_venv(clone, f'case "$*" in *pytest*) cd {tmp_path} && exec {sys.executable} -c "{synth}";; esac')
    env = {k: v for k, v in os.environ.items() if not k.startswith("JSII_")}
    # WHEN it runs
    result = subprocess.run([clone / "scripts" / "test"], capture_output=True, text=True, env=env, timeout=300)
    # THEN whatever the Node.js release, no banner line comes out as Python bytes
    assert result.returncode == 0, result.stderr
    assert "b'!!" not in result.stderr + result.stdout
