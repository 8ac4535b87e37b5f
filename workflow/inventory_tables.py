"""The Athena tables over the inventory SSM writes: one definition, read by the CDK app and by ``orgsync query``.

One table per inventory type, named as AWS's Glue crawler names them (``AWS:Application`` -> ``aws_application``),
with lower-case string columns (the JsonSerDe matches JSON keys case-insensitively; SSM writes numbers as strings)
and the partition keys of the path SSM writes, ``accountid``, ``region`` and ``resourcetype``::

    PREFIX/AWS:Application/accountid=<id>/region=<region>/resourcetype=ManagedInstanceInventory/<node>.json

Two traps of AWS's own recipes are designed out here:

- ``AWS:InstanceInformation`` lines carry ``ResourceType`` (``EC2Instance`` or ``ManagedInstance``), which a
  crawler turns into a ``resourcetype`` column colliding with the partition key (AWS ships a Lambda that deletes
  the column after every crawl). Here the column is ``instanceresourcetype``, mapped from the JSON key by a SerDe
  ``mapping.`` property; locally the same mapping is applied.
- The test.json marker sits at ``PREFIX/AWS:InstanceInformation/accountid=<id>/test.json``, beside the
  ``region=`` directories rather than inside one. Partition projection reads only the directories its
  ``storage.location.template`` names (``.../accountid=${accountid}/region=${region}/resourcetype=${resourcetype}/``),
  so the marker is never read and no crawler exclusion is needed; locally only keys of that shape are loaded.

Example::

    >>> table = table_for("AWS:InstanceInformation")
    >>> table.name, table.columns[-1]
    ('aws_instanceinformation', Column(name='instanceresourcetype', key='ResourceType'))
    >>> table.location_template("acme-inventory", "default")
    's3://acme-inventory/default/AWS:InstanceInformation/accountid=${accountid}/region=${region}/resourcetype=${resourcetype}/'
"""

from __future__ import annotations

from dataclasses import dataclass

#: The partition keys, in the order of the path.
PARTITION_KEYS = ("accountid", "region", "resourcetype")
#: The only ``resourcetype=`` directory SSM writes for managed nodes.
RESOURCE_TYPE = "ManagedInstanceInventory"
#: Every line of every type carries these besides the type's attributes.
COMMON_KEYS = ("resourceId", "captureTime", "schemaVersion")
#: The SerDe of SSM's ``SyncFormat: JsonSerDe`` and Athena's recipes.
SERDE = "org.openx.data.jsonserde.JsonSerDe"


@dataclass(frozen=True)
class Column:
    """A string column and the JSON key it reads (matched case-insensitively, as the JsonSerDe does)."""

    name: str
    key: str


@dataclass(frozen=True)
class InventoryTable:
    """The table of one inventory type."""

    type_name: str
    columns: tuple[Column, ...]

    @property
    def name(self) -> str:
        """The crawler's name for the type: lower case, ``:`` as ``_``."""
        return self.type_name.lower().replace(":", "_")

    @property
    def mapped_columns(self) -> tuple[Column, ...]:
        """Columns whose name is not their key in lower case: the SerDe needs a ``mapping.<column>`` for them."""
        return tuple(c for c in self.columns if c.name != c.key.lower())

    def location(self, bucket: str, prefix: str) -> str:
        """The table's S3 location (the type's directory)."""
        return f"s3://{bucket}/{_join(prefix, self.type_name)}/"

    def location_template(self, bucket: str, prefix: str) -> str:
        """Partition projection's ``storage.location.template``: the ``resourcetype=`` directories only."""
        partitions = "/".join(f"{key}=${{{key}}}" for key in PARTITION_KEYS)
        return f"{self.location(bucket, prefix)}{partitions}/"


def _join(prefix: str, path: str) -> str:
    prefix = prefix.strip("/")
    return f"{prefix}/{path}" if prefix else path


def _table(type_name: str, *keys: str, renamed: dict[str, str] | None = None) -> InventoryTable:
    renamed = renamed or {}
    columns = [Column(renamed.get(key, key.lower()), key) for key in (*keys, *COMMON_KEYS)]
    # The renamed ones go last, so the attributes keep the order of AWS's schema.
    columns.sort(key=lambda column: column.key in renamed)
    return InventoryTable(type_name, tuple(columns))


