"""Organizations events as EventBridge delivers them from CloudTrail, for the tests of the enrolment path.

The shape of ``tests/unit/lambdas/test_enrolment.py``'s recorded ``MoveAccount`` event: the management account's
``MoveAccount`` API call, delivered in us-east-1 (Organizations is a global service). Shared by the e2e lifecycle
tests and the lasting-state CLI tests, which turn it into an execution input with
:func:`lambdas.enrolment.enrolment_input` as the enrolment function does.

Example::

    >>> from lambdas.enrolment import enrolled_account
    >>> enrolled_account(move_account_event("200000000009", "ou-ab12-11111111", "e-1", management="100000000001"))
    '200000000009'
"""

from __future__ import annotations

from typing import Any


def move_account_event(
    account_id: str, destination_parent: str, event_id: str, *, management: str, source_parent: str = "r-0000"
) -> dict[str, Any]:
    """``MoveAccount`` of ``account_id`` to ``destination_parent`` (an OU or root id), as EventBridge delivers it."""
    return {
        "version": "0",
        "id": event_id,
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.organizations",
        "account": management,
        "time": "2026-11-28T12:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "eventVersion": "1.08",
            "eventSource": "organizations.amazonaws.com",
            "eventName": "MoveAccount",
            "awsRegion": "us-east-1",
            "eventType": "AwsApiCall",
            "recipientAccountId": management,
            "requestParameters": {
                "accountId": account_id,
                "sourceParentId": source_parent,
                "destinationParentId": destination_parent,
            },
            "responseElements": None,
        },
    }
