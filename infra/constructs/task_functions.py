"""The task Lambdas of ``workflow.functions``, each with its own role holding only what it does.

The code asset is the ``lambdas`` package alone (copied to a staging directory, so the handler path stays
``lambdas.handlers.<name>`` and nothing else of the repository is shipped). Each role has a fixed name so
the other accounts can trust it without a lookup: the organization reader trusts ResolveTargets, the member
role trusts ReconcileSync.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.constructs.inventory_bucket import REPORTS_PREFIX, RUNS_PREFIX, InventoryBucket
from infra.nag import acknowledge, acknowledge_wildcards
from lambdas.adoption import ADOPTIONS_PREFIX
from lambdas.leases import LEASES_KEY
from lambdas.observability import POWERTOOLS_ENVIRONMENT
from lambdas.settings import Settings
from workflow.functions import (
    ALL_FUNCTIONS,
    CANARY,
    CHECK_MARKER,
    CLAIM_ACCOUNT_REGIONS,
    MEMORY_MB,
    RECONCILE_SYNC,
    RECORD_FAILURE,
    RELEASE_ACCOUNT_REGIONS,
    RESOLVE_TARGETS,
    SUMMARIZE,
    LambdaFunction,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64

#: AWS's public Powertools for AWS Lambda (Python) layer, published by account 017000801446 in every commercial
#: region as ``AWSLambdaPowertoolsPythonV3-<python version>-<architecture>``; it must match RUNTIME and
#: ARCHITECTURE. The lambdas asset imports aws_lambda_powertools from it (tests/unit/lambdas/test_package_boundary).
POWERTOOLS_LAYER_ACCOUNT = "017000801446"
POWERTOOLS_LAYER_NAME = "AWSLambdaPowertoolsPythonV3-python314-arm64"
POWERTOOLS_LAYER_VERSION = 38


def powertools_layer_arn(region: str) -> str:
    """The Powertools layer version ``add_python_function`` puts on every function, in ``region``.

    >>> powertools_layer_arn("eu-west-1")
    'arn:aws:lambda:eu-west-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:38'
    """
    layer = f"{POWERTOOLS_LAYER_NAME}:{POWERTOOLS_LAYER_VERSION}"
    return f"arn:aws:lambda:{region}:{POWERTOOLS_LAYER_ACCOUNT}:layer:{layer}"

_staged: dict[Path, Path] = {}


def lambda_code_directory(source: Path = REPO_ROOT / "lambdas") -> Path:
    """A directory holding only the ``lambdas`` package (no caches), staged once per process."""
    if source not in _staged:
        staging = Path(tempfile.mkdtemp(prefix="orgsync-lambda-asset-"))
        shutil.copytree(source, staging / "lambdas", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        _staged[source] = staging
    return _staged[source]


def role_name(function: LambdaFunction) -> str:
    """The fixed name of a task function's role (trusted by name from other accounts)."""
    return f"OrgSync{function.name}Role"


@dataclass(frozen=True)
class TaskFunctionsProps:
    inventory: InventoryBucket
    settings: Settings
    """What every function's environment says (Settings.to_env()); without default targets and regions, which
    would exceed Lambda's 4 KB environment (infra/constructs/deployed_defaults.py)."""
    organization_id: str
    organization_reader_role_arn: str
    member_role_name: str
    state_machine_name: str
    """The rollout state machine's fixed name: ClaimAccountRegions describes its executions (those holding leases)."""
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR


@dataclass(frozen=True)
class PythonFunction:
    """What :func:`add_python_function` made: the function, its role and its log group."""

    function: lambda_.Function
    role: iam.Role
    log_group: logs.LogGroup


