"""Enrolment of new accounts: an account created in, or moved into, the targets gets a rollout of its own.

Organizations events (CloudTrail) are delivered only to the management account's default event bus in
us-east-1, and orgsync runs in the aggregator account. So the path has two halves:

1. management account, us-east-1 (:class:`EnrolmentForwarder`, in the organization reader stack): a rule with
   ``lambdas.enrolment.EVENT_PATTERN`` (``MoveAccount`` and ``CreateAccountResult``) forwards the events to the
   aggregator's default bus (CDK gives the rule a role allowed ``events:PutEvents`` on that bus only);
2. aggregator account, its region (:class:`Enrolment`, in the aggregator stack): the default bus's policy lets
   the management account put ``aws.organizations`` events; a rule with the same pattern (and the management
   account as ``account``) invokes the enrolment function (``lambdas.enrolment.handler``), which starts
   ``{"mode": "rollout", "targets": [<accountId>], "within": <deployed default targets>}``; ResolveTargets
   records an account outside the targets as SKIPPED. Regions and destination are the deployed defaults.
3. the function starts that input on the enrolment waiter (``workflow.enrolment_definition``), not on orgsync's
   state machine directly: the member-role StackSet reaches the new account minutes after the event, so the
   waiter waits, runs the rollout, and runs it again while it finds no member role (ACCESS_DENIED), a bounded
   number of times; the account ends in a definite status either way.

Why a function rather than an input transformer straight to the state machine: EventBridge patterns match
values, not the OU tree, so "moved into a target OU" (nested OUs, OU paths) is decided by the execution
through ``within``, and the function names each execution after the event (a redelivered event starts
nothing twice).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.notifications import ALERT_STATUSES
from infra.constructs.rollout_state_machine import retained_log_group
from infra.constructs.task_functions import add_python_function
from infra.nag import acknowledge, acknowledge_wildcards
from lambdas.enrolment import ENV_STATE_MACHINE_ARN, EVENT_PATTERN, SOURCE
from lambdas.settings import Settings
from workflow.enrolment_definition import ROLLOUT_STATE_MACHINE_SUBSTITUTION_KEY, build_enrolment_definition

#: How the enrolment function names its executions (lambdas.enrolment.execution_name); the waiter names each
#: rollout it starts after its own execution.
ENROLMENT_EXECUTION_PREFIX = "enrol-"

ENROLMENT_HANDLER = "lambdas.enrolment.handler"
ENROLMENT_ROLE_NAME = "OrgSyncEnrolmentRole"


def default_bus_arn(account: str, region: str, partition: str) -> str:
    return f"arn:{partition}:events:{region}:{account}:event-bus/default"


def event_pattern(account: str | None = None) -> events.EventPattern:
    """``lambdas.enrolment.EVENT_PATTERN`` as a CDK pattern (optionally only events of ``account``)."""
    return events.EventPattern(
        source=list(EVENT_PATTERN["source"]),
        detail_type=list(EVENT_PATTERN["detail-type"]),
        detail=dict(EVENT_PATTERN["detail"]),
        account=[account] if account else None,
    )


@dataclass(frozen=True)
class EnrolmentProps:
    state_machine_arn: str
    """orgsync's state machine (the waiter runs it once per attempt)."""
    state_machine_name: str
    management_account_id: str
    settings: Settings
    """The deployed settings of the functions' environment; the default targets (the ``within`` of every
    enrolment) and regions come from the ``DeployedDefaults`` layer the aggregator stack gives the function."""
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR
    alerts_topic: sns.ITopic | None = None
    """Where an enrolment that ends badly is reported (its attempts do not alert: the waiter decides)."""


class Enrolment(Construct):
    """Aggregator side: accept the forwarded events and start one rollout per enrolled account."""

    def __init__(self, scope: Construct, construct_id: str, props: EnrolmentProps) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.bus_policy = events.CfnEventBusPolicy(
            self,
            "AcceptOrganizationsEvents",
            event_bus_name="default",
            statement_id="OrgSyncManagementAccountForwardsOrganizationsEvents",
            statement={
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:{stack.partition}:iam::{props.management_account_id}:root"},
                "Action": "events:PutEvents",
                "Resource": default_bus_arn(stack.account, stack.region, stack.partition),
                "Condition": {"StringEquals": {"events:source": SOURCE}},
            },
        )
        self.waiter = EnrolmentWaiter(self, "Waiter", props)
        made = add_python_function(
            self,
            handler=ENROLMENT_HANDLER,
            description="Starts an orgsync rollout for an account created in or moved into the targets.",
            role_name=ENROLMENT_ROLE_NAME,
            role_description="orgsync enrolment: starts a rollout for an account new to the targets",
            environment={**props.settings.to_env(), ENV_STATE_MACHINE_ARN: self.waiter.state_machine_arn},
            timeout=Duration.seconds(30),
            log_retention=props.log_retention,
        )
        self.function, self.role, self.log_group = made.function, made.role, made.log_group
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["states:StartExecution"], resources=[self.waiter.state_machine_arn])
        )
        self.rule = events.Rule(
            self,
            "AccountJoined",
            description="orgsync enrolment: an account was created or moved (forwarded by the management account)",
            event_pattern=event_pattern(props.management_account_id),
        )
        self.rule.add_target(
            events_targets.LambdaFunction(self.function, retry_attempts=3, max_event_age=Duration.hours(2))
        )


