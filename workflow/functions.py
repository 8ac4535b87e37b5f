"""The Lambda functions the state machine calls: one catalogue read by the definition, the local engine and CDK.

The definition refers to each function by ``placeholder`` (``${ResolveTargetsFunctionArn}``); CDK fills it
through ``DefinitionSubstitutions`` and the local engine with the ARN of the function it created, so the
document that runs locally is the document that is deployed. Each function's ``timeout_seconds`` and
``memory_mb`` are what CDK deploys and what the local engine runs it under (an invocation that passes its
timeout on the simulated timeline fails with ``Sandbox.Timedout``, as on AWS).

Example::

    >>> RESOLVE_TARGETS.placeholder
    '${ResolveTargetsFunctionArn}'
    >>> RESOLVE_TARGETS.handler
    'lambdas.handlers.resolve_targets'
    >>> RECONCILE_SYNC.timeout_seconds, RECONCILE_SYNC.memory_mb
    (180, 256)
    >>> SUMMARIZE.memory_mb
    1024
"""

from __future__ import annotations

from dataclasses import dataclass

#: Memory of the functions that work on one batch or one account-region: the work is AWS calls, not computation
#: (CPU grows with memory on Lambda, and so does the price of every second spent waiting for AWS).
MEMORY_MB = 256
#: Memory of the functions that hold the whole run's account-regions at once (its targets, its claim, its report):
#: Summarize's Python allocations reach 289 MiB at 100,000 account-regions (tests/functional/local/
#: test_scale_on_the_modelled_timeline.py), past 256 MB with the runtime's own. Each runs once per execution, so
#: the room costs a fraction of a cent, and their computation runs four times faster.
ORGANIZATION_WIDE_MEMORY_MB = 1024


@dataclass(frozen=True)
class LambdaFunction:
    """One task Lambda: its logical name (CDK id, local function name), handler's dotted path and settings."""

    name: str
    handler: str
    description: str
    timeout_seconds: int
    memory_mb: int = MEMORY_MB

    @property
    def substitution_key(self) -> str:
        """The key of this function's ARN in DefinitionSubstitutions."""
        return f"{self.name}FunctionArn"

    @property
    def placeholder(self) -> str:
        """How the definition refers to this function's ARN before substitution."""
        return "${" + self.substitution_key + "}"


# Timeouts. An AWS call takes at most lambdas.aws.WORST_CASE_CALL_SECONDS (34 s: three attempts that each wait out
# both timeouts, with boto's backoffs), and no call starts without that much left (OutOfTime): a batch step
# (lambdas.batch) then returns what it has done and the state machine comes back for the rest, so a batch of any
# size never reaches its timeout mid-call. ReconcileSync makes about 2.5 calls per account-region (a batch of
# twenty accounts in four regions: ~200 calls, ~25-35 s at the latency table's figures), CheckMarker one listing
# per account and the batch's record, RecordFailure the record; Canary one account-region's calls (its reconcile,
# its marker listing and record; the policies and a failure's record); ResolveTargets and Summarize make calls
# in proportion to the organization (pages, one record per batch read in parallel), bounded by OutOfTime.
RESOLVE_TARGETS = LambdaFunction(
    "ResolveTargets",
    "lambdas.handlers.resolve_targets",
    "Validates the execution input and lists the target account-regions of the organization.",
    timeout_seconds=600,
    memory_mb=ORGANIZATION_WIDE_MEMORY_MB,
)
RECONCILE_SYNC = LambdaFunction(
    "ReconcileSync",
    "lambdas.handlers.reconcile_sync",
    "Lists a batch of accounts' resource data syncs, region by region, classifies them and creates, replaces or "
    "deletes ours.",
    timeout_seconds=180,
)
CHECK_MARKER = LambdaFunction(
    "CheckMarker",
    "lambdas.handlers.check_marker",
    "Looks for the test.json marker SSM writes, once per account of a batch, and records the batch's outcomes.",
    timeout_seconds=120,
)
RECORD_FAILURE = LambdaFunction(
    "RecordFailure",
    "lambdas.handlers.record_failure",
    "Records the account-regions of a batch whose step failed after its retries, with the error and what to do.",
    timeout_seconds=60,
)
CANARY = LambdaFunction(
    "Canary",
    "lambdas.handlers.canary",
    "Reconciles the canary account-region before the rollout fans out, checks its marker, or explains its failure.",
    timeout_seconds=180,
)
SUMMARIZE = LambdaFunction(
    "Summarize",
    "lambdas.handlers.summarize",
    "Collects every account-region's outcome into the report, writes it to S3 and returns the summary.",
    timeout_seconds=600,
    memory_mb=ORGANIZATION_WIDE_MEMORY_MB,
)

#: Claim reads the items file, the lease table, DescribeExecution of a holder, and writes the table (again after a
#: lost conditional write); Release reads and writes the table. Both end with OutOfTime rather than overrun.
CLAIM_ACCOUNT_REGIONS = LambdaFunction(
    "ClaimAccountRegions",
    "lambdas.handlers.claim_account_regions",
    "Claims the run's account-regions in the lease table, or says which running execution holds them.",
    timeout_seconds=180,
    memory_mb=ORGANIZATION_WIDE_MEMORY_MB,
)
RELEASE_ACCOUNT_REGIONS = LambdaFunction(
    "ReleaseAccountRegions",
    "lambdas.handlers.release_account_regions",
    "Removes the run's claim from the lease table once its account-regions are done with.",
    timeout_seconds=120,
    memory_mb=ORGANIZATION_WIDE_MEMORY_MB,
)

ALL_FUNCTIONS: tuple[LambdaFunction, ...] = (
    RESOLVE_TARGETS,
    CLAIM_ACCOUNT_REGIONS,
    RECONCILE_SYNC,
    CHECK_MARKER,
    RECORD_FAILURE,
    CANARY,
    RELEASE_ACCOUNT_REGIONS,
    SUMMARIZE,
)
