"""What SSM writes into the destination bucket: the test.json marker and the managed instances' inventory files.

Layout (docs/aws-behaviour.md): the marker at ``PREFIX/AWS:InstanceInformation/accountid=ID/test.json`` (no region: one
per account), inventory at ``PREFIX/AWS:<Type>/accountid=<id>/region=<r>/resourcetype=ManagedInstanceInventory/
<instance-id>.json``, one JSON object per line (JsonSerDe). The functions here only build ``(key, body)`` pairs;
``LocalAws`` puts them into the aggregator's moto S3 backend. Instance ids and fields are derived from the
account, region and index, so a scenario always produces the same files.

Example::

    >>> from datetime import UTC, datetime
    >>> marker_object("default", "200000000001", datetime(2026, 1, 1, tzinfo=UTC))[0]
    'default/AWS:InstanceInformation/accountid=200000000001/test.json'
    >>> objects = inventory_objects("default", "200000000001", "us-east-1", 1, datetime(2026, 1, 1, tzinfo=UTC))
    >>> sorted(key.split("/")[1] for key, _ in objects)
    ['AWS:Application', 'AWS:InstanceInformation', 'AWS:Network', 'AWS:Tag']
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from lambdas.marker import marker_key

INVENTORY_TYPES = ("AWS:InstanceInformation", "AWS:Application", "AWS:Network", "AWS:Tag")

_PLATFORMS = (
    ("Linux", "Amazon Linux", "2023"),
    ("Windows", "Microsoft Windows Server 2022 Datacenter", "10.0.20348"),
    ("Linux", "Ubuntu", "22.04"),
)
_APPLICATIONS = (
    ("amazon-ssm-agent", "3.3.1142.0", "Amazon.com"),
    ("openssl", "3.0.8", "OpenSSL"),
    ("python3", "3.11.6", "Python Software Foundation"),
)


def _digest(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def instance_ids(account_id: str, region: str, count: int) -> list[str]:
    """The ids of the ``count`` managed instances of an account-region (``i-`` and 17 hex digits)."""
    return ["i-" + _digest(account_id, region, str(index))[:17] for index in range(count)]


def _capture(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


def _lines(records: list[dict[str, Any]]) -> bytes:
    return ("\n".join(json.dumps(record, sort_keys=True) for record in records) + "\n").encode()


def inventory_key(prefix: str | None, type_name: str, account_id: str, region: str, instance_id: str) -> str:
    """The key of one instance's inventory file of ``type_name``."""
    path = (
        f"{type_name}/accountid={account_id}/region={region}/resourcetype=ManagedInstanceInventory/{instance_id}.json"
    )
    return f"{prefix}/{path}" if prefix else path


def marker_object(prefix: str | None, account_id: str, at: datetime) -> tuple[str, bytes]:
    """The test.json marker SSM writes to prove it can write (its content is not part of any contract)."""
    body = {"accountId": account_id, "captureTime": _capture(at), "resourceId": "test", "schemaVersion": "1.0"}
    return marker_key(prefix, account_id), _lines([body])


def inventory_objects(
    prefix: str | None, account_id: str, region: str, count: int, at: datetime
) -> list[tuple[str, bytes]]:
    """Every inventory file of the ``count`` managed instances of an account-region, captured at ``at``."""
    captured = _capture(at)
    objects: list[tuple[str, bytes]] = []
    for index, instance_id in enumerate(instance_ids(account_id, region, count)):
        common = {"resourceId": instance_id, "captureTime": captured, "schemaVersion": "1.0"}
        platform_type, platform_name, platform_version = _PLATFORMS[index % len(_PLATFORMS)]
        octet = int(_digest(instance_id)[:2], 16)
        ip_address = f"10.{index % 250}.{octet}.{10 + index % 200}"
        information = {
            **common,
            "AgentType": "amazon-ssm-agent",
            "AgentVersion": _APPLICATIONS[0][1],
            "ComputerName": f"ip-{ip_address.replace('.', '-')}.{region}.compute.internal",
            "InstanceId": instance_id,
            "InstanceStatus": "Active",
            "IpAddress": ip_address,
            "PlatformName": platform_name,
            "PlatformType": platform_type,
            "PlatformVersion": platform_version,
            "ResourceType": "EC2Instance",
        }
        applications = [
            {
                **common,
                "Name": name,
                "Version": version,
                "Publisher": publisher,
                "ApplicationType": "System",
                "Architecture": "x86_64",
                "InstalledTime": captured,
            }
            for name, version, publisher in _APPLICATIONS
        ]
        network = {
            **common,
            "Name": "eth0",
            "IPV4": ip_address,
            "IPV6": "",
            "MacAddress": ":".join(_digest(instance_id, "mac")[i : i + 2] for i in range(0, 12, 2)),
            "DHCPServer": f"10.{index % 250}.0.1",
            "DNSServer": f"10.{index % 250}.0.2",
            "Gateway": f"10.{index % 250}.0.1",
            "SubnetMask": "255.255.255.0",
        }
        tags = [
            {**common, "Key": "Name", "Value": f"{account_id}-{region}-{index}"},
            {**common, "Key": "Environment", "Value": "prod" if index % 2 == 0 else "dev"},
        ]
        by_type: dict[str, list[dict[str, Any]]] = {
            "AWS:InstanceInformation": [information],
            "AWS:Application": applications,
            "AWS:Network": [network],
            "AWS:Tag": tags,
        }
        for type_name in INVENTORY_TYPES:
            key = inventory_key(prefix, type_name, account_id, region, instance_id)
            objects.append((key, _lines(by_type[type_name])))
    return objects
