"""classify: every finding, from listings alone (no AWS)."""

from __future__ import annotations

from lambdas.classification import (
    Action,
    Decision,
    ExistingSync,
    Finding,
    aws_managed_by,
    blocked_by,
    classify,
    decide_rollout,
    decide_teardown,
    decide_verify,
)
from lambdas.models import Destination, OnConflict, Status

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
                                        "region": "us-east-1", "organizationShared": True,
                                        "awsManagedBy": "Amazon Inspector"}


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
    inspector = sync("team-inventory", bucket="inspector-bucket", prefix="")
    slot = classify([inspector], "org-inventory", DEST)
    quota = classify([sync(f"s{i}", org=False) for i in range(5)], "org-inventory", DEST)
    held = (
        "The organization-based sync team-inventory (s3://inspector-bucket) holds the region's only organization "
        "slot"
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


# -- equivalent syncs, adoption, AWS-managed syncs (issue 10) ---------------------------------------------------

LEGACY = "org-sync"  # the StackSet-with-custom-resource setup's default name


def test_an_organization_sync_under_another_name_to_our_destination_is_equivalent_not_a_conflict() -> None:
    legacy = sync(LEGACY)
    result = classify([legacy], "org-inventory", DEST)
    assert result.finding is Finding.EQUIVALENT and result.holder == legacy
    for on_conflict in OnConflict:  # never replaced, even with onConflict=replace
        decision = decide_rollout(result, "org-inventory", DEST, on_conflict)
        assert (decision.status, decision.action) == (Status.EQUIVALENT, Action.NONE)
        assert LEGACY in decision.detail and decision.existingSync == legacy.describe()


def test_an_equivalent_sync_must_match_prefix_region_and_kms_key() -> None:
    for other in (sync(LEGACY, prefix="legacy"), sync(LEGACY, region="eu-west-1"),
                  sync(LEGACY, kms="arn:aws:kms:us-east-1:111122223333:key/k")):
        assert classify([other], "org-inventory", DEST).finding is Finding.SLOT_TAKEN, other


def test_adopt_takes_the_equivalent_sync_over_and_later_runs_see_it_as_ours() -> None:
    legacy = sync(LEGACY)
    decision = decide_rollout(classify([legacy], "org-inventory", DEST), "org-inventory", DEST, OnConflict.REPORT,
                              adopt=True)
    assert (decision.status, decision.action, decision.sync) == (Status.ADOPTED, Action.ADOPT, LEGACY)
    # once adopted, it is ours: in place for rollout and verify, deletable by teardown
    adopted = classify([legacy], "org-inventory", DEST, adopted=LEGACY)
    assert adopted.finding is Finding.OURS_SAME
    assert decide_rollout(adopted, "org-inventory", DEST, OnConflict.REPORT).status is Status.IN_SYNC
    assert decide_verify(adopted, "org-inventory", DEST).status is Status.IN_SYNC
    torn = decide_teardown([legacy], "org-inventory", DEST.bucket, DEST.prefix, adopted=LEGACY)
    assert (torn.status, torn.action, torn.sync) == (Status.DELETED, Action.DELETE, LEGACY)


def test_teardown_never_deletes_an_equivalent_sync_it_did_not_adopt() -> None:
    decision = decide_teardown([sync(LEGACY)], "org-inventory", DEST.bucket, DEST.prefix)
    assert (decision.status, decision.action) == (Status.NOT_FOUND, Action.NONE)
    assert f"{LEGACY} writes into s3://acme-inventory/default but orgsync did not adopt it" in decision.detail


def test_aws_managed_syncs_are_named_and_never_offered_for_removal() -> None:
    assert aws_managed_by("AWS-QuickSetup-ManagedNode") == "Systems Manager unified console (Quick Setup)"
    assert aws_managed_by("license-manager-resource-data-sync-for-cross-account-discovery") == "AWS License Manager"
    managed = [sync("InspectorResourceDataSync-do-not-delete", org=False, bucket="i"),
               sync("license-manager-cross-account-discovery-v2", org=False, bucket="l"),
               sync("AWS-QuickSetup-ManagedNode", org=False, bucket="q")]
    mine = [sync("team-a", org=False, bucket="a"), sync("team-b", org=False, bucket="b")]
    quota = blocked_by(classify([*managed, *mine], "org-inventory", DEST), nothing_changed=True)
    assert quota is not None and quota.status is Status.QUOTA_EXCEEDED
    assert quota.detail.endswith("Yours to remove, if no longer needed: team-a, team-b; never the AWS-managed ones.")
    assert "AWS-QuickSetup-ManagedNode (AWS-managed: Systems Manager unified console (Quick Setup))" in quota.detail
    only_managed = blocked_by(classify([*managed, *[sync(f"lm-{i}", org=False) for i in range(0)],
                                        sync("license-manager-cross-account-discovery-for-del-admin-v2", org=False),
                                        sync("license-manager-cross-account-discovery-v3", org=False)],
                                       "org-inventory", DEST))
    assert only_managed is not None and "None of them is yours to remove" in only_managed.detail
    slot = blocked_by(classify([sync("InspectorResourceDataSync-do-not-delete", bucket="i")], "org-inventory", DEST))
    assert slot is not None and slot.status is Status.CONFLICT
    assert "It is AWS-managed (Amazon Inspector): do not remove it" in slot.detail