#: The inventory types of AWS's inventory schema ("Metadata collected by inventory") that resource data sync exports.
TABLES: tuple[InventoryTable, ...] = (
    _table(
        "AWS:Application",
        "Name", "ApplicationType", "Publisher", "Version", "InstalledTime", "Architecture", "URL", "Summary",
        "PackageId", "Release", "Epoch",
    ),
    _table(
        "AWS:AWSComponent", "Name", "ApplicationType", "Publisher", "Version", "InstalledTime", "Architecture", "URL"
    ),
    _table("AWS:BillingInfo", "BillingProductId"),
    _table(
        "AWS:ComplianceItem",
        "ComplianceType", "ExecutionId", "ExecutionType", "ExecutionTime", "Id", "Title", "Status", "Severity",
        "DocumentName", "DocumentVersion", "Classification", "PatchBaselineId", "PatchSeverity", "PatchState",
        "PatchGroup", "InstalledTime",
    ),
    _table(
        "AWS:ComplianceSummary",
        "ComplianceType", "PatchGroup", "PatchBaselineId", "Status", "OverallSeverity", "ExecutionId",
        "ExecutionType", "ExecutionTime", "CompliantCriticalCount", "CompliantHighCount", "CompliantMediumCount",
        "CompliantLowCount", "CompliantInformationalCount", "CompliantUnspecifiedCount", "NonCompliantCriticalCount",
        "NonCompliantHighCount", "NonCompliantMediumCount", "NonCompliantLowCount", "NonCompliantInformationalCount",
        "NonCompliantUnspecifiedCount",
    ),
    _table(
        "AWS:InstanceDetailedInformation",
        "CPUModel", "CPUCores", "CPUs", "CPUSpeedMHz", "CPUSockets", "CPUHyperThreadEnabled", "OSServicePack",
        "KernelVersion",
    ),
    _table(
        "AWS:InstanceInformation",
        "AgentType", "AgentVersion", "ComputerName", "IamRole", "InstanceId", "IpAddress", "PlatformName",
        "PlatformType", "PlatformVersion", "ResourceType", "AgentStatus", "InstanceStatus",
        renamed={"ResourceType": "instanceresourcetype"},
    ),
    _table("AWS:Network", "Name", "SubnetMask", "Gateway", "DHCPServer", "DNSServer", "MacAddress", "IPV4", "IPV6"),
    _table("AWS:PatchSummary",
        "PatchGroup", "BaselineId", "SnapshotId", "OwnerInformation", "InstalledCount", "InstalledOtherCount",
        "NotApplicableCount", "MissingCount", "FailedCount", "OperationType", "OperationStartTime",
        "OperationEndTime",
    ),
    _table("AWS:Tag", "Key", "Value"),
    _table("AWS:WindowsUpdate", "HotFixId", "Description", "InstalledTime", "InstalledBy"),
)  # fmt: skip


def table_for(type_name: str) -> InventoryTable:
    """The table of ``type_name`` (KeyError if it has none)."""
    for table in TABLES:
        if table.type_name == type_name:
            return table
    raise KeyError(type_name)


def parse_inventory_key(key: str, prefix: str) -> tuple[InventoryTable, dict[str, str]] | None:
    """The table and partition values of an inventory file's key; None for any other key (the marker among them).

    This is the local twin of the projection's location template: only ``<type>/accountid=/region=/
    resourcetype=/<file>.json`` directly under the prefix is a table's file.

    >>> parse_inventory_key("default/AWS:Tag/accountid=200000000001/region=us-east-1/"
    ...                     "resourcetype=ManagedInstanceInventory/i-0123456789abcdef0.json", "default")[1]
    {'accountid': '200000000001', 'region': 'us-east-1', 'resourcetype': 'ManagedInstanceInventory'}
    >>> parse_inventory_key("default/AWS:InstanceInformation/accountid=200000000001/test.json", "default") is None
    True
    """
    root = _join(prefix, "")
    if not key.startswith(root) or not key.endswith(".json"):
        return None
    parts = key[len(root) :].split("/")
    if len(parts) != 5:
        return None
    type_name, *directories, _ = parts
    values: dict[str, str] = {}
    for name, directory in zip(PARTITION_KEYS, directories, strict=True):
        label, _, value = directory.partition("=")
        if label != name or not value:
            return None
        values[name] = value
    try:
        return table_for(type_name), values
    except KeyError:
        return None
