"""The default targets and regions do not travel in environment variables (Lambda: 4 KB for all of them).

A deployment with 400 default OU ids synthesizes, every function's environment stays far under 4 KB, and the
defaults reach the two functions that read them (ResolveTargets, enrolment) through a layer, and no other.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from infra_support import BASE_CONTEXT, Synthesized, render, resources_of, synthesize

from infra.app import AGGREGATOR_STACK
from lambdas.defaults import ENV_DEFAULTS_FILE, LAYER_FILE, with_deployed_defaults
from lambdas.settings import Settings

#: Lambda's limit on a function's environment variables, names and values together.
LAMBDA_ENVIRONMENT_LIMIT = 4096
MANY_OUS = [f"ou-ab12-{n:08d}" for n in range(400)]
REGIONS = ["eu-west-1", "us-east-1", "eu-central-1"]


@pytest.fixture(scope="module")
def many(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    context = {**BASE_CONTEXT, "targets": MANY_OUS, "regions": REGIONS, "enrolment": True}
    return synthesize(context, tmp_path_factory.mktemp("cdk-many-ous"))


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every Lambda function, by the construct it belongs to (``Tasks/ResolveTargets``, ``Enrolment``)."""
    return {
        r["Metadata"]["aws:cdk:path"].split("/", 1)[1].rsplit("/Function/", 1)[0]: r["Properties"]
        for r in resources_of(template, "AWS::Lambda::Function").values()
    }


def environment_size(variables: dict[str, Any]) -> int:
    """Bytes of names and values, each unresolved reference counted as the longest it can be (a bucket name)."""
    size = 0
    for name, value in render(variables).items():
        size += len(name) + (63 if isinstance(value, str) and value.startswith("<") else len(str(value).encode()))
    return size


def test_four_hundred_ous_keep_every_environment_far_under_four_kilobytes(many: Synthesized) -> None:
    found = functions(many.template_json(AGGREGATOR_STACK))
    assert set(found) == {
        "Tasks/ResolveTargets",
        "Tasks/ClaimAccountRegions",
        "Tasks/ReconcileSync",
        "Tasks/CheckMarker",
        "Tasks/RecordFailure",
        "Tasks/Canary",
        "Tasks/ReleaseAccountRegions",
        "Tasks/Summarize",
        "Enrolment",
    }
    sizes = {name: environment_size(props["Environment"]["Variables"]) for name, props in found.items()}
    assert max(sizes.values()) < LAMBDA_ENVIRONMENT_LIMIT // 4, sizes
    for props in found.values():
        assert not any(MANY_OUS[0] in json.dumps(value) for value in props["Environment"]["Variables"].values()), (
            "a default target is in an environment variable"
        )


def layer_file(synthesized: Synthesized, template: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    (logical, layer), *others = resources_of(template, "AWS::Lambda::LayerVersion").items()
    assert others == []
    asset = synthesized.outdir / layer["Metadata"]["aws:asset:path"]
    path = asset / LAYER_FILE
    if asset.suffix == ".zip":  # pragma: no cover - CDK stages directories as directories
        with zipfile.ZipFile(asset) as archive:
            return logical, json.loads(archive.read(LAYER_FILE))
    return logical, json.loads(Path(path).read_text())


def test_the_defaults_reach_resolve_targets_and_enrolment_alone(many: Synthesized, tmp_path: Path) -> None:
    template = many.template_json(AGGREGATOR_STACK)
    logical, document = layer_file(many, template)
    # THEN the layer holds every default target and region
    assert document == {"targets": MANY_OUS, "regions": REGIONS}
    # AND only ResolveTargets and the enrolment function carry it, with the variable naming the file
    carriers = {
        name
        for name, props in functions(template).items()
        if {"Ref": logical} in props.get("Layers", [])
        and props["Environment"]["Variables"].get(ENV_DEFAULTS_FILE) == f"/opt/{LAYER_FILE}"
    }
    assert carriers == {"Tasks/ResolveTargets", "Enrolment"}
    assert {n for n, p in functions(template).items() if ENV_DEFAULTS_FILE in p["Environment"]["Variables"]} == carriers
    # AND what the Lambda code reads from that file is the deployment's defaults
    copy = tmp_path / "defaults.json"
    copy.write_text(json.dumps(document))
    settings = with_deployed_defaults(Settings(), {ENV_DEFAULTS_FILE: str(copy)})
    assert (list(settings.default_targets), list(settings.default_regions)) == (MANY_OUS, REGIONS)


def test_the_schedule_names_its_targets_in_its_own_input(many: Synthesized) -> None:
    # The scheduled run does not depend on the functions' defaults: its input names them (no 4 KB limit there).
    (schedule,) = resources_of(many.template_json(AGGREGATOR_STACK), "AWS::Scheduler::Schedule").values()
    assert json.loads(schedule["Properties"]["Target"]["Input"]) == {
        "mode": "verify",
        "targets": MANY_OUS,
        "regions": REGIONS,
    }
