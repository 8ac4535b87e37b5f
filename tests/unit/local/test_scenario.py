"""Scenario files: what a valid file yields, and that each broken file is refused naming the place."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from workflow.local.scenario import (
    ScenarioError,
    derive_organization_id,
    example_scenario_path,
    load_scenario,
    parse_account,
    parse_scenario,
)


def minimal() -> dict[str, Any]:
    return {
        "organization": {
            "managementAccount": {"id": "100000000001", "name": "management"},
            "ous": [
                {
                    "name": "Workloads",
                    "accounts": [{"name": "prod-a", "id": "200000000001"}],
                    "ous": [{"name": "Prod", "accounts": [{"name": "prod-b"}]}],
                }
            ],
        },
        "aggregator": {"accountId": "200000000001", "bucket": "acme-inventory", "region": "us-east-1"},
    }


def refused(data: dict[str, Any]) -> str:
    with pytest.raises(ScenarioError) as excinfo:
        parse_scenario(data, source="s.json")
    return str(excinfo.value)


def test_minimal_scenario_fills_defaults_and_flattens_accounts_with_their_ou_path() -> None:
    scenario = parse_scenario(minimal())

    assert [(a.name, a.ou_path) for a in scenario.accounts] == [
        ("management", "/"),
        ("prod-a", "/Workloads"),
        ("prod-b", "/Workloads/Prod"),
    ]
    prod_b = scenario.account_named("prod-b")
    assert (prod_b.state, prod_b.member_role, prod_b.marker_delay_seconds) == ("ACTIVE", True, 0.0)
    assert len(prod_b.id) == 12 and prod_b.id.isdigit()
    assert scenario.organization.id == derive_organization_id("100000000001")
    assert scenario.aggregator.prefix == "default" and scenario.aggregator.bucket_policy == "source-org-id"
    assert [ou.path for ou in scenario.organization.walk()] == ["/Workloads", "/Workloads/Prod"]


def test_generated_ids_are_deterministic_and_never_collide_with_given_ones() -> None:
    first = parse_scenario(minimal()).account_named("prod-b").id
    data = minimal()
    data["organization"]["ous"][0]["accounts"].append({"name": "taken", "id": first})
    data["organization"]["ous"][0]["ous"][0]["accounts"] = [{"name": "prod-b"}]

    second = parse_scenario(data)

    assert parse_scenario(minimal()).account_named("prod-b").id == first
    assert second.account_named("prod-b").id != first
    assert len({a.id for a in second.accounts}) == len(second.accounts)


def test_root_level_account_can_be_the_aggregator() -> None:
    data = minimal()
    data["organization"]["accounts"] = [{"name": "log-archive", "id": "300000000001"}]
    data["aggregator"]["accountId"] = "300000000001"

    scenario = parse_scenario(data)

    assert scenario.account("300000000001").ou_path == "/"
    assert scenario.organization.root_account_ids == ("300000000001",)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda d: d["organization"]["ous"][0]["accounts"][0].update(id="12"),
            "s.json: organization.ous[0].accounts[0].id: '12' is not a 12-digit account ID",
        ),
        (
            lambda d: d["organization"]["ous"][0]["accounts"][0].update(colour="red"),
            "s.json: organization.ous[0].accounts[0].colour: unknown key",
        ),
        (lambda d: d.update(_comment="x"), "s.json: _comment: unknown key"),
        (
            lambda d: d["organization"]["ous"][0]["ous"][0]["accounts"].append({"name": "prod-a"}),
            "s.json: organization.ous[0].ous[0].accounts[1].name: duplicate account name 'prod-a' "
            "(also at organization.ous[0].accounts[0])",
        ),
        (
            lambda d: d["organization"]["ous"][0]["ous"][0]["accounts"].append({"name": "other", "id": "200000000001"}),
            "s.json: organization.ous[0].ous[0].accounts[1].id: duplicate account ID '200000000001'",
        ),
        (
            lambda d: d["aggregator"].update(accountId="999999999999"),
            "s.json: aggregator.accountId: '999999999999' is not an account of the organization",
        ),
        (lambda d: d["aggregator"].pop("bucket"), "s.json: aggregator.bucket: is required"),
        (
            lambda d: d["organization"]["ous"][0]["accounts"][0].update(state="SUSPENDED"),
            "s.json: aggregator.accountId: '200000000001' is SUSPENDED: the bucket's account must be ACTIVE",
        ),
        (
            lambda d: d["aggregator"].update(bucketPolicy="open"),
            "s.json: aggregator.bucketPolicy: 'open' is not one of source-org-id, request-object-tag, none",
        ),
        (
            lambda d: d["aggregator"].update(bucket="Acme_Inventory"),
            "s.json: aggregator.bucket: 'Acme_Inventory' is not a valid S3 bucket name",
        ),
        (
            lambda d: d["aggregator"].update(region="mars-1"),
            "s.json: aggregator.region: 'mars-1' is not a known AWS region with SSM",
        ),
        (
            lambda d: d["organization"]["ous"][0].update(name="Work/loads"),
            "s.json: organization.ous[0].name: 'Work/loads' is not an OU name",
        ),
        (
            lambda d: d["organization"]["ous"].append({"name": "Workloads"}),
            "s.json: organization.ous[1].name: duplicate OU name 'Workloads'",
        ),
        (lambda d: d["organization"].update(id="o-BAD"), "s.json: organization.id: 'o-BAD' is not an organization ID"),
        (
            lambda d: d["organization"]["ous"][0]["accounts"][0].update(state="CLOSED"),
            "s.json: organization.ous[0].accounts[0].state: 'CLOSED' is not one of ACTIVE, SUSPENDED",
        ),
        (
            lambda d: d["organization"]["ous"][0]["accounts"][0].update(instances={"us-east-1": -1}),
            "s.json: organization.ous[0].accounts[0].instances.us-east-1: -1 must be an integer >= 0",
        ),
        (
            lambda d: d["organization"]["ous"][0]["accounts"][0].update(markerDelaySeconds="soon"),
            "s.json: organization.ous[0].accounts[0].markerDelaySeconds: 'soon' must be a number of seconds",
        ),
        (
            lambda d: d["organization"]["ous"][0]["accounts"][0].update(disabledRegions=["nowhere"]),
            "s.json: organization.ous[0].accounts[0].disabledRegions[0]: 'nowhere' is not a known AWS region with SSM",
        ),
        (
            lambda d: d["organization"]["ous"][0]["accounts"][0].update(disabledRegions=["us-east-1"]),
            "s.json: organization.ous[0].accounts[0].disabledRegions[0]: 'us-east-1' is not an opt-in region; "
            "only those can be disabled",
        ),
        (lambda d: d["organization"].pop("managementAccount"), "s.json: organization.managementAccount: is required"),
        (lambda d: d["organization"]["ous"][0].pop("name"), "s.json: organization.ous[0].name: is required"),
        (
            lambda d: d["organization"]["ous"][0].update(accounts={}),
            "s.json: organization.ous[0].accounts: must be a list",
        ),
    ],
)
def test_broken_file_is_refused_with_one_message_naming_the_place(mutate: Any, expected: str) -> None:
    data = copy.deepcopy(minimal())
    mutate(data)

    assert refused(data).startswith(expected)


def sync(name: str, organization: bool = False, region: str = "us-east-1") -> dict[str, Any]:
    return {"region": region, "name": name, "organization": organization, "bucket": "other-bucket"}


def test_more_than_five_existing_syncs_in_one_region_is_refused() -> None:
    data = minimal()
    data["organization"]["ous"][0]["accounts"][0]["existingSyncs"] = [sync(f"s{i}") for i in range(6)]

    assert refused(data) == (
        "s.json: organization.ous[0].accounts[0].existingSyncs[5]: more than 5 syncs in us-east-1 "
        "(AWS allows 5 per account and region)"
    )


def test_five_syncs_per_region_in_two_regions_are_accepted() -> None:
    data = minimal()
    syncs = [sync(f"s{i}") for i in range(5)] + [sync(f"s{i}", region="eu-west-1") for i in range(5)]
    data["organization"]["ous"][0]["accounts"][0]["existingSyncs"] = syncs

    account = parse_scenario(data).account_named("prod-a")

    assert len(account.existing_syncs) == 10


def test_two_organization_syncs_in_one_region_are_refused() -> None:
    data = minimal()
    data["organization"]["ous"][0]["accounts"][0]["existingSyncs"] = [sync("a", True), sync("b", True)]

    assert refused(data) == (
        "s.json: organization.ous[0].accounts[0].existingSyncs[1]: a second organization sync in us-east-1 "
        "(AWS allows one per account and region)"
    )


def test_existing_sync_defaults_and_duplicate_names() -> None:
    data = minimal()
    data["organization"]["ous"][0]["accounts"][0]["existingSyncs"] = [sync("a")]
    existing = parse_scenario(data).account_named("prod-a").existing_syncs[0]
    assert (existing.last_status, existing.bucket_region, existing.prefix, existing.organization) == (
        "Successful",
        "us-east-1",
        None,
        False,
    )

    data["organization"]["ous"][0]["accounts"][0]["existingSyncs"] = [sync("a"), sync("a")]
    assert refused(data) == (
        "s.json: organization.ous[0].accounts[0].existingSyncs[1].name: duplicate sync name 'a' in us-east-1"
    )

    data["organization"]["ous"][0]["accounts"][0]["existingSyncs"] = [{**sync("a"), "lastStatus": "Broken"}]
    assert refused(data).startswith("s.json: organization.ous[0].accounts[0].existingSyncs[0].lastStatus: 'Broken'")


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        ({"api": "CreateResourceDataSync", "error": "ThrottlingException"}, "s.json: faults[0].api: 'CreateRes"),
        ({"api": "ssm:CreateResourceDataSync"}, "s.json: faults[0].error: is required"),
        (
            {"api": "ssm:CreateResourceDataSync", "error": "ThrottlingException", "account": "nobody"},
            "s.json: faults[0].account: 'nobody' is not the name of an account of the scenario",
        ),
        (
            {"api": "ssm:CreateResourceDataSync", "error": "ThrottlingException", "times": 0},
            "s.json: faults[0].times: 0 must be an integer >= 1",
        ),
        (
            {"api": "ssm:CreateResourceDataSync", "error": "Throttling Exception"},
            "s.json: faults[0].error: 'Throttling Exception' is not an AWS error code",
        ),
        (
            {"api": "ssm:CreateResourceDataSync", "error": "ThrottlingException", "region": "moon"},
            "s.json: faults[0].region: 'moon' is not a known AWS region with SSM",
        ),
        (
            {"api": "ssm:CreateResourceDataSync", "error": "ThrottlingException", "retries": 1},
            "s.json: faults[0].retries: unknown key",
        ),
        (
            {"api": "s3:GetObject", "error": "InternalError", "key": ""},
            "s.json: faults[0].key: '' must be an S3 object key or the start of one",
        ),
    ],
)
def test_bad_fault_is_refused_naming_the_place(fault: dict[str, Any], expected: str) -> None:
    data = minimal()
    data["faults"] = [fault]

    assert refused(data).startswith(expected)


def test_fault_fields_are_read() -> None:
    data = minimal()
    data["faults"] = [
        {"api": "sts:AssumeRole", "error": "Throttling", "times": 2, "account": "prod-a", "region": "us-east-1"}
    ]

    (fault,) = parse_scenario(data).faults

    assert (fault.api, fault.error, fault.times, fault.account, fault.region) == (
        "sts:AssumeRole",
        "Throttling",
        2,
        "prod-a",
        "us-east-1",
    )
    assert fault.key is None


def test_a_fault_may_name_the_s3_key_it_fails() -> None:
    data = minimal()
    data["faults"] = [{"api": "s3:GetObject", "error": "InternalError", "key": "orgsync/runs/e1/targets.json"}]

    (fault,) = parse_scenario(data).faults

    assert (fault.api, fault.key) == ("s3:GetObject", "orgsync/runs/e1/targets.json")


def test_json_and_yaml_files_load_the_same_scenario(tmp_path: Path) -> None:
    json_file = tmp_path / "org.json"
    yaml_file = tmp_path / "org.yaml"
    json_file.write_text(json.dumps(minimal()))
    yaml_file.write_text(yaml.safe_dump(minimal()))

    from_json = load_scenario(json_file)
    from_yaml = load_scenario(yaml_file)

    assert from_json.accounts == from_yaml.accounts
    assert from_json.aggregator == from_yaml.aggregator
    assert from_yaml.source == "org.yaml"


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    data = minimal()
    data["aggregator"]["prefix"] = "/default"
    bad_yaml = tmp_path / "bad.yml"
    bad_yaml.write_text(yaml.safe_dump(data))

    with pytest.raises(ScenarioError, match=r"^broken\.json: not valid JSON"):
        load_scenario(broken)
    with pytest.raises(ScenarioError, match=r"^bad\.yml: aggregator\.prefix: '/default' is not an S3 key prefix"):
        load_scenario(bad_yaml)
    with pytest.raises(ScenarioError, match=r"^missing\.json: cannot be read"):
        load_scenario(tmp_path / "missing.json")


def test_example_scenario_is_bundled_and_valid() -> None:
    scenario = load_scenario(example_scenario_path())

    assert example_scenario_path().name == "example.json"
    assert len(scenario.accounts) >= 20
    assert scenario.regions == ("ap-east-1", "ap-northeast-1", "us-east-1")
    assert {ou.path for ou in scenario.organization.walk()} >= {"/Workloads/Prod", "/Workloads/NonProd", "/Sandbox"}
    assert scenario.account(scenario.aggregator.account_id).name == "log-archive"


def test_bundled_minimal_yaml_scenario_loads_with_generated_ids() -> None:
    scenario = load_scenario(example_scenario_path().with_name("minimal.yaml"))

    assert [(a.name, a.ou_path) for a in scenario.accounts] == [
        ("management", "/"),
        ("app-a", "/Workloads"),
        ("app-b", "/Workloads"),
        ("app-legacy", "/Workloads"),
    ]
    assert scenario.account_named("app-legacy").member_role is False
    assert scenario.aggregator.account_id == scenario.organization.management_account_id


def test_one_account_is_built_with_the_files_rules_and_never_reuses_a_name_or_id() -> None:
    existing = parse_scenario(minimal()).accounts
    # GIVEN accounts already in place, WHEN one more is built without an id
    added = parse_account({"name": "prod-c", "instances": {"us-east-1": 2}}, "/Workloads", existing)
    # THEN it is read like a file's account, with a generated id no other account has
    assert (added.name, added.ou_path, dict(added.instances)) == ("prod-c", "/Workloads", {"us-east-1": 2})
    assert added.id not in {a.id for a in existing} and len(added.id) == 12
    with pytest.raises(ScenarioError, match=r"account\.name: an account named 'prod-a' exists already"):
        parse_account({"name": "prod-a"}, "/", existing)
    with pytest.raises(ScenarioError, match=r"account\.id: account 200000000001 exists already"):
        parse_account({"name": "other", "id": "200000000001"}, "/", existing)
    with pytest.raises(ScenarioError, match=r"account\.colour: unknown key"):
        parse_account({"name": "other", "colour": "red"}, "/", existing)


def test_fault_rates_seed_and_latencies_are_read_and_checked() -> None:
    data = minimal()
    data["faultRates"] = [{"api": "s3:*", "error": "SlowDown", "rate": 0.05, "account": "prod-a"}]
    data["faultSeed"] = 9
    data["latencies"] = {"ssm:CreateResourceDataSync": 0.5, "*": 0.1}
    scenario = parse_scenario(data)
    assert [(r.api, r.error, r.rate, r.account) for r in scenario.fault_rates] == [("s3:*", "SlowDown", 0.05, "prod-a")]
    assert (scenario.fault_seed, dict(scenario.latencies)) == (9, {"ssm:CreateResourceDataSync": 0.5, "*": 0.1})
    for key, value, expected in [
        (
            "faultRates",
            [{"api": "s3:*", "error": "SlowDown", "rate": 1.5}],
            r"faultRates\[0\]\.rate: 1\.5 must be a share",
        ),
        ("faultRates", [{"api": "s3", "error": "SlowDown", "rate": 0.1}], r"faultRates\[0\]\.api: 's3' is not"),
        ("faultRates", [{"api": "*", "error": "SlowDown", "rate": 0.1, "account": "x"}], r"\.account: 'x' is not"),
        ("latencies", {"s3:*": -0.1}, r"latencies\.s3:\*: -0\.1 must be a number of seconds >= 0"),
        ("faultSeed", -1, r"faultSeed: -1 must be an integer >= 0"),
    ]:
        broken = minimal()
        broken[key] = value
        with pytest.raises(ScenarioError, match=expected):
            parse_scenario(broken)
