"""The rollout state machine: ``workflow.definition.build_definition()`` deployed as is, ARNs substituted.

The document is the one the local engine runs: CDK only fills the ``${<Name>FunctionArn}`` placeholders through
``DefinitionSubstitutions`` (tests/infra prove the deployed definition equals the local one).

Logging: level ALL so every state transition of a run is in CloudWatch Logs, *without* execution data: the
inputs and outputs are already in the execution history (90 days, in the console) and the report in S3, and
with a Distributed Map over thousands of account-regions, data in the logs would multiply the log volume and
copy account names and sync details into a second store with another retention.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk import ArnFormat, Fn, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from infra.constructs.inventory_bucket import RUNS_PREFIX, InventoryBucket
from infra.nag import acknowledge, acknowledge_wildcards
from workflow.definition import substitutions


@dataclass(frozen=True)
class RolloutStateMachineProps:
    definition: Mapping[str, Any]
    """The ASL document with ``${<Name>FunctionArn}`` placeholders."""
    functions: Mapping[str, lambda_.IFunction]
    """The function behind each substitution key (``LambdaFunction.substitution_key``)."""
    state_machine_name: str
    """Fixed, so the role can name its own ARN (Distributed Map child executions) without a cycle."""
    inventory: InventoryBucket
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR


def distributed_map_labels(definition: Mapping[str, Any]) -> list[str]:
    """The ``Label`` of every Distributed Map state of ``definition`` (nested ones included), in document order."""
    labels: list[str] = []
    for state in definition.get("States", {}).values():
        processor = state.get("ItemProcessor") or state.get("Iterator") or {}
        if processor.get("ProcessorConfig", {}).get("Mode") == "DISTRIBUTED":
            if "Label" not in state:
                raise ValueError("every Distributed Map state needs a Label: the role names its Map Runs by it")
            labels.append(str(state["Label"]))
        labels.extend(distributed_map_labels(processor))
        for branch in state.get("Branches", []):
            labels.extend(distributed_map_labels(branch))
    return labels


def stack_id_suffix(stack: Stack) -> str:
    """The last part of the stack's id (``arn:...:stack/<name>/<uuid>``): unique to each creation of the stack.

    Retained resources with a name of their own take it as a suffix, so a stack deployed again after
    ``cdk destroy`` does not collide with what the first one left behind.
    """
    return Fn.select(2, Fn.split("/", stack.stack_id))


def retained_log_group(
    scope: Construct, state_machine_name: str, retention: logs.RetentionDays
) -> logs.LogGroup:
    """A state machine's log group (construct id ``Logs``), kept by ``cdk destroy``.

    Under /aws/vendedlogs/ CloudWatch Logs needs no per-log-group entry in its size-limited resource policy. A fixed
    name would make the next deployment after ``cdk destroy`` fail with "already exists", so the name ends with the
    stack's id (new each time the stack is created).
    """
    return logs.LogGroup(
        scope,
        "Logs",
        log_group_name=Fn.join(
            "", [f"/aws/vendedlogs/states/{state_machine_name}-", stack_id_suffix(Stack.of(scope))]
        ),
        retention=retention,
        removal_policy=RemovalPolicy.RETAIN,
    )


class RolloutStateMachine(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: RolloutStateMachineProps) -> None:
        super().__init__(scope, construct_id)
        stack = Stack.of(self)
        self.state_machine_arn = stack.format_arn(
            service="states",
            resource="stateMachine",
            resource_name=props.state_machine_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        # AWS's "IAM policies for using Distributed Map states" page grants DescribeExecution on
        # execution:<stateMachineName>:* (this state machine's executions); child executions of a Distributed Map
        # are named <stateMachineName>/<mapRunLabel>:<id>, and redriving a Map Run needs RedriveExecution on those.
        self.execution_arns = self._execution_arn(stack, f"{props.state_machine_name}:*")
        self.child_execution_arns = self._execution_arn(stack, f"{props.state_machine_name}/*")
        self.labelled_child_execution_arns = [
            self._execution_arn(stack, f"{props.state_machine_name}/{label}:*")
            for label in distributed_map_labels(props.definition)
        ]
        self.log_group = retained_log_group(self, props.state_machine_name, props.log_retention)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            description="orgsync state machine: invokes the task functions, reads the items file, runs child runs",
        )
        self.state_machine = sfn.StateMachine(
            self,
            "StateMachine",
            state_machine_name=props.state_machine_name,
            definition_body=sfn.DefinitionBody.from_string(json.dumps(props.definition)),
            definition_substitutions=substitutions(
                {key: fn.function_arn for key, fn in props.functions.items()}, props.inventory.bucket.bucket_name
            ),
            role=self.role,
            logs=sfn.LogOptions(destination=self.log_group, level=sfn.LogLevel.ALL, include_execution_data=False),
            tracing_enabled=True,
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"], resources=[fn.function_arn for fn in props.functions.values()]
            )
        )
        # The Distributed Map's ItemReader reads orgsync/runs/<execution>/targets.json, and its ResultWriter writes
        # under orgsync/runs/map-results/<Map Run id>/ (AWS documents PutObject, GetObject and the multipart
        # upload actions for ResultWriter).
        granted = props.inventory.grant_get(self.role, f"{RUNS_PREFIX}*")
        granted += props.inventory.grant_put(self.role, f"{RUNS_PREFIX}*")
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"],
                resources=[props.inventory.bucket.arn_for_objects(f"{RUNS_PREFIX}*")],
            )
        )
        acknowledge_wildcards(
            self.role, granted, "The items file and Map results are per execution: orgsync/runs/<execution>/."
        )
        # A Distributed Map starts, describes and stops child executions of this very state machine.
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["states:StartExecution"], resources=[self.state_machine_arn])
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["states:DescribeExecution", "states:StopExecution"],
                resources=[self.execution_arns, self.child_execution_arns],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["states:RedriveExecution"], resources=self.labelled_child_execution_arns)
        )
        acknowledge_wildcards(
            self.role,
            [self.execution_arns, self.child_execution_arns, *self.labelled_child_execution_arns],
            "Executions of this state machine and its Distributed Map children (<stateMachine>/<mapRunLabel>:<id>) "
            "are named at run time.",
        )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "CloudWatch Logs delivery (logs:CreateLogDelivery and friends) and X-Ray (PutTraceSegments, "
            "GetSamplingRules...) support no resource-level permissions; AWS documents Resource '*' for both.",
        )

    @staticmethod
    def _execution_arn(stack: Stack, resource_name: str) -> str:
        return stack.format_arn(
            service="states",
            resource="execution",
            resource_name=resource_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
