"""Validation of the policy document: each rule rejects with the field path it names; a valid one round-trips."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from greenlight.policy import PolicyInvalid, Rule, default_policy, parse_policy, policy_document

U1 = "8d2f9a4b-1c3e-4f5a-8b6c-7d8e9f0a1b21"
U2 = "1b3c5d7e-9f0a-4b2c-8d4e-6f8a0b2c4d62"
G1 = "0e1f2a3b-4c5d-4e6f-8a9b-0c1d2e3f4a50"
G2 = "6a7b8c9d-0e1f-4a2b-9c3d-4e5f6a7b8c91"

VALID: dict[str, Any] = {
    "stages": [
        {"name": "Manager", "approvers": {"manager": True, "users": [U1]}, "rule": "any"},
        {"name": "IT", "approvers": {"groups": [G1]}, "rule": "all", "applies_if": {"requester_not_in_group": G2}},
    ],
    "auto_approve": {"always": False, "requester_groups": [G2]},
    "blocked": False,
    "reminder_hours": 24,
    "escalate_after_hours": 48,
    "escalate_to": {"users": [U2], "groups": []},
    "expire_after_days": 14,
}


def errors_of(document: Any) -> list[str]:
    with pytest.raises(PolicyInvalid) as raised:
        parse_policy(document)
    return raised.value.errors


def changed(path: str, value: Any) -> dict[str, Any]:
    """VALID with one field (dotted path, list indexes as numbers) set to value; `...` deletes it."""
    document = copy.deepcopy(VALID)
    *parents, last = path.split(".")
    target: Any = document
    for part in parents:
        target = target[int(part)] if part.isdigit() else target[part]
    key: Any = int(last) if last.isdigit() else last
    if value is ...:
        del target[key]
    else:
        target[key] = value
    return document


def test_a_valid_document_parses_and_its_canonical_form_parses_to_the_same_policy() -> None:
    policy = parse_policy(VALID)
    assert [s.name for s in policy.stages] == ["Manager", "IT"]
    assert policy.stages[1].rule is Rule.ALL and policy.stages[1].applies_if.member is False
    assert parse_policy(policy_document(policy)) == policy


def test_ids_are_kept_lower_case_so_comparisons_with_token_oids_hold() -> None:
    policy = parse_policy(changed("escalate_to.users", [U2.upper()]))
    assert policy.escalate_to.users == (U2,)


@pytest.mark.parametrize(
    ("path", "value", "named"),
    [
        ("stages.1.rule", "most", "stages[1].rule"),
        ("stages.0.name", "", "stages[0].name"),
        ("stages.0.name", "Line\nbreak", "stages[0].name"),
        ("stages.0.approvers", {}, "stages[0].approvers"),
        ("stages.0.approvers", "boss", "stages[0].approvers"),
        ("stages.1.approvers.groups", ["not-a-guid"], "stages[1].approvers.groups[0]"),
        ("stages.1.approvers.groups", [G1, G1], "stages[1].approvers.groups[1]"),
        ("stages.0.approvers.manager", "yes", "stages[0].approvers.manager"),
        ("stages.1.applies_if", {"requester_in_group": G1, "requester_not_in_group": G2}, "stages[1].applies_if"),
        ("stages.1.applies_if", {"requester_in_group": "x"}, "stages[1].applies_if.requester_in_group"),
        ("stages.1.colour", "green", "stages[1].colour"),
        ("stages.1", "IT", "stages[1]"),
        ("stages", {"name": "x"}, "stages"),
        ("auto_approve.always", 1, "auto_approve.always"),
        ("auto_approve.requester_groups", [U1, 7], "auto_approve.requester_groups[1]"),
        ("blocked", "no", "blocked"),
        ("reminder_hours", 0, "reminder_hours"),
        ("reminder_hours", 1.5, "reminder_hours"),
        ("reminder_hours", True, "reminder_hours"),
        ("escalate_after_hours", 10_000, "escalate_after_hours"),
        ("expire_after_days", -1, "expire_after_days"),
        ("escalate_to.manager", True, "escalate_to.manager"),
        ("owner", "me", "owner"),
    ],
)
def test_each_wrong_field_is_named_by_its_path(path: str, value: Any, named: str) -> None:
    errors = errors_of(changed(path, value))
    assert any(e.startswith(f"{named}:") for e in errors), errors


def test_every_problem_is_reported_at_once() -> None:
    document = changed("stages.1.rule", "most")
    document["reminder_hours"] = 0
    assert len(errors_of(document)) == 2


def test_two_stages_may_not_share_a_name() -> None:
    assert any(e.startswith("stages[1].name:") for e in errors_of(changed("stages.1.name", "manager")))


def test_a_policy_needs_a_stage_unless_blocked_or_always_auto_approved() -> None:
    assert any(e.startswith("stages:") for e in errors_of(changed("stages", [])))
    assert parse_policy({"stages": [], "blocked": True}).blocked
    assert parse_policy({"auto_approve": {"always": True}}).auto_approve.always


def test_blocked_and_always_auto_approved_contradict() -> None:
    assert any(e.startswith("blocked:") for e in errors_of({"blocked": True, "auto_approve": {"always": True}}))


def test_escalation_needs_both_a_time_and_people() -> None:
    assert any(e.startswith("escalate_to:") for e in errors_of(changed("escalate_to", {"users": []})))
    assert any(e.startswith("escalate_after_hours:") for e in errors_of(changed("escalate_after_hours", None)))


def test_escalation_must_come_before_expiry() -> None:
    errors = errors_of(changed("escalate_after_hours", 14 * 24))
    assert any(e.startswith("escalate_after_hours:") for e in errors)


def test_a_manager_stage_needs_someone_to_fall_back_on() -> None:
    document = changed("stages.0.approvers", {"manager": True})
    document["escalate_to"], document["escalate_after_hours"] = {}, None
    assert any(e.startswith("stages[0].approvers:") and "fall back" in e for e in errors_of(document))
    document["escalate_to"], document["escalate_after_hours"] = {"users": [U2]}, 48
    assert parse_policy(document).stages[0].approvers.manager  # escalate_to is the fallback then


def test_a_body_that_is_not_an_object_is_refused() -> None:
    assert errors_of([VALID]) == ["(body): must be a JSON object"]


def test_the_default_policy_is_one_stage_of_the_configured_approvers_any_one_decides() -> None:
    policy = default_policy([U1.upper(), U1], [G1])
    assert len(policy.stages) == 1
    assert policy.stages[0].approvers.users == (U1,) and policy.stages[0].approvers.groups == (G1,)
    assert policy.stages[0].rule is Rule.ANY
    assert not policy.blocked and not policy.auto_approve.always and policy.expire_after_days is None
