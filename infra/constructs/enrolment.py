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

Why a function rather than an input transformer straight to the state machine: EventBridge patterns match
values, not the OU tree, so "moved into a target OU" (nested OUs, OU paths) is decided by the execution
through ``within``, and the function names each execution after the event (a redelivered event starts
nothing twice).
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.constructs.task_functions import add_python_function
from lambdas.enrolment import ENV_STATE_MACHINE_ARN, EVENT_PATTERN, SOURCE
from lambdas.settings import Settings

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
    management_account_id: str
    settings: Settings
    """The deployed settings of the functions' environment; the default targets (the ``within`` of every
    enrolment) and regions come from the ``DeployedDefaults`` layer the aggregator stack gives the function."""
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR


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
        made = add_python_function(
            self,
            handler=ENROLMENT_HANDLER,
            description="Starts an orgsync rollout for an account created in or moved into the targets.",
            role_name=ENROLMENT_ROLE_NAME,
            role_description="orgsync enrolment: starts a rollout for an account new to the targets",
            environment={**props.settings.to_env(), ENV_STATE_MACHINE_ARN: props.state_machine_arn},
            timeout=Duration.seconds(30),
            log_retention=props.log_retention,
        )
        self.function, self.role, self.log_group = made.function, made.role, made.log_group
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["states:StartExecution"], resources=[props.state_machine_arn])
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
