"""A rollout then a verify under AWS faults at a rate end exactly as without faults, on the local engine.

The scenario's ``faultRates`` (:mod:`workflow.local.faults`) fail a share of orgsync's calls, drawn from a fixed
seed: S3 ``SlowDown``, ``InternalError`` and dropped connections on the bucket listings (the marker checks, the
verify's coverage, the outcome records), SSM throttling and dropped connections, and STS dropped connections.
boto's standard mode retries each call (up to :data:`lambdas.aws.MAX_ATTEMPTS` attempts); a call that fails every
attempt is a named error (``Throttled``, ``AwsUnavailable``) that the batch or the state machine tries again. So
every account-region must end with the status and verification of the run without faults.

The fault rules name the APIs orgsync's Lambdas call and Step Functions itself does not: the local engine's own S3
reads and writes (the Map's ItemReader and ResultWriter, ``GetObject``/``PutObject``) go through the same boundary
without any retry, which is not what this test is about.

The fault seed is chosen so that some calls outlast boto's retries (the test checks it does: otherwise it would
prove nothing about orgsync's own retries). Which call draws which fault follows the order of the calls, which the
retries' jitter moves (Step Functions' Retry, boto's backoff, the batch's waits, all on Python's ``random``): the
test seeds ``random`` too, so the run repeats. With these seeds, the code before the marker check and the
coverage went through ``lambdas.aws.call`` failed: the verify's coverage listing met ``ConnectionClosedError`` on
every attempt, which escaped Summarize unnamed and unretried, and the verify failed without a report. (Other seeds
made a rollout's marker listing FAILED the same way.)
"""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError

from lambdas import aws
from workflow.functions import SUMMARIZE
from workflow.local import timeline
from workflow.local.faults import Call, FaultRateInjector, RequestBoundary, ServiceError
from workflow.local.runner import LocalRun
from workflow.local.scenario import parse_scenario
from workflow.runs import ExecutionResult

BUCKET = "rates-inventory"
PREFIX = "default"
REGIONS = ["us-east-1", "eu-west-1", "ap-northeast-1"]
MANAGEMENT = "100000000001"
PROD_A, PROD_B, PROD_CONFLICT, PROD_NO_ROLE = "210000000001", "210000000002", "210000000003", "210000000004"
ROLLOUT = {"targets": ["/Prod"], "regions": REGIONS}
VERIFY = {"mode": "verify", "targets": ["/Prod"], "regions": REGIONS}

#: A few percent of each kind of fault on the calls orgsync's Lambdas make.
FAULT_RATES = [
    {"api": "s3:ListObjectsV2", "error": "SlowDown", "rate": 0.08},
    {"api": "s3:ListObjectsV2", "error": "InternalError", "rate": 0.04},
    {"api": "s3:ListObjectsV2", "error": "ConnectionError", "rate": 0.04},
    {"api": "ssm:*", "error": "ThrottlingException", "rate": 0.05},
    {"api": "ssm:*", "error": "ConnectionError", "rate": 0.02},
    {"api": "sts:AssumeRole", "error": "ConnectionError", "rate": 0.03},
]
FAULT_SEED = 12


#: SSM writes some accounts' markers minutes after the sync is created: their markers are checked again and again.
MARKER_DELAY_SECONDS = 600


def scenario(**faults: Any) -> dict[str, Any]:
    """Four accounts in /Prod: two clean (one whose marker comes late), one with another organization's sync in
    eu-west-1 (marker late too), one without the member role."""
    conflict = {"region": "eu-west-1", "name": "other-org-sync", "organization": True, "bucket": "other-inventory",
                "bucketRegion": "us-east-1"}
    return {
        "organization": {
            "managementAccount": {"id": MANAGEMENT, "name": "management"},
            "ous": [{"name": "Prod", "accounts": [
                {"name": "prod-a", "id": PROD_A, "instances": {"us-east-1": 1, "eu-west-1": 1}},
                {"name": "prod-b", "id": PROD_B, "markerDelaySeconds": MARKER_DELAY_SECONDS},
                {"name": "prod-conflict", "id": PROD_CONFLICT, "existingSyncs": [conflict],
                 "markerDelaySeconds": MARKER_DELAY_SECONDS},
                {"name": "prod-no-role", "id": PROD_NO_ROLE, "memberRole": False},
            ]}],
        },
        "aggregator": {"accountId": MANAGEMENT, "bucket": BUCKET, "region": "us-east-1", "prefix": PREFIX},
        **faults,
    }


class AttemptLog:
    """Wraps the boundary's fault-rate guard and notes each HTTP attempt it judged, per calling thread, in order.

    A thread makes its calls one after another and boto retries a call on the thread that made it, so
    :data:`lambdas.aws.MAX_ATTEMPTS` failed attempts in a row on one thread are one call that failed every attempt
    (a success ends a call, and so does its last failed attempt). The engine's own calls (the interpreter's clients,
    which mark their requests with ``x-moto-account-id``) are not noted.
    """

    def __init__(self, boundary: RequestBoundary, injector: FaultRateInjector) -> None:
        self.attempts: dict[int, list[tuple[str, bool]]] = {}
        self._lock = threading.Lock()
        self._injector = injector
        boundary.guards[boundary.guards.index(injector)] = self

    def __call__(self, call: Call) -> ServiceError | None:
        answer = self._injector(call)
        if call.request is None or "x-moto-account-id" not in call.request.headers:
            with self._lock:
                self.attempts.setdefault(threading.get_ident(), []).append((call.api, answer is not None))
        return answer

    def outlasted(self) -> list[str]:
        """The APIs of the calls that failed every attempt (boto's retries exhausted)."""
        exhausted = []
        for attempts in self.attempts.values():
            run = 0
            for api, failed in attempts:
                run = run + 1 if failed else 0
                if run == aws.MAX_ATTEMPTS:
                    exhausted.append(api)
                    run = 0
        return exhausted


