"""The static check of the destination's policies: what SSM needs for an organization-based sync, many policy forms."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from lambdas.destination_policy import PolicyCheck, bucket_statements, check_policies, key_statement
from lambdas.models import Destination
from lambdas.policy import Request, evaluate

BUCKET = "acme-inventory"
ORG = "o-abcdefghij"
ACCOUNTS = ["200000000001", "200000000002"]
KEY = "arn:aws:kms:us-east-1:100000000000:key/1234abcd-12ab-34cd-56ef-1234567890ab"
DESTINATION = Destination(BUCKET, "us-east-1", "default")
OBJECTS = f"arn:aws:s3:::{BUCKET}/default/*/accountid=*/*"


def documented(
    org_key: str = "aws:SourceOrgID", principals: tuple[str, ...] = ("ssm.amazonaws.com",)
) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": bucket_statements(BUCKET, "default", {org_key: ORG}, principals)}


def check(policy: Any, regions: tuple[str, ...] = ("us-east-1",), destination: Destination = DESTINATION,
          key_policy: Any = None) -> PolicyCheck:
    return check_policies(policy, key_policy, destination, ORG, regions, ACCOUNTS, "org-inventory")


def actions(result: PolicyCheck) -> list[str]:
    return [problem.requirement.action for problem in result.problems]


@pytest.mark.parametrize("org_key", ["aws:SourceOrgID", "s3:RequestObjectTag/OrgId"])
def test_both_documented_organization_conditions_pass(org_key: str) -> None:
    result = check(documented(org_key))
    assert result.ok and result.message() == "" and result.doubts == ()


def test_policy_as_json_text_with_a_single_statement_object() -> None:
    statement = {
        "Effect": "Allow",
        "Principal": {"Service": "ssm.amazonaws.com"},
        "Action": ["s3:GetBucketAcl", "s3:PutObject", "s3:PutObjectTagging"],
        "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
        "Condition": {"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceOrgID": ORG}},
    }
    assert check(json.dumps({"Statement": statement})).ok
    assert check(json.dumps({"Statement": statement}).encode()).ok


def test_no_policy_names_every_statement_to_add_with_bucket_and_prefix_filled_in() -> None:
    result = check(None)

    assert actions(result) == ["s3:GetBucketAcl", "s3:PutObject", "s3:PutObjectTagging"] and result.definite
    statements = result.statements_to_add("bucket")
    assert statements == bucket_statements(BUCKET, "default", {"aws:SourceOrgID": ORG}, ["ssm.amazonaws.com"])
    assert statements[1]["Resource"] == OBJECTS
    assert statements[1]["Condition"] == {
        "StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control", "aws:SourceOrgID": ORG}
    }
    assert json.dumps(statements) in result.message()


def test_only_the_missing_statement_is_proposed() -> None:
    policy = documented()
    policy["Statement"] = [s for s in policy["Statement"] if s["Action"] != "s3:PutObjectTagging"]
    result = check(policy)

    assert actions(result) == ["s3:PutObjectTagging"]
    assert [s["Sid"] for s in result.statements_to_add("bucket")] == ["SSMBucketDeliveryTagging"]


@pytest.mark.parametrize(
    ("change", "missing"),
    [
        (lambda p: p["Statement"][1]["Condition"]["StringEquals"].update({"aws:SourceOrgID": "o-zzzzzzzzzz"}),
         "s3:PutObject"),
        (lambda p: p["Statement"][1]["Condition"]["StringEquals"].update({"s3:x-amz-acl": "private"}), "s3:PutObject"),
        (lambda p: p["Statement"][1].update(Resource=f"arn:aws:s3:::{BUCKET}/other/*"), "s3:PutObject"),
        (lambda p: p["Statement"][0].update(Resource=f"arn:aws:s3:::{BUCKET}/*"), "s3:GetBucketAcl"),
        (lambda p: p["Statement"][0].update(Principal={"Service": "config.amazonaws.com"}), "s3:GetBucketAcl"),
        (lambda p: p["Statement"][0].update(Principal={"AWS": "arn:aws:iam::100000000000:root"}), "s3:GetBucketAcl"),
    ],
    ids=["other-org", "acl-private", "other-prefix", "acl-on-objects", "other-service", "aws-principal"],
)
def test_a_wrong_field_is_a_definite_gap(change: Any, missing: str) -> None:
    policy = documented()
    change(policy)
    result = check(policy)

    assert actions(result) == [missing] and result.definite


def test_explicit_deny_overrides_and_is_named_not_patched() -> None:
    policy = documented()
    policy["Statement"].append(
        {"Sid": "NoMarkers", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
         "Resource": f"arn:aws:s3:::{BUCKET}/*"}
    )
    result = check(policy)

    assert actions(result) == ["s3:PutObject", "s3:PutObjectTagging"]
    assert result.statements_to_add("bucket") == []
    assert "statement NoMarkers of the bucket policy denies ssm.amazonaws.com s3:PutObject" in result.message()
    assert "Remove or narrow the denying statement(s) NoMarkers" in result.message()


def test_deny_outside_the_organization_by_principal_org_id_hits_ssm() -> None:
    # A common guard: deny every principal outside the organization. A service principal carries no
    # aws:PrincipalOrgID, and a negated operator holds on an absent key: SSM is denied, as on AWS.
    policy = documented()
    guard: dict[str, Any] = {
        "Sid": "OnlyOurOrganization",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
        "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": ORG}},
    }
    policy["Statement"].append(guard)
    assert actions(check(policy)) == ["s3:GetBucketAcl", "s3:PutObject", "s3:PutObjectTagging"]

    # The usual exemption for AWS services makes it spare SSM.
    guard["Condition"]["BoolIfExists"] = {"aws:PrincipalIsAWSService": "false"}
    assert check(policy).ok


def test_tls_only_deny_spares_ssm() -> None:
    policy = documented()
    policy["Statement"].append(
        {
            "Sid": "TlsOnly",
            "Effect": "Deny",
            "Principal": {"AWS": ["*"]},
            "Action": "s3:*",
            "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    )
    assert check(policy).ok


def test_principal_star_with_conditions_and_wildcard_actions() -> None:
    policy: dict[str, Any] = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/default/*"],
                "Condition": {
                    "StringLike": {"aws:SourceOrgID": "o-abc*", "aws:PrincipalServiceName": "ssm.*amazonaws.com"},
                    "ForAnyValue:StringEquals": {"aws:SourceAccount": ACCOUNTS},
                },
            }
        ]
    }
    assert check(policy).ok
    policy["Statement"][0]["Condition"]["ForAnyValue:StringEquals"]["aws:SourceAccount"] = ACCOUNTS[:1]
    result = check(policy)
    assert actions(result) == ["s3:GetBucketAcl", "s3:PutObject", "s3:PutObjectTagging"]
    assert all(problem.request.context["aws:SourceAccount"] == ACCOUNTS[1] for problem in result.problems)


def test_string_equals_ignore_case_and_null_conditions() -> None:
    policy = documented()
    put = policy["Statement"][1]
    put["Condition"] = {
        "StringEqualsIgnoreCase": {"s3:x-amz-acl": "BUCKET-OWNER-FULL-CONTROL"},
        "Null": {"aws:SourceOrgID": "false"},
        "StringEquals": {"aws:SourceOrgID": ORG},
    }
    assert check(policy).ok
    put["Condition"]["Null"] = {"aws:SourceOrgID": "true"}  # "only when absent": never for SSM
    assert actions(check(policy)) == ["s3:PutObject"]


def test_not_action_allow_is_not_credited_and_the_check_says_so() -> None:
    policy = documented()
    policy["Statement"][0] = {
        "Sid": "EverythingButDelete",
        "Effect": "Allow",
        "Principal": {"Service": "ssm.amazonaws.com"},
        "NotAction": "s3:Delete*",
        "Resource": f"arn:aws:s3:::{BUCKET}",
    }
    result = check(policy)

    assert actions(result) == ["s3:GetBucketAcl"] and not result.definite
    assert "EverythingButDelete (Allow) grants only through NotAction, which is not counted" in result.message()
    # IAM itself would allow it: the exact reading (the emulation's) credits it.
    request = Request("ssm.amazonaws.com", "s3:GetBucketAcl", f"arn:aws:s3:::{BUCKET}")
    assert evaluate(policy, request).allowed


def test_not_resource_deny_is_read_exactly() -> None:
    policy = documented()
    policy["Statement"].append(
        {"Sid": "OnlyReports", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
         "NotResource": f"arn:aws:s3:::{BUCKET}/orgsync/*"}
    )
    result = check(policy)
    assert actions(result) == ["s3:PutObject"] and result.definite


def test_unknown_operator_and_policy_variables_are_doubts_not_verdicts() -> None:
    policy = documented()
    policy["Statement"].append(
        {"Sid": "Odd", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "*",
         "Condition": {"IpAddress": {"aws:SourceAccount": "10.0.0.0/8"}}}
    )
    policy["Statement"][0]["Resource"] = "arn:aws:s3:::${aws:SourceAccount}"
    result = check(policy)

    assert actions(result) == ["s3:GetBucketAcl"] and not result.definite
    assert any("policy variable" in doubt for doubt in result.doubts)
    assert any("IpAddress" in doubt for doubt in result.doubts)


def test_opt_in_region_needs_its_regional_principal_in_the_statement_to_add() -> None:
    result = check(documented(), regions=("us-east-1", "af-south-1"))

    assert {p.request.principal_service for p in result.problems} == {"ssm.af-south-1.amazonaws.com"}
    statements = result.statements_to_add("bucket")
    assert [s["Principal"] for s in statements] == [{"Service": "ssm.af-south-1.amazonaws.com"}] * 3
    assert check(documented(principals=("ssm.amazonaws.com", "ssm.af-south-1.amazonaws.com")),
                 regions=("us-east-1", "af-south-1")).ok


def test_kms_key_policy_needs_generate_data_key_for_the_organization() -> None:
    destination = Destination(BUCKET, "us-east-1", "default", KEY)
    admin = {"Sid": "Admin", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::100000000000:root"},
             "Action": "kms:*", "Resource": "*"}
    result = check(documented(), destination=destination, key_policy={"Statement": [admin]})

    assert actions(result) == ["kms:GenerateDataKey"] and result.definite
    assert result.statements_to_add("key") == [key_statement(ORG, ["ssm.amazonaws.com"])]
    assert f"Add to the key policy of {KEY}" in result.message()

    good = {"Statement": [admin, key_statement(ORG, ["ssm.amazonaws.com"])]}
    assert check(documented(), destination=destination, key_policy=good).ok
    # AWS's documented per-account form (aws:SourceAccount, SourceArn of that account's syncs) covers one account.
    per_account = copy.deepcopy(admin) | {
        "Sid": "ssm-access-policy-statement",
        "Principal": {"Service": "ssm.amazonaws.com"},
        "Action": ["kms:GenerateDataKey"],
        "Resource": KEY,
        "Condition": {"StringLike": {"aws:SourceAccount": ACCOUNTS[0]},
                      "ArnLike": {"aws:SourceArn": f"arn:aws:ssm:*:{ACCOUNTS[0]}:resource-data-sync/*"}},
    }
    only_one = check(documented(), destination=destination, key_policy={"Statement": [admin, per_account]})
    assert [p.request.context["aws:SourceAccount"] for p in only_one.problems] == [ACCOUNTS[1]]


def test_without_kms_the_key_policy_is_not_read() -> None:
    assert check(documented(), key_policy={"Statement": []}).ok


def test_one_line_per_gap_whatever_the_number_of_accounts() -> None:
    result = check_policies(None, None, DESTINATION, ORG, ["us-east-1", "eu-west-1"],
                            [f"2000000{n:05d}" for n in range(2000)])
    assert len(result.problems) == 3


def test_a_policy_singling_out_accounts_is_judged_per_account() -> None:
    policy = documented()
    policy["Statement"][1]["Resource"] = f"arn:aws:s3:::{BUCKET}/default/*/accountid=2000000000?1/*"
    result = check(policy)
    assert [p.request.context["aws:SourceAccount"] for p in result.problems] == [ACCOUNTS[1]]


def test_thousands_of_accounts_cost_one_evaluation_when_the_policy_treats_them_alike() -> None:
    import time

    accounts = [f"2{n:011d}" for n in range(5000)]
    started = time.perf_counter()
    assert check_policies(documented(), None, DESTINATION, ORG, ["us-east-1", "eu-west-1"], accounts).ok
    assert time.perf_counter() - started < 1.0
