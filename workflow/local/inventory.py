"""What SSM writes into the destination bucket: the test.json marker and the managed nodes' inventory files.

Layout (``docs/aws-behaviour.md``): the marker at ``PREFIX/AWS:InstanceInformation/accountid=ID/test.json`` (no
region: one per account), inventory at ``PREFIX/AWS:<Type>/accountid=<id>/region=<r>/resourcetype=
ManagedInstanceInventory/<node-id>.json``, one JSON object per line (JsonSerDe). Each line carries the type's
attributes under the names of AWS's inventory schema ("Metadata collected by inventory": ``Name``, ``Version``,
``InstalledTime``, ...) plus ``resourceId``, ``captureTime`` and ``schemaVersion``.

Which types a node has, as AWS's "Understanding AWS Systems Manager Inventory Metadata" describes them:

- ``AWS:InstanceInformation`` comes from the agent registering, updating or being gracefully terminated, and
  ``AWS:Tag`` from the agent's periodic tag expansion: every node has them, collection or not. A terminated node
  keeps its files (SSM never deletes them) and its ``InstanceStatus`` says ``Terminated``; a stopped one says
  ``Stopped``; a running one ``Active``.
- ``AWS:Application``, ``AWS:AWSComponent``, ``AWS:Network``, ``AWS:InstanceDetailedInformation`` and, on
  Windows, ``AWS:WindowsUpdate`` come from the ``AWS-GatherSoftwareInventory`` association: without one in the
  account-region (the scenario's ``inventoryAssociation``) a node has none of them.
- ``AWS:PatchSummary``, ``AWS:ComplianceItem``, ``AWS:ComplianceSummary`` (patching) and ``AWS:BillingInfo``
  (license-included AMIs) are not emulated; the Athena tables exist for them all the same.

A scenario either lists its nodes (:class:`~workflow.local.scenario.Node`) or counts them per region; counted
nodes get ids, platforms and software derived from the account, region and index, so a scenario always produces
the same files. The functions here only build ``(key, body)`` pairs; ``LocalAws`` puts them into the aggregator's
moto S3 backend.

Example::

    >>> from datetime import UTC, datetime
    >>> marker_object("default", "200000000001", datetime(2026, 1, 1, tzinfo=UTC))[0]
    'default/AWS:InstanceInformation/accountid=200000000001/test.json'
    >>> nodes = derived_nodes("200000000001", "us-east-1", 1)
    >>> objects = inventory_objects("default", "200000000001", nodes, datetime(2026, 1, 1, tzinfo=UTC))
    >>> sorted(key.split("/")[1] for key, _ in objects)  # doctest: +NORMALIZE_WHITESPACE
    ['AWS:AWSComponent', 'AWS:Application', 'AWS:InstanceDetailedInformation', 'AWS:InstanceInformation',
     'AWS:Network', 'AWS:Tag']
    >>> len(inventory_objects("default", "200000000001", nodes, datetime(2026, 1, 1, tzinfo=UTC), collected=False))
    2
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from lambdas.marker import marker_key
from workflow.local.scenario import Account, Application, Node

#: Types every managed node has (registration and tag expansion), with or without an inventory association.
REGISTRATION_TYPES = ("AWS:InstanceInformation", "AWS:Tag")
#: Types only an ``AWS-GatherSoftwareInventory`` association collects (``AWS:WindowsUpdate`` on Windows only).
COLLECTED_TYPES = (
    "AWS:Application",
    "AWS:AWSComponent",
    "AWS:Network",
    "AWS:InstanceDetailedInformation",
    "AWS:WindowsUpdate",
)
#: Every type the emulation writes.
INVENTORY_TYPES = REGISTRATION_TYPES + COLLECTED_TYPES

#: ``InstanceStatus`` of ``AWS:InstanceInformation`` by EC2 state.
INSTANCE_STATUS = {"running": "Active", "stopped": "Stopped", "terminated": "Terminated"}

_PLATFORM_DETAILS = {
    "Linux": ("Amazon Linux", "2023", "6.1.61-85.141.amzn2023.x86_64"),
    "Windows": ("Microsoft Windows Server 2022 Datacenter", "10.0.20348", ""),
    "MacOS": ("macOS", "14.2.1", "23.2.0"),
}
#: The platforms counted nodes cycle through.
_DERIVED_PLATFORMS = ("Linux", "Windows", "Linux")
_DEFAULT_APPLICATIONS = {
    "Linux": (Application("openssl", "3.0.8", "Amazon Linux"), Application("python3", "3.11.6", "Amazon Linux")),
    "Windows": (
        Application("Microsoft Edge", "120.0.2210.91", "Microsoft Corporation"),
        Application("7-Zip 23.01 (x64)", "23.01", "Igor Pavlov"),
    ),
    "MacOS": (Application("Google Chrome", "120.0.6099.129", "Google LLC"),),
}
_AGENT_VERSION = "3.3.1142.0"
_SCHEMA_VERSIONS = {"AWS:Application": "1.1"}


def _digest(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def instance_ids(account_id: str, region: str, count: int) -> list[str]:
    """The ids of the ``count`` counted managed nodes of an account-region (``i-`` and 17 hex digits)."""
    return ["i-" + _digest(account_id, region, str(index))[:17] for index in range(count)]


def derived_nodes(account_id: str, region: str, count: int) -> list[Node]:
    """The ``count`` running nodes a scenario's count form stands for, their platforms and software derived."""
    return [
        Node(instance_id, region, platform, "running", _DEFAULT_APPLICATIONS[platform])
        for index, instance_id in enumerate(instance_ids(account_id, region, count))
        for platform in (_DERIVED_PLATFORMS[index % len(_DERIVED_PLATFORMS)],)
    ]


