"""How a first rollout and the verify after it scale: local figures, and what the same runs would take and cost on
AWS, as a markdown table.

Generates an organization of N/4 member accounts (50 per OU under /Workloads), rolls out to 4 regions with the real
definition and handlers (``LocalRun``, what ``orgsync run --scenario`` runs), then verifies the same targets (what
a daily schedule runs), and prints, per size and run:

- **local wall time** of the execution (and the time to seed the simulated world before it) and **peak memory** of
  the process (each size runs in a process of its own);
- **AWS API calls per account-region**, by API (the Lambdas' calls and the interpreter's S3 ItemReader/ResultWriter;
  Step Functions and Lambda's Invoke are counted as transitions and invocations instead);
- **billed state transitions** (states entered in the parent and the child executions, plus retries),
  **Lambda invocations** and **GB-seconds** (the invocations' modelled durations at their deployed memory) per
  account-region, and the parent execution's **history events**;
- **simulated time on AWS**: the modelled timeline (``LocalEngine.simulated_seconds``: each call's latency, sleeps,
  transitions, Lambda start-ups, Map makespans at MaxConcurrency and 100 child starts per second), a model computed
  from the run's own durations, not a measurement;
- **cost on AWS per run** at the prices of :mod:`benchmarks.pricing` (one place, with their date and region);

then the same figures for the StackSets approach from its reported operation model, and a sensitivity line: the
simulated time of the rollout with every latency halved and doubled (``LatencyTable.scaled``).

Usage (from the repository root)::

    python -m benchmarks.rollout_scale                  # 1,000 and 20,000 account-regions (5,000 accounts x 4)
    python -m benchmarks.rollout_scale --with-100k      # and 100,000 (25,000 accounts x 4)
    python -m benchmarks.rollout_scale 1000 4000        # chosen sizes (account-regions, multiples of 4)
    python -m benchmarks.rollout_scale --sensitivity 0  # without the sensitivity runs (default: at 1,000)
    python -m benchmarks.rollout_scale 1000 --accounts-per-batch 10 --accounts-per-batch 20   # batch sizes compared
    python -m benchmarks.rollout_scale 100000 --modes rollout --sensitivity 0                 # the rollout alone
    python -m benchmarks.rollout_scale 1000 --handler-cpu --sensitivity 0   # with the handlers' own CPU charged
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import subprocess
import sys
import time
from collections import Counter
from typing import Any

from benchmarks.pricing import PRICES
from workflow.definition import ACCOUNTS_PER_BATCH, MAX_ACCOUNTS_PER_BATCH, MAX_CONCURRENCY
from workflow.local import latency
from workflow.local.runner import LocalRun
from workflow.local.scenario import Scenario, parse_scenario
from workflow.local.timeline import DISTRIBUTED_MAP_MAX_CONCURRENCY

REGIONS = ["ap-northeast-1", "eu-west-1", "us-east-1", "us-west-2"]
ACCOUNTS_PER_OU = 50
DEFAULT_SIZES = [1_000, 20_000]
LARGE_SIZE = 100_000
#: Not AWS API calls of the run: the driver's polling (states:) and the Map's invocations (counted as such).
NOT_COUNTED_AS_CALLS = ("states:", "lambda:")
#: The runs measured at each size: a first rollout, then the verify a daily schedule runs.
MODES = ("rollout", "verify")

#: The StackSets approach, from its users' reports (no published figure of AWS's): a first deployment of about 5-6
#: hours for 800 accounts, about 30 minutes per StackSet with no changes at 800 accounts x 8 regions.
STACKSETS_FIRST_HOURS_PER_800_ACCOUNTS = 5.5
STACKSETS_NO_CHANGE_MINUTES_PER_6400_INSTANCES = 30.0


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
            "aggregator": {"accountId": "300000000001", "bucket": "bench-inventory", "region": "us-east-1"},
        },
        source=f"generated-{accounts}",
    )


def _api_counts(local: LocalRun) -> Counter[str]:
    counts: Counter[str] = Counter()
    for (api, _account), count in local.aws.calls.items():
        counts[api] += count
    return counts


def _run_figures(local: LocalRun, request: dict[str, Any], timeout: float) -> dict[str, Any]:
    """Run ``request`` to its end on ``local``; the figures of that execution alone (counters read before and after)."""
    engine = local.engine
    calls_before = _api_counts(local)
    cpu_before = local.handler_cpu.charged if local.handler_cpu is not None else 0.0
    invocations_before = len(engine.invocations)
    retries_before = len(engine.retry_sleeps)
    started = time.perf_counter()
    result = local.run(request, timeout=timeout)
    wall = time.perf_counter() - started
    if result.report is None:
        raise SystemExit(f"{request['mode']}: execution {result.status} {result.error}: {result.cause}")
    items = int(result.report["summary"]["total"])
    calls = _api_counts(local) - calls_before
    invocations = engine.invocations[invocations_before:]
    transitions = engine.times.states_entered(result.execution_arn) + len(engine.retry_sleeps) - retries_before
    gb_seconds = sum(i.simulated_seconds * i.memory_mb / 1024 for i in invocations)
    aws_calls = {api: n for api, n in calls.items() if not api.startswith(NOT_COUNTED_AS_CALLS)}
    return {
        "mode": request["mode"],
        "account_regions": items,
        "status": result.status,
        "by_status": result.report["summary"]["byStatus"],
        "wall_s": wall,
        "calls_per_ar": {api: n / items for api, n in sorted(aws_calls.items())},
        "transitions_per_ar": transitions / items,
        "invocations_per_ar": len(invocations) / items,
        "gb_s_per_ar": gb_seconds / items,
        "parent_events": len(local.history(result.execution_arn)),
        "handler_cpu_s_per_ar": (local.handler_cpu.charged - cpu_before) / items if local.handler_cpu else None,
        "aws_s": engine.simulated_seconds(result.execution_arn) or 0.0,
        "cost_usd": PRICES.cost(
            aws_calls, transitions=transitions, invocations=len(invocations), gb_seconds=gb_seconds
        ),
    }


def measure(
    account_regions: int,
    latency_factor: float = 1.0,
    timeout: float = 7200,
    accounts_per_batch: int = ACCOUNTS_PER_BATCH,
    max_concurrency: int = MAX_CONCURRENCY,
    modes: tuple[str, ...] = MODES,
    handler_cpu: bool = False,
) -> list[dict[str, Any]]:
    """Roll out over a generated organization of ``account_regions`` / 4 accounts, then verify it (what a daily
    schedule runs); the figures of each run, with the process's peak memory and the time to seed the world.
    ``accounts_per_batch`` and ``max_concurrency`` are the deployment's (``accountsPerBatch``, ``maxConcurrency``);
    ``modes`` the runs, in order (``("rollout",)``: the first rollout alone); ``handler_cpu`` charges the handlers'
    own CPU on the modelled timeline (:mod:`workflow.local.handler_cpu`)."""
    accounts = account_regions // len(REGIONS)
    started = time.perf_counter()
    shape = {"accounts_per_batch": accounts_per_batch, "max_concurrency": max_concurrency}
    with LocalRun(
        generated_scenario(accounts),
        accounts_per_batch=accounts_per_batch,
        max_concurrency=max_concurrency,
        charge_handler_cpu=handler_cpu,
    ) as local:
        seed_s = time.perf_counter() - started
        if latency_factor != 1.0:
            latency.use(latency.active().scaled(latency_factor))
        request = {"targets": ["/Workloads"], "regions": REGIONS}
        rows = [_run_figures(local, {**request, "mode": mode}, timeout) for mode in modes]
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return [{**row, **shape, "seed_s": seed_s, "peak_mib": peak_mib, "latency_factor": latency_factor} for row in rows]


def measured_in_own_process(
    account_regions: int,
    latency_factor: float,
    timeout: float,
    accounts_per_batch: int,
    max_concurrency: int,
    modes: tuple[str, ...] = MODES,
    handler_cpu: bool = False,
) -> list[dict[str, Any]]:
    """:func:`measure` in a fresh interpreter, so that each size's peak memory is its own."""
    command = [
        sys.executable,
        "-m",
        "benchmarks.rollout_scale",
        "--one",
        str(account_regions),
        "--latency-factor",
        str(latency_factor),
        "--timeout",
        str(timeout),
        "--accounts-per-batch",
        str(accounts_per_batch),
        "--max-concurrency",
        str(max_concurrency),
        "--modes",
        ",".join(modes),
        *(["--handler-cpu"] if handler_cpu else []),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{account_regions} account-regions failed:\n{done.stderr[-3000:]}")
    figures: list[dict[str, Any]] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _short(api: str) -> str:
    return api.split(":", 1)[1]


def _mode(row: dict[str, Any]) -> str:
    return f"{row['mode']} + handler CPU" if row.get("handler_cpu_s_per_ar") is not None else str(row["mode"])


def _run_label(row: dict[str, Any], with_shape: bool) -> str:
    label = f"{row['account_regions']:,} {_mode(row)}"
    return f"{label} ({row['accounts_per_batch']} x {row['max_concurrency']})" if with_shape else label


def markdown(rows: list[dict[str, Any]], sensitivity: list[dict[str, Any]]) -> str:
    """The figures as the README shows them."""
    lines = [
        "| account-regions | run | accounts per child x children at once | local wall time (world seeded in) "
        "| peak memory | AWS API calls / account-region "
        "| transitions / account-region | Lambda invocations / account-region | GB-s / account-region | parent "
        "history events | simulated time on AWS | cost on AWS per run |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        lines.append(
            f"| {row['account_regions']:,} | {_mode(row)} | {row['accounts_per_batch']} x {row['max_concurrency']} | "
            f"{_duration(row['wall_s'])} ({_duration(row['seed_s'])}) | "
            f"{row['peak_mib']:,.0f} MiB | {sum(row['calls_per_ar'].values()):.2f} | "
            f"{row['transitions_per_ar']:.3f} | {row['invocations_per_ar']:.3f} | {row['gb_s_per_ar']:.3f} | "
            f"{row['parent_events']} | {_duration(row['aws_s'])} | ${row['cost_usd']:.4f} |"
        )
    charged = [row for row in rows if row.get("handler_cpu_s_per_ar") is not None]
    if charged:
        lines += [
            "",
            "The handlers' own CPU, charged at each function's share of a vCPU (this machine's CPU time, "
            "taken as a Lambda vCPU's), per account-region: "
            + ", ".join(
                f"{row['account_regions']:,} {row['mode']} {row['handler_cpu_s_per_ar'] * 1000:.0f} ms"
                for row in charged
            )
            + ".",
        ]
    apis = sorted({api for row in rows for api in row["calls_per_ar"]})
    several_shapes = len({(row["accounts_per_batch"], row["max_concurrency"]) for row in rows}) > 1
    lines += [
        "",
        "AWS API calls per account-region, by API:",
        "",
        "| API | " + " | ".join(_run_label(row, several_shapes) for row in rows) + " |",
        "| --- | " + " | ".join("---:" for _ in rows) + " |",
    ]
    for api in apis:
        lines.append(f"| {api} | " + " | ".join(f"{row['calls_per_ar'].get(api, 0.0):.3f}" for row in rows) + " |")
    lines += [
        "",
        "The StackSets approach (a StackSet of Lambda-backed custom resources, one stack instance per "
        "account-region), from its users' reports: about 5-6 h for a first deployment to 800 accounts, about "
        "30 min per StackSet with no changes at 800 accounts x 8 regions; scaled linearly:",
        "",
        "| account-regions | first rollout | rerun with no changes | cost on AWS per run |",
        "| ---: | ---: | ---: | ---: |",
    ]
    for size in sorted({row["account_regions"] for row in rows}):
        accounts = size / len(REGIONS)
        first = STACKSETS_FIRST_HOURS_PER_800_ACCOUNTS * 3600 * accounts / 800
        rerun = STACKSETS_NO_CHANGE_MINUTES_PER_6400_INSTANCES * 60 * size / 6400
        lines.append(
            f"| {size:,} | {_duration(first)} | {_duration(rerun)} | "
            "~$0 (StackSets are free; one custom-resource invocation per account-region) |"
        )
    lines += [
        "",
        "StackSets cannot verify (no marker check, no coverage), report per account-region, adopt or "
        "replace an existing sync, or tell which regions deliver; the organization sync itself has no "
        "CloudFormation resource, hence the custom resources.",
    ]
    if sensitivity:
        base = next(
            (
                r
                for r in rows
                if r["account_regions"] == sensitivity[0]["account_regions"] and r["mode"] == sensitivity[0]["mode"]
            ),
            None,
        )
        figures = [*([base] if base else []), *sensitivity]
        ordered = sorted(figures, key=lambda r: float(r["latency_factor"]))
        parts = [f"x{r['latency_factor']:g}: {_duration(r['aws_s'])}" for r in ordered]
        lines += [
            "",
            f"Sensitivity of the simulated time on AWS of a {sensitivity[0]['mode']} at "
            f"{sensitivity[0]['account_regions']:,} account-regions, every latency scaled: {', '.join(parts)}.",
        ]
    return "\n".join(lines)


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    """The command line, checked: sizes in whole accounts of 4 regions, batch sizes a deployment accepts, and the
    runs a rollout then optionally a verify (``args.modes`` is then a tuple); a bad one exits 2 naming it."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.rollout_scale", description=__doc__.split("\n")[0])
    parser.add_argument("sizes", nargs="*", type=int, help="account-regions (multiples of 4)")
    parser.add_argument("--with-100k", action="store_true", help=f"also {LARGE_SIZE:,} account-regions")
    parser.add_argument("--sensitivity", type=int, default=1_000, help="size of the latency x0.5/x2 runs (0: none)")
    parser.add_argument("--timeout", type=float, default=7200, help="seconds one execution may take locally")
    parser.add_argument(
        "--accounts-per-batch",
        type=int,
        action="append",
        help="accounts per child execution, as accountsPerBatch deploys it "
        f"(default {ACCOUNTS_PER_BATCH}); repeat to compare batch sizes",
    )
    parser.add_argument(
        "--max-concurrency",
        type=int,
        help="children at once (default: keep the deployed default's accounts in flight, "
        f"{ACCOUNTS_PER_BATCH * MAX_CONCURRENCY} / accounts per child)",
    )
    parser.add_argument(
        "--modes",
        default=",".join(MODES),
        help="the runs at each size, in order (default: rollout,verify; rollout: the first rollout)",
    )
    parser.add_argument(
        "--handler-cpu",
        action="store_true",
        help="also charge the handlers' own CPU on the modelled timeline, at each function's share of "
        "a vCPU (this machine's CPU time: varies from machine to machine)",
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--latency-factor", type=float, default=1.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sizes = [*args.sizes, *([args.one] if args.one else []), *([args.sensitivity] if args.sensitivity else [])]
    regions = len(REGIONS)
    for size in sizes:
        if size < regions or size % regions:
            parser.error(f"{size} account-regions: give a multiple of {regions} (accounts in {regions} regions)")
    for batch_size in args.accounts_per_batch or []:
        if not 1 <= batch_size <= MAX_ACCOUNTS_PER_BATCH:
            parser.error(f"--accounts-per-batch {batch_size}: a deployment accepts 1 to {MAX_ACCOUNTS_PER_BATCH}")
    if args.max_concurrency is not None and not 1 <= args.max_concurrency <= DISTRIBUTED_MAP_MAX_CONCURRENCY:
        parser.error(
            f"--max-concurrency {args.max_concurrency}: a Distributed Map runs 1 to "
            f"{DISTRIBUTED_MAP_MAX_CONCURRENCY:,} children at once"
        )
    modes = tuple(args.modes.split(","))
    if not modes or set(modes) - set(MODES) or modes[0] != "rollout":
        parser.error(f"--modes {args.modes}: give rollout, then optionally verify")
    args.modes = modes
    return args


def main(argv: list[str]) -> None:
    """Measure each size (each in its own process), then print the markdown table."""
    args = parse_arguments(argv)
    logging.disable(logging.WARNING)  # moto logs every Fail state and the ToleratedFailure note
    batch_sizes: list[int] = args.accounts_per_batch or [ACCOUNTS_PER_BATCH]
    modes: tuple[str, ...] = args.modes

    def concurrency(batch_size: int) -> int:
        return args.max_concurrency or max(1, ACCOUNTS_PER_BATCH * MAX_CONCURRENCY // batch_size)

    if args.one:
        batch_size = batch_sizes[0]
        rows = measure(
            args.one, args.latency_factor, args.timeout, batch_size, concurrency(batch_size), modes, args.handler_cpu
        )
        print(json.dumps(rows), flush=True)
        return
    sizes = args.sizes or [*DEFAULT_SIZES, *([LARGE_SIZE] if args.with_100k else [])]
    rows = []
    for size in sizes:
        for batch_size in batch_sizes:
            rows += measured_in_own_process(
                size, 1.0, args.timeout, batch_size, concurrency(batch_size), modes, args.handler_cpu
            )
            print(f"measured {size:,}: {json.dumps(rows[-len(modes) :])}", file=sys.stderr, flush=True)
    first = batch_sizes[0]
    sensitivity = (
        [
            measured_in_own_process(
                args.sensitivity, factor, args.timeout, first, concurrency(first), ("rollout",), args.handler_cpu
            )[0]
            for factor in (0.5, 2.0)
        ]
        if args.sensitivity
        else []
    )
    print(markdown(rows, sensitivity))


if __name__ == "__main__":
    main(sys.argv[1:])
