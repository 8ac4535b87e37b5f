"""Named errors shared by the Lambda code and the state machine's Retry/Catch.

A Lambda task that raises one of these fails with the class name as its Step Functions error name, so
``workflow`` refers to them by ``Cls.__name__`` and never by a string literal: one vocabulary on both sides.

Example::

    >>> from lambdas.errors import MarkerNotYetWritten
    >>> MarkerNotYetWritten.__name__
    'MarkerNotYetWritten'
"""

from __future__ import annotations


class OrgSyncError(Exception):
    """Base class of every error orgsync raises on purpose."""


class InvalidInput(OrgSyncError):
    """The execution input is invalid; raised before any account is touched. The message names field and value."""


class Throttled(OrgSyncError):
    """An AWS API throttled the call (Organizations TooManyRequestsException, Throttling, ThrottlingException)."""


class S3WriteFailed(OrgSyncError):
    """SSM could not write to the destination bucket; transient for about a minute after a bucket policy change."""


class AwsUnavailable(OrgSyncError):
    """AWS could not be reached, timed out, or answered with a transient fault, after boto's retries.

    Retried by the state machine like throttling; the message names the action and what happened.
    """


class OutOfTime(OrgSyncError):
    """Too little of the function's Timeout is left for one more AWS call at its worst case.

    Raised before the call, so a handler ends with a named error the state machine retries, never with
    ``Sandbox.Timedout`` in the middle of a call.
    """


class MarkerNotYetWritten(OrgSyncError):
    """The test.json marker is not in the bucket yet and the marker deadline has not passed."""


class DestinationPolicyIncomplete(OrgSyncError):
    """The bucket policy (or the key policy) lacks what SSM needs, or denies it: nothing was touched.

    Raised by ``Resolve targets`` before any account is touched; the message has the statements to add.
    """


class CanaryFailed(OrgSyncError):
    """SSM could not write to the destination from the canary's account-region: the rollout stopped before fanning
    out. The message names the account-region, what failed, and the bucket or key policy statements to add."""


class AccountRegionsBusy(OrgSyncError):
    """Another running execution that writes holds some of this run's account-regions (``lambdas.leases``).

    Raised at once with ``whenBusy: "fail"``, or once ``busyWaitSeconds`` have passed; not retried. The message
    names the running execution's ARN, its mode and an account-region both runs target.
    """


class ItemsFileUnreadable(OrgSyncError):
    """The Distributed Map could not read the run's items file (``States.ItemReaderFailed`` after its retries).

    The Fail state's error name: no account-region was reconciled by the Map (the canary's may have been), the
    claim was released, and the cause names the items file and the S3 error.
    """


class RolloutIncomplete(OrgSyncError):
    """A rollout ended with account-regions that need attention (the Fail state's error name)."""


class VerificationFailed(OrgSyncError):
    """A verify run found account-regions that need attention (the Fail state's error name)."""


class TeardownIncomplete(OrgSyncError):
    """A teardown ended with account-regions that need attention (the Fail state's error name)."""


#: Errors worth retrying at the state level, with backoff: AWS throttling and transient faults that outlasted boto's
#: retries, a handler short of time, and Lambda's own transient faults. The
#: Lambda names are those AWS's "Handle Lambda service exceptions" page (Step Functions Developer Guide,
#: bp-lambda-serviceexception) lists for the Retry of a Lambda task, plus the invocation limit's
#: ``Lambda.TooManyRequestsException`` that the same page names.
TRANSIENT_LAMBDA_ERRORS: tuple[str, ...] = (
    Throttled.__name__,
    AwsUnavailable.__name__,
    OutOfTime.__name__,
    "Lambda.ClientExecutionTimeoutException",
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
)

#: The error of a Lambda invocation that ran past its function's timeout, as Step Functions names it today. Every
#: orgsync task is idempotent (it lists before it writes, and its writes overwrite), so the state machine retries it,
#: with a small budget of its own (``workflow.definition.TIMEOUT_RETRY``): each attempt may take the whole timeout.
LAMBDA_TIMED_OUT = "Sandbox.Timedout"
#: What AWS's "Handle Lambda service exceptions" page says an unhandled Lambda error (a timeout, running out of
#: memory) is reported as; retried like a timeout, since which name a timeout carries differs between the page and
#: what executions show (docs/aws-behaviour.md).
LAMBDA_UNKNOWN = "Lambda.Unknown"
#: The errors of an invocation that ended without the handler's answer: retried with ``TIMEOUT_RETRY``.
LAMBDA_CUT_OFF_ERRORS: tuple[str, ...] = (LAMBDA_TIMED_OUT, LAMBDA_UNKNOWN)

#: Step Functions' own error names for a Distributed Map's S3 reads and writes (the Developer Guide's "Error names",
#: docs/aws-behaviour.md): the Map state fails with ``States.ItemReaderFailed`` when it cannot read its items (before
#: any child runs) and with ``States.ResultWriterFailed`` when it cannot write its result files (after every child
#: ran). A Retry or Catch on the Map state matches them; the local engine raises them as AWS names them.
ITEM_READER_FAILED = "States.ItemReaderFailed"
RESULT_WRITER_FAILED = "States.ResultWriterFailed"
