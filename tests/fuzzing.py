"""Hypothesis strategies for malformed execution inputs, shared by the unit, CLI and e2e fuzz tests.

:func:`malformed_inputs` takes a valid input and breaks exactly one field (or adds an unknown key), and says which
field it broke: whatever the validator reports must name that field. The counts of examples are kept small
(:data:`FUZZ`): the point is breadth of shapes, not volume, and CI time is shared.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from lambdas.identifiers import ACCOUNT_ID, KMS_KEY_ARN, PREFIX, REGION, ROLE_NAME, SYNC_NAME, TARGET, Rule
from lambdas.input import KNOWN_DESTINATION_KEYS, KNOWN_KEYS, MAX_MARKER_TIMEOUT_SECONDS, key_label

#: Modest example counts (CI time); derandomized so a failure reproduces.
FUZZ = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
#: Fewer through the whole CLI (each example starts a command).
FUZZ_CLI = settings(FUZZ, max_examples=20)
#: Fewer still through a run on the local engine (each example is an execution).
FUZZ_RUN = settings(FUZZ, max_examples=8)

JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)
NOT_A_STRING = JSON_VALUES.filter(lambda value: not isinstance(value, str))
NOT_A_LIST = JSON_VALUES.filter(lambda value: not isinstance(value, list))


def not_matching(rule: Rule) -> st.SearchStrategy[str]:
    """Strings the rule refuses, also once stripped (list items are stripped before they are checked)."""
    return st.text(max_size=70).filter(lambda text: not rule.matches(text.strip()))


def bad_list(rule: Rule) -> st.SearchStrategy[Any]:
    """A list that is not a list of valid strings: another type, a non-string item, or an item the rule refuses."""
    return st.one_of(
        NOT_A_LIST,
        st.lists(NOT_A_STRING, min_size=1, max_size=3),
        st.lists(not_matching(rule), min_size=1, max_size=3),
    )


#: For each field: values that field must refuse (the others valid).
BAD_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "mode": st.one_of(NOT_A_STRING, st.text().filter(lambda t: t not in ("rollout", "verify", "teardown"))),
    "targets": st.one_of(bad_list(TARGET), st.just([])),
    "regions": st.one_of(bad_list(REGION), st.just([])),
    "excludeAccounts": bad_list(ACCOUNT_ID),
    "within": st.one_of(bad_list(TARGET), st.just([])),
    "syncName": st.one_of(NOT_A_STRING, not_matching(SYNC_NAME)),
    "memberRoleName": st.one_of(NOT_A_STRING, not_matching(ROLE_NAME)),
    "onConflict": st.one_of(
        NOT_A_STRING, st.text().filter(lambda t: t not in ("report", "replace"))
    ),
    "markerTimeoutSeconds": st.one_of(
        st.integers(max_value=-1),
        st.integers(min_value=MAX_MARKER_TIMEOUT_SECONDS + 1),
        st.booleans(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=5),
        st.none(),
    ),
    "confirm": NOT_A_STRING.filter(lambda v: v is not None),  # null: no confirmation, valid outside a teardown
    "destination": JSON_VALUES.filter(lambda v: not isinstance(v, dict)),
    # Any other name: the deployment's roles may use only its own bucket (acme-inventory in these tests).
    "destination.bucket": NOT_A_STRING | st.text(max_size=70).filter(lambda t: t != "acme-inventory"),
    "destination.region": st.one_of(NOT_A_STRING, not_matching(REGION)),
    "destination.prefix": st.one_of(NOT_A_STRING, not_matching(PREFIX)),
    # null: no key, valid.
    "destination.kmsKeyArn": st.one_of(NOT_A_STRING.filter(lambda v: v is not None), not_matching(KMS_KEY_ARN)),
}


@st.composite
def malformed_inputs(draw: st.DrawFn, valid: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """``valid`` with one field broken (or an unknown key added), and the field every refusal must name."""
    field = draw(st.sampled_from([*BAD_FIELDS, "unknown key", "unknown destination key"]))
    broken: dict[str, Any] = {**valid, "destination": dict(valid.get("destination", {}))}
    if field == "unknown key":
        key = draw(st.text(min_size=1, max_size=12).filter(lambda k: k not in KNOWN_KEYS))
        broken[key] = draw(JSON_VALUES)
        return broken, key_label(key)
    if field == "unknown destination key":
        key = draw(st.text(min_size=1, max_size=12).filter(lambda k: k not in KNOWN_DESTINATION_KEYS))
        broken["destination"][key] = draw(JSON_VALUES)
        return broken, f"destination.{key_label(key)}"
    value = draw(BAD_FIELDS[field])
    if field.startswith("destination."):
        broken["destination"][field.split(".", 1)[1]] = value
    else:
        broken[field] = value
    return broken, field
