"""The EventBridge Scheduler schedule that starts orgsync on its own: a verify run by default, daily.

Set ``scheduleMode`` to ``rollout`` to enrol accounts new to a target OU (a rollout is idempotent). The input
names the deployed defaults explicitly so an execution started by the schedule reads the same in the console.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from lambdas.models import Mode


@dataclass(frozen=True)
class RolloutScheduleProps:
    state_machine: sfn.IStateMachine
    expression: str
    """An EventBridge Scheduler rate() or cron() expression (UTC)."""
    mode: Mode
    targets: Sequence[str] = ()
    regions: Sequence[str] = ()


def schedule_input(mode: Mode, target_ids: Sequence[str], regions: Sequence[str]) -> dict[str, Any]:
    """The execution input of a scheduled run; empty lists are left out (the functions' defaults apply)."""
    data: dict[str, Any] = {"mode": str(mode)}
    if target_ids:
        data["targets"] = list(target_ids)
    if regions:
        data["regions"] = list(regions)
    return data


class RolloutSchedule(Construct):
    def __init__(self, scope: Construct, construct_id: str, props: RolloutScheduleProps) -> None:
        super().__init__(scope, construct_id)
        self.input = schedule_input(props.mode, props.targets, props.regions)
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            description=f"Starts an orgsync {props.mode} run",
            schedule=scheduler.ScheduleExpression.expression(props.expression),
            # The target role (created by CDK) may only start this state machine.
            target=targets.StepFunctionsStartExecution(
                props.state_machine,
                input=scheduler.ScheduleTargetInput.from_object(self.input),
                retry_attempts=3,
                max_event_age=Duration.hours(1),
            ),
        )
