"""cdk-nag (AwsSolutions) has nothing unacknowledged, and cfn-lint finds no error in any synthesized template."""

from __future__ import annotations

import json
from pathlib import Path

import cfnlint.api
import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_s3 as s3
from infra_support import BASE_CONTEXT, REGION, Synthesized

from infra.app import build
from infra.nag import acknowledge, render_for_nag

#: CDK puts DependsOn on resources that already GetAtt them (a Lambda on its role's policy): harmless.
ACCEPTED_WARNINGS = {"W3005"}


@pytest.mark.parametrize("variant", ["base", "full"])
def test_no_unacknowledged_nag_finding(variant: str, request: pytest.FixtureRequest) -> None:
    synthesized: Synthesized = request.getfixturevalue(variant)
    # Synthesis would have raised on an unacknowledged error; the report must also be empty of violations.
    violations = [
        (report["pluginName"], violation["ruleName"], [c["constructPath"] for c in violation["violatingConstructs"]])
        for report in synthesized.validation_report["pluginReports"]
        for violation in report.get("violations", [])
    ]
    assert violations == []


def test_the_app_runs_nag_and_a_finding_fails_synthesis(tmp_path: Path) -> None:
    # Negative control: the app as build() makes it, plus one bucket without TLS enforcement or access logs.
    app = App(context=BASE_CONTEXT, outdir=str(tmp_path))
    build(app)
    s3.Bucket(Stack(app, "Bad"), "Plain")
    with pytest.raises(RuntimeError, match="ValidationFailed"):
        app.synth()
    # The report names the deliberate findings, and only them: orgsync's own stacks have none.
    report = json.loads((tmp_path / "validation-report.json").read_text())
    findings = {
        (violation["ruleName"], construct["constructPath"])
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    }
    assert findings == {("AwsSolutions-S1", "Bad/Plain/Resource"), ("AwsSolutions-S10", "Bad/Plain/Resource")}


def test_acknowledgments_must_give_a_reason() -> None:
    app = App()
    with pytest.raises(ValueError, match="must say why"):
        acknowledge(Stack(app, "S"), "AwsSolutions-S1", "ok")


def test_finding_ids_are_named_as_cdk_nag_names_them() -> None:
    value = {"Fn::Join": ["", [{"Fn::GetAtt": ["Bucket1", "Arn"]}, "/orgsync/*", {"Ref": "AWS::Region"}]]}
    assert render_for_nag(value) == "<Bucket1.Arn>/orgsync/*<AWS::Region>"


@pytest.mark.parametrize("variant", ["base", "full"])
def test_cfn_lint_finds_no_error_in_any_template(variant: str, request: pytest.FixtureRequest) -> None:
    synthesized: Synthesized = request.getfixturevalue(variant)
    problems = []
    for name in synthesized.stack_names:
        template = synthesized.template_json(name)
        region = REGION if name == "OrgSyncAggregator" else "us-east-1"
        for match in cfnlint.api.lint(json.dumps(template), regions=[region]):
            if match.rule.id not in ACCEPTED_WARNINGS:
                problems.append(f"{name}: {match.rule.id} {match.message} at {'/'.join(map(str, match.path))}")
    assert problems == []
