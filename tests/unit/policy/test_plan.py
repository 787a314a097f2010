"""plan_for over an in-memory directory, and stage_outcome for any/all (the Graph directory is tested on the
sandbox in tests/integration/policy)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from greenlight.models import Verdict
from greenlight.policy import (
    MAX_APPROVERS_PER_STAGE,
    ApprovalPlan,
    DirectoryUnavailable,
    NoApprovers,
    PackageBlocked,
    Rule,
    StagePlan,
    TooManyApprovers,
    default_policy,
    oversized_lists,
    parse_policy,
    plan_for,
    stage_outcome,
    waiting_on,
)
from greenlight.policy.effective import ensure_requestable
from greenlight.policy.model import MAX_USERS, MEMBER_READ_LIMIT
from tests.support.builders import a_request

REQUESTER = "aaaaaaaa-0000-4000-8000-000000000001"
MANAGER = "aaaaaaaa-0000-4000-8000-000000000002"
ADELE = "aaaaaaaa-0000-4000-8000-000000000003"
ISAIAH = "aaaaaaaa-0000-4000-8000-000000000004"
ESCALATOR = "aaaaaaaa-0000-4000-8000-000000000005"
IT = "bbbbbbbb-0000-4000-8000-000000000001"
CONTRACTORS = "bbbbbbbb-0000-4000-8000-000000000002"
EMPTY = "bbbbbbbb-0000-4000-8000-000000000003"


class FakeDirectory:
    """Managers, transitive members and memberships from dicts; `down` makes every lookup fail like an outage."""

    def __init__(self, managers: dict[str, str], members: dict[str, set[str]], down: bool = False) -> None:
        self.managers, self.members, self.down = managers, members, down
        self.calls: list[str] = []

    def _check(self, what: str) -> None:
        self.calls.append(what)
        if self.down:
            raise DirectoryUnavailable(what)

    async def manager_of(self, user_id: str) -> str | None:
        self._check("manager")
        return self.managers.get(user_id)

    async def group_members(self, group_id: str) -> frozenset[str]:
        self._check("members")
        return frozenset(self.members.get(group_id, set()))

    async def member_groups(self, user_id: str, group_ids: Sequence[str]) -> frozenset[str]:
        self._check("member_groups")
        return frozenset(g for g in group_ids if user_id in self.members.get(g, set()))


def org(**changes: Any) -> FakeDirectory:
    managers = {REQUESTER: MANAGER}
    members = {IT: {ADELE, ISAIAH}, CONTRACTORS: set(), EMPTY: set()}
    directory = FakeDirectory(managers, members)
    for name, value in changes.items():
        setattr(directory, name, value)
    return directory


TWO_STAGES: dict[str, Any] = {
    "stages": [
        {"name": "Manager", "approvers": {"manager": True, "groups": [IT]}},
        {"name": "IT", "approvers": {"groups": [IT]}, "rule": "all"},
    ],
    "reminder_hours": 24,
    "escalate_after_hours": 72,
    "escalate_to": {"users": [ESCALATOR, REQUESTER]},
    "expire_after_days": 14,
}


async def plan(document: dict[str, Any], directory: FakeDirectory | None = None) -> ApprovalPlan:
    return await plan_for(a_request(requester_oid=REQUESTER), parse_policy(document), directory or org())


async def test_the_manager_then_an_it_group_that_must_all_approve() -> None:
    result = await plan(TWO_STAGES)
    assert result.outcome == "approval"
    first, second = result.stages
    assert (first.name, first.approvers, first.source, first.rule) == ("Manager", (MANAGER,), "manager", Rule.ANY)
    assert (second.approvers, second.rule) == (tuple(sorted({ADELE, ISAIAH})), Rule.ALL)
    assert result.escalation == (ESCALATOR,)  # never the requester, even when the policy names them
    assert (result.timing.reminder_hours, result.timing.expire_after_days) == (24, 14)


async def test_without_a_manager_the_stage_falls_back_to_the_users_and_groups_it_names() -> None:
    result = await plan(TWO_STAGES, org(managers={}))
    assert result.stages[0].approvers == tuple(sorted({ADELE, ISAIAH}))
    assert result.stages[0].source == "fallback"


async def test_a_manager_only_stage_falls_back_to_the_escalation_approvers() -> None:
    document = {**TWO_STAGES, "stages": [{"name": "Manager", "approvers": {"manager": True}}]}
    result = await plan(document, org(managers={}))
    assert result.stages[0].approvers == (ESCALATOR,) and result.stages[0].source == "fallback"


async def test_the_requester_never_approves_at_any_stage() -> None:
    document = {"stages": [{"name": "Peers", "approvers": {"users": [REQUESTER, ADELE]}}]}
    assert (await plan(document)).stages[0].approvers == (ADELE,)
    directory = org(members={IT: {REQUESTER, ISAIAH}})
    assert (await plan({"stages": [{"name": "IT", "approvers": {"groups": [IT]}}]}, directory)).stages[0].approvers == (
        ISAIAH,
    )


async def test_a_stage_left_with_nobody_fails_clearly_instead_of_approving() -> None:
    with pytest.raises(NoApprovers) as raised:
        await plan({"stages": [{"name": "Me", "approvers": {"users": [REQUESTER]}}]})
    assert raised.value.stage_name == "Me"
    with pytest.raises(NoApprovers):
        await plan({"stages": [{"name": "Empty", "approvers": {"groups": [EMPTY]}}]})


async def test_a_requester_who_is_their_own_manager_gets_the_fallback() -> None:
    result = await plan(TWO_STAGES, org(managers={REQUESTER: REQUESTER}))
    assert result.stages[0].source == "fallback" and REQUESTER not in result.stages[0].approvers


async def test_a_blocked_package_is_refused_before_any_lookup() -> None:
    directory = org()
    with pytest.raises(PackageBlocked, match=r"7zip\.7zip"):
        await plan({"blocked": True}, directory)
    assert directory.calls == []
    with pytest.raises(PackageBlocked):
        ensure_requestable(parse_policy({"blocked": True}), "7zip.7zip")
    ensure_requestable(parse_policy(TWO_STAGES), "7zip.7zip")  # not blocked: no exception


async def test_auto_approve_always_and_by_requester_group() -> None:
    assert (await plan({"auto_approve": {"always": True}})).outcome == "auto_approved"
    document = {**TWO_STAGES, "auto_approve": {"requester_groups": [CONTRACTORS, IT]}}
    assert (await plan(document)).outcome == "approval"
    member = org(members={IT: {ADELE}, CONTRACTORS: {REQUESTER}})
    assert (await plan(document, member)).outcome == "auto_approved"


async def test_a_stage_may_apply_only_when_the_requester_is_or_is_not_in_a_group() -> None:
    document = {
        "stages": [
            {"name": "Contractors", "approvers": {"users": [ADELE]}, "applies_if": {"requester_in_group": CONTRACTORS}},
            {"name": "Staff", "approvers": {"users": [ISAIAH]}, "applies_if": {"requester_not_in_group": CONTRACTORS}},
        ]
    }
    assert [s.name for s in (await plan(document)).stages] == ["Staff"]
    contractor = org(members={CONTRACTORS: {REQUESTER}})
    result = await plan(document, contractor)
    assert [(s.index, s.name) for s in result.stages] == [(0, "Contractors")]


async def test_when_no_stage_applies_the_plan_fails_instead_of_approving() -> None:
    document = {"stages": [{"name": "C", "approvers": {"users": [ADELE]}, "applies_if": {"requester_in_group": IT}}]}
    with pytest.raises(NoApprovers):
        await plan(document)


@pytest.mark.parametrize(
    "document",
    [
        TWO_STAGES,
        {
            "auto_approve": {"requester_groups": [CONTRACTORS]},
            "stages": [{"name": "A", "approvers": {"users": [ADELE]}}],
        },
        {"stages": [{"name": "S", "approvers": {"users": [ADELE]}, "applies_if": {"requester_not_in_group": IT}}]},
    ],
)
async def test_a_directory_outage_makes_no_plan_rather_than_a_permissive_one(document: dict[str, Any]) -> None:
    with pytest.raises(DirectoryUnavailable):
        await plan(document, org(down=True))


async def test_the_default_policy_asks_the_configured_users_and_group_members() -> None:
    result = await plan_for(a_request(requester_oid=REQUESTER), default_policy([ESCALATOR], [IT]), org())
    assert result.stages[0].approvers == tuple(sorted({ESCALATOR, ADELE, ISAIAH}))


async def test_a_plan_survives_its_json_form() -> None:
    result = await plan(TWO_STAGES)
    assert ApprovalPlan.from_json(result.to_json()) == result


def people(count: int, start: int = 0) -> set[str]:
    return {f"cccccccc-0000-4000-8000-{n:012d}" for n in range(start, start + count)}


async def test_a_stage_may_ask_up_to_the_bound_counting_people_once_and_never_the_requester() -> None:
    assert MAX_APPROVERS_PER_STAGE == 100
    users = sorted(people(60))  # and a group of 60 sharing 20 of them, plus the requester: 100 people asked
    directory = org(members={IT: people(60, start=40) | {REQUESTER}})
    document = {"stages": [{"name": "Big", "approvers": {"users": users, "groups": [IT]}}]}
    assert len((await plan(document, directory)).stages[0].approvers) == MAX_APPROVERS_PER_STAGE


async def test_a_stage_over_the_bound_fails_naming_the_stage_the_count_and_the_limit() -> None:
    directory = org(members={IT: {ADELE}, CONTRACTORS: people(150)})
    document = {"stages": [{"name": "IT", "approvers": {"groups": [IT]}},
                           {"name": "Everyone", "approvers": {"groups": [CONTRACTORS]}}]}  # fmt: skip
    with pytest.raises(TooManyApprovers) as raised:
        await plan(document, directory)
    refused = raised.value
    assert (refused.stage_index, refused.stage_name, refused.count, refused.limit) == (1, "Everyone", 150, 100)
    assert str(refused) == (
        "stage 2 (Everyone) would ask 150 people, over the limit of 100: name a smaller group (or fewer users) "
        "for this stage in the package's approval policy"
    )
    assert refused.outcome() == {"outcome": "too_many_approvers", "reason": str(refused), "stage_index": 1,
                                 "stage_name": "Everyone", "count": 150, "limit": 100}  # fmt: skip


async def test_a_manager_stage_falling_back_to_a_big_group_fails_too() -> None:
    document = {"stages": [{"name": "Manager", "approvers": {"manager": True, "groups": [CONTRACTORS]}}]}
    assert (await plan(document, org(members={CONTRACTORS: people(500)}))).stages[0].approvers == (MANAGER,)
    with pytest.raises(TooManyApprovers, match=r"stage 1 \(Manager\) would ask 500 people"):
        await plan(document, org(managers={}, members={CONTRACTORS: people(500)}))


async def test_a_group_read_only_up_to_the_member_read_limit_is_told_as_more_than_it() -> None:
    # A directory stops reading a huge group after MEMBER_READ_LIMIT + 1 members (see Directory.group_members).
    document = {"stages": [{"name": "Everyone", "approvers": {"groups": [CONTRACTORS]}}]}
    directory = org(members={CONTRACTORS: people(MEMBER_READ_LIMIT + 1)})
    with pytest.raises(TooManyApprovers) as raised:
        await plan(document, directory)
    assert str(raised.value).startswith(f"stage 1 (Everyone) would ask more than {MEMBER_READ_LIMIT} people, over")
    assert raised.value.count == MEMBER_READ_LIMIT + 1
    (warning,) = await oversized_lists(parse_policy(document), directory)
    assert f"hold more than {MEMBER_READ_LIMIT} people now" in warning


async def test_an_escalation_list_over_the_bound_fails_the_plan() -> None:
    document = {**TWO_STAGES, "escalate_to": {"groups": [CONTRACTORS]}}
    assert len((await plan(document, org(members={IT: {ADELE}, CONTRACTORS: people(100)}))).escalation) == 100
    with pytest.raises(TooManyApprovers) as raised:
        await plan(document, org(members={IT: {ADELE}, CONTRACTORS: people(101)}))
    assert (raised.value.stage_index, raised.value.count) == (None, 101)
    assert str(raised.value).startswith("escalate_to would ask 101 people, over the limit of 100: name a smaller")


async def test_an_admin_is_warned_of_each_list_over_the_bound_by_its_field_path() -> None:
    assert MAX_USERS <= MAX_APPROVERS_PER_STAGE  # users alone never need a warning: only groups can grow past it
    document = {"stages": [{"name": "Manager", "approvers": {"manager": True, "groups": [CONTRACTORS]}},
                           {"name": "IT", "approvers": {"groups": [IT]}}],
                "escalate_after_hours": 24, "escalate_to": {"users": [ESCALATOR], "groups": [EMPTY]}}  # fmt: skip
    directory = org(members={CONTRACTORS: people(120), IT: people(100), EMPTY: people(100, start=1)})
    warnings = await oversized_lists(parse_policy(document), directory)
    assert warnings == [
        "stages[0].approvers: its users and groups hold 120 people now (asked when the requester has no manager), "
        "over the limit of 100 one stage may ask: requests would fail (too_many_approvers) until it names a "
        "smaller group",
        "escalate_to: its users and groups hold 101 people now, over the limit of 100 one stage may ask: requests "
        "would fail (too_many_approvers) until it names a smaller group",
    ]
    assert await oversized_lists(parse_policy(TWO_STAGES), org()) == []


STAGE_ANY = StagePlan(0, "Any", Rule.ANY, (ADELE, ISAIAH), "named")
STAGE_ALL = StagePlan(1, "All", Rule.ALL, (ADELE, ISAIAH), "named")


@pytest.mark.parametrize(
    ("stage", "decisions", "expected"),
    [
        (STAGE_ANY, {}, "pending"),
        (STAGE_ANY, {ADELE: "approved"}, "approved"),
        (STAGE_ANY, {ISAIAH: Verdict.REJECTED}, "rejected"),
        (STAGE_ANY, {ADELE: "approved", ISAIAH: "rejected"}, "rejected"),
        (STAGE_ALL, {ADELE: "approved"}, "pending"),
        (STAGE_ALL, {ADELE: "approved", ISAIAH: "approved"}, "approved"),
        (STAGE_ALL, {ADELE: "approved", ISAIAH: "rejected"}, "rejected"),
        (STAGE_ANY, {REQUESTER: "approved", ESCALATOR: "approved"}, "pending"),  # not theirs to decide
    ],
)
def test_stage_outcome_for_any_and_all(stage: StagePlan, decisions: dict[str, Any], expected: str) -> None:
    assert stage_outcome(stage, decisions) == expected


def test_once_escalated_an_escalation_approver_decides_the_stage_for_everyone() -> None:
    assert stage_outcome(STAGE_ALL, {ESCALATOR: "approved"}, escalation=[ESCALATOR]) == "pending"
    assert stage_outcome(STAGE_ALL, {ESCALATOR: "approved"}, escalation=[ESCALATOR], escalated=True) == "approved"
    assert stage_outcome(STAGE_ALL, {ESCALATOR: "rejected"}, escalation=[ESCALATOR], escalated=True) == "rejected"


def test_waiting_on_lists_who_has_not_answered() -> None:
    assert waiting_on(STAGE_ALL, {ADELE: "approved"}) == (ISAIAH,)
