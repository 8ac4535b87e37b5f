"""Enrolment: turn an Organizations account event into a rollout for that one account.

Two CloudTrail events mean "an account may have joined a target OU":

- ``MoveAccount`` (detail-type ``AWS API Call via CloudTrail``): ``detail.requestParameters`` holds
  ``accountId``, ``sourceParentId``, ``destinationParentId``; a failed call carries ``detail.errorCode``.
- ``CreateAccountResult`` (detail-type ``AWS Service Event via CloudTrail``):
  ``detail.serviceEventDetails.createAccountStatus`` holds ``state`` (``SUCCEEDED`` | ``FAILED``) and
  ``accountId``.

Organizations is a global service: its events reach EventBridge in us-east-1 (management account).

The rule cannot decide "is the destination inside a target OU": targets may be OU paths or parents of nested
OUs, and EventBridge patterns match values, not trees. So the rule matches every such event and the
execution decides: the input names the account as the only target and the deployed default targets as
``within``; ResolveTargets resolves ``within`` like ``targets`` and records an account outside it as SKIPPED
with the reason "not within the targets". No per-event Organizations call is made here.

Example::

    >>> from lambdas.settings import Settings
    >>> event = {"source": "aws.organizations", "detail-type": "AWS API Call via CloudTrail",
    ...          "detail": {"eventSource": "organizations.amazonaws.com", "eventName": "MoveAccount",
    ...                     "requestParameters": {"accountId": "200000000009", "sourceParentId": "r-ab12",
    ...                                           "destinationParentId": "ou-ab12-11111111"}}}
    >>> enrolment_input(event, Settings(default_targets=("/Workloads",), default_regions=("us-east-1",)))
    {'mode': 'rollout', 'targets': ['200000000009'], 'within': ['/Workloads']}
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lambdas import invocation
from lambdas.defaults import with_deployed_defaults
from lambdas.models import Mode
from lambdas.settings import Settings

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient
else:
    SFNClient = Any

SOURCE = "aws.organizations"
EVENT_SOURCE = "organizations.amazonaws.com"
MOVE_ACCOUNT = "MoveAccount"
CREATE_ACCOUNT_RESULT = "CreateAccountResult"
API_CALL = "AWS API Call via CloudTrail"
SERVICE_EVENT = "AWS Service Event via CloudTrail"

#: The environment variable holding the state machine the enrolment function starts (set by CDK).
ENV_STATE_MACHINE_ARN = "ORGSYNC_STATE_MACHINE_ARN"

_ACCOUNT_ID = re.compile(r"^\d{12}$")

#: The EventBridge rule's pattern (on the management account's default bus, us-east-1). The rule's target is
#: the enrolment function (:func:`handler`), which calls :func:`enrolment_input` and starts the execution.
EVENT_PATTERN: dict[str, Any] = {
    "source": [SOURCE],
    "detail-type": [API_CALL, SERVICE_EVENT],
    "detail": {
        "eventSource": [EVENT_SOURCE],
        "eventName": [MOVE_ACCOUNT, CREATE_ACCOUNT_RESULT],
    },
}


def enrolled_account(event: Mapping[str, Any]) -> str | None:
    """The account an Organizations event enrols, or None when the event enrols nothing.

    >>> enrolled_account({"source": "aws.organizations", "detail": {"eventName": "CreateAccountResult",
    ...     "serviceEventDetails": {"createAccountStatus": {"state": "FAILED"}}}}) is None
    True
    """
    if event.get("source") != SOURCE:
        return None
    detail = event.get("detail") or {}
    if detail.get("errorCode"):
        # The API call failed (e.g. AccessDenied on MoveAccount): nothing moved.
        return None
    name = detail.get("eventName")
    account: Any = None
    if name == MOVE_ACCOUNT:
        account = (detail.get("requestParameters") or {}).get("accountId")
    elif name == CREATE_ACCOUNT_RESULT:
        status = (detail.get("serviceEventDetails") or {}).get("createAccountStatus") or {}
        if status.get("state") != "SUCCEEDED":
            return None
        account = status.get("accountId")
    if isinstance(account, str) and _ACCOUNT_ID.match(account):
        return account
    return None


def enrolment_input(event: Mapping[str, Any], settings: Settings) -> dict[str, Any] | None:
    """The execution input that rolls out to the event's account alone, or None when there is nothing to do.

    Nothing is done without deployed default targets and regions: without targets no OU is "a target OU" (and
    enrolling every account the organization creates would roll out beyond what the operator chose); without
    regions the execution would only be refused. Regions, destination and syncName come from the state
    machine's deployed defaults.
    """
    account = enrolled_account(event)
    if account is None or not settings.default_targets or not settings.default_regions:
        return None
    return {"mode": str(Mode.ROLLOUT), "targets": [account], "within": list(settings.default_targets)}


def execution_name(event: Mapping[str, Any], account: str) -> str:
    """A name unique per event: EventBridge delivers at least once, and StartExecution refuses a reused name.

    >>> execution_name({"id": "7bf73129-1428-4cd3-a780-95db273d1602"}, "200000000009")
    'enrol-200000000009-7bf73129-1428-4cd3-a780-95db273d1602'
    """
    event_id = re.sub(r"[^A-Za-z0-9_-]", "-", str(event.get("id") or "noid"))
    return f"enrol-{account}-{event_id}"[:80]


def start_enrolment(event: Mapping[str, Any], settings: Settings, sfn: SFNClient, state_machine_arn: str) -> str | None:
    """Start the enrolment execution for ``event``; returns its ARN, or None when the event enrols nothing.

    A redelivered event finds its execution already there (``ExecutionAlreadyExists``) and is not run twice.

    Example: ``start_enrolment(event, Settings.from_env(), boto3.client("stepfunctions"), arn)``.
    """
    # Imported here, as in _start: the pure functions above load without boto3.
    from lambdas.aws import AwsCallFailed, call

    payload = enrolment_input(event, settings)
    if payload is None:
        return None
    name = execution_name(event, payload["targets"][0])
    try:
        response = call(
            f"states:StartExecution of {name}",
            sfn.start_execution,
            stateMachineArn=state_machine_arn,
            name=name,
            input=json.dumps(payload),
        )
    except AwsCallFailed as error:
        if error.code != "ExecutionAlreadyExists":
            raise
        return f"{state_machine_arn.replace(':stateMachine:', ':execution:')}:{name}"
    return response["executionArn"]


def handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    """The enrolment function's entry point (the EventBridge rule's target)."""
    # Imported here so the pure functions above load without boto3's and Powertools' start-up cost.
    from lambdas.observability import instrumented

    return instrumented(_start)(event, context)


def _start(event: dict[str, Any], context: object) -> dict[str, Any]:
    from lambdas.aws import ClientProvider

    environ = invocation.environment()
    sfn = ClientProvider.from_environment(environ).client("stepfunctions")
    settings = with_deployed_defaults(Settings.from_env(environ), environ)
    arn = start_enrolment(event, settings, sfn, environ[ENV_STATE_MACHINE_ARN])
    return {"executionArn": arn}
