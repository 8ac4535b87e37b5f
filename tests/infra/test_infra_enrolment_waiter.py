"""The enrolment waiter: deployed as workflow.enrolment_definition builds it, allowed to run enrolment rollouts only."""

from __future__ import annotations

import json
from typing import Any

import cfnlint.api
from infra_support import AGGREGATOR, REGION, Synthesized, logical_id, render, resources_of, role_statements

from infra.app import AGGREGATOR_STACK
from workflow.enrolment_definition import ROLLOUT_STATE_MACHINE_SUBSTITUTION_KEY, build_enrolment_definition

STATES = f"arn:<AWS::Partition>:states:{REGION}:{AGGREGATOR}"


def waiter(template: dict[str, Any]) -> dict[str, Any]:
    found = [
        r["Properties"]
        for r in resources_of(template, "AWS::StepFunctions::StateMachine").values()
        if "/Enrolment/Waiter/" in r["Metadata"]["aws:cdk:path"]
    ]
    assert len(found) == 1
    return found[0]


def test_the_waiter_runs_the_built_definition_against_orgsync(full: Synthesized) -> None:
    props = waiter(full.template_json(AGGREGATOR_STACK))
    assert props["StateMachineName"] == "orgsync-enrolment"
    assert json.loads(props["DefinitionString"]) == build_enrolment_definition()
    assert render(props["DefinitionSubstitutions"]) == {
        ROLLOUT_STATE_MACHINE_SUBSTITUTION_KEY: f"{STATES}:stateMachine:orgsync"
    }
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    assert props["LoggingConfiguration"]["IncludeExecutionData"] is False


def test_the_waiter_may_run_and_watch_enrolment_executions_of_orgsync_only(full: Synthesized) -> None:
    template = full.template_json(AGGREGATOR_STACK)
    role = logical_id(template, "AWS::IAM::Role", "/Enrolment/Waiter/Role/")
    statements = [s for s in role_statements(template, role) if s["Resource"] != ["*"]]
    assert statements == [
        {"Action": ["states:StartExecution"], "Resource": [f"{STATES}:stateMachine:orgsync"]},
        {
            "Action": ["states:DescribeExecution", "states:StopExecution"],
            "Resource": [f"{STATES}:execution:orgsync:enrol-*"],
        },
        {
            "Action": ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
            "Resource": [
                f"arn:<AWS::Partition>:events:{REGION}:{AGGREGATOR}:rule/"
                "StepFunctionsGetEventsForStepFunctionsExecutionRule"
            ],
        },
    ]


def test_the_enrolment_function_names_executions_as_the_waiter_role_expects() -> None:
    from infra.constructs.enrolment import ENROLMENT_EXECUTION_PREFIX
    from lambdas.enrolment import execution_name

    assert execution_name({"id": "e-1"}, "200000000009").startswith(ENROLMENT_EXECUTION_PREFIX)


def test_the_waiter_definition_passes_cfn_lint(full: Synthesized) -> None:
    # cfn-lint validates a state machine's definition (E2532) when it is a plain string in the template
    props = waiter(full.template_json(AGGREGATOR_STACK))
    template = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Resources": {
            "Waiter": {
                "Type": "AWS::StepFunctions::StateMachine",
                "Properties": {
                    "RoleArn": "arn:aws:iam::222222222222:role/waiter",
                    "DefinitionString": props["DefinitionString"].replace(
                        "${RolloutStateMachineArn}", "arn:aws:states:eu-west-1:222222222222:stateMachine:orgsync"
                    ),
                },
            }
        },
    }
    matches = cfnlint.api.lint(json.dumps(template), regions=[REGION])
    assert [f"{m.rule.id}: {m.message}" for m in matches] == []