def ending(result: ExecutionResult) -> tuple[str, str | None, dict[tuple[str, str], tuple[str, str]]]:
    """How a run ended: its status and error, and each account-region's status and verification."""
    results = (result.report or {}).get("results", [])
    outcomes = {(r["accountId"], r["region"]): (r["status"], r["verification"]) for r in results}
    return result.status, result.error, outcomes


@pytest.fixture(scope="module")
def without_faults() -> dict[str, Any]:
    with LocalRun(parse_scenario(scenario(), "rates")) as local:
        return {"rollout": ending(local.run(ROLLOUT)), "verify": ending(local.run(VERIFY))}


def test_a_rollout_then_a_verify_under_fault_rates_end_as_without_faults(without_faults: dict[str, Any]) -> None:
    # GIVEN the same organization, with faults at a few percent drawn from a fixed seed
    faulty = parse_scenario(scenario(faultRates=FAULT_RATES, faultSeed=FAULT_SEED), "rates")
    state = random.getstate()
    random.seed(FAULT_SEED)
    with LocalRun(faulty) as local:
        boundary = RequestBoundary.installed()
        assert boundary is not None
        log = AttemptLog(boundary, local.aws.fault_rates)
        # WHEN a rollout then a verify run
        happened = {"rollout": ending(local.run(ROLLOUT)), "verify": ending(local.run(VERIFY))}
        raised = {code for *_, code in local.aws.fault_rates.raised}
    random.setstate(state)
    # THEN every kind of fault was met, and some calls failed every attempt boto made: orgsync's own retries ran
    assert raised == {"SlowDown", "InternalError", "ConnectionError", "ThrottlingException"}
    assert log.outlasted(), "the seed must make some call outlast boto's retries, or the test proves nothing"
    # AND both runs ended exactly as without faults: the same status and error, the same status and
    # verification for every account-region
    assert happened == without_faults
    status, error, outcomes = happened["verify"]
    assert (status, error) == ("FAILED", "VerificationFailed")  # the conflict and the missing role need attention
    assert outcomes[(PROD_A, "us-east-1")] == ("IN_SYNC", "VERIFIED")
    assert outcomes[(PROD_CONFLICT, "eu-west-1")][0] == "CONFLICT"
    assert {outcomes[(PROD_NO_ROLE, r)][0] for r in REGIONS} == {"ACCESS_DENIED"}


# -- the verify's coverage, in Summarize --------------------------------------------------------------------------


def coverage_listing(call: Call) -> bool:
    """The coverage's first call: the type folders under ``PREFIX/``, listed with a delimiter."""
    url = call.request.url if call.request is not None else ""
    return call.api == "s3:ListObjectsV2" and "delimiter=%2F" in url and f"prefix={PREFIX}%2F" in url


class FailCoverageListing:
    """Fails every attempt of the coverage's first listing, once (boto's retries exhausted), with ``fault``."""

    def __init__(self, fault: str) -> None:
        self.fault = fault
        self.left = aws.MAX_ATTEMPTS

    def __call__(self, call: Call) -> ServiceError | None:
        if self.left <= 0 or not coverage_listing(call):
            return None
        self.left -= 1
        if self.fault == "ReadTimeout":
            # The read timeout elapses before botocore gives up on the answer.
            timeline.charge(aws.READ_TIMEOUT_SECONDS)
            raise ReadTimeoutError(endpoint_url=call.request.url if call.request is not None else "")
        return ServiceError(self.fault, "Please reduce your request rate.", 503)


@pytest.fixture
def rolled_out() -> Iterator[LocalRun]:
    with LocalRun(parse_scenario(scenario(), "rates")) as local:
        local.run(ROLLOUT)
        yield local


@pytest.mark.parametrize(("fault", "named"), [("SlowDown", "Throttled"), ("ReadTimeout", "AwsUnavailable")])
def test_a_verify_whose_coverage_meets_a_fault_after_botos_retries_still_ends_with_its_report(
    rolled_out: LocalRun, without_faults: dict[str, Any], fault: str, named: str
) -> None:
    local = rolled_out
    boundary = RequestBoundary.installed()
    assert boundary is not None
    guard = FailCoverageListing(fault)
    boundary.guards.insert(0, guard)
    result = local.run(VERIFY)
    # THEN the listing failed all its attempts, Summarize failed with the named error, its Retry ran it again
    assert guard.left == 0
    summarize = [i.error_type for i in local.engine.invocations if i.function_name.endswith(SUMMARIZE.name)]
    assert summarize[-2:] == [named, None]
    # AND the verify ended as without the fault, with its report and coverage
    assert ending(result) == without_faults["verify"]
    assert result.report is not None and result.report["coverage"]["covered"] == [PROD_A, PROD_B, PROD_CONFLICT]
