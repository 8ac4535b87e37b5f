"""The aggregator stack (the bucket's account; orgsync runs here). It only wires the constructs together."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from infra.config import OrgSyncConfig
from infra.constructs.deployed_defaults import DeployedDefaults, DeployedDefaultsProps
from infra.constructs.enrolment import ENROLMENT_EXECUTION_PREFIX, Enrolment, EnrolmentProps
from infra.constructs.inventory_bucket import REPORTS_PREFIX, InventoryBucket, InventoryBucketProps
from infra.constructs.inventory_catalog import InventoryCatalog, InventoryCatalogProps
from infra.constructs.notifications import RunNotifications, RunNotificationsProps
from infra.constructs.rollout_state_machine import RolloutStateMachine, RolloutStateMachineProps
from infra.constructs.schedule import RolloutSchedule, RolloutScheduleProps
from infra.constructs.task_functions import TaskFunctions, TaskFunctionsProps
from lambdas.settings import Settings
from workflow.functions import ALL_FUNCTIONS, RESOLVE_TARGETS


class AggregatorStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: OrgSyncConfig,
        definition: Mapping[str, Any],
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.inventory = InventoryBucket(
            self,
            "Inventory",
            InventoryBucketProps(
                organization_id=config.organization_id,
                inventory_prefix=config.inventory_prefix,
                bucket_name=config.bucket_name,
                kms=config.kms,
                reader_role_arns=config.reader_role_arns,
                regions=config.regions,
            ),
        )
        self.settings = Settings(
            destination_bucket=self.inventory.bucket.bucket_name,
            destination_region=self.region,
            destination_prefix=config.inventory_prefix,
            kms_key_arn=self.inventory.key.key_arn if self.inventory.key else None,
            sync_name=config.sync_name,
            member_role_name=config.member_role_name,
            organization_reader_role_arn=config.organization_reader_role_arn,
            # The execution input is checked against what this stack's IAM and policies name (lambdas.input).
            deployed=True,
            bucket_policy_opt_in_regions=self.inventory.opt_in_regions,
        )
        # The default targets and regions are not in the environment (4 KB at most): a layer for the two readers.
        self.defaults = DeployedDefaults(
            self, "DeployedDefaults", DeployedDefaultsProps(targets=config.targets, regions=config.regions)
        )
        self.functions = TaskFunctions(
            self,
            "Tasks",
            TaskFunctionsProps(
                inventory=self.inventory,
                settings=self.settings,
                organization_id=config.organization_id,
                organization_reader_role_arn=config.organization_reader_role_arn,
                member_role_name=config.member_role_name,
                state_machine_name=config.state_machine_name,
            ),
        )
        self.defaults.give_to(self.functions.functions[RESOLVE_TARGETS.name])
        self.workflow = RolloutStateMachine(
            self,
            "Rollout",
            RolloutStateMachineProps(
                definition=definition,
                functions={spec.substitution_key: self.functions.functions[spec.name] for spec in ALL_FUNCTIONS},
                state_machine_name=config.state_machine_name,
                inventory=self.inventory,
            ),
        )
        self.schedule: RolloutSchedule | None = None
        if config.schedule:
            self.schedule = RolloutSchedule(
                self,
                "Schedule",
                RolloutScheduleProps(
                    state_machine=self.workflow.state_machine,
                    expression=config.schedule,
                    mode=config.schedule_mode,
                    targets=config.targets,
                    regions=config.regions,
                ),
            )
        self.notifications = RunNotifications(
            self,
            "Notifications",
            RunNotificationsProps(
                state_machine_arn=self.workflow.state_machine.state_machine_arn,
                state_machine_name=config.state_machine_name,
                reports_location=f"s3://{self.inventory.bucket.bucket_name}/{REPORTS_PREFIX}",
                email=config.notification_email,
                # the enrolment waiter reports how its attempts ended (infra/constructs/enrolment.py)
                quiet_name_prefix=ENROLMENT_EXECUTION_PREFIX if config.enrolment else None,
            ),
        )
        self.enrolment: Enrolment | None = None
        if config.enrolment:
            self.enrolment = Enrolment(
                self,
                "Enrolment",
                EnrolmentProps(
                    state_machine_arn=self.workflow.state_machine_arn,
                    state_machine_name=config.state_machine_name,
                    management_account_id=config.management_account_id,
                    settings=self.settings,
                    alerts_topic=self.notifications.topic,
                ),
            )
            self.defaults.give_to(self.enrolment.function)
        self.catalog = InventoryCatalog(
            self,
            "Catalog",
            InventoryCatalogProps(
                inventory=self.inventory,
                inventory_prefix=config.inventory_prefix,
                accounts=sorted({config.management_account_id, config.aggregator_account_id}),
                regions=sorted({*config.regions, *filter(None, [config.aggregator_region])}) or [self.region],
            ),
        )
        CfnOutput(self, "StateMachineArn", value=self.workflow.state_machine.state_machine_arn)
        CfnOutput(self, "InventoryBucketName", value=self.inventory.bucket.bucket_name)
        CfnOutput(self, "AlertsTopicArn", value=self.notifications.topic.topic_arn)
        CfnOutput(self, "StateMachineLogGroupName", value=self.workflow.log_group.log_group_name)
        CfnOutput(self, "QueryPolicyArn", value=self.catalog.query_policy.managed_policy_arn)