def add_python_function(
    scope: Construct,
    *,
    handler: str,
    description: str,
    role_name: str,
    role_description: str,
    environment: dict[str, str],
    timeout: Duration,
    log_retention: logs.RetentionDays,
    memory_mb: int = MEMORY_MB,
) -> PythonFunction:
    """Add one of orgsync's Lambdas to ``scope`` (children ``Logs``, ``Role``, ``Powertools``, ``Function``): the
    ``lambdas`` asset on the shared runtime with AWS's Powertools layer, traced, with a fixed-name role that starts
    with nothing but writing its own logs."""
    log_group = logs.LogGroup(scope, "Logs", retention=log_retention, removal_policy=RemovalPolicy.RETAIN)
    role = iam.Role(
        scope,
        "Role",
        role_name=role_name,
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=role_description[:1000],
    )
    role.add_to_policy(
        iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn])
    )
    function = lambda_.Function(
        scope,
        "Function",
        description=description,
        runtime=RUNTIME,
        architecture=ARCHITECTURE,
        handler=handler,
        code=lambda_.Code.from_asset(str(lambda_code_directory())),
        layers=[
            lambda_.LayerVersion.from_layer_version_arn(
                scope, "Powertools", powertools_layer_arn(Stack.of(scope).region)
            )
        ],
        environment={**environment, **POWERTOOLS_ENVIRONMENT},
        role=role,
        log_group=log_group,
        timeout=timeout,
        memory_size=memory_mb,
        tracing=lambda_.Tracing.ACTIVE,
    )
    acknowledge(
        role,
        "AwsSolutions-IAM5[Resource::*]",
        "X-Ray's PutTraceSegments/PutTelemetryRecords support no resource-level permissions (tracing is on).",
    )
    return PythonFunction(function, role, log_group)


class TaskFunction(Construct):
    """One task Lambda with its log group and a role that starts with nothing but writing its own logs."""

    def __init__(
        self, scope: Construct, function: LambdaFunction, settings: Settings, log_retention: logs.RetentionDays
    ) -> None:
        super().__init__(scope, function.name)
        self.spec = function
        made = add_python_function(
            self,
            handler=function.handler,
            description=function.description,
            role_name=role_name(function),
            role_description=f"orgsync {function.name}: {function.description}",
            environment=settings.to_env(),
            timeout=Duration.seconds(function.timeout_seconds),
            memory_mb=function.memory_mb,
            log_retention=log_retention,
        )
        self.function, self.role, self.log_group = made.function, made.role, made.log_group


