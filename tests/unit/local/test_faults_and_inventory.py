"""Fault matching (without AWS) and the files the emulated SSM writes."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import ClassVar

from botocore.awsrequest import AWSPreparedRequest

from workflow.local.faults import Call, FaultInjector, describe_call
from workflow.local.inventory import (
    COLLECTED_TYPES,
    REGISTRATION_TYPES,
    derived_nodes,
    instance_ids,
    inventory_objects,
    marker_object,
)
from workflow.local.scenario import Application, Fault, Node

NAMES = {"200000000001": "sb-1", "200000000002": "sb-2"}


def call(api: str = "ssm:CreateResourceDataSync", account: str = "200000000001", region: str = "us-east-1") -> Call:
    service, operation = api.split(":")
    return Call(service, operation, account, None, region, None)


def test_fault_fires_times_then_stops() -> None:
    injector = FaultInjector([Fault("ssm:CreateResourceDataSync", "ThrottlingException", times=2)], NAMES)

    results = [injector(call()) for _ in range(3)]

    assert [r.code if r else None for r in results] == ["ThrottlingException", "ThrottlingException", None]
    assert results[0] is not None and results[0].message == "Rate exceeded"
    assert injector.remaining()[0][1] == 0
    assert injector.raised == [("ssm:CreateResourceDataSync", "200000000001", "us-east-1", "ThrottlingException")] * 2


def test_fault_matches_the_calling_account_by_name_and_the_region() -> None:
    fault = Fault("ssm:CreateResourceDataSync", "ThrottlingException", times=5, account="sb-2", region="eu-west-1")
    injector = FaultInjector([fault], NAMES)

    assert injector(call(account="200000000001", region="eu-west-1")) is None
    assert injector(call(account="200000000002", region="us-east-1")) is None
    assert injector(call(api="ssm:ListResourceDataSync", account="200000000002", region="eu-west-1")) is None
    hit = injector(call(account="200000000002", region="eu-west-1"))
    assert hit is not None and hit.code == "ThrottlingException"
    assert injector.remaining()[0][1] == 4


def test_fault_with_a_key_matches_only_s3_calls_on_objects_under_it() -> None:
    def s3_call(operation: str, url: str) -> Call:
        request = AWSPreparedRequest("GET", url, {}, None, False)
        return Call("s3", operation, "200000000001", None, "us-east-1", request)

    items = "https://acme.s3.us-east-1.amazonaws.com/orgsync/runs/e1/targets.json"
    injector = FaultInjector([Fault("s3:GetObject", "InternalError", times=1, key="orgsync/runs/e1/")], NAMES)

    assert injector(s3_call("GetObject", "https://acme.s3.us-east-1.amazonaws.com/orgsync/reports/e1/r.json")) is None
    assert injector(s3_call("ListObjectsV2", "https://acme.s3.us-east-1.amazonaws.com/?prefix=orgsync")) is None
    assert injector(call(api="ssm:ListResourceDataSync")) is None
    hit = injector(s3_call("GetObject", items))
    assert hit is not None and hit.code == "InternalError"
    assert injector(s3_call("GetObject", items)) is None  # its one time is spent


def test_fault_message_and_status_are_taken_from_the_spec() -> None:
    fault = Fault("sts:AssumeRole", "InternalFailure", message="boom", http_status=503)
    injector = FaultInjector([fault], NAMES)

    hit = injector(call(api="sts:AssumeRole"))

    assert hit is not None and (hit.code, hit.message, hit.status) == ("InternalFailure", "boom", 503)


def test_step_functions_faults_use_the_iam_prefix_or_the_service_id() -> None:
    injector = FaultInjector(
        [Fault("states:StartExecution", "ThrottlingException"), Fault("sfn:StartExecution", "ServiceQuotaExceeded")],
        NAMES,
    )

    assert call(api="sfn:StartExecution").api == "states:StartExecution"
    first, second = injector(call(api="sfn:StartExecution")), injector(call(api="sfn:StartExecution"))
    assert first is not None and first.code == "ThrottlingException"
    assert second is not None and second.code == "ServiceQuotaExceeded"


def test_faults_added_at_run_time_and_accounts_named_later() -> None:
    injector = FaultInjector([], NAMES)
    injector.add(Fault("organizations:ListRoots", "TooManyRequestsException", account="late"))

    assert injector(call(api="organizations:ListRoots", account="200000000009")) is None
    injector.name_account("200000000009", "late")
    hit = injector(call(api="organizations:ListRoots", account="200000000009"))
    assert hit is not None and hit.code == "TooManyRequestsException"


def test_describe_call_reads_account_and_region_from_the_signature() -> None:
    class Request:
        headers: ClassVar[dict[str, str]] = {
            "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAUNKNOWN/20260101/ap-northeast-1/ssm/aws4_request, "
            "SignedHeaders=host, Signature=abc"
        }
        body = b""

    described = describe_call("before-send.ssm.ListResourceDataSync", Request())  # type: ignore[arg-type]

    assert described is not None
    assert (described.service, described.operation, described.region, described.access_key) == (
        "ssm",
        "ListResourceDataSync",
        "ap-northeast-1",
        "AKIAUNKNOWN",
    )
    assert describe_call("before-send", Request()) is None  # type: ignore[arg-type]


AT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_marker_has_no_region_in_its_key() -> None:
    key, body = marker_object("default", "200000000001", AT)

    assert key == "default/AWS:InstanceInformation/accountid=200000000001/test.json"
    assert json.loads(body)["captureTime"] == "2026-01-02T03:04:05Z"


def test_inventory_files_follow_the_documented_layout_one_json_object_per_line() -> None:
    nodes = derived_nodes("200000000001", "us-east-1", 2)
    objects = dict(inventory_objects("default", "200000000001", nodes, AT))
    ids = instance_ids("200000000001", "us-east-1", 2)

    assert [n.id for n in nodes] == ids and [n.platform for n in nodes] == ["Linux", "Windows"]
    for node in nodes:
        expected = set(REGISTRATION_TYPES + COLLECTED_TYPES) - (
            {"AWS:WindowsUpdate"} if node.platform == "Linux" else set()
        )
        written = {key.split("/")[1] for key in objects if key.endswith(f"/{node.id}.json")}
        assert written == expected
        for type_name in written:
            key = (
                f"default/{type_name}/accountid=200000000001/region=us-east-1/"
                f"resourcetype=ManagedInstanceInventory/{node.id}.json"
            )
            records = [json.loads(line) for line in objects[key].decode().splitlines()]
            assert records and all(r["resourceId"] == node.id for r in records)
            assert all(r["captureTime"] == "2026-01-02T03:04:05Z" for r in records)
    information = json.loads(
        objects[
            f"default/AWS:InstanceInformation/accountid=200000000001/region=us-east-1/"
            f"resourcetype=ManagedInstanceInventory/{ids[0]}.json"
        ]
    )
    assert information["InstanceStatus"] == "Active" and information["InstanceId"] == ids[0]


def test_application_lines_carry_the_fields_of_real_files() -> None:
    node = Node("i-0123456789abcdef0", "ap-northeast-1", applications=(Application("openssl", "3.0.8"),))

    (body,) = [b for k, b in inventory_objects("inv", "200000000001", [node], AT) if "/AWS:Application/" in k]
    (line,) = [json.loads(text) for text in body.decode().splitlines()]

    assert set(line) == {
        "Name", "Version", "Publisher", "ApplicationType", "InstalledTime", "Architecture", "PackageId",
        "Summary", "URL", "Release", "resourceId", "captureTime", "schemaVersion",
    }  # fmt: skip
    assert (line["Name"], line["Version"], line["schemaVersion"]) == ("openssl", "3.0.8", "1.1")


def test_terminated_node_keeps_its_files_and_says_terminated_with_its_last_capture_time() -> None:
    node = Node("i-0123456789abcdef0", "ap-northeast-1", "Linux", "terminated", inventory_age_days=40)

    objects = dict(inventory_objects("inv", "200000000001", [node], AT))
    info_key = (
        "inv/AWS:InstanceInformation/accountid=200000000001/region=ap-northeast-1/"
        "resourcetype=ManagedInstanceInventory/i-0123456789abcdef0.json"
    )
    info = json.loads(objects[info_key])

    assert (info["InstanceStatus"], info["captureTime"]) == ("Terminated", "2025-11-23T03:04:05Z")
    assert any("/AWS:Network/" in key for key in objects)


def test_without_collection_only_registration_types_are_written() -> None:
    ec2 = Node("i-0123456789abcdef0", "ap-northeast-1")
    hybrid = Node("mi-0123456789abcdef0", "ap-northeast-1", "Windows")

    objects = inventory_objects("inv", "200000000001", [ec2, hybrid], AT, collected=False)
    types = sorted((key.split("/")[1], key.rsplit("/", 1)[1]) for key, _ in objects)

    # Tags come from EC2 tag expansion: a hybrid node (mi-) has none.
    assert types == [
        ("AWS:InstanceInformation", "i-0123456789abcdef0.json"),
        ("AWS:InstanceInformation", "mi-0123456789abcdef0.json"),
        ("AWS:Tag", "i-0123456789abcdef0.json"),
    ]
    hybrid_info = json.loads(dict(objects)[next(k for k, _ in objects if k.endswith("mi-0123456789abcdef0.json"))])
    assert hybrid_info["ResourceType"] == "ManagedInstance"


def test_instance_ids_are_deterministic_and_distinct() -> None:
    ids = instance_ids("200000000001", "us-east-1", 5)

    assert ids == instance_ids("200000000001", "us-east-1", 5)
    assert len(set(ids)) == 5 and all(i.startswith("i-") and len(i) == 19 for i in ids)
    assert ids[0] != instance_ids("200000000001", "eu-west-1", 1)[0]
    assert inventory_objects("default", "200000000001", derived_nodes("200000000001", "us-east-1", 0), AT) == []
