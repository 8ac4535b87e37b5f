"""AWS regions that matter to orgsync: the opt-in ones.

Opt-in regions are disabled in an account until someone enables them (calls signed for them fail until then),
and in them SSM acts as its regional service principal ``ssm.<region>.amazonaws.com``, which the bucket policy
must name. One list, read by the emulation, the CDK bucket policy and the scenario validation.

Example::

    >>> ssm_service_principal("ap-east-1"), ssm_service_principal("us-east-1")
    ('ssm.ap-east-1.amazonaws.com', 'ssm.amazonaws.com')
"""

from __future__ import annotations

import functools

import boto3

#: Regions AWS launches disabled (AWS Account Management: "enable or disable AWS Regions in your account").
OPT_IN_REGIONS = frozenset(
    {
        "af-south-1",
        "ap-east-1",
        "ap-east-2",
        "ap-south-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-6",
        "ap-southeast-7",
        "ca-west-1",
        "eu-central-2",
        "eu-south-1",
        "eu-south-2",
        "il-central-1",
        "me-central-1",
        "me-south-1",
        "mx-central-1",
    }
)


@functools.cache
def known_regions() -> frozenset[str]:
    """Every region botocore knows an SSM endpoint for (its bundled endpoints.json), opt-in ones included, in
    every partition. A region newer than the installed botocore is unknown until botocore is upgraded.

    >>> "us-east-1" in known_regions() and "af-south-1" in known_regions() and "mars-1" not in known_regions()
    True
    """
    session = boto3.session.Session()
    regions: set[str] = set()
    for partition in session.get_available_partitions():
        regions.update(session.get_available_regions("ssm", partition_name=partition))
    return frozenset(regions)


def ssm_service_principal(region: str) -> str:
    """The service principal SSM acts as when it writes from ``region``."""
    return f"ssm.{region}.amazonaws.com" if region in OPT_IN_REGIONS else "ssm.amazonaws.com"
