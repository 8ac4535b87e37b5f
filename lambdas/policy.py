"""A small evaluator of resource policies (S3 bucket policies, KMS key policies) for a service principal's request.

It answers one question: under this policy, is this request of a service principal (SSM) allowed, denied, or not
allowed? It follows the IAM evaluation logic for a single resource policy: an explicit Deny wins, then an Allow,
else an implicit deny. What it reads:

- ``Statement`` as a list or a single object; ``Effect`` ``Allow`` / ``Deny``;
- ``Principal`` / ``NotPrincipal``: ``"*"``, ``{"AWS": "*"}`` (string or list), ``{"Service": ...}`` (string or
  list); an ``AWS`` or ``Federated`` principal other than ``*`` never matches a service principal;
- ``Action`` / ``NotAction`` and ``Resource`` / ``NotResource`` with ``*`` and ``?`` wildcards (actions
  case-insensitively);
- conditions (every operator and every key must hold; a key's values are ORed): ``String*``, ``Arn*``, ``Bool``,
  ``Null``, ``Numeric*``, their ``IfExists`` forms, and the ``ForAnyValue:`` / ``ForAllValues:`` set operators
  (every key of the request context here is single-valued).

Where it cannot decide it says so instead of guessing: a condition operator it does not know (such as
``IpAddress`` on a key the request carries), or a policy variable (``${...}``) in a statement, makes that
statement *undecided*; the :class:`Verdict` lists every undecided statement in ``doubts`` and treats it as not
applying. A caller judging a policy statically can also refuse to credit an Allow that grants only through
``NotAction`` / ``NotResource`` / ``NotPrincipal`` (``credit_negations=False``): such grants are too easily
broader or narrower than intended, and the verdict then says which statement was not counted.

Example::

    >>> doc = {"Statement": {"Effect": "Allow", "Principal": {"Service": ["ssm.amazonaws.com"]},
    ...                      "Action": "s3:Get*", "Resource": "arn:aws:s3:::acme-inventory"}}
    >>> evaluate(doc, Request("ssm.amazonaws.com", "s3:GetBucketAcl", "arn:aws:s3:::acme-inventory")).decision
    'Allow'
    >>> evaluate(doc, Request("ssm.amazonaws.com", "s3:PutObject", "arn:aws:s3:::acme-inventory/x")).decision
    'ImplicitDeny'
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

ALLOW = "Allow"
DENY = "Deny"
IMPLICIT_DENY = "ImplicitDeny"


class Match(StrEnum):
    """Whether a statement applies to a request."""

    APPLIES = "applies"
    NOT_APPLIES = "does not apply"
    UNDECIDED = "undecided"


@dataclass(frozen=True)
class Request:
    """One request to judge: who (a service principal), what, on which resource, with which context keys."""

    principal_service: str
    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """The decision (``Allow`` / ``Deny`` / ``ImplicitDeny``), the deciding statement, and what was not decided."""

    decision: str
    sid: str | None = None
    #: One line per statement that may matter but was not decided (or, statically, not credited), with why.
    doubts: tuple[str, ...] = ()

    @property
    def allowed(self) -> bool:
        """True when the request is allowed."""
        return self.decision == ALLOW


def load_policy(policy: str | bytes | Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    """A policy document from its JSON text (or bytes), a mapping as is, or None for no policy.

    >>> load_policy('{"Statement": []}'), load_policy(None)
    ({'Statement': []}, None)
    """
    if policy is None:
        return None
    if isinstance(policy, Mapping):
        return policy
    text = policy.decode() if isinstance(policy, bytes) else policy
    loaded = json.loads(text)
    return loaded if isinstance(loaded, Mapping) else None


def statements_of(document: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    """The statements of ``document``: ``Statement`` may be a list or a single object."""
    if not document:
        return []
    raw = document.get("Statement", [])
    if isinstance(raw, Mapping):
        raw = [raw]
    return [statement for statement in raw if isinstance(statement, Mapping)] if isinstance(raw, list) else []


def evaluate(document: Mapping[str, Any] | None, request: Request, credit_negations: bool = True) -> Verdict:
    """The :class:`Verdict` for ``request`` under ``document`` (None: no policy, nothing allowed).

    ``credit_negations=False``: an Allow that applies only through ``NotAction``, ``NotResource`` or
    ``NotPrincipal`` is not counted (named in ``doubts``). A Deny is always read as written: reading it exactly is
    already the cautious side.
    """
    allowed_by: str | None = None
    allowed = False
    doubts: list[str] = []
    for index, statement in enumerate(statements_of(document)):
        effect = statement.get("Effect")
        label = _label(statement, index)
        match, why = _applies(statement, request)
        if match is Match.UNDECIDED:
            doubts.append(f"{label} ({effect}) was not evaluated: {why}")
            continue
        if match is Match.NOT_APPLIES:
            continue
        if effect == DENY:
            return Verdict(DENY, statement.get("Sid"), tuple(doubts))
        if effect != ALLOW or allowed:
            continue
        negations = [key for key in ("NotPrincipal", "NotAction", "NotResource") if key in statement]
        if negations and not credit_negations:
            doubts.append(f"{label} (Allow) grants only through {'/'.join(negations)}, which is not counted")
            continue
        allowed, allowed_by = True, statement.get("Sid")
    return Verdict(ALLOW, allowed_by, tuple(doubts)) if allowed else Verdict(IMPLICIT_DENY, None, tuple(doubts))


def _label(statement: Mapping[str, Any], index: int) -> str:
    sid = statement.get("Sid")
    return f"statement {sid}" if sid else f"statement #{index + 1} (no Sid)"


# --- matching --------------------------------------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


@functools.lru_cache(maxsize=1024)
def _pattern(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.compile(regex, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def glob_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    """IAM's wildcard match: ``*`` any run of characters (``/`` included), ``?`` one character.

    >>> glob_match("arn:aws:s3:::b/p/*/accountid=*/*", "arn:aws:s3:::b/p/AWS:X/accountid=1/test.json")
    True
    """
    return _pattern(pattern, ignore_case).fullmatch(value) is not None


def _principal_matches(principal: Any, service: str) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    if "*" in _as_list(principal.get("AWS")):
        return True
    return service in _as_list(principal.get("Service"))


def _has_variable(statement: Mapping[str, Any]) -> bool:
    return "${" in json.dumps(statement)


def _applies(statement: Mapping[str, Any], request: Request) -> tuple[Match, str]:
    if "Principal" in statement:
        if not _principal_matches(statement["Principal"], request.principal_service):
            return Match.NOT_APPLIES, "principal"
    elif "NotPrincipal" in statement:
        if _principal_matches(statement["NotPrincipal"], request.principal_service):
            return Match.NOT_APPLIES, "principal"
    else:
        return Match.NOT_APPLIES, "a resource policy statement without a principal names no one"
    if "Action" in statement:
        if not any(glob_match(str(p), request.action, ignore_case=True) for p in _as_list(statement["Action"])):
            return Match.NOT_APPLIES, "action"
    elif "NotAction" in statement:
        if any(glob_match(str(p), request.action, ignore_case=True) for p in _as_list(statement["NotAction"])):
            return Match.NOT_APPLIES, "action"
    else:
        return Match.NOT_APPLIES, "no action"
    if _has_variable(statement):
        return Match.UNDECIDED, "it uses a policy variable (${...})"
    if "Resource" in statement:
        if not any(glob_match(str(p), request.resource) for p in _as_list(statement["Resource"])):
            return Match.NOT_APPLIES, "resource"
    elif "NotResource" in statement:
        if any(glob_match(str(p), request.resource) for p in _as_list(statement["NotResource"])):
            return Match.NOT_APPLIES, "resource"
    else:
        return Match.NOT_APPLIES, "no resource"
    return _conditions(statement.get("Condition") or {}, request.context)


_NEGATED = frozenset(
    {"StringNotEquals", "StringNotLike", "StringNotEqualsIgnoreCase", "ArnNotEquals", "ArnNotLike", "NumericNotEquals"}
)
_KNOWN = frozenset(
    {
        "StringEquals",
        "StringNotEquals",
        "StringEqualsIgnoreCase",
        "StringNotEqualsIgnoreCase",
        "StringLike",
        "StringNotLike",
        "ArnEquals",
        "ArnNotEquals",
        "ArnLike",
        "ArnNotLike",
        "Bool",
        "Null",
        "NumericEquals",
        "NumericNotEquals",
        "NumericLessThan",
        "NumericLessThanEquals",
        "NumericGreaterThan",
        "NumericGreaterThanEquals",
    }
)
#: Operators this module cannot compare but whose outcome on an absent key is documented: false, unless IfExists.
_ABSENT_IS_FALSE = frozenset({"IpAddress", "NotIpAddress", "DateEquals", "DateNotEquals", "DateLessThan",
                              "DateLessThanEquals", "DateGreaterThan", "DateGreaterThanEquals", "BinaryEquals"})


def _conditions(conditions: Any, context: Mapping[str, str]) -> tuple[Match, str]:
    if not isinstance(conditions, Mapping):
        return Match.UNDECIDED, "its Condition is not an object"
    lowered = {key.lower(): value for key, value in context.items()}
    undecided: str | None = None
    for operator, clauses in conditions.items():
        if not isinstance(clauses, Mapping):
            return Match.UNDECIDED, f"condition {operator} is not an object"
        quantifier, _, base = str(operator).rpartition(":")
        if_exists = base.endswith("IfExists")
        base = base.removesuffix("IfExists")
        if quantifier not in ("", "ForAnyValue", "ForAllValues"):
            return Match.UNDECIDED, f"unknown condition operator {operator}"
        for key, expected in clauses.items():
            actual = lowered.get(str(key).lower())
            values = [str(v) for v in _as_list(expected)]
            if base == "Null":
                # Null: true means "the key is absent".
                if (actual is None) != (values[0].lower() == "true" if values else True):
                    return Match.NOT_APPLIES, f"{operator} {key}"
                continue
            if actual is None:
                # Absent key: IfExists and negated operators hold; ForAllValues holds on an empty set; else false.
                if if_exists or base in _NEGATED or quantifier == "ForAllValues":
                    continue
                if base in _KNOWN or base in _ABSENT_IS_FALSE or quantifier == "ForAnyValue":
                    return Match.NOT_APPLIES, f"{operator} {key} (absent)"
                undecided = undecided or f"unknown condition operator {operator}"
                continue
            if base not in _KNOWN:
                undecided = undecided or f"condition operator {operator} on {key}, which this check does not compare"
                continue
            if not _compare(base, actual, values):
                return Match.NOT_APPLIES, f"{operator} {key}"
    if undecided is not None:
        return Match.UNDECIDED, undecided
    return Match.APPLIES, ""


def _compare(operator: str, actual: str, expected: Sequence[str]) -> bool:
    if operator in ("StringEquals", "ArnEquals"):
        return actual in expected
    if operator in ("StringNotEquals", "ArnNotEquals"):
        return actual not in expected
    if operator == "StringEqualsIgnoreCase":
        return actual.lower() in (e.lower() for e in expected)
    if operator == "StringNotEqualsIgnoreCase":
        return actual.lower() not in (e.lower() for e in expected)
    if operator in ("StringLike", "ArnLike"):
        return any(glob_match(e, actual) for e in expected)
    if operator in ("StringNotLike", "ArnNotLike"):
        return not any(glob_match(e, actual) for e in expected)
    if operator == "Bool":
        return actual.lower() in (e.lower() for e in expected)
    return _numeric(operator, actual, expected)


def _numeric(operator: str, actual: str, expected: Sequence[str]) -> bool:
    try:
        value, bounds = float(actual), [float(e) for e in expected]
    except ValueError:
        return False  # IAM: a value that is not a number does not match a numeric operator
    tests = {
        "NumericEquals": lambda b: value == b,
        "NumericNotEquals": lambda b: value != b,
        "NumericLessThan": lambda b: value < b,
        "NumericLessThanEquals": lambda b: value <= b,
        "NumericGreaterThan": lambda b: value > b,
        "NumericGreaterThanEquals": lambda b: value >= b,
    }
    if operator == "NumericNotEquals":
        return all(tests[operator](b) for b in bounds)
    return any(tests[operator](b) for b in bounds)
