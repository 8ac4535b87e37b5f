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


def alert_rules(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        r["Metadata"]["aws:cdk:path"].split("/")[-2]: r["Properties"]
        for r in resources_of(template, "AWS::Events::Rule").values()
        if r["Properties"].get("EventPattern", {}).get("source") == ["aws.states"]
    }


def test_attempts_do_not_alert_the_enrolment_does(full: Synthesized) -> None:
    template = full.template_json(AGGREGATOR_STACK)
    rules = alert_rules(template)
    assert set(rules) == {"RunEndedBadly", "EnrolmentEndedBadly"}
    # An attempt that finds no member role yet is expected to fail: runs named enrol-... are left to the waiter
    assert rules["RunEndedBadly"]["EventPattern"]["detail"]["name"] == [{"anything-but": {"prefix": "enrol-"}}]
    # The waiter's end alerts, with the last run's cause (its report location)
    pattern = render(rules["EnrolmentEndedBadly"]["EventPattern"])
    assert pattern["detail"] == {
        "status": ["FAILED", "TIMED_OUT", "ABORTED"],
        "stateMachineArn": [f"{STATES}:stateMachine:orgsync-enrolment"],
    }
    (target,) = rules["EnrolmentEndedBadly"]["Targets"]
    (topic,) = resources_of(template, "AWS::SNS::Topic")
    assert target["Arn"] == {"Ref": topic}
    assert render(target["InputTransformer"]["InputPathsMap"])["detail-cause"] == "$.detail.cause"


def test_without_enrolment_every_run_alerts(base: Synthesized) -> None:
    rules = alert_rules(base.template_json(AGGREGATOR_STACK))
    assert set(rules) == {"RunEndedBadly"}
    assert "name" not in rules["RunEndedBadly"]["EventPattern"]["detail"]
