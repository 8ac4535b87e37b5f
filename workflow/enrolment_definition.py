"""The enrolment waiter: a small state machine that rolls out one new account once its member role is there.

An account moved into (or created in) a target OU sets off two things at once: the enrolment event, and the
member-role StackSet's automatic deployment to that account, which takes minutes (longer when StackSets is
busy). Started at once, the rollout finds no member role and reports ACCESS_DENIED, and nothing would try
again. So the enrolment function starts this state machine instead, with the rollout's input::

    Wait for the member role   (WAITS[attempt] seconds: 2, 5, 10, 20, 30 minutes)
    Roll out the account       orgsync's state machine, startExecution.sync:2, named <this execution>-<attempt>
        succeeded ───────────────────────────────────────────────► Enrolled
        failed ─► Rollout incomplete? ── other error ────────────► Enrolment failed (the run's error and cause)
                        └─ RolloutIncomplete ─► Member role not there yet?
                              ACCESS_DENIED, attempts left ─► Count the attempt ─► Wait for the member role
                              else ─────────────────────────────► Enrolment needs attention (the run's error and cause)

Every run is an ordinary orgsync execution with its own report; the last one is the account's definite status
(CREATED, IN_SYNC, SKIPPED when outside the targets, or what needs attention). The wait is bounded: at most
``len(WAITS)`` runs, ``sum(WAITS)`` seconds of waiting (67 minutes). The run's failure reaches this machine as
``States.TaskFailed`` whose cause is the run's DescribeExecution (``Error``, ``Cause``); orgsync's
``RolloutIncomplete`` cause is its summary as JSON (``lambdas.report.failure_cause``), so ``byStatus`` tells
whether the member role was missing.

Example::

    >>> definition = build_enrolment_definition()
    >>> definition["StartAt"], definition["States"][ROLL_OUT]["Parameters"]["StateMachineArn"]
    ('Begin', '${RolloutStateMachineArn}')
"""

from __future__ import annotations

from typing import Any

from lambdas.errors import RolloutIncomplete
from lambdas.models import Status

#: The placeholder of orgsync's state machine ARN (DefinitionSubstitutions in CDK, substitutions locally).
ROLLOUT_STATE_MACHINE_SUBSTITUTION_KEY = "RolloutStateMachineArn"
#: Seconds to wait before each run. StackSets deploys a single account's role in minutes; the later waits
#: cover a StackSets queue busy with other operations. Bounded: five runs and 67 minutes of waiting at most.
WAITS: tuple[int, ...] = (120, 300, 600, 1200, 1800)

BEGIN = "Begin"
NEXT_WAIT = "Next wait"
WAIT = "Wait for the member role"
ROLL_OUT = "Roll out the account"
READ_RUN = "Read the run"
INCOMPLETE = "Rollout incomplete?"
READ_SUMMARY = "Read the summary"
ROLE_MISSING = "Member role not there yet?"
COUNT = "Count the attempt"
ENROLLED = "Enrolled"
FAILED = "Enrolment failed"
NEEDS_ATTENTION = "Enrolment needs attention"

_COUNTERS = {"attempt.$": "$.attempt", "waits.$": "$.waits"}


def build_enrolment_definition() -> dict[str, Any]:
    """The ASL document; ``${RolloutStateMachineArn}`` is orgsync's state machine."""
    placeholder = "${" + ROLLOUT_STATE_MACHINE_SUBSTITUTION_KEY + "}"
    fail_with_the_run = {"Type": "Fail", "ErrorPath": "$.run.Error", "CausePath": "$.run.Cause"}
    return {
        "Comment": "orgsync enrolment: roll out one new account once the member-role StackSet has reached it",
        "StartAt": BEGIN,
        "States": {
            BEGIN: {
                "Type": "Pass",
                "Comment": "The execution's input is the rollout's input; it is read again from $$.Execution.Input.",
                "Parameters": {"attempt": 0, "waits": list(WAITS)},
                "Next": NEXT_WAIT,
            },
            NEXT_WAIT: {
                "Type": "Pass",
                "Parameters": {**_COUNTERS, "seconds.$": "States.ArrayGetItem($.waits, $.attempt)"},
                "Next": WAIT,
            },
            WAIT: {"Type": "Wait", "SecondsPath": "$.seconds", "Next": ROLL_OUT},
            ROLL_OUT: {
                "Type": "Task",
                "Resource": "arn:aws:states:::states:startExecution.sync:2",
                "Parameters": {
                    "StateMachineArn": placeholder,
                    "Input.$": "$$.Execution.Input",
                    "Name.$": "States.Format('{}-{}', $$.Execution.Name, $.attempt)",
                },
                "ResultSelector": {"Output.$": "$.Output"},
                "OutputPath": "$.Output",
                "Catch": [{"ErrorEquals": ["States.TaskFailed"], "ResultPath": "$.failure", "Next": READ_RUN}],
                "Next": ENROLLED,
            },
            READ_RUN: {
                "Type": "Pass",
                "Parameters": {**_COUNTERS, "run.$": "States.StringToJson($.failure.Cause)"},
                "Next": INCOMPLETE,
            },
            INCOMPLETE: {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.run.Error", "StringEquals": RolloutIncomplete.__name__, "Next": READ_SUMMARY}
                ],
                "Default": FAILED,
            },
            READ_SUMMARY: {
                "Type": "Pass",
                "Parameters": {**_COUNTERS, "run.$": "$.run", "cause.$": "States.StringToJson($.run.Cause)"},
                "Next": ROLE_MISSING,
            },
            ROLE_MISSING: {
                "Type": "Choice",
                "Choices": [
                    {
                        "And": [
                            {"Variable": f"$.cause.summary.byStatus.{Status.ACCESS_DENIED}", "IsPresent": True},
                            {"Variable": "$.attempt", "NumericLessThan": len(WAITS) - 1},
                        ],
                        "Next": COUNT,
                    }
                ],
                "Default": NEEDS_ATTENTION,
            },
            COUNT: {
                "Type": "Pass",
                "Parameters": {"attempt.$": "States.MathAdd($.attempt, 1)", "waits.$": "$.waits"},
                "Next": NEXT_WAIT,
            },
            ENROLLED: {"Type": "Succeed"},
            FAILED: fail_with_the_run,
            NEEDS_ATTENTION: fail_with_the_run,
        },
    }
