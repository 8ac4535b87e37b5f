"""Replace never leaves an account-region worse off: the logic, with a fake SSM that fails where told.

The fake keeps the account-region's syncs and records every call, so each test shows what is there afterwards,
not only the status.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lambdas import invocation
from lambdas.aws import WORST_CASE_CALL_SECONDS
from lambdas.errors import AwsUnavailable, OutOfTime, Throttled
from lambdas.models import Destination, Mode, OnConflict, RunParameters, Status, TargetItem, Verification
from lambdas.sync import (
    ALREADY_EXISTS,
    RECREATE_WAITS,
    REPLACE_RESERVE_SECONDS,
    reconcile,
    reconcile_rollout,
    s3_destination,
)
from workflow.local.clock import VirtualClock

WANTED = Destination("acme-inventory", "us-east-1", "default")
KMS = "arn:aws:kms:eu-west-1:300000000001:key/0f9e8d7c-1111-2222-3333-444455556666"
#: Our sync as ListResourceDataSync shows it: another bucket, prefix and region, a KMS key, organization sharing.
OLD = {
    "SyncName": "org-inventory",
    "SyncType": "SyncToDestination",
    "SyncCreatedTime": "2025-06-01T00:00:00+00:00",
    "LastStatus": "Successful",
    "S3Destination": {
        "BucketName": "acme-old-inventory",
        "Prefix": "legacy/inventory",
        "SyncFormat": "JsonSerDe",
        "Region": "eu-west-1",
        "AWSKMSKeyARN": KMS,
        "DestinationDataSharing": {"DestinationDataSharingType": "Organization"},
    },
}
S3_WRITE_FAILED = ("ResourceDataSyncInvalidConfigurationException", "S3 write failed for bucket acme-inventory")

Fail = Callable[[dict[str, Any]], tuple[str, str] | None]


class FakeSsm:
    """An account-region's syncs; ``fail_create(arguments)`` answers a create with ``(code, message)`` or None."""

    def __init__(self, syncs: list[dict[str, Any]], fail_create: Fail = lambda _: None) -> None:
        self.syncs = {s["SyncName"]: copy.deepcopy(s) for s in syncs}
        self.fail_create = fail_create
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def list_resource_data_sync(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("List", kwargs))
        return {"ResourceDataSyncItems": [copy.deepcopy(s) for s in self.syncs.values()]}

    def delete_resource_data_sync(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("Delete", kwargs))
        del self.syncs[kwargs["SyncName"]]
        return {}

    def create_resource_data_sync(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("Create", kwargs))
        failure = self.fail_create(kwargs)
        if failure is not None:
            code, message = failure
            raise ClientError({"Error": {"Code": code, "Message": message}}, "CreateResourceDataSync")
        self.syncs[kwargs["SyncName"]] = {"SyncType": "SyncToDestination", **copy.deepcopy(kwargs)}
        return {}

    def created(self) -> list[dict[str, Any]]:
        return [kwargs for name, kwargs in self.calls if name == "Create"]


def replace_item() -> TargetItem:
    run = RunParameters("exec-r", Mode.ROLLOUT, "org-inventory", WANTED, OnConflict.REPLACE, 900, "OrgSyncMemberRole")
    return TargetItem("200000000005", "conflict-own-name", "/Workloads/Prod", "us-east-1", run)


def collecting(item: TargetItem) -> TargetItem:
    """``item`` of a rollout that ensures inventory collection (the only rollout that asks about it)."""
    return dataclasses.replace(item, run=dataclasses.replace(item.run, ensureCollection=True))


def failing_to(destination_bucket: str, error: tuple[str, str], times: int = 10**6) -> Fail:
    """Fail creates that write to ``destination_bucket``, ``times`` times."""
    left = [times]

    def fail(arguments: dict[str, Any]) -> tuple[str, str] | None:
        if arguments["S3Destination"]["BucketName"] == destination_bucket and left[0] > 0:
            left[0] -= 1
            return error
        return None

    return fail