class EnrolmentWaiter(Construct):
    """The state machine of ``workflow.enrolment_definition``, allowed to run orgsync's enrolment executions only."""

    def __init__(self, scope: Construct, construct_id: str, props: EnrolmentProps) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.state_machine_name = f"{props.state_machine_name}-enrolment"
        self.state_machine_arn = stack.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=self.state_machine_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.log_group = retained_log_group(self, self.state_machine_name, props.log_retention)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            description="orgsync enrolment waiter: runs orgsync's state machine for one new account",
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=self.state_machine_name,
            definition_body=sfn.DefinitionBody.from_string(json.dumps(build_enrolment_definition())),
            definition_substitutions={ROLLOUT_STATE_MACHINE_SUBSTITUTION_KEY: props.state_machine_arn},
            role=self.role,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
            tracing_enabled=True,
        )
        # startExecution.sync:2 (Step Functions Developer Guide, "IAM policies for Step Functions nested
        # executions"): start the rollout, describe and stop its executions, and the managed rule through which
        # Step Functions learns that they ended. The enrolment function names every execution enrol-...
        enrolment_executions = stack.format_arn(
            service="states",
            resource="execution",
            resource_name=f"{props.state_machine_name}:{ENROLMENT_EXECUTION_PREFIX}*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        managed_rule = stack.format_arn(
            service="events", resource="rule", resource_name="StepFunctionsGetEventsForStepFunctionsExecutionRule"
        )
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["states:StartExecution"], resources=[props.state_machine_arn])
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["states:DescribeExecution", "states:StopExecution"], resources=[enrolment_executions]
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"], resources=[managed_rule]
            )
        )
        acknowledge_wildcards(
            self.role,
            [enrolment_executions],
            "The enrolment executions are named at run time after the event (enrol-<account>-<event id>-<attempt>).",
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "CloudWatch Logs delivery (logs:CreateLogDelivery and friends) and X-Ray (PutTraceSegments, "
            "GetSamplingRules...) support no resource-level permissions; AWS documents Resource '*' for both.",
        )
        self.alert_rule: events.Rule | None = None
        if props.alerts_topic is not None:
            # The attempts are quiet (an attempt that finds no member role yet is expected to fail): the waiter's
            # own end is what needs a human. Its cause is the last run's, with that run's report location.
            self.alert_rule = events.Rule(
                self,
                "EnrolmentEndedBadly",
                description="orgsync: an enrolment ended FAILED, TIMED_OUT or ABORTED",
                event_pattern=events.EventPattern(
                    source=["aws.states"],
                    detail_type=["Step Functions Execution Status Change"],
                    detail={"status": list(ALERT_STATUSES), "stateMachineArn": [self.state_machine_arn]},
                ),
            )
            name = events.EventField.from_path("$.detail.name")
            status = events.EventField.from_path("$.detail.status")
            cause = events.EventField.from_path("$.detail.cause")
            self.alert_rule.add_target(
                events_targets.SnsTopic(
                    props.alerts_topic,
                    message=events.RuleTargetInput.from_text(f"orgsync enrolment {name} ended {status}: {cause}"),
                )
            )


@dataclass(frozen=True)
class EnrolmentForwarderProps:
    aggregator_account_id: str
    aggregator_region: str


class EnrolmentForwarder(Construct):
    """Management account side (us-east-1): forward account moves and creations to the aggregator's bus."""

    def __init__(self, scope: Construct, construct_id: str, props: EnrolmentForwarderProps) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.target_bus_arn = default_bus_arn(props.aggregator_account_id, props.aggregator_region, stack.partition)
        self.rule = events.Rule(
            self,
            "ForwardAccountEvents",
            description="orgsync enrolment: forwards MoveAccount/CreateAccountResult to the aggregator account",
            event_pattern=event_pattern(),
        )
        self.rule.add_target(
            events_targets.EventBus(events.EventBus.from_event_bus_arn(self, "AggregatorBus", self.target_bus_arn))
        )
