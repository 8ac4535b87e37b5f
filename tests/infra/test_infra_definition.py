"""The deployed definition is the locally executed one once the function ARNs are substituted.

Both sides are taken to the same fake ARNs: the deployed side by resolving the synthesized ``DefinitionString``
(a string, or Fn::Join / Fn::Sub) and ``DefinitionSubstitutions`` (the functions' ``Fn::GetAtt Arn``) as
CloudFormation and Step Functions would; the local side by ``build_definition()`` substituted the way the local
engine substitutes (``workflow.local.engine.substitute_placeholders``).
"""

from __future__ import annotations

import json
import re
from typing import Any

import cfnlint.api
import pytest
from infra_support import AGGREGATOR, REGION, Synthesized, resources_of

from infra.app import AGGREGATOR_STACK
from workflow.definition import build_definition, substitutions
from workflow.functions import ALL_FUNCTIONS
from workflow.local.engine import substitute_placeholders

PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": REGION,
    "AWS::AccountId": AGGREGATOR,
    "AWS::URLSuffix": "amazonaws.com",
}


FAKE_BUCKET = "fake-inventory-bucket"


def fake_arn(name: str) -> str:
    return f"arn:aws:lambda:{REGION}:{AGGREGATOR}:function:fake-{name}"


def resolve(value: Any, attributes: dict[tuple[str, str], str]) -> Any:
    """Evaluate the intrinsics CDK emits here: Ref (pseudo parameters), Fn::GetAtt, Fn::Join, Fn::Sub."""
    if isinstance(value, list):
        return [resolve(v, attributes) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"Ref"}:
        return attributes.get((value["Ref"], "Ref")) or PSEUDO[value["Ref"]]
    if set(value) == {"Fn::GetAtt"}:
        logical, attribute = value["Fn::GetAtt"]
        return attributes[(logical, attribute)]
    if set(value) == {"Fn::Join"}:
        separator, parts = value["Fn::Join"]
        return separator.join(str(resolve(part, attributes)) for part in parts)
    if set(value) == {"Fn::Sub"}:
        arg = value["Fn::Sub"]
        text, variables = (arg, {}) if isinstance(arg, str) else (arg[0], resolve(arg[1], attributes))
        return re.sub(r"\$\{([^}!]+)\}", lambda m: str(variables.get(m.group(1), PSEUDO.get(m.group(1)))), text)
    return {k: resolve(v, attributes) for k, v in value.items()}


def deployed_definition(template: dict[str, Any]) -> str:
    """The definition Step Functions would run: the template's DefinitionString with the substitutions applied."""
    functions = resources_of(template, "AWS::Lambda::Function")
    by_handler = {spec.handler: spec.name for spec in ALL_FUNCTIONS}
    attributes = {
        (logical, "Arn"): fake_arn(by_handler[r["Properties"]["Handler"]])
        for logical, r in functions.items()
        if r["Properties"]["Handler"] in by_handler
    }
    # A bucket's Ref is its name: every bucket of the stack gets the fake one (only the inventory bucket is
    # substituted into the definition; the equality below fails if another one were).
    attributes.update({(logical, "Ref"): FAKE_BUCKET for logical in resources_of(template, "AWS::S3::Bucket")})
    (state_machine,) = resources_of(template, "AWS::StepFunctions::StateMachine").values()
    props = state_machine["Properties"]
    assert "Definition" not in props and "DefinitionS3Location" not in props
    definition = resolve(props["DefinitionString"], attributes)
    substitutions = resolve(props["DefinitionSubstitutions"], attributes)
    # Step Functions replaces each ${Key} of DefinitionSubstitutions in the definition string.
    for key, arn in substitutions.items():
        definition = definition.replace("${" + key + "}", arn)
    assert isinstance(definition, str)
    return definition


def local_definition() -> str:
    function_arns = {s.substitution_key: fake_arn(s.name) for s in ALL_FUNCTIONS}
    return substitute_placeholders(build_definition(), substitutions(function_arns, FAKE_BUCKET))


@pytest.fixture(scope="module")
def deployed(base: Synthesized) -> str:
    return deployed_definition(base.template_json(AGGREGATOR_STACK))


def test_deployed_definition_equals_the_local_one_after_substitution(deployed: str) -> None:
    assert json.loads(deployed) == json.loads(local_definition())


def test_every_function_arn_is_substituted_and_no_placeholder_is_left(deployed: str) -> None:
    assert "${" not in deployed
    for spec in ALL_FUNCTIONS:
        assert fake_arn(spec.name) in deployed


def test_a_different_definition_would_be_noticed(base: Synthesized) -> None:
    # The comparison is not vacuous: a definition with one state changed no longer matches.
    changed = json.loads(local_definition())
    first = changed["StartAt"]
    changed["States"][first]["Comment"] = "changed"
    assert json.loads(deployed_definition(base.template_json(AGGREGATOR_STACK))) != changed


def test_the_substituted_definition_alone_passes_cfn_lint(deployed: str) -> None:
    # cfn-lint validates a state machine's Definition (ASL schema): give it the substituted document alone.
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Role": {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "states.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    }
                },
            },
            "StateMachine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {"Definition": json.loads(deployed), "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]}},
            },
        },
    }
    matches = cfnlint.api.lint(json.dumps(template), regions=[REGION])
    assert [f"{m.rule.id}: {m.message}" for m in matches] == []


def test_cfn_lint_sees_a_broken_definition(deployed: str) -> None:
    # Negative control: cfn-lint does look inside Definition.
    broken = json.loads(deployed)
    broken["States"][broken["StartAt"]]["Type"] = "NoSuchType"
    template = {
        "Resources": {
            "StateMachine": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {"Definition": broken, "RoleArn": "arn:aws:iam::222222222222:role/x"},
            }
        }
    }
    matches = cfnlint.api.lint(json.dumps(template), regions=[REGION])
    assert any(m.rule.id.startswith("E") for m in matches)