def test_a_failed_create_restores_the_previous_sync_exactly_and_reports_both_destinations(
    virtual_clock: VirtualClock,
) -> None:
    # GIVEN our sync writing elsewhere (KMS, prefix, another region), and SSM refusing to write to the new bucket
    ssm = FakeSsm([OLD], failing_to("acme-inventory", S3_WRITE_FAILED))
    before = virtual_clock.now()

    # WHEN replacing it
    result = reconcile_rollout(ssm, replace_item())

    # THEN the create was tried after each wait (on the clock), then the previous sync is back exactly as it was
    # listed: name, type, destination with prefix, region, KMS key and sharing
    assert [name for name, _ in ssm.calls if name != "List"] == ["Delete", *["Create"] * (len(RECREATE_WAITS) + 2)]
    assert (virtual_clock.now() - before).total_seconds() == sum(RECREATE_WAITS)
    restore = ssm.created()[-1]
    assert restore == {
        "SyncName": "org-inventory", "SyncType": "SyncToDestination", "S3Destination": OLD["S3Destination"]}
    assert ssm.syncs["org-inventory"]["S3Destination"] == OLD["S3Destination"]
    # AND the outcome is RESTORED, naming the error and both destinations
    assert result.status is Status.RESTORED
    assert "S3 write failed for bucket acme-inventory" in result.detail
    assert "s3://acme-old-inventory/legacy/inventory" in result.detail
    assert "s3://acme-inventory/default" in result.detail
    restored, wanted = result.existingSync  # type: ignore[misc]
    assert (restored["replace"], restored["bucket"], restored["prefix"], restored["kmsKeyArn"]) == (
        "restored", "acme-old-inventory", "legacy/inventory", KMS)
    assert (wanted["replace"], wanted["bucket"], wanted["prefix"]) == ("wanted", "acme-inventory", "default")
    outcome = replace_item().outcome(result.status, detail=result.detail, existingSync=result.existingSync)
    assert outcome.needs_attention and "restored" in outcome.action


def test_a_sync_without_organization_sharing_is_restored_without_it(virtual_clock: VirtualClock) -> None:
    unshared = copy.deepcopy(OLD)
    del unshared["S3Destination"]["DestinationDataSharing"]
    ssm = FakeSsm([unshared], failing_to("acme-inventory", ("ThrottlingException", "Rate exceeded")))
    result = reconcile_rollout(ssm, replace_item())
    assert result.status is Status.RESTORED and "throttled" in result.detail
    assert "DestinationDataSharing" not in ssm.syncs["org-inventory"]["S3Destination"]
    assert ssm.syncs["org-inventory"]["S3Destination"] == unshared["S3Destination"]


def test_already_exists_right_after_the_delete_is_waited_out_and_the_replace_completes(
    virtual_clock: VirtualClock,
) -> None:
    # GIVEN a delete that takes a moment to propagate: the next two creates of the name meet AlreadyExists
    ssm = FakeSsm([OLD], failing_to("acme-inventory", (ALREADY_EXISTS, "org-inventory already exists"), times=2))
    before = virtual_clock.now()

    result = reconcile_rollout(ssm, replace_item())

    # THEN the create is tried again after the first waits, on the clock, and the replace is done
    assert result.status is Status.REPLACED
    assert len(ssm.created()) == 3
    assert (virtual_clock.now() - before).total_seconds() == sum(RECREATE_WAITS[:2])
    assert ssm.syncs["org-inventory"]["S3Destination"]["BucketName"] == "acme-inventory"


