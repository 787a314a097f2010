"""Whatever JSON arrives, validation either accepts it or raises PolicyInvalid naming fields — never another
exception (which the API would answer as a 500)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from greenlight.policy import PolicyInvalid, parse_policy
from greenlight.policy.admin import canonical

GUIDS = st.sampled_from(["8d2f9a4b-1c3e-4f5a-8b6c-7d8e9f0a1b21", "0E1F2A3B-4C5D-4E6F-8A9B-0C1D2E3F4A50", "x"])
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 10_000), st.floats(allow_nan=True), st.text(max_size=8), GUIDS
)
JSON = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=20,
)
APPROVERS = st.fixed_dictionaries(
    {},
    optional={
        "users": st.lists(GUIDS, max_size=3) | JSON,
        "groups": st.lists(GUIDS, max_size=3) | JSON,
        "manager": st.booleans() | JSON,
    },
)
STAGE = st.fixed_dictionaries(
    {},
    optional={
        "name": st.text(max_size=90) | JSON,
        "approvers": APPROVERS | JSON,
        "rule": st.sampled_from(["any", "all", "ALL"]) | JSON,
        "applies_if": st.dictionaries(
            st.sampled_from(["requester_in_group", "requester_not_in_group", "x"]), GUIDS | JSON
        ),
    },
)
POLICY = st.fixed_dictionaries(
    {},
    optional={
        "stages": st.lists(STAGE | JSON, max_size=12) | JSON,
        "auto_approve": st.fixed_dictionaries(
            {}, optional={"always": st.booleans() | JSON, "requester_groups": st.lists(GUIDS) | JSON}
        )
        | JSON,
        "blocked": st.booleans() | JSON,
        "reminder_hours": st.integers(-1, 1000) | JSON,
        "escalate_after_hours": st.integers(-1, 3000) | JSON,
        "escalate_to": APPROVERS | JSON,
        "expire_after_days": st.integers(-1, 400) | JSON,
    },
)


@settings(max_examples=400, deadline=None)
@given(POLICY | JSON)
def test_any_document_is_accepted_or_refused_with_field_paths(document: Any) -> None:
    try:
        stored = canonical(document)
    except PolicyInvalid as error:
        assert error.errors and all(": " in e for e in error.errors)
    else:
        assert parse_policy(stored) == parse_policy(document)  # the canonical form means the same policy
