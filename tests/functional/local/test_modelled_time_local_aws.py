"""LocalAws on the modelled timeline: each call's latency charged to the caller, faults at a rate through boto3."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError
from local_aws_support import BUCKET, NO_RETRIES, PROD, REGION, small_scenario

from workflow.local import timeline
from workflow.local.aws import LocalAws
from workflow.local.latency import DEFAULT_LATENCIES


def test_each_call_costs_its_latency_on_the_callers_timeline_with_the_scenarios_overrides() -> None:
    scenario = small_scenario(latencies={"ssm:ListResourceDataSync": 0.25, "s3:*": 0.04})
    with LocalAws(scenario) as aws:
        ssm = aws.client("ssm", PROD, REGION)
        s3 = aws.client("s3")
        # GIVEN a caller with its own timeline, WHEN it makes three calls
        own = timeline.Timeline("invocation")
        with timeline.entered(own):
            ssm.list_resource_data_sync()
            s3.put_object(Bucket=BUCKET, Key="k", Body=b"x")
            aws.client("sts", PROD).get_caller_identity()
        # THEN its simulated time is the sum of their latencies, overrides first, defaults otherwise
        assert own.elapsed == pytest.approx(0.25 + 0.04 + DEFAULT_LATENCIES["*"].seconds)
        # AND the calls are counted per API and caller
        assert aws.calls[("ssm:ListResourceDataSync", PROD)] == 1
        assert aws.calls[("s3:PutObject", aws.aggregator_account_id)] == 1


def test_faults_at_a_rate_reach_boto3_as_aws_errors_and_dropped_connections() -> None:
    rates = [
        {"api": "s3:PutObject", "error": "SlowDown", "rate": 0.2},
        {"api": "ssm:*", "error": "ThrottlingException", "rate": 0.3, "account": "prod"},
        {"api": "s3:GetObject", "error": "ConnectionError", "rate": 1.0},
    ]
    with LocalAws(small_scenario(faultRates=rates, faultSeed=3)) as aws:
        s3 = aws.session(aws.aggregator_account_id).client("s3", config=NO_RETRIES)
        outcomes: list[str] = []
        for index in range(400):
            try:
                s3.put_object(Bucket=BUCKET, Key=f"k{index}", Body=b"x")
                outcomes.append("ok")
            except ClientError as exc:
                outcomes.append(f"{exc.response['ResponseMetadata']['HTTPStatusCode']} {exc.response['Error']['Code']}")
        # THEN about a fifth of the PUTs are S3's 503 SlowDown, the rest succeed
        assert set(outcomes) == {"ok", "503 SlowDown"}
        assert 0.12 < outcomes.count("503 SlowDown") / 400 < 0.28
        # AND throttling hits only the named account's SSM calls
        prod = aws.session(PROD, REGION).client("ssm", config=NO_RETRIES)
        throttled = 0
        for _ in range(200):
            try:
                prod.list_resource_data_sync()
            except ClientError as exc:
                assert exc.response["Error"]["Code"] == "ThrottlingException"
                throttled += 1
        assert 0.2 < throttled / 200 < 0.4
        aws.client("ssm", aws.aggregator_account_id, REGION).list_resource_data_sync()
        # AND a dropped connection is botocore's own connection error, which its retries treat as transient
        with pytest.raises(ConnectionClosedError):
            s3.get_object(Bucket=BUCKET, Key="k0")
        assert len(aws.fault_rates.raised) == outcomes.count("503 SlowDown") + throttled + 1
