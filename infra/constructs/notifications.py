"""Notifications: an encrypted SNS topic and a rule for runs of the state machine that end badly.

Only the state machine's own executions are matched (``execution:<name>:<run>``), not the Distributed Map's
child executions (``execution:<name>/<label>:<id>``), whose failures the run already records and reports.
"""

from __future__ import annotations

from dataclasses import dataclass

import jsii
from aws_cdk import ArnFormat, Aspects, IAspect, RemovalPolicy, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as events_targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct, IConstruct

#: A run ends in one of these when something needs a human (ABORTED: someone stopped it, or it was redriven).
ALERT_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")


@dataclass(frozen=True)
class RunNotificationsProps:
    state_machine_arn: str
    state_machine_name: str
    reports_location: str
    """Where the reports are (s3://bucket/orgsync/reports/), quoted in the message."""
    email: str | None = None
    quiet_name_prefix: str | None = None
    """Runs whose name starts with this do not alert: another state machine reports how they ended (the
    enrolment waiter, whose attempts may find no member role yet and are expected to fail)."""


class RunNotifications(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: RunNotificationsProps) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        # A customer managed key: the AWS managed SNS key cannot let EventBridge publish. The SnsTopic target
        # below adds the key policy statement that lets events.amazonaws.com use it.
        self.key = kms.Key(
            self,
            "Key",
            description="orgsync notifications topic",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
        )
        self.topic = sns.Topic(self, "Topic", display_name="orgsync run alerts", master_key=self.key, enforce_ssl=True)
        if props.email:
            self.topic.add_subscription(subscriptions.EmailSubscription(props.email))

        own_executions = stack.format_arn(
            service="states",
            resource="execution",
            resource_name=f"{props.state_machine_name}:",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        self.event_pattern = events.EventPattern(
            source=["aws.states"],
            detail_type=["Step Functions Execution Status Change"],
            detail={
                "status": list(ALERT_STATUSES),
                "stateMachineArn": [props.state_machine_arn],
                "executionArn": [{"prefix": own_executions}],
                **(
                    {"name": [{"anything-but": {"prefix": props.quiet_name_prefix}}]} if props.quiet_name_prefix else {}
                ),
            },
        )
        self.rule = events.Rule(
            self,
            "RunEndedBadly",
            description="orgsync: a run ended FAILED, TIMED_OUT or ABORTED",
            event_pattern=self.event_pattern,
        )
        name = events.EventField.from_path("$.detail.name")
        status = events.EventField.from_path("$.detail.status")
        execution_arn = events.EventField.from_path("$.detail.executionArn")
        region = events.EventField.from_path("$.region")
        self.rule.add_target(
            events_targets.SnsTopic(
                self.topic,
                message=events.RuleTargetInput.from_text(
                    f"orgsync run {name} ended {status}. "
                    f"Report: {props.reports_location}{name}/report.json. "
                    f"Console: https://{region}.console.aws.amazon.com/states/home?region={region}"
                    f"#/v2/executions/details/{execution_arn}"
                ),
            )
        )
        narrow_key_policy(self.key)


def narrow_key_policy(key: kms.Key) -> None:
    """Grant EventBridge ``kms:GenerateDataKey``, not the ``kms:GenerateDataKey*`` the SnsTopic target adds.

    A service publishing to an encrypted topic needs ``kms:GenerateDataKey`` and ``kms:Decrypt`` on its key (the
    key policy AWS's guides give service publishers); the ``*`` would also allow the key-pair and
    without-plaintext variants, which nothing here uses. The key policy is replaced by the same document with
    that one action narrowed (CDK builds the statement inside the target, out of reach otherwise).
    """
    Aspects.of(key).add(_NarrowGenerateDataKey())


@jsii.implements(IAspect)
class _NarrowGenerateDataKey:
    """Applied when the app is synthesized, after every construct has added its statements to the key policy."""

    def visit(self, node: IConstruct) -> None:
        if not isinstance(node, kms.CfnKey):
            return
        document = Stack.of(node).resolve(node.key_policy)
        for statement in document["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            statement["Action"] = ["kms:GenerateDataKey" if a == "kms:GenerateDataKey*" else a for a in actions]
        node.add_property_override("KeyPolicy", document)
