"""How the rollout scales on the local engine: wall time, items/s, parent history size, transitions per item.

Generates an organization of N member accounts (50 per OU under /Workloads), rolls out to two regions with the
real definition and handlers (``LocalRun``), and prints one line per size:

    accounts  items  wall_s  items_per_s  parent_events  task_states_per_item  lambda_invocations  aws_model_s  gb_s

``aws_model_s`` is the time the execution would take on AWS, a model computed from the run's own durations
(``LocalEngine.simulated_seconds``: each call's latency, sleeps, transitions, Lambda start-ups, Map makespans at
MaxConcurrency and 100 child starts per second), not a measurement; ``gb_s`` the Lambda GB-seconds of the
invocations' simulated durations. ``wall_s`` is the local wall time.

``task_states_per_item`` counts the child executions' Task states entered (Reconcile sync, Check marker,
Record failure, retries included) per account-region: what Standard pricing bills beyond each child's start
and end. The parent's history is read from the engine; it should not grow with N (Distributed Map).

Usage::

    python benchmarks/rollout_scale.py            # 100, 500 and 1000 accounts
    python benchmarks/rollout_scale.py 50 200     # chosen sizes
"""

from __future__ import annotations

import logging
import sys
import time
from collections import Counter
from typing import Any

from workflow.local.runner import LocalRun
from workflow.local.scenario import Scenario, parse_scenario

REGIONS = ["ap-northeast-1", "us-east-1"]
ACCOUNTS_PER_OU = 50
ITEM_FUNCTIONS = ("ReconcileSync", "CheckMarker", "RecordFailure")


def generated_scenario(accounts: int) -> Scenario:
    """An organization with ``accounts`` member accounts in OUs of 50, plus a management and a log account."""
    ous = []
    for team in range((accounts + ACCOUNTS_PER_OU - 1) // ACCOUNTS_PER_OU):
        members = [
            {"name": f"team{team}-acct{n}", "id": f"6{team:05d}{n:06d}"}
            for n in range(min(ACCOUNTS_PER_OU, accounts - team * ACCOUNTS_PER_OU))
        ]
        ous.append({"name": f"Team{team}", "accounts": members})
    return parse_scenario(
        {
            "organization": {
                "managementAccount": {"id": "100000000001", "name": "management"},
                "ous": [
                    {"name": "Workloads", "ous": ous},
                    {"name": "Security", "accounts": [{"name": "log-archive", "id": "300000000001"}]},
                ],
            },
            "aggregator": {"accountId": "300000000001", "bucket": "bench-inventory", "region": "ap-northeast-1"},
        },
        source=f"generated-{accounts}",
    )


def measure(accounts: int) -> dict[str, Any]:
    """Roll out over a generated organization of ``accounts`` accounts and return the figures."""
    with LocalRun(generated_scenario(accounts)) as local:
        started = time.perf_counter()
        result = local.run({"targets": ["/Workloads"], "regions": REGIONS}, timeout=3600)
        wall = time.perf_counter() - started
        if not result.succeeded:
            raise SystemExit(f"{accounts} accounts: execution {result.status} {result.error}: {result.cause}")
        items = result.report["summary"]["total"] if result.report else 0
        invocations = Counter(invocation.function_name for invocation in local.engine.invocations)
        parent_events = len(local.history(result.execution_arn))
        aws_model = local.engine.simulated_seconds(result.execution_arn) or 0.0
        gb_seconds = sum(i.simulated_seconds * i.memory_mb / 1024 for i in local.engine.invocations)
    return {
        "accounts": accounts,
        "items": items,
        "wall_s": wall,
        "items_per_s": items / wall if wall else 0.0,
        "parent_events": parent_events,
        "task_states_per_item": sum(invocations[name] for name in ITEM_FUNCTIONS) / items if items else 0.0,
        "lambda_invocations": sum(invocations.values()),
        "aws_model_s": aws_model,
        "gb_s": gb_seconds,
    }


def main(argv: list[str]) -> None:
    """Print one line of figures per organization size given on the command line."""
    logging.disable(logging.WARNING)  # moto logs every Fail state and the ToleratedFailure note
    sizes = [int(arg) for arg in argv] or [100, 500, 1000]
    print(f"{'accounts':>8} {'items':>6} {'wall_s':>7} {'items/s':>8} {'parent_events':>13} "
          f"{'task_states/item':>16} {'invocations':>11} {'aws_model_s':>11} {'gb_s':>8}")
    for size in sizes:
        row = measure(size)
        print(f"{row['accounts']:>8} {row['items']:>6} {row['wall_s']:>7.1f} {row['items_per_s']:>8.1f} "
              f"{row['parent_events']:>13} {row['task_states_per_item']:>16.2f} {row['lambda_invocations']:>11} "
              f"{row['aws_model_s']:>11.1f} {row['gb_s']:>8.1f}",
              flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
