"""Fuzzing scenario files: every malformed one is refused with one ScenarioError naming the file and the place,
and ``orgsync run --scenario`` says so in one line with exit 2, no traceback, before anything runs."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from fuzzing import FUZZ, FUZZ_CLI, JSON_VALUES
from hypothesis import given
from hypothesis import strategies as st

from workflow.cli import cli
from workflow.local.scenario import ScenarioError, example_scenario_path, load_scenario, parse_scenario

EXAMPLE: dict[str, Any] = json.loads(example_scenario_path().read_text(encoding="utf-8"))


def places(value: Any, place: str = "") -> Iterator[tuple[str, tuple[Any, ...]]]:
    """Every place of the document as the parser names it (``organization.ous[0].name``), with its key path."""
    if isinstance(value, dict):
        for key, child in value.items():
            here = f"{place}.{key}" if place else key
            yield here, (key,)
            for deeper, path in places(child, here):
                yield deeper, (key, *path)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            here = f"{place}[{index}]"
            yield here, (index,)
            for deeper, path in places(child, here):
                yield deeper, (index, *path)


PLACES = list(places(EXAMPLE))


def other_type(original: Any) -> st.SearchStrategy[Any]:
    """JSON values of another type than ``original`` (bool and int count as different, as JSON has them)."""
    return JSON_VALUES.filter(lambda value: type(value) is not type(original))


@st.composite
def mistyped_scenarios(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """The example scenario with the value at one place replaced by a value of another type; and that place."""
    place, path = draw(st.sampled_from(PLACES))
    broken = copy.deepcopy(EXAMPLE)
    parent = broken
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = draw(other_type(parent[path[-1]]))
    return broken, place


def test_the_example_scenario_and_its_places() -> None:
    assert parse_scenario(EXAMPLE, "s.json").aggregator.bucket == "acme-inventory"
    assert {"organization.ous[0].name", "aggregator.region", "faults[0].api"} <= set(dict(PLACES))
    assert len(PLACES) > 100


@FUZZ
@given(mistyped_scenarios())
def test_a_mistyped_value_is_refused_naming_its_place(case: tuple[dict[str, Any], str]) -> None:
    broken, place = case
    try:
        parse_scenario(broken, "s.json")
    except ScenarioError as exc:
        # The place itself, or a place inside the new value where that value's type is a valid form of its own
        # (a list where the count form's object was: the list form of nodes, whose element is then named).
        message = str(exc)
        assert message.startswith(f"s.json: {place}") and message[len(f"s.json: {place}")] in ":[.", (place, message)


@FUZZ
@given(JSON_VALUES)
def test_any_json_document_is_a_scenario_or_one_scenario_error(document: Any) -> None:
    with pytest.raises(ScenarioError, match=r"^s\.json: "):
        parse_scenario(document, "s.json")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(tmp_path_factory.mktemp("scenario"))


@FUZZ
@given(st.text(max_size=200))
def test_any_file_content_is_a_scenario_or_one_scenario_error(scratch: Path, text: str) -> None:
    for suffix in (".json", ".yaml"):
        path = scratch / f"s{suffix}"
        path.write_text(text, encoding="utf-8")
        try:
            load_scenario(path)
        except ScenarioError as exc:
            assert str(exc).startswith(f"s{suffix}: "), str(exc)


@pytest.mark.parametrize(
    ("suffix", "content"),
    [(".json", "[" * 100_000 + "]" * 100_000), (".yaml", "[" * 5_000 + "]" * 5_000), (".yml", "{a: " * 5_000)],
    ids=["json", "yaml", "yml"],
)
def test_a_file_nested_thousands_deep_is_one_scenario_error(scratch: Path, suffix: str, content: str) -> None:
    # Both decoders recurse per level: without care, Python's recursion limit ends the command with a traceback.
    path = scratch / f"deep{suffix}"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ScenarioError, match=rf"^deep{re.escape(suffix)}: "):
        load_scenario(path)


@pytest.fixture(scope="module")
def input_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = Path(tmp_path_factory.mktemp("input")) / "input.json"
    path.write_text(json.dumps({"targets": ["/"], "regions": ["us-east-1"]}), encoding="utf-8")
    return path


@FUZZ_CLI
@given(mistyped_scenarios())
def test_run_refuses_a_malformed_scenario_in_one_line_with_exit_2(
    tmp_path_factory: pytest.TempPathFactory, input_file: Path, case: tuple[dict[str, Any], str]
) -> None:
    broken, place = case
    scenario = Path(tmp_path_factory.mktemp("scenario")) / "s.yaml"
    scenario.write_text(yaml.safe_dump(broken), encoding="utf-8")
    try:
        parse_scenario(broken, "s.yaml")
    except ScenarioError:
        pass
    else:
        return  # the other type happened to be acceptable there (a number of seconds given as an integer)

    result = CliRunner().invoke(cli, ["run", "--scenario", str(scenario), "--input", str(input_file)])

    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"orgsync: error: scenario s.yaml: {place}: "), result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""