class TaskFunctions(Construct):
    """The task functions; ``by_name[<LambdaFunction.name>]``, in catalogue order."""

    def __init__(self, scope: Construct, construct_id: str, props: TaskFunctionsProps) -> None:
        super().__init__(scope, construct_id)
        self.by_name: dict[str, TaskFunction] = {
            spec.name: TaskFunction(self, spec, props.settings, props.log_retention) for spec in ALL_FUNCTIONS
        }
        inventory = props.inventory
        runs = f"{RUNS_PREFIX}*"
        reports = f"{REPORTS_PREFIX}*"
        why_reports = "Writes per-execution records under orgsync/reports/<execution>/: the execution name varies."

        # ResolveTargets: reads the organization through the reader role; writes the items file and the
        # outcomes of SKIPPED accounts.
        resolve = self.by_name[RESOLVE_TARGETS.name].role
        resolve.add_to_policy(
            iam.PolicyStatement(actions=["sts:AssumeRole"], resources=[props.organization_reader_role_arn])
        )
        granted = inventory.grant_put(resolve, runs, reports)
        acknowledge_wildcards(resolve, granted, "Writes orgsync/runs/<execution>/targets.json and " + why_reports)
        # ... and lists the adoption records (lambdas.adoption): the key names the adopted sync.
        adoptions = f"{ADOPTIONS_PREFIX}/*"
        inventory.grant_list(resolve, adoptions)
        # ... and reads the bucket and key policies for the destination check (lambdas.destination_policy).
        self._grant_read_policies(resolve, inventory)

        # ClaimAccountRegions: reads the run's items file; reads and conditionally writes the one lease table
        # (ListBucket on that key alone, so that its absence is a 404, not a 403); describes the executions that
        # hold leases, all of this state machine (lambdas.leases). ReleaseAccountRegions: the lease table only.
        claim = self.by_name[CLAIM_ACCOUNT_REGIONS.name].role
        items_files = inventory.grant_get(claim, f"{RUNS_PREFIX}*/targets.json")
        acknowledge_wildcards(claim, items_files, "Reads orgsync/runs/<execution>/targets.json: the execution varies.")
        for role in (claim, self.by_name[RELEASE_ACCOUNT_REGIONS.name].role):
            inventory.grant_get(role, LEASES_KEY)
            inventory.grant_put(role, LEASES_KEY)
            inventory.grant_list(role, LEASES_KEY)
        executions = Stack.of(self).format_arn(
            service="states",
            resource="execution",
            resource_name=f"{props.state_machine_name}:*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )
        claim.add_to_policy(iam.PolicyStatement(actions=["states:DescribeExecution"], resources=[executions]))
        acknowledge_wildcards(
            claim, [executions], "A lease names the execution of this state machine that holds it: known at run time."
        )

        # ReconcileSync: only assumes the member role, in any account of the organization (the account is the
        # item's, unknown until run time).
        reconcile = self.by_name[RECONCILE_SYNC.name].role
        member_role_arns = f"arn:{Stack.of(self).partition}:iam::*:role/{props.member_role_name}"
        reconcile.add_to_policy(
            iam.PolicyStatement(
                actions=["sts:AssumeRole"],
                resources=[member_role_arns],
                conditions={"StringEquals": {"aws:ResourceOrgID": props.organization_id}},
            )
        )
        acknowledge_wildcards(
            reconcile,
            [member_role_arns],
            "The member role has one name in every account; the account is the item's, known only at run time. "
            "aws:ResourceOrgID keeps it inside the organization.",
        )

        # CheckMarker: reads the markers (ListBucket so a missing marker is a 404, not a 403), writes outcomes.
        check = self.by_name[CHECK_MARKER.name].role
        granted = inventory.grant_get(check, inventory.marker_keys)
        inventory.grant_list(check, inventory.marker_prefixes)
        acknowledge_wildcards(check, granted, "One marker per account: accountid=<id> is the item's account.")
        granted = inventory.grant_put(check, reports)
        acknowledge_wildcards(check, granted, why_reports)
        # ... records an adoption (rollout, "adopt": true) and removes it when teardown removed the sync.
        adoption_keys = [inventory.bucket.arn_for_objects(adoptions)]
        check.add_to_policy(iam.PolicyStatement(actions=["s3:PutObject", "s3:DeleteObject"], resources=adoption_keys))
        acknowledge_wildcards(check, adoption_keys, "One record per adopted sync: orgsync/adoptions/<prefix>/<account>/"
                              "<region>/<sync>.json, known only at run time.")

        # Canary: one account-region before the Map (lambdas.canary): what ReconcileSync, CheckMarker and
        # RecordFailure may do, for that one item, plus reading the policies to name the statements to add.
        canary = self.by_name[CANARY.name].role
        canary.add_to_policy(
            iam.PolicyStatement(
                actions=["sts:AssumeRole"],
                resources=[member_role_arns],
                conditions={"StringEquals": {"aws:ResourceOrgID": props.organization_id}},
            )
        )
        acknowledge_wildcards(canary, [member_role_arns], "The canary's account is the input's or the aggregator's, "
                              "known only at run time. aws:ResourceOrgID keeps it inside the organization.")
        granted = inventory.grant_get(canary, inventory.marker_keys)
        inventory.grant_list(canary, inventory.marker_prefixes)
        acknowledge_wildcards(canary, granted, "One marker per account: accountid=<id> is the canary's account.")
        acknowledge_wildcards(canary, inventory.grant_put(canary, reports), why_reports)
        canary.add_to_policy(iam.PolicyStatement(actions=["s3:PutObject", "s3:DeleteObject"], resources=adoption_keys))
        acknowledge_wildcards(canary, adoption_keys, "One record per adopted sync, known only at run time.")
        self._grant_read_policies(canary, inventory)

        # RecordFailure: writes the outcome of a failed account-region.
        record = self.by_name[RECORD_FAILURE.name].role
        acknowledge_wildcards(record, inventory.grant_put(record, reports), why_reports)

        # Summarize: lists and reads the outcomes, reads the items file (an item without a record is reported
        # FAILED), writes the report; reads InstanceInformation and lists the inventory prefix for the coverage
        # view (accountid= prefixes, stale instances).
        summarize = self.by_name[SUMMARIZE.name].role
        inventory.grant_list(summarize, reports, f"{props.inventory.props.inventory_prefix}/*")
        granted = inventory.grant_get(summarize, reports, runs, inventory.instance_information_keys)
        acknowledge_wildcards(
            summarize,
            granted,
            "Reads the execution's outcome records and items file, and the InstanceInformation of every account.",
        )
        acknowledge_wildcards(summarize, inventory.grant_put(summarize, reports), why_reports)

    @staticmethod
    def _grant_read_policies(role: iam.IRole, inventory: InventoryBucket) -> None:
        """s3:GetBucketPolicy on the bucket and, with SSE-KMS, kms:GetKeyPolicy and kms:DescribeKey on its key."""
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:GetBucketPolicy"], resources=[inventory.bucket.bucket_arn])
        )
        if inventory.key is not None:
            role.add_to_principal_policy(
                iam.PolicyStatement(actions=["kms:GetKeyPolicy", "kms:DescribeKey"], resources=[inventory.key.key_arn])
            )

    @property
    def functions(self) -> dict[str, lambda_.Function]:
        return {name: task.function for name, task in self.by_name.items()}
