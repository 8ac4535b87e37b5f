"""The Lambda functions the state machine calls: one catalogue read by the definition, the local engine and CDK.

The definition refers to each function by ``placeholder`` (``${ResolveTargetsFunctionArn}``); CDK fills it
through ``DefinitionSubstitutions`` and the local engine with the ARN of the function it created, so the
document that runs locally is the document that is deployed.

Example::

    >>> RESOLVE_TARGETS.placeholder
    '${ResolveTargetsFunctionArn}'
    >>> RESOLVE_TARGETS.handler
    'lambdas.handlers.resolve_targets'
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LambdaFunction:
    """One task Lambda: its logical name (CDK id, local function name) and its handler's dotted path."""

    name: str
    handler: str
    description: str

    @property
    def substitution_key(self) -> str:
        """The key of this function's ARN in DefinitionSubstitutions."""
        return f"{self.name}FunctionArn"

    @property
    def placeholder(self) -> str:
        """How the definition refers to this function's ARN before substitution."""
        return "${" + self.substitution_key + "}"


RESOLVE_TARGETS = LambdaFunction(
    "ResolveTargets",
    "lambdas.handlers.resolve_targets",
    "Validates the execution input and lists the target account-regions of the organization.",
)
RECONCILE_SYNC = LambdaFunction(
    "ReconcileSync",
    "lambdas.handlers.reconcile_sync",
    "Lists one account-region's resource data syncs, classifies them and creates, replaces or deletes ours.",
)
CHECK_MARKER = LambdaFunction(
    "CheckMarker",
    "lambdas.handlers.check_marker",
    "Looks for the test.json marker SSM writes and records the account-region's outcome.",
)
RECORD_FAILURE = LambdaFunction(
    "RecordFailure",
    "lambdas.handlers.record_failure",
    "Records an account-region whose processing failed after its retries, with the error and what to do.",
)
SUMMARIZE = LambdaFunction(
    "Summarize",
    "lambdas.handlers.summarize",
    "Collects every account-region's outcome into the report, writes it to S3 and returns the summary.",
)

ALL_FUNCTIONS: tuple[LambdaFunction, ...] = (
    RESOLVE_TARGETS,
    RECONCILE_SYNC,
    CHECK_MARKER,
    RECORD_FAILURE,
    SUMMARIZE,
)
