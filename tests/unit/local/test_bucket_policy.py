"""The bucket policy evaluator: may SSM write its marker under this policy?"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from lambdas.marker import marker_key
from lambdas.regions import ssm_service_principal
from workflow.local.bucket_policy import (
    Request,
    evaluate,
    policy_document,
    ssm_write_denial,
)

BUCKET = "acme-inventory"
ORG = "o-abcdefghij"
ACCOUNT = "200000000001"
MARKER_ARN = f"arn:aws:s3:::{BUCKET}/default/AWS:InstanceInformation/accountid={ACCOUNT}/test.json"


def denial(policy: Any, prefix: str | None = "default", org: str | None = ORG, region: str = "us-east-1") -> str | None:
    return ssm_write_denial(policy, BUCKET, prefix, ACCOUNT, region, org)


@pytest.mark.parametrize("kind", ["source-org-id", "request-object-tag"])
def test_documented_policies_let_ssm_of_our_organization_write(kind: str) -> None:
    document = policy_document(kind, BUCKET, "default", ORG)

    assert denial(document) is None
    assert denial(json.dumps(document)) is None
    assert denial(json.dumps(document).encode()) is None


@pytest.mark.parametrize("kind", ["source-org-id", "request-object-tag"])
def test_documented_policies_refuse_another_organization(kind: str) -> None:
    document = policy_document(kind, BUCKET, "default", ORG)

    assert denial(document, org="o-zzzzzzzzzz") == f"no statement allows ssm.amazonaws.com s3:PutObject on {MARKER_ARN}"
    assert denial(document, org=None) == f"no statement allows ssm.amazonaws.com s3:PutObject on {MARKER_ARN}"


def test_no_policy_lets_nothing_through_starting_with_the_acl_check() -> None:
    assert policy_document("none", BUCKET, "default", ORG) is None
    assert denial(None) == f"no statement allows ssm.amazonaws.com s3:GetBucketAcl on arn:aws:s3:::{BUCKET}"


def test_policy_for_another_prefix_refuses_the_marker() -> None:
    document = policy_document("source-org-id", BUCKET, "other", ORG)

    assert denial(document, prefix="default") == (f"no statement allows ssm.amazonaws.com s3:PutObject on {MARKER_ARN}")


def test_policy_without_prefix_covers_keys_without_prefix() -> None:
    document = policy_document("source-org-id", BUCKET, None, ORG)

    assert marker_key(None, ACCOUNT) == f"AWS:InstanceInformation/accountid={ACCOUNT}/test.json"
    assert denial(document, prefix=None) is None


def test_explicit_deny_wins_over_allow_and_names_its_statement() -> None:
    document = policy_document("source-org-id", BUCKET, "default", ORG)
    assert document is not None
    document["Statement"].append(
        {
            "Sid": "DenyMarkers",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:Put*",
            "Resource": f"arn:aws:s3:::{BUCKET}/*/test.json",
        }
    )

    assert denial(document) == f"statement DenyMarkers denies ssm.amazonaws.com s3:PutObject on {MARKER_ARN}"


def test_deny_on_insecure_transport_does_not_hit_ssm() -> None:
    document = policy_document("source-org-id", BUCKET, "default", ORG)
    assert document is not None
    document["Statement"].append(
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )

    assert denial(document) is None


def test_missing_acl_condition_value_refuses() -> None:
    document = policy_document("source-org-id", BUCKET, "default", ORG)
    assert document is not None
    document["Statement"][1]["Condition"]["StringEquals"]["s3:x-amz-acl"] = "private"

    assert denial(document) == f"no statement allows ssm.amazonaws.com s3:PutObject on {MARKER_ARN}"


def test_service_principal_as_list_wildcard_actions_and_string_like_conditions() -> None:
    document = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ["config.amazonaws.com", "ssm.amazonaws.com"]},
                "Action": ["s3:GetBucket*", "s3:Put?bject*"],
                "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/default/*"],
                "Condition": {
                    "StringLike": {"aws:SourceOrgID": "o-abc*"},
                    "StringEquals": {"aws:SourceAccount": [ACCOUNT, "200000000002"]},
                },
            }
        ]
    }

    assert denial(document) is None
    assert denial(document, org="o-xyz0000000") is not None


def test_other_service_principal_grants_nothing_to_ssm() -> None:
    document = copy.deepcopy(policy_document("source-org-id", BUCKET, "default", ORG))
    assert document is not None
    for statement in document["Statement"]:
        statement["Principal"] = {"Service": "config.amazonaws.com"}

    assert denial(document) is not None


def test_opt_in_region_needs_the_regional_principal() -> None:
    # GIVEN a policy naming only the global principal, and one naming af-south-1's regional principal too
    document = policy_document("source-org-id", BUCKET, "default", ORG, opt_in_regions=())
    assert document is not None
    regional = policy_document("source-org-id", BUCKET, "default", ORG, opt_in_regions=["af-south-1"])

    assert ssm_service_principal("af-south-1") == "ssm.af-south-1.amazonaws.com"
    assert denial(document, region="af-south-1") == (
        f"no statement allows ssm.af-south-1.amazonaws.com s3:GetBucketAcl on arn:aws:s3:::{BUCKET}"
    )
    assert denial(regional, region="af-south-1") is None
    assert denial(regional, region="me-south-1") is not None


def test_seeded_policy_names_every_opt_in_regions_principal() -> None:
    document = policy_document("source-org-id", BUCKET, "default", ORG)
    assert document is not None
    assert all(denial(document, region=region) is None for region in ("af-south-1", "ap-east-1", "us-east-1"))


def test_evaluate_reports_the_deciding_statement() -> None:
    request = Request("ssm.amazonaws.com", "s3:GetBucketAcl", f"arn:aws:s3:::{BUCKET}")
    document = policy_document("source-org-id", BUCKET, "default", ORG)

    def decided(verdict: Any) -> tuple[str, str | None]:
        return verdict.decision, verdict.sid

    assert decided(evaluate(document, request)) == ("Allow", "SSMBucketPermissionsCheck")
    assert decided(evaluate(None, request)) == ("ImplicitDeny", None)
    assert decided(evaluate({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}, request)) == (
        "ImplicitDeny",
        None,
    )  # no principal: a bucket policy statement without one grants nothing


def test_numeric_condition_that_does_not_hold_makes_an_allow_not_apply() -> None:
    document = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"NumericLessThan": {"aws:SourceAccount": "3"}},
            }
        ]
    }

    assert denial(document) is not None


def test_negated_operators_and_if_exists_on_missing_keys() -> None:
    document = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {
                    "StringNotEquals": {"aws:PrincipalOrgPaths": "o-x/r-y/ou-z/"},
                    "StringEqualsIfExists": {"aws:SourceVpc": "vpc-1"},
                },
            }
        ]
    }

    assert denial(document) is None


def test_put_object_without_tagging_is_refused_as_ssm_tags_what_it_writes() -> None:
    document = policy_document("source-org-id", BUCKET, "default", ORG)
    assert document is not None
    document["Statement"] = [s for s in document["Statement"] if s["Action"] != "s3:PutObjectTagging"]

    assert denial(document) == f"no statement allows ssm.amazonaws.com s3:PutObjectTagging on {MARKER_ARN}"


def test_unknown_policy_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown bucket policy kind 'open'"):
        policy_document("open", BUCKET, "default", ORG)