def test_s3_write_failed_that_passes_within_the_waits_completes_the_replace(virtual_clock: VirtualClock) -> None:
    # GIVEN a bucket policy just fixed: SSM's first two writes still fail
    ssm = FakeSsm([OLD], failing_to("acme-inventory", S3_WRITE_FAILED, times=2))
    result = reconcile_rollout(ssm, replace_item())
    assert result.status is Status.REPLACED and len(ssm.created()) == 3
    assert ssm.syncs["org-inventory"]["S3Destination"]["BucketName"] == "acme-inventory"


def test_no_further_attempt_is_made_when_the_restore_would_no_longer_fit(virtual_clock: VirtualClock) -> None:
    # GIVEN an invocation with time for the delete, one create and the restore, and little more, and a delete that
    # takes its worst case (34 s)
    class SlowDelete(FakeSsm):
        def delete_resource_data_sync(self, **kwargs: Any) -> dict[str, Any]:
            virtual_clock.sleep(WORST_CASE_CALL_SECONDS)
            return super().delete_resource_data_sync(**kwargs)

    ssm = SlowDelete([OLD], failing_to("acme-inventory", S3_WRITE_FAILED))
    start = virtual_clock.time()
    context = SimpleNamespace(
        get_remaining_time_in_millis=lambda: (REPLACE_RESERVE_SECONDS + 1 - (virtual_clock.time() - start)) * 1000)
    with invocation.timed_by(context):
        result = reconcile_rollout(ssm, replace_item())
    # THEN the create is tried once more only while a wait, that attempt and a restore still fit (2 + 34 + 34 s):
    # here 69 s are left after the delete, so not at all, and the restore is made in time
    assert result.status is Status.RESTORED
    assert [name for name, _ in ssm.calls if name != "List"] == ["Delete", "Create", "Create"]


def test_already_exists_that_lasts_ends_with_the_previous_sync_restored(virtual_clock: VirtualClock) -> None:
    # GIVEN AlreadyExists on every create of the new sync, and on the first attempt of the restore
    restores = [1]

    def fail(arguments: dict[str, Any]) -> tuple[str, str] | None:
        if arguments["S3Destination"]["BucketName"] == "acme-inventory":
            return ALREADY_EXISTS, "org-inventory already exists"
        if restores[0]:
            restores[0] -= 1
            return ALREADY_EXISTS, "org-inventory already exists"
        return None

    ssm = FakeSsm([OLD], fail)
    result = reconcile_rollout(ssm, replace_item())
    assert result.status is Status.RESTORED
    assert len(ssm.created()) == 1 + len(RECREATE_WAITS) + 2
    assert ssm.syncs["org-inventory"]["S3Destination"] == OLD["S3Destination"]


def test_a_restore_that_fails_too_is_restore_failed_with_both_errors(virtual_clock: VirtualClock) -> None:
    # GIVEN SSM failing every create after the delete: the new one and the previous one alike
    ssm = FakeSsm([OLD], lambda _: ("InternalServerError", "Internal error"))
    result = reconcile_rollout(ssm, replace_item())
    assert result.status is Status.RESTORE_FAILED
    assert ssm.syncs == {}
    assert result.detail.count("InternalServerError") == 2
    assert "no sync of ours" in result.detail and "s3://acme-old-inventory/legacy/inventory" in result.detail
    previous, _ = result.existingSync  # type: ignore[misc]
    assert previous["replace"] == "deleted, not restored"
    outcome = replace_item().outcome(result.status, detail=result.detail, existingSync=result.existingSync)
    assert outcome.needs_attention and outcome.verification is Verification.NOT_CHECKED


def test_a_replace_is_not_started_without_the_time_to_undo_it(virtual_clock: VirtualClock) -> None:
    ssm = FakeSsm([OLD], failing_to("acme-inventory", S3_WRITE_FAILED))
    context = SimpleNamespace(get_remaining_time_in_millis=lambda: (REPLACE_RESERVE_SECONDS - 1) * 1000)
    with invocation.timed_by(context), pytest.raises(OutOfTime, match="replacing org-inventory"):
        reconcile_rollout(ssm, replace_item())
    assert [name for name, _ in ssm.calls] == ["List"]  # nothing deleted
    assert ssm.syncs["org-inventory"] == OLD