def account_nodes(account: Account, region: str) -> list[Node]:
    """The managed nodes of ``account`` in ``region``: the listed ones, or those its counts stand for."""
    if account.nodes:
        return [node for node in account.nodes if node.region == region]
    return derived_nodes(account.id, region, account.instances.get(region, 0))


def _capture(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _lines(records: list[dict[str, Any]]) -> bytes:
    return ("\n".join(json.dumps(record, sort_keys=True) for record in records) + "\n").encode()


def inventory_key(prefix: str | None, type_name: str, account_id: str, region: str, instance_id: str) -> str:
    """The key of one node's inventory file of ``type_name``."""
    path = (
        f"{type_name}/accountid={account_id}/region={region}/resourcetype=ManagedInstanceInventory/{instance_id}.json"
    )
    return f"{prefix}/{path}" if prefix else path


def marker_object(prefix: str | None, account_id: str, at: datetime) -> tuple[str, bytes]:
    """The test.json marker SSM writes to prove it can write (its content is not part of any contract)."""
    body = {"accountId": account_id, "captureTime": _capture(at), "resourceId": "test", "schemaVersion": "1.0"}
    return marker_key(prefix, account_id), _lines([body])


def node_records(account_id: str, node: Node, at: datetime, collected: bool = True) -> dict[str, list[dict[str, Any]]]:
    """The lines of each inventory type of ``node`` as SSM last captured them (``at`` minus its inventory age).

    >>> from datetime import UTC, datetime
    >>> node = Node("i-0123456789abcdef0", "ap-northeast-1", state="terminated", inventory_age_days=2,
    ...             applications=(Application("openssl", "3.0.8"),))
    >>> records = node_records("200000000001", node, datetime(2026, 1, 10, tzinfo=UTC))
    >>> info = records["AWS:InstanceInformation"][0]
    >>> info["InstanceStatus"], info["captureTime"], info["ResourceType"]
    ('Terminated', '2026-01-08T00:00:00Z', 'EC2Instance')
    >>> [(a["Name"], a["Version"]) for a in records["AWS:Application"]]
    [('openssl', '3.0.8')]
    """
    captured = _capture(at - timedelta(days=node.inventory_age_days))
    region = node.region
    common = {"resourceId": node.id, "captureTime": captured}
    platform_name, platform_version, kernel = _PLATFORM_DETAILS[node.platform]
    index = int(_digest(node.id)[:4], 16)
    ip_address = f"10.{index % 250}.{(index >> 8) % 250}.{10 + index % 200}"
    is_ec2 = node.id.startswith("i-")

    def line(type_name: str, **fields: Any) -> dict[str, Any]:
        return {**fields, **common, "schemaVersion": _SCHEMA_VERSIONS.get(type_name, "1.0")}

    records: dict[str, list[dict[str, Any]]] = {
        "AWS:InstanceInformation": [
            line(
                "AWS:InstanceInformation",
                AgentType="amazon-ssm-agent",
                AgentVersion=_AGENT_VERSION,
                ComputerName=(
                    f"EC2AMAZ-{node.id[2:9].upper()}"
                    if node.platform == "Windows"
                    else f"ip-{ip_address.replace('.', '-')}.{region}.compute.internal"
                ),
                InstanceId=node.id,
                InstanceStatus=INSTANCE_STATUS[node.state],
                IpAddress=ip_address,
                PlatformName=platform_name,
                PlatformType=node.platform,
                PlatformVersion=platform_version,
                ResourceType="EC2Instance" if is_ec2 else "ManagedInstance",
            )
        ],
        "AWS:Tag": [
            line("AWS:Tag", Key="Name", Value=f"{account_id}-{region}-{node.id[-4:]}"),
            line("AWS:Tag", Key="Environment", Value="prod" if index % 2 == 0 else "dev"),
        ]
        if is_ec2
        else [],
    }
    if not collected:
        return {type_name: lines for type_name, lines in records.items() if lines}
    architecture = "x86_64"
    records["AWS:Application"] = [
        line(
            "AWS:Application",
            Name=app.name,
            Version=app.version,
            Publisher=app.publisher or "",
            ApplicationType="System Environment/Libraries" if node.platform == "Linux" else "",
            InstalledTime=captured,
            Architecture=architecture,
            PackageId=f"{app.name}-{app.version}.{architecture}.rpm" if node.platform == "Linux" else "",
            Summary=app.name,
            URL="",
            Release="1.amzn2023" if node.platform == "Linux" else "",
        )
        for app in node.applications
    ]
    records["AWS:AWSComponent"] = [
        line(
            "AWS:AWSComponent",
            Name="amazon-ssm-agent",
            Version=_AGENT_VERSION,
            Publisher="Amazon.com",
            ApplicationType="",
            InstalledTime=captured,
            Architecture=architecture,
            URL="https://github.com/aws/amazon-ssm-agent",
        )
    ]
    subnet = f"10.{index % 250}.{(index >> 8) % 250}"
    records["AWS:Network"] = [
        line(
            "AWS:Network",
            Name="Ethernet" if node.platform == "Windows" else "ens5",
            IPV4=ip_address,
            IPV6="",
            MacAddress=":".join(_digest(node.id, "mac")[i : i + 2] for i in range(0, 12, 2)),
            DHCPServer=f"{subnet}.1",
            DNSServer=f"{subnet}.2",
            Gateway=f"{subnet}.1",
            SubnetMask="255.255.255.0",
        )
    ]
    records["AWS:InstanceDetailedInformation"] = [
        line(
            "AWS:InstanceDetailedInformation",
            CPUModel="Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz",
            CPUCores="1",
            CPUs="2",
            CPUSpeedMHz="2500",
            CPUSockets="1",
            CPUHyperThreadEnabled="true",
            OSServicePack="0" if node.platform == "Windows" else "",
            KernelVersion=kernel,
        )
    ]
    if node.platform == "Windows":
        records["AWS:WindowsUpdate"] = [
            line(
                "AWS:WindowsUpdate",
                HotFixId="KB5034129",
                Description="Security Update",
                InstalledTime=captured,
                InstalledBy="NT AUTHORITY\\SYSTEM",
            )
        ]
    return {type_name: lines for type_name, lines in records.items() if lines}


def instance_information_object(prefix: str | None, account_id: str, node: Node, at: datetime) -> tuple[str, bytes]:
    """The node's ``AWS:InstanceInformation`` file as SSM exports it at ``at`` (its ``InstanceStatus`` current).

    >>> from datetime import UTC, datetime
    >>> node = Node("i-0123456789abcdef0", "us-east-1", state="terminated")
    >>> key, body = instance_information_object("default", "200000000001", node, datetime(2026, 1, 1, tzinfo=UTC))
    >>> key.split("/")[1], json.loads(body)["InstanceStatus"]
    ('AWS:InstanceInformation', 'Terminated')
    """
    lines = node_records(account_id, node, at, collected=False)["AWS:InstanceInformation"]
    return inventory_key(prefix, "AWS:InstanceInformation", account_id, node.region, node.id), _lines(lines)


def inventory_objects(
    prefix: str | None, account_id: str, nodes: list[Node], at: datetime, collected: bool = True
) -> list[tuple[str, bytes]]:
    """Every inventory file of ``nodes`` (one account-region), written at ``at``.

    ``collected`` says whether an inventory association collects there: without one only the registration
    types are written.
    """
    objects: list[tuple[str, bytes]] = []
    for node in nodes:
        for type_name, lines in node_records(account_id, node, at, collected).items():
            objects.append((inventory_key(prefix, type_name, account_id, node.region, node.id), _lines(lines)))
    return objects
