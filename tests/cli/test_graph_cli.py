"""``orgsync graph``: the state machine as SVG/PNG (graphviz's dot) and as the ASL JSON build_definition() returns."""

from __future__ import annotations

import json
import shutil
import sys
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


def _svg_texts(svg: bytes) -> list[str]:
    root = ET.fromstring(svg)
    return sorted(t.text or "" for t in root.iter() if t.tag.endswith("text"))


def _svg_shapes(svg: bytes) -> tuple[int, int]:
    root = ET.fromstring(svg)
    groups = [g.get("class") for g in root.iter() if g.tag.endswith("g")]
    return groups.count("node"), groups.count("edge")


def _retried_errors(machine: dict[str, object]) -> set[str]:
    errors: set[str] = set()
    states = machine.get("States", {})
    assert isinstance(states, dict)
    for state in states.values():
        for retrier in state.get("Retry", []):
            errors.update(retrier["ErrorEquals"])
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                errors |= _retried_errors(state[key])
    return errors


COMMITTED_SVG = Path(__file__).parents[2] / "docs" / "img" / "state-machine.svg"
REDRAW = "redraw it: orgsync graph --format svg --output docs/img/state-machine.svg"


def test_committed_readme_picture_names_every_state_and_retried_error() -> None:
    # The README shows docs/img/state-machine.svg: it must be redrawn when the definition changes.
    assert COMMITTED_SVG.exists(), REDRAW
    text = " ".join(_svg_texts(COMMITTED_SVG.read_bytes()))
    for name in _state_names(build_definition()):
        assert name in text, f"{name} missing: {REDRAW}"
    for error in _retried_errors(build_definition()):
        assert error in text, f"retry on {error} missing: {REDRAW}"


@needs_dot
def test_committed_readme_picture_is_the_definitions_graph() -> None:
    # Every label (states, choices, retries, catches) and every node and edge, as the definition draws today.
    fresh = CliRunner().invoke(cli, ["graph", "--format", "svg"]).stdout_bytes
    committed = COMMITTED_SVG.read_bytes()
    assert _svg_texts(committed) == _svg_texts(fresh), REDRAW
    assert _svg_shapes(committed) == _svg_shapes(fresh), REDRAW


@pytest.mark.parametrize("fmt", ["svg", "dot", "png"])
def test_without_the_graph_extra_every_drawn_format_gives_the_install_hint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, fmt: str
) -> None:
    # GIVEN no graphviz Python package (the graph extra is not installed)
    monkeypatch.setitem(sys.modules, "graphviz", None)  # import graphviz -> ImportError
    # WHEN the picture is asked for: the default format (svg), dot or png
    args = ["graph"] if fmt == "svg" else ["graph", "--format", fmt, "-o", str(tmp_path / f"x.{fmt}")]
    result = CliRunner().invoke(cli, args)
    # THEN one line says what to install
    assert result.exit_code == 2
    assert result.stderr == (
        "orgsync: error: the graph extra is not installed (the graphviz Python package): "
        "pip install 'orgsync[graph]'\n"
    )


def test_the_readme_says_dot_needs_the_graph_extra_too() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    (row,) = [line for line in readme.splitlines() if line.startswith("| `orgsync graph`")]
    assert "SVG, PNG or DOT (the `graph` extra" in row


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
