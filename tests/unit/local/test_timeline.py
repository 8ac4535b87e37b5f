"""The modelled timeline: makespans of Maps from their children's own durations, latencies, faults at a rate."""

from __future__ import annotations

import threading

import pytest

from workflow.local import timeline
from workflow.local.faults import Call, FaultRateInjector
from workflow.local.latency import DEFAULT_LATENCIES, LatencyError, LatencyTable
from workflow.local.scenario import FaultRate
from workflow.local.timeline import (
    DISTRIBUTED_MAP_DISPATCH_PER_SECOND,
    MapRun,
    Timeline,
    makespan,
)


def test_makespan_of_a_small_constructed_case_by_hand() -> None:
    # GIVEN five children of 4, 1, 1, 3, 2 s on two slots, each on the first slot free, in order:
    # c0 A 0-4, c1 B 0-1, c2 B 1-2, c3 B 2-5, c4 A 4-6 -> 6 s
    assert makespan([4.0, 1.0, 1.0, 3.0, 2.0], concurrency=2) == 6.0
    # WITH a dispatch rate of 1 per second the same children start no earlier than 0, 1, 2, 3, 4 s:
    # c0 A 0-4, c1 B 1-2, c2 B 2-3, c3 B 3-6, c4 A 4-6 -> 6 s; at 0.5 per second c4 starts at 8 -> 10 s
    assert makespan([4.0, 1.0, 1.0, 3.0, 2.0], concurrency=2, dispatch_per_second=1) == 6.0
    assert makespan([4.0, 1.0, 1.0, 3.0, 2.0], concurrency=2, dispatch_per_second=0.5) == 10.0
    # AND one slot is the plain sum, unlimited slots the longest child
    assert makespan([4.0, 1.0, 1.0, 3.0, 2.0], concurrency=1) == 11.0
    assert makespan([4.0, 1.0, 1.0, 3.0, 2.0], concurrency=100) == 4.0


def test_a_distributed_map_is_bound_by_the_documented_dispatch_rate() -> None:
    # GIVEN 1,000 children of 2 s each under MaxConcurrency 1,000
    run = MapRun(distributed=True, concurrency=1000)
    for index in range(1000):
        run.record(index, 2.0)
    # THEN the last one starts at 999/100 s and ends 2 s later; an inline Map would take 2 s
    assert DISTRIBUTED_MAP_DISPATCH_PER_SECOND == 100
    assert run.makespan() == pytest.approx(9.99 + 2.0)
    inline = MapRun(distributed=False, concurrency=1000)
    for index in range(1000):
        inline.record(index, 2.0)
    assert inline.makespan() == 2.0


def test_children_on_threads_keep_their_own_timelines_and_the_parent_gets_the_makespan() -> None:
    # GIVEN an execution whose Map runs 8 children of 10 s, 4 at a time, each child on its own thread
    execution = Timeline("execution")
    with timeline.entered(execution):
        timeline.charge(1.0)
        run = execution.open_map(distributed=False, concurrency=4)

        def child(index: int) -> None:
            own = Timeline("child")
            with timeline.entered(own):
                for _ in range(10):
                    timeline.charge(1.0)
            run.record(index, own.elapsed)

        threads = [threading.Thread(target=child, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    # THEN the children's 80 s of work overlap: 1 s + two rounds of 10 s, not 81 s
    assert run.durations == [10.0] * 8
    assert execution.elapsed == 21.0
    # AND a thread with no timeline entered charges nothing
    timeline.charge(5.0)
    assert execution.elapsed == 21.0


def test_latency_defaults_each_state_their_basis_and_overrides_win() -> None:
    for api, entry in DEFAULT_LATENCIES.items():
        assert entry.basis in ("documented", "benchmark", "assumed") and entry.source, api
    table = LatencyTable({"ssm:CreateResourceDataSync": 1.5, "s3:*": 0.2})
    assert table.seconds("ssm:CreateResourceDataSync") == 1.5
    assert table.seconds("s3:GetObject") == 0.2
    assert table.seconds("ssm:ListResourceDataSync") == DEFAULT_LATENCIES["ssm:*"].seconds
    assert table.scaled(0.5).seconds("s3:GetObject") == 0.1
    with pytest.raises(LatencyError, match=r"latencies\.s3:GetObject: -1 must be a number of seconds >= 0"):
        LatencyTable({"s3:GetObject": -1})


@pytest.mark.parametrize("rate", [0.02, 0.1, 0.5])
def test_faults_at_a_rate_hit_about_the_share_asked_for_with_a_fixed_seed(rate: float) -> None:
    # GIVEN S3 SlowDown at a share of calls, for 200 accounts making 50 PutObject calls each
    def run(seed: int) -> list[tuple[str, str | None, str | None, str]]:
        injector = FaultRateInjector([FaultRate("s3:*", "SlowDown", rate)], {}, seed=seed)
        for account in range(200):
            call = Call("s3", "PutObject", f"{200000000000 + account}", None, "us-east-1", None)
            for _ in range(50):
                injector(call)
        return injector.raised

    raised = run(seed=11)
    # THEN about that share failed (10,000 calls: within 4 standard deviations), the same calls with the same seed
    share = len(raised) / 10_000
    assert abs(share - rate) < 4 * (rate * (1 - rate) / 10_000) ** 0.5
    assert run(seed=11) == raised
    assert run(seed=12) != raised
    assert all(code == "SlowDown" for *_, code in raised)


def test_a_rate_rule_only_fails_the_api_account_and_region_it_names() -> None:
    rule = FaultRate("ssm:ListResourceDataSync", "ThrottlingException", 1.0, account="prod-a", region="us-east-1")
    injector = FaultRateInjector([rule], {"200000000001": "prod-a", "200000000002": "prod-b"})
    assert injector(Call("ssm", "ListResourceDataSync", "200000000001", None, "us-east-1", None)) is not None
    assert injector(Call("ssm", "ListResourceDataSync", "200000000002", None, "us-east-1", None)) is None
    assert injector(Call("ssm", "ListResourceDataSync", "200000000001", None, "eu-west-1", None)) is None
    assert injector(Call("ssm", "CreateResourceDataSync", "200000000001", None, "us-east-1", None)) is None
