"""classify: every finding, from listings alone (no AWS)."""

from __future__ import annotations

from lambdas.classification import Decision, ExistingSync, Finding, blocked_by, classify
from lambdas.models import Destination, Status

DEST = Destination("acme-inventory", "us-east-1", "default")


def sync(name: str, bucket: str = "acme-inventory", prefix: str = "default", org: bool = True,
         region: str = "us-east-1", kms: str | None = None) -> ExistingSync:
    return ExistingSync(name, bucket, prefix, region, kms, org)


def test_nothing_there_is_absent() -> None:
    assert classify([], "org-inventory", DEST).finding is Finding.ABSENT


def test_ours_to_the_same_destination_is_in_sync() -> None:
    result = classify([sync("org-inventory")], "org-inventory", DEST)
    assert result.finding is Finding.OURS_SAME and result.ours is not None


def test_ours_elsewhere_by_bucket_prefix_region_kms_or_sharing() -> None:
    for ours in (sync("org-inventory", bucket="old"), sync("org-inventory", prefix="old"),
                 sync("org-inventory", region="eu-west-1"), sync("org-inventory", org=False),
                 sync("org-inventory", kms="arn:aws:kms:us-east-1:111122223333:key/k")):
        assert classify([ours], "org-inventory", DEST).finding is Finding.OURS_ELSEWHERE, ours


def test_another_organization_sync_holds_the_slot() -> None:
    inspector = sync("InspectorResourceDataSync-do-not-delete", bucket="inspector-bucket", prefix="")
    result = classify([sync("local-only", org=False), inspector], "org-inventory", DEST)
    assert result.finding is Finding.SLOT_TAKEN
    assert result.holder == inspector
    assert result.holder.describe() == {"name": "InspectorResourceDataSync-do-not-delete",
                                        "bucket": "inspector-bucket", "prefix": "",
                                        "region": "us-east-1", "organizationShared": True}


def test_five_syncs_without_an_organization_one_is_quota_full() -> None:
    syncs = [sync(f"s{i}", org=False) for i in range(5)]
    result = classify(syncs, "org-inventory", DEST)
    assert result.finding is Finding.QUOTA_FULL and len(result.syncs) == 5


def test_four_syncs_leave_room() -> None:
    assert classify([sync(f"s{i}", org=False) for i in range(4)], "org-inventory", DEST).finding is Finding.ABSENT


def test_ours_elsewhere_notes_a_holder_that_would_block_the_replacement() -> None:
    holder = sync("LicenseManager", bucket="lm")
    result = classify([sync("org-inventory", org=False), holder], "org-inventory", DEST)
    assert result.finding is Finding.OURS_ELSEWHERE and result.holder == holder


def test_from_item_reads_a_listing_item() -> None:
    raw = {"SyncName": "org-inventory", "S3Destination": {
        "BucketName": "acme-inventory", "Prefix": "default", "SyncFormat": "JsonSerDe", "Region": "us-east-1",
        "DestinationDataSharing": {"DestinationDataSharingType": "Organization"}}, "LastStatus": "Successful"}
    parsed = ExistingSync.from_item(raw)
    assert parsed.writes_to(DEST) and parsed.lastStatus == "Successful"


def test_blocked_by_words_a_conflict_and_a_full_quota_for_the_rollout_and_for_verify() -> None:
    inspector = sync("InspectorResourceDataSync-do-not-delete", bucket="inspector-bucket", prefix="")
    slot = classify([inspector], "org-inventory", DEST)
    quota = classify([sync(f"s{i}", org=False) for i in range(5)], "org-inventory", DEST)
    held = (
        "The organization-based sync InspectorResourceDataSync-do-not-delete (s3://inspector-bucket) holds the "
        "region's only organization slot"
    )
    full = "5 resource data syncs exist (s0, s1, s2, s3, s4); the quota is 5"
    assert blocked_by(slot) == Decision(Status.CONFLICT, f"{held}.", inspector.describe())
    assert blocked_by(slot, nothing_changed=True) == Decision(
        Status.CONFLICT, f"{held}; nothing was changed.", inspector.describe()
    )
    assert blocked_by(quota) == Decision(Status.QUOTA_EXCEEDED, f"{full}.", [s.describe() for s in quota.syncs])
    in_the_way = blocked_by(quota, nothing_changed=True)
    assert in_the_way is not None and in_the_way.detail == f"{full} per account and region. Nothing was changed."
    assert blocked_by(classify([], "org-inventory", DEST)) is None