# -- what a retry of the same input reports --------------------------------------------------------------------


class ThrottledCollection(FakeSsm):
    """The fake, whose every other call (the collection check's) is throttled."""

    def __getattr__(self, name: str) -> Any:
        def throttled(**kwargs: Any) -> Any:
            raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, name)

        return throttled


def test_a_replace_done_is_reported_even_when_the_collection_check_is_throttled(virtual_clock: VirtualClock) -> None:
    # A retry would find the new sync in place and could not tell it was a replace: the change is reported now
    # (a rollout asks about collection only with ensureCollection)
    ssm = ThrottledCollection([OLD])
    result = reconcile(collecting(replace_item()), lambda _: ssm)
    assert result.status is Status.REPLACED
    assert result.collection is not None and result.collection["status"] == "UNKNOWN"
    assert "throttled" in result.collection["detail"]


def test_throttling_of_the_collection_check_is_still_retried_where_nothing_changed(virtual_clock: VirtualClock) -> None:
    in_place = copy.deepcopy(OLD)
    in_place["S3Destination"] = s3_destination(WANTED)
    with pytest.raises(Throttled):
        reconcile(collecting(replace_item()), lambda _: ThrottledCollection([in_place]))


def test_ours_in_place_created_since_the_run_started_is_created_by_this_run(virtual_clock: VirtualClock) -> None:
    # GIVEN our sync in place, created after the run resolved its targets (an earlier attempt created it)
    run_started = virtual_clock.now()
    virtual_clock.sleep(200)
    created = virtual_clock.now()
    in_place = {**copy.deepcopy(OLD), "S3Destination": s3_destination(WANTED), "SyncCreatedTime": created}
    item = replace_item()
    retried = dataclasses.replace(item, run=dataclasses.replace(item.run, startedAt=run_started))
    # THEN a retry of that item says CREATED, with the creation time the marker must be fresh against
    result = reconcile_rollout(FakeSsm([in_place]), retried)
    assert (result.status, result.syncCreatedTime) == (Status.CREATED, created)
    # AND the item carries the run's start through the items file, identical for every attempt
    assert TargetItem.from_dict(retried.to_dict()).run.startedAt == run_started
    # AND a later run (started after the creation) finds it IN_SYNC
    virtual_clock.sleep(1)
    later = dataclasses.replace(item, run=dataclasses.replace(item.run, startedAt=virtual_clock.now()))
    assert reconcile_rollout(FakeSsm([in_place]), later).status is Status.IN_SYNC


class LostDeleteAnswer(FakeSsm):
    """A delete AWS answers with a fault: having deleted the sync (``acted``) or not."""

    def __init__(self, syncs: list[dict[str, Any]], acted: bool) -> None:
        super().__init__(syncs)
        self.acted = acted

    def delete_resource_data_sync(self, **kwargs: Any) -> dict[str, Any]:
        if self.acted:
            super().delete_resource_data_sync(**kwargs)
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "Internal error"}}, "Delete")


def test_a_delete_whose_answer_was_lost_is_found_done_and_the_replace_goes_on(virtual_clock: VirtualClock) -> None:
    ssm = LostDeleteAnswer([OLD], acted=True)
    result = reconcile_rollout(ssm, replace_item())
    assert result.status is Status.REPLACED
    assert ssm.syncs["org-inventory"]["S3Destination"]["BucketName"] == "acme-inventory"


def test_a_delete_that_failed_leaves_everything_as_it_was_for_the_retry(virtual_clock: VirtualClock) -> None:
    ssm = LostDeleteAnswer([OLD], acted=False)
    with pytest.raises(AwsUnavailable):
        reconcile_rollout(ssm, replace_item())
    assert ssm.syncs["org-inventory"] == OLD and ssm.created() == []
