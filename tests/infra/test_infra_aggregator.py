"""The aggregator stack: the bucket and its policy, each function's role exactly, state machine, schedule, alerts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk.assertions import Match
from infra_support import (
    AGGREGATOR,
    MANAGEMENT,
    ORG_ID,
    REGION,
    Synthesized,
    logical_id,
    render,
    resources_of,
    role_statements,
)

from infra.app import AGGREGATOR_STACK
from infra.constructs.rollout_state_machine import distributed_map_labels
from workflow.definition import DESTINATION_BUCKET_SUBSTITUTION_KEY, PROCESS, build_definition
from workflow.functions import ALL_FUNCTIONS, LambdaFunction
from workflow.local.bucket_policy import ssm_write_denial

LOGS = ["logs:CreateLogStream", "logs:PutLogEvents"]
XRAY = {"Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "Resource": ["*"]}


def canonical(statements: list[dict[str, Any]]) -> list[str]:
    return sorted(json.dumps(s, sort_keys=True) for s in statements)


@pytest.fixture(scope="module")
def base_json(base: Synthesized) -> dict[str, Any]:
    return base.template_json(AGGREGATOR_STACK)


@pytest.fixture(scope="module")
def full_json(full: Synthesized) -> dict[str, Any]:
    return full.template_json(AGGREGATOR_STACK)


def ids(template: dict[str, Any]) -> dict[str, str]:
    """Logical ids the expectations refer to."""
    found = {
        "bucket": logical_id(template, "AWS::S3::Bucket", "/Inventory/Bucket/"),
        "logs_bucket": logical_id(template, "AWS::S3::Bucket", "/Inventory/AccessLogs/"),
    }
    keys = [
        k for k, r in resources_of(template, "AWS::KMS::Key").items() if "/Inventory/" in r["Metadata"]["aws:cdk:path"]
    ]
    if keys:
        found["key"] = keys[0]
    for spec in ALL_FUNCTIONS:
        found[f"{spec.name}.role"] = logical_id(template, "AWS::IAM::Role", f"/Tasks/{spec.name}/Role/")
        found[f"{spec.name}.logs"] = logical_id(template, "AWS::Logs::LogGroup", f"/Tasks/{spec.name}/Logs/")
        found[f"{spec.name}.function"] = logical_id(template, "AWS::Lambda::Function", f"/Tasks/{spec.name}/Function/")
    return found


# --- the bucket --------------------------------------------------------------------------------------------


def test_inventory_bucket_is_encrypted_private_tls_only_versioned_and_retained(base: Synthesized) -> None:
    template = base.template(AGGREGATOR_STACK)
    template.has_resource(
        "AWS::S3::Bucket",
        {
            "DeletionPolicy": "Retain",
            "UpdateReplacePolicy": "Retain",
            "Properties": Match.object_like(
                {
                    "BucketEncryption": {
                        "ServerSideEncryptionConfiguration": [
                            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                        ]
                    },
                    "PublicAccessBlockConfiguration": {
                        "BlockPublicAcls": True,
                        "BlockPublicPolicy": True,
                        "IgnorePublicAcls": True,
                        "RestrictPublicBuckets": True,
                    },
                    "VersioningConfiguration": {"Status": "Enabled"},
                    "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                    "LoggingConfiguration": {
                        "DestinationBucketName": Match.any_value(),
                        "LogFilePrefix": "inventory-bucket/",
                    },
                    "LifecycleConfiguration": Match.any_value(),
                }
            ),
        },
    )


def test_no_bucket_has_object_lock_and_every_bucket_is_retained(base_json: dict[str, Any]) -> None:
    buckets = resources_of(base_json, "AWS::S3::Bucket")
    assert len(buckets) == 3  # the inventory, its access logs, the Athena query results
    for bucket in buckets.values():
        assert "ObjectLockEnabled" not in bucket["Properties"]
        assert "ObjectLockConfiguration" not in bucket["Properties"]
        assert bucket["DeletionPolicy"] == "Retain"


def test_bucket_policy_is_tls_only_plus_exactly_the_documented_ssm_statements(base_json: dict[str, Any]) -> None:
    i = ids(base_json)
    policy = next(
        p
        for p in resources_of(base_json, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": i["bucket"]}
    )
    bucket_arn = f"<{i['bucket']}.Arn>"
    ssm = {"Service": "ssm.amazonaws.com"}
    writes = f"{bucket_arn}/default/*/accountid=*/*"
    assert render(policy["Properties"]["PolicyDocument"]["Statement"]) == [
        {
            "Action": "s3:*",
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
        },
        {
            "Action": "s3:GetBucketAcl",
            "Effect": "Allow",
            "Principal": ssm,
            "Resource": bucket_arn,
            "Sid": "SsmBucketPermissionsCheck",
        },
        {
            "Action": "s3:PutObject",
            "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceOrgID": ORG_ID}},
            "Effect": "Allow",
            "Principal": ssm,
            "Resource": writes,
            "Sid": "SsmBucketDelivery",
        },
        {
            "Action": "s3:PutObjectTagging",
            "Condition": {"StringEquals": {"aws:SourceOrgID": ORG_ID}},
            "Effect": "Allow",
            "Principal": ssm,
            "Resource": writes,
            "Sid": "SsmBucketDeliveryTagging",
        },
    ]


def deployed_bucket_policy(template: dict[str, Any], bucket_name: str) -> dict[str, Any]:
    i = ids(template)
    policy = next(
        p
        for p in resources_of(template, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": i["bucket"]}
    )
    text = json.dumps(render(policy["Properties"]["PolicyDocument"]))
    document: dict[str, Any] = json.loads(text.replace(f"<{i['bucket']}.Arn>", f"arn:aws:s3:::{bucket_name}"))
    return document


@pytest.mark.parametrize(
    ("region", "organization", "allowed"), [("us-east-1", ORG_ID, True), ("eu-west-1", "o-zzzzzzzzzz", False)]
)
def test_the_local_engine_judges_the_deployed_policy_like_the_documented_one(
    base_json: dict[str, Any], region: str, organization: str, allowed: bool
) -> None:
    # The local engine's bucket policy evaluator decides whether SSM may write its marker: the deployed policy
    # must let the organization's accounts write, and nobody else's.
    document = deployed_bucket_policy(base_json, "acme-inventory")
    denial = ssm_write_denial(document, "acme-inventory", "default", "200000000001", region, organization)
    assert (denial is None) is allowed, denial


def test_opt_in_default_regions_add_ssms_regional_principal(full_json: dict[str, Any]) -> None:
    # af-south-1 is an opt-in region among the full context's regions: SSM writes there as its regional principal.
    document = deployed_bucket_policy(full_json, "acme-org-inventory")
    denial = ssm_write_denial(document, "acme-org-inventory", "inventory/ssm", "200000000001", "af-south-1", ORG_ID)
    assert denial is None
    assert (
        ssm_write_denial(document, "acme-org-inventory", "inventory/ssm", "200000000001", "eu-west-1", ORG_ID) is None
    )


def test_kms_on_request_with_rotation_ssm_and_reader_statements(full: Synthesized, full_json: dict[str, Any]) -> None:
    i = ids(full_json)
    key = full_json["Resources"][i["key"]]
    assert key["DeletionPolicy"] == "Retain"
    assert key["Properties"]["EnableKeyRotation"] is True
    statements = render(key["Properties"]["KeyPolicy"]["Statement"])
    assert statements[1:] == [
        {
            "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
            "Condition": {"StringEquals": {"aws:SourceOrgID": ORG_ID}},
            "Effect": "Allow",
            "Principal": {"Service": ["ssm.amazonaws.com", "ssm.af-south-1.amazonaws.com"]},
            "Resource": "*",
            "Sid": "SsmResourceDataSyncOfTheOrganization",
        },
        {
            "Action": "kms:Decrypt",
            "Condition": {"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}},
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::333333333333:role/AthenaReader"},
            "Resource": "*",
            "Sid": "InventoryReadersDecryptThroughS3",
        },
    ]
    full.template(AGGREGATOR_STACK).has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketName": "acme-org-inventory",
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {
                        "BucketKeyEnabled": True,
                        "ServerSideEncryptionByDefault": {
                            "KMSMasterKeyID": {"Fn::GetAtt": [i["key"], "Arn"]},
                            "SSEAlgorithm": "aws:kms",
                        },
                    }
                ]
            },
        },
    )


# --- the functions -----------------------------------------------------------------------------------------


def expected_statements(template: dict[str, Any], spec: LambdaFunction, prefix: str, kms: bool) -> list[dict[str, Any]]:
    i = ids(template)
    bucket = f"<{i['bucket']}.Arn>"
    own = [{"Action": LOGS, "Resource": [f"<{i[spec.name + '.logs']}.Arn>"]}, XRAY]
    put_reports = {"Action": ["s3:PutObject"], "Resource": [f"{bucket}/orgsync/reports/*"]}
    encrypt = [{"Action": ["kms:GenerateDataKey"], "Resource": [f"<{i['key']}.Arn>"]}] if kms else []
    decrypt = [{"Action": ["kms:Decrypt"], "Resource": [f"<{i['key']}.Arn>"]}] if kms else []
    member_role = "AcmeOrgSyncMember" if kms else "OrgSyncMemberRole"
    # the destination check (lambdas.destination_policy) reads the bucket policy and, with SSE-KMS, the key policy
    read_policies = [{"Action": ["s3:GetBucketPolicy"], "Resource": [bucket]}] + (
        [{"Action": ["kms:GetKeyPolicy", "kms:DescribeKey"], "Resource": [f"<{i['key']}.Arn>"]}] if kms else []
    )
    # The lease table (lambdas.leases): one key, named; ListBucket on that key alone makes its absence a 404
    lease_key = "orgsync/leases/account-regions.json"
    leases = [
        {"Action": ["s3:GetObject"], "Resource": [f"{bucket}/{lease_key}"]},
        {"Action": ["s3:PutObject"], "Resource": [f"{bucket}/{lease_key}"]},
        *encrypt,
        {"Action": ["s3:ListBucket"], "Condition": {"StringLike": {"s3:prefix": [lease_key]}}, "Resource": [bucket]},
    ]
    sm_arn = f"arn:<AWS::Partition>:states:{REGION}:{AGGREGATOR}"
    by_name: dict[str, list[dict[str, Any]]] = {
        "ClaimAccountRegions": [
            {"Action": ["s3:GetObject"], "Resource": [f"{bucket}/orgsync/runs/*/targets.json"]},
            *decrypt,
            *leases,
            # the executions holding leases: this state machine's only
            {"Action": ["states:DescribeExecution"], "Resource": [f"{sm_arn}:execution:orgsync:*"]},
        ],
        "ReleaseAccountRegions": [*leases, *decrypt],
        "ResolveTargets": [
            {"Action": ["sts:AssumeRole"], "Resource": [f"arn:aws:iam::{MANAGEMENT}:role/OrgSyncOrganizationReader"]},
            {"Action": ["s3:PutObject"], "Resource": [f"{bucket}/orgsync/runs/*", f"{bucket}/orgsync/reports/*"]},
            *encrypt,
            # the adoption records (issue 10): listed, never read, by key
            {"Action": ["s3:ListBucket"], "Condition": {"StringLike": {"s3:prefix": ["orgsync/adoptions/*"]}},
             "Resource": [bucket]},
            *read_policies,
        ],
        "ReconcileSync": [
            {
                "Action": ["sts:AssumeRole"],
                "Condition": {"StringEquals": {"aws:ResourceOrgID": ORG_ID}},
                "Resource": [f"arn:<AWS::Partition>:iam::*:role/{member_role}"],
            }
        ],
        "CheckMarker": [
            {
                "Action": ["s3:GetObject"],
                "Resource": [f"{bucket}/{prefix}/AWS:InstanceInformation/accountid=*/test.json"],
            },
            *decrypt,
            {
                "Action": ["s3:ListBucket"],
                "Condition": {"StringLike": {"s3:prefix": [f"{prefix}/AWS:InstanceInformation/accountid=*"]}},
                "Resource": [bucket],
            },
            put_reports,
            *encrypt,
            # an adoption recorded by a rollout, removed by the teardown that removed the sync
            {"Action": ["s3:PutObject", "s3:DeleteObject"], "Resource": [f"{bucket}/orgsync/adoptions/*"]},
        ],
        "RecordFailure": [put_reports, *encrypt],
        # the canary (issue 12): ReconcileSync's, CheckMarker's and RecordFailure's for one item, and the policies
        "Canary": [
            {
                "Action": ["sts:AssumeRole"],
                "Condition": {"StringEquals": {"aws:ResourceOrgID": ORG_ID}},
                "Resource": [f"arn:<AWS::Partition>:iam::*:role/{member_role}"],
            },
            {
                "Action": ["s3:GetObject"],
                "Resource": [f"{bucket}/{prefix}/AWS:InstanceInformation/accountid=*/test.json"],
            },
            *decrypt,
            {
                "Action": ["s3:ListBucket"],
                "Condition": {"StringLike": {"s3:prefix": [f"{prefix}/AWS:InstanceInformation/accountid=*"]}},
                "Resource": [bucket],
            },
            put_reports,
            *encrypt,
            {"Action": ["s3:PutObject", "s3:DeleteObject"], "Resource": [f"{bucket}/orgsync/adoptions/*"]},
            *read_policies,
        ],
        "Summarize": [
            {
                "Action": ["s3:ListBucket"],
                "Condition": {"StringLike": {"s3:prefix": ["orgsync/reports/*", f"{prefix}/*"]}},
                "Resource": [bucket],
            },
            {
                "Action": ["s3:GetObject"],
                "Resource": [
                    f"{bucket}/orgsync/reports/*",
                    f"{bucket}/orgsync/runs/*",
                    f"{bucket}/{prefix}/AWS:InstanceInformation/*",
                ],
            },
            *decrypt,
            put_reports,
            *encrypt,
        ],
    }
    return own + by_name[spec.name]


@pytest.mark.parametrize("spec", ALL_FUNCTIONS, ids=lambda s: s.name)
def test_each_function_role_holds_exactly_its_own_permissions(base_json: dict[str, Any], spec: LambdaFunction) -> None:
    role = ids(base_json)[f"{spec.name}.role"]
    assert canonical(role_statements(base_json, role)) == canonical(
        expected_statements(base_json, spec, "default", False)
    )


@pytest.mark.parametrize("spec", ALL_FUNCTIONS, ids=lambda s: s.name)
def test_with_kms_each_function_gets_only_the_key_operation_it_needs(
    full_json: dict[str, Any], spec: LambdaFunction
) -> None:
    role = ids(full_json)[f"{spec.name}.role"]
    assert canonical(role_statements(full_json, role)) == canonical(
        expected_statements(full_json, spec, "inventory/ssm", True)
    )


@pytest.mark.parametrize("spec", ALL_FUNCTIONS, ids=lambda s: s.name)
def test_each_function_runs_its_catalogue_handler_with_the_deployed_settings(
    base_json: dict[str, Any], spec: LambdaFunction
) -> None:
    i = ids(base_json)
    function = base_json["Resources"][i[f"{spec.name}.function"]]["Properties"]
    role = base_json["Resources"][i[f"{spec.name}.role"]]["Properties"]
    assert function["Handler"] == spec.handler
    assert function["Runtime"] == "python3.14"
    assert function["TracingConfig"] == {"Mode": "Active"}
    # ResolveTargets also has the layer holding the deployment's default targets and regions (data, no code)
    defaults_layer = f"<{logical_id(base_json, 'AWS::Lambda::LayerVersion', '/DeployedDefaults/')}>"
    assert render(function["Layers"]) == [
        f"arn:aws:lambda:{REGION}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:38",
        *([defaults_layer] if spec.name == "ResolveTargets" else []),
    ]
    assert function["Architectures"] == ["arm64"]
    assert role["RoleName"] == f"OrgSync{spec.name}Role"
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}
    ]
    assert "ManagedPolicyArns" not in role
    assert render(function["Environment"]["Variables"]) == {
        "ORGSYNC_DESTINATION_BUCKET": f"<{i['bucket']}>",
        "ORGSYNC_DESTINATION_REGION": REGION,
        "ORGSYNC_DESTINATION_PREFIX": "default",
        "ORGSYNC_SYNC_NAME": "org-inventory",
        "ORGSYNC_MEMBER_ROLE_NAME": "OrgSyncMemberRole",
        "ORGSYNC_ORGANIZATION_READER_ROLE_ARN": f"arn:aws:iam::{MANAGEMENT}:role/OrgSyncOrganizationReader",
        "POWERTOOLS_SERVICE_NAME": "orgsync",
        "POWERTOOLS_METRICS_NAMESPACE": "orgsync",
        "POWERTOOLS_LOG_LEVEL": "INFO",
        # the default targets and regions are in a layer, for ResolveTargets alone (test_infra_deployed_defaults)
        **({"ORGSYNC_DEFAULTS_FILE": "/opt/orgsync/defaults.json"} if spec.name == "ResolveTargets" else {}),
        "ORGSYNC_DEPLOYED": "true",
        "ORGSYNC_BUCKET_POLICY_OPT_IN_REGIONS": "[]",
    }


def test_the_code_asset_is_the_lambdas_package_alone(base: Synthesized, base_json: dict[str, Any]) -> None:
    i = ids(base_json)
    asset = base_json["Resources"][i["ResolveTargets.function"]]["Metadata"]["aws:asset:path"]
    root = base.outdir / asset
    assert sorted(p.name for p in root.iterdir()) == ["lambdas"]
    files = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert "lambdas/handlers.py" in files
    assert not [f for f in files if "__pycache__" in f or not f.startswith("lambdas/")]


# --- the state machine -------------------------------------------------------------------------------------


def test_state_machine_is_named_logged_without_data_and_traced(base_json: dict[str, Any]) -> None:
    (sm,) = resources_of(base_json, "AWS::StepFunctions::StateMachine").values()
    props = sm["Properties"]
    assert props["StateMachineName"] == "orgsync"
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    assert props["LoggingConfiguration"]["IncludeExecutionData"] is False
    log_group = props["LoggingConfiguration"]["Destinations"][0]["CloudWatchLogsLogGroup"]["LogGroupArn"]
    assert render(log_group).startswith("<")
    substitutions = props["DefinitionSubstitutions"]
    assert set(substitutions) == {spec.substitution_key for spec in ALL_FUNCTIONS} | {
        DESTINATION_BUCKET_SUBSTITUTION_KEY
    }
    # The ResultWriter's bucket is the inventory bucket itself
    assert substitutions[DESTINATION_BUCKET_SUBSTITUTION_KEY] == {"Ref": ids(base_json)["bucket"]}


def test_state_machine_role_invokes_only_its_functions_and_runs_only_its_own_children(
    base_json: dict[str, Any],
) -> None:
    i = ids(base_json)
    role = logical_id(base_json, "AWS::IAM::Role", "/Rollout/Role/")
    sm_arn = f"arn:<AWS::Partition>:states:{REGION}:{AGGREGATOR}"
    assert canonical(role_statements(base_json, role)) == canonical(
        [
            {
                "Action": [
                    "logs:CreateLogDelivery",
                    "logs:GetLogDelivery",
                    "logs:UpdateLogDelivery",
                    "logs:DeleteLogDelivery",
                    "logs:ListLogDeliveries",
                    "logs:PutResourcePolicy",
                    "logs:DescribeResourcePolicies",
                    "logs:DescribeLogGroups",
                ],
                "Resource": ["*"],
            },
            {
                "Action": [
                    "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords",
                    "xray:GetSamplingRules",
                    "xray:GetSamplingTargets",
                ],
                "Resource": ["*"],
            },
            {
                "Action": ["lambda:InvokeFunction"],
                "Resource": [f"<{i[spec.name + '.function']}.Arn>" for spec in ALL_FUNCTIONS],
            },
            {"Action": ["s3:GetObject"], "Resource": [f"<{i['bucket']}.Arn>/orgsync/runs/*"]},
            # The ResultWriter (AWS documents PutObject, GetObject and the multipart upload actions for it)
            {"Action": ["s3:PutObject"], "Resource": [f"<{i['bucket']}.Arn>/orgsync/runs/*"]},
            {
                "Action": ["s3:ListMultipartUploadParts", "s3:AbortMultipartUpload"],
                "Resource": [f"<{i['bucket']}.Arn>/orgsync/runs/*"],
            },
            # AWS, "IAM policies for using Distributed Map states"
            # (https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html): StartExecution on
            # the state machine, DescribeExecution on execution:<name>:*, RedriveExecution on
            # execution:<name>/<mapRunLabel>:*; the children (<name>/<label>:<id>) are described and stopped too.
            {"Action": ["states:StartExecution"], "Resource": [f"{sm_arn}:stateMachine:orgsync"]},
            {
                "Action": ["states:DescribeExecution", "states:StopExecution"],
                "Resource": [f"{sm_arn}:execution:orgsync:*", f"{sm_arn}:execution:orgsync/*"],
            },
            {"Action": ["states:RedriveExecution"], "Resource": [f"{sm_arn}:execution:orgsync/Accounts:*"]},
        ]
    )


def test_distributed_map_labels_are_read_from_the_definition() -> None:
    assert distributed_map_labels(build_definition()) == [build_definition()["States"][PROCESS]["Label"]]
    unlabelled = {"States": {"M": {"Type": "Map", "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"}}}}}
    with pytest.raises(ValueError, match="Label"):
        distributed_map_labels(unlabelled)


# --- schedule, alerts, enrolment ---------------------------------------------------------------------------


def test_schedule_starts_a_daily_verify_of_the_default_targets(base_json: dict[str, Any]) -> None:
    (schedule,) = resources_of(base_json, "AWS::Scheduler::Schedule").values()
    props = schedule["Properties"]
    assert props["ScheduleExpression"] == "rate(1 day)"
    assert props["State"] == "ENABLED"
    assert json.loads(props["Target"]["Input"]) == {
        "mode": "verify",
        "targets": ["ou-ab12-abcdefgh", "/Workloads/Prod"],
        "regions": ["eu-west-1", "us-east-1"],
    }
    (sm_id,) = resources_of(base_json, "AWS::StepFunctions::StateMachine")
    assert props["Target"]["Arn"] == {"Ref": sm_id}
    role = props["Target"]["RoleArn"]["Fn::GetAtt"][0]
    assert role_statements(base_json, role) == [{"Action": ["states:StartExecution"], "Resource": [f"<{sm_id}>"]}]


def test_schedule_follows_the_context(full_json: dict[str, Any]) -> None:
    (schedule,) = resources_of(full_json, "AWS::Scheduler::Schedule").values()
    assert schedule["Properties"]["ScheduleExpression"] == "cron(0 6 * * ? *)"
    assert json.loads(schedule["Properties"]["Target"]["Input"])["mode"] == "rollout"


def test_alert_rule_matches_runs_of_this_state_machine_that_end_badly(base_json: dict[str, Any]) -> None:
    (sm_id,) = resources_of(base_json, "AWS::StepFunctions::StateMachine")
    rule = next(
        r
        for r in resources_of(base_json, "AWS::Events::Rule").values()
        if "/Notifications/" in r["Metadata"]["aws:cdk:path"]
    )
    assert render(rule["Properties"]["EventPattern"]) == {
        "source": ["aws.states"],
        "detail-type": ["Step Functions Execution Status Change"],
        "detail": {
            "status": ["FAILED", "TIMED_OUT", "ABORTED"],
            "stateMachineArn": [f"<{sm_id}>"],
            # The run itself, not the Distributed Map's child executions (execution:orgsync/<label>:<id>).
            "executionArn": [{"prefix": f"arn:<AWS::Partition>:states:{REGION}:{AGGREGATOR}:execution:orgsync:"}],
        },
    }
    (target,) = rule["Properties"]["Targets"]
    (topic_id,) = resources_of(base_json, "AWS::SNS::Topic")
    assert target["Arn"] == {"Ref": topic_id}
    assert "ended <detail-status>" in render(target["InputTransformer"]["InputTemplate"])


def test_alert_topic_is_encrypted_with_a_rotated_key_and_tls_only(base: Synthesized, base_json: dict[str, Any]) -> None:
    ((topic_id, topic),) = resources_of(base_json, "AWS::SNS::Topic").items()
    key_id = topic["Properties"]["KmsMasterKeyId"]["Fn::GetAtt"][0]
    assert base_json["Resources"][key_id]["Properties"]["EnableKeyRotation"] is True
    base.template(AGGREGATOR_STACK).has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "Topics": [{"Ref": topic_id}],
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            },
        },
    )


def test_email_subscription_only_when_asked(base_json: dict[str, Any], full_json: dict[str, Any]) -> None:
    assert resources_of(base_json, "AWS::SNS::Subscription") == {}
    (subscription,) = resources_of(full_json, "AWS::SNS::Subscription").values()
    assert subscription["Properties"]["Protocol"] == "email"
    assert subscription["Properties"]["Endpoint"] == "ops@example.com"


def test_enrolment_is_off_by_default(base_json: dict[str, Any]) -> None:
    assert resources_of(base_json, "AWS::Events::EventBusPolicy") == {}
    assert [
        r
        for r in resources_of(base_json, "AWS::Lambda::Function").values()
        if "/Enrolment/" in r["Metadata"]["aws:cdk:path"]
    ] == []


def test_enrolment_accepts_the_management_accounts_events_and_starts_rollouts(full_json: dict[str, Any]) -> None:
    (bus_policy,) = resources_of(full_json, "AWS::Events::EventBusPolicy").values()
    assert render(bus_policy["Properties"]) == {
        "EventBusName": "default",
        "StatementId": "OrgSyncManagementAccountForwardsOrganizationsEvents",
        "Statement": {
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:<AWS::Partition>:iam::{MANAGEMENT}:root"},
            "Action": "events:PutEvents",
            "Resource": f"arn:<AWS::Partition>:events:{REGION}:{AGGREGATOR}:event-bus/default",
            "Condition": {"StringEquals": {"events:source": "aws.organizations"}},
        },
    }
    rule = next(
        r
        for r in resources_of(full_json, "AWS::Events::Rule").values()
        if "/Enrolment/AccountJoined/" in r["Metadata"]["aws:cdk:path"]
    )
    assert rule["Properties"]["EventPattern"] == {
        "account": [MANAGEMENT],
        "source": ["aws.organizations"],
        "detail-type": ["AWS API Call via CloudTrail", "AWS Service Event via CloudTrail"],
        "detail": {"eventSource": ["organizations.amazonaws.com"], "eventName": ["MoveAccount", "CreateAccountResult"]},
    }
    function_id = logical_id(full_json, "AWS::Lambda::Function", "/Enrolment/Function/")
    function = full_json["Resources"][function_id]["Properties"]
    assert function["Handler"] == "lambdas.enrolment.handler"
    # it starts the enrolment waiter (test_infra_enrolment_waiter), which runs orgsync once the member role is there
    sm_arn = f"arn:<AWS::Partition>:states:{REGION}:{AGGREGATOR}:stateMachine:orgsync-enrolment"
    assert render(function["Environment"]["Variables"]["ORGSYNC_STATE_MACHINE_ARN"]) == sm_arn
    role = logical_id(full_json, "AWS::IAM::Role", "/Enrolment/Role/")
    logs = logical_id(full_json, "AWS::Logs::LogGroup", "/Enrolment/Logs/")
    assert canonical(role_statements(full_json, role)) == canonical(
        [
            {"Action": LOGS, "Resource": [f"<{logs}.Arn>"]},
            XRAY,
            {"Action": ["states:StartExecution"], "Resource": [sm_arn]},
        ]
    )


def test_the_shipped_package_needs_nothing_the_lambda_runtime_lacks(
    base: Synthesized, base_json: dict[str, Any]
) -> None:
    # The Python runtime has the standard library, boto3 and botocore, and every function has the Powertools layer;
    # anything else would fail at import time.
    import ast
    import sys

    i = ids(base_json)
    root = base.outdir / base_json["Resources"][i["ResolveTargets.function"]]["Metadata"]["aws:asset:path"]
    layers = {str(layer) for spec in ALL_FUNCTIONS for layer in render(
        base_json["Resources"][i[f"{spec.name}.function"]]["Properties"]["Layers"])}
    # the deployment's defaults layer holds orgsync/defaults.json only (test_infra_deployed_defaults): no code
    layers.discard(f"<{logical_id(base_json, 'AWS::Lambda::LayerVersion', '/DeployedDefaults/')}>")
    assert layers == {f"arn:aws:lambda:{REGION}:017000801446:layer:AWSLambdaPowertoolsPythonV3-python314-arm64:38"}
    allowed = set(sys.stdlib_module_names) | {"boto3", "botocore", "aws_lambda_powertools", "lambdas"}
    missing: list[str] = []
    for path in (root / "lambdas").rglob("*.py"):
        tree = ast.parse(path.read_text())
        type_checking_only = {
            id(node)
            for block in ast.walk(tree)
            if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
            for stmt in block.body
            for node in ast.walk(stmt)
        }
        for node in ast.walk(tree):
            if id(node) in type_checking_only:
                continue
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            missing += [f"{path.name}: {n}" for n in names if n.split(".")[0] not in allowed]
    assert missing == []


def test_each_function_is_deployed_with_the_catalogues_timeout_and_memory(base_json: dict[str, Any]) -> None:
    # The local engine runs each function under the same settings (workflow.functions): one definition.
    for spec in ALL_FUNCTIONS:
        function = base_json["Resources"][ids(base_json)[f"{spec.name}.function"]]["Properties"]
        assert (function["Timeout"], function["MemorySize"]) == (spec.timeout_seconds, spec.memory_mb), spec.name


# --- the execution input is checked against what the deployment's IAM and policies name -------------------------


def deployed_settings(template: dict[str, Any]) -> Any:
    """The Settings the deployed Resolve targets function reads, its tokens given values as CloudFormation would."""
    from lambdas.settings import Settings
    from workflow.functions import RESOLVE_TARGETS

    i = ids(template)
    variables = render(template["Resources"][i[f"{RESOLVE_TARGETS.name}.function"]]["Properties"]["Environment"])
    key_arn = f"arn:aws:kms:{REGION}:222222222222:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    tokens = {f"<{i['key']}.Arn>": key_arn, f"<{i['bucket']}>": "acme-org-inventory"}
    env = {name: tokens.get(value, value) for name, value in variables["Variables"].items()}
    return Settings.from_env(env), key_arn


def test_a_deployment_refuses_input_its_iam_and_policies_cannot_honour(full_json: dict[str, Any]) -> None:
    from lambdas.errors import InvalidInput
    from lambdas.input import validate_input

    # GIVEN the settings of the full deployment (sync acme-inventory, role AcmeOrgSyncMember, prefix inventory/ssm,
    # a KMS key, af-south-1 the one opt-in region its bucket policy names), read from the function's environment
    settings, key_arn = deployed_settings(full_json)
    assert settings.deployed and settings.bucket_policy_opt_in_regions == ("af-south-1",)
    base = {"targets": ["r-ab12"], "regions": ["eu-west-1", "af-south-1"]}
    # WHEN the input asks for the deployed values (or leaves them to the defaults) THEN it is valid
    run = validate_input(base, settings)
    assert (run.syncName, run.memberRoleName, run.destination.prefix, run.destination.kmsKeyArn) == (
        "acme-inventory",
        "AcmeOrgSyncMember",
        "inventory/ssm",
        key_arn,
    )
    # WHEN it asks for anything else THEN InvalidInput names the field, the value and the deployed value
    other_key = key_arn.replace("1234abcd", "9999abcd")
    refused = {
        "syncName": ({"syncName": "org-inventory"}, '"org-inventory"', '"acme-inventory"'),
        "memberRoleName": ({"memberRoleName": "OrgSyncMemberRole"}, '"OrgSyncMemberRole"', '"AcmeOrgSyncMember"'),
        "destination.prefix": ({"destination": {"prefix": "default"}}, '"default"', '"inventory/ssm"'),
        "destination.kmsKeyArn": ({"destination": {"kmsKeyArn": other_key}}, f'"{other_key}"', f'"{key_arn}"'),
        "regions": ({"regions": ["eu-west-1", "ap-east-1"]}, '"ap-east-1"', '["af-south-1"]'),
    }
    for field, (change, value, deployed) in refused.items():
        with pytest.raises(InvalidInput) as raised:
            validate_input({**base, **change}, settings)
        message = str(raised.value)
        assert message.startswith(f"{field}: {value} "), message
        assert deployed in message, message
