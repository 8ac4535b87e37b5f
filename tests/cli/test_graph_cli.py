"""``orgsync graph``: the state machine as SVG/PNG (graphviz's dot) and as the ASL JSON build_definition() returns."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from workflow.cli import cli
from workflow.definition import build_definition
from workflow.graph import to_dot

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="graphviz's 'dot' program is not installed (apt-get install graphviz)"
)


def _state_names(machine: dict[str, object]) -> set[str]:
    names: set[str] = set()
    states = machine.get("States", {})
    assert isinstance(states, dict)
    for name, state in states.items():
        names.add(name)
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                names |= _state_names(state[key])
        for branch in state.get("Branches", []):
            names |= _state_names(branch)
    return names


def test_json_is_exactly_the_definition() -> None:
    result = CliRunner().invoke(cli, ["graph", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == build_definition()


def test_dot_source_has_every_state_and_labels_retry_and_catch_edges() -> None:
    definition = build_definition()
    source = to_dot(definition)
    for name in _state_names(definition):
        assert name in source, name
    assert "cluster_" in source  # the Map's item processor is a cluster
    assert "catch States.ALL" in source
    assert "retry Throttled" in source


@needs_dot
def test_svg_is_valid_xml_naming_every_state(tmp_path: Path) -> None:
    out = tmp_path / "sm.svg"
    result = CliRunner().invoke(cli, ["graph", "--format", "svg", "--output", str(out)])
    assert result.exit_code == 0, result.output
    root = ET.fromstring(out.read_bytes())
    assert root.tag.endswith("svg")
    text = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    for name in _state_names(build_definition()):
        assert name in text, name


@needs_dot
def test_png_has_the_png_signature(tmp_path: Path) -> None:
    out = tmp_path / "sm.png"
    result = CliRunner().invoke(cli, ["graph", "--format", "png", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stat().st_size > 10_000


def test_committed_readme_picture_is_current() -> None:
    # The README shows docs/img/state-machine.svg: it must be redrawn when the definition changes.
    svg = Path(__file__).parents[2] / "docs" / "img" / "state-machine.svg"
    assert svg.exists(), "run: orgsync graph --format svg --output docs/img/state-machine.svg"
    root = ET.fromstring(svg.read_bytes())
    text = " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))
    for name in _state_names(build_definition()):
        assert name in text, f"{name} missing: redraw docs/img/state-machine.svg"


def test_missing_dot_is_one_line(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot anywhere
    result = CliRunner().invoke(cli, ["graph", "--format", "png", "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 2
    assert result.stderr.startswith("orgsync: error: rendering png needs graphviz's 'dot' program")
    assert result.stderr.count("\n") == 1


def test_unwritable_output_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["graph", "--format", "json", "-o", str(tmp_path / "no" / "such" / "dir.json")])
    assert result.exit_code == 2
    assert "cannot write" in result.stderr and "No such file or directory" in result.stderr
