"""Approval stages at the application layer (fakes at the seams; the same flow runs on devhost and Azurite in
tests/integration/requests): authority per current stage, one decision per approver per stage, any/all, the
stage's outcome written once, escalation, reminders, blocked packages, the requester never deciding."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from greenlight.models import RequestStatus, Verdict
from greenlight.policy import PackageBlocked, parse_policy
from greenlight.requests import DecideRequest, NotAllowed, NotOpen, SubmitRequest
from tests.support.fakes import DictDirectory
from tests.unit.requests.conftest import ALICE, TENANT, World

MEGAN, ADELE, ISAIAH = "megan-oid", "adele-oid", "isaiah-oid"
BOSS = "aaaaaaaa-0000-4000-8000-000000000005"  # policies name people and groups by object id
IT = "bbbbbbbb-0000-4000-8000-000000000001"
TWO_STAGES: dict[str, Any] = {
    "stages": [
        {"name": "Manager", "approvers": {"manager": True}},
        {"name": "IT Approvers", "approvers": {"groups": [IT]}, "rule": "all"},
    ],
    "reminder_hours": 24,
    "escalate_after_hours": 72,
    "escalate_to": {"users": [BOSS]},
    "expire_after_days": 14,
}


def with_policy(world: World, document: dict[str, Any], package: str = "7zip.7zip") -> None:
    world.policies.policies[package] = parse_policy(document)
    world.policies.directory = DictDirectory({ALICE: MEGAN}, {IT: {ADELE, ISAIAH, ALICE}})


async def submitted_and_open(world: World, key: str = "k") -> str:
    command = SubmitRequest(TENANT, ALICE, ALICE, "Alice", "7zip.7zip", "needs it", client_key=key)
    request_id = (await world.service.submit_request(command, world.workflow)).request.request_id
    plan = await world.steps.plan_approval(TENANT, request_id)
    assert plan["outcome"] == "approval"
    await world.steps.open_stage(TENANT, request_id, 0)
    return request_id


async def decide(world: World, request_id: str, oid: str, verdict: Verdict = Verdict.APPROVED, stage=None):
    command = DecideRequest(TENANT, request_id, oid, oid.split("-")[0].title(), verdict, "", stage=stage)
    return await world.service.record_decision(command, world.workflow)


def row(world: World, request_id: str):
    return world.requests.get(TENANT, request_id).value


async def test_the_manager_then_every_it_approver_and_the_request_is_approved(world: World) -> None:
    with_policy(world, TWO_STAGES)
    request_id = await submitted_and_open(world)
    with pytest.raises(NotAllowed, match="current stage"):  # IT is not asked yet
        await decide(world, request_id, ADELE)
    first = await decide(world, request_id, MEGAN)
    assert first.recorded and first.settled == first.decision and first.decision.stage == 0
    assert row(world, request_id).status is RequestStatus.PENDING_APPROVAL  # stage 2 still to come
    assert (await world.steps.decision_of(TENANT, request_id, 0))["verdict"] == "approved"
    opened = await world.steps.open_stage(TENANT, request_id, 1)
    assert opened["approvers"] == [ADELE, ISAIAH]  # never the requester, though she is in the group
    with pytest.raises(NotAllowed):  # the manager's stage is over
        await decide(world, request_id, MEGAN, stage=1)
    adele = await decide(world, request_id, ADELE)
    assert adele.recorded and adele.settled is None  # rule all: Isaiah still to answer
    again = await decide(world, request_id, ADELE, Verdict.REJECTED)
    assert not again.recorded and again.decision.verdict is Verdict.APPROVED  # her first click stands
    isaiah = await decide(world, request_id, ISAIAH)
    assert isaiah.recorded and isaiah.settled == isaiah.decision
    assert row(world, request_id).status is RequestStatus.APPROVED
    assert [c[2] for c in world.workflow.calls if c[0] == "Decision"] == ["0", "1", "1", "1"]
    assert world.audit.actions() == ["request.submitted", "request.stage_approved", "request.approved"]


async def test_one_rejection_in_a_rule_all_stage_rejects_the_request(world: World) -> None:
    with_policy(world, TWO_STAGES)
    request_id = await submitted_and_open(world)
    await decide(world, request_id, MEGAN)
    await world.steps.open_stage(TENANT, request_id, 1)
    outcome = await decide(world, request_id, ISAIAH, Verdict.REJECTED)
    assert outcome.settled is not None and outcome.settled.verdict is Verdict.REJECTED
    assert row(world, request_id).status is RequestStatus.REJECTED
    late = await decide(world, request_id, ADELE)  # the stage is settled: 409 with the rejection
    assert not late.recorded and late.decision.approver_oid == ISAIAH


async def test_rule_any_the_first_decision_decides_even_when_two_click_at_once(world: World) -> None:
    with_policy(world, {"stages": [{"name": "IT", "approvers": {"groups": [IT]}, "rule": "any"}]})
    request_id = await submitted_and_open(world)
    outcomes = await asyncio.gather(
        decide(world, request_id, ADELE, Verdict.APPROVED), decide(world, request_id, ISAIAH, Verdict.REJECTED)
    )
    assert sum(o.recorded for o in outcomes) == 1
    (winner,) = [o for o in outcomes if o.recorded]
    assert {o.decision for o in outcomes} == {winner.decision} == {world.decisions.get(request_id, 0)}
    expected = RequestStatus.APPROVED if winner.decision.verdict is Verdict.APPROVED else RequestStatus.REJECTED
    assert row(world, request_id).status is expected


async def test_a_click_on_an_earlier_stages_card_gets_that_stages_outcome(world: World) -> None:
    with_policy(world, TWO_STAGES)
    request_id = await submitted_and_open(world)
    await decide(world, request_id, MEGAN)
    await world.steps.open_stage(TENANT, request_id, 1)
    old_card = await decide(world, request_id, MEGAN, Verdict.REJECTED, stage=0)
    assert not old_card.recorded and old_card.decision.approver_oid == MEGAN and old_card.decision.stage == 0
    assert row(world, request_id).status is RequestStatus.PENDING_APPROVAL


async def test_escalation_lets_the_escalation_approvers_decide_the_stage(world: World) -> None:
    with_policy(world, TWO_STAGES)
    request_id = await submitted_and_open(world)
    with pytest.raises(NotAllowed):
        await decide(world, request_id, BOSS)
    escalated = await world.steps.escalate(TENANT, request_id, 0)
    assert escalated == {"escalated": True, "approvers": [MEGAN, BOSS]}
    assert (0, BOSS) in world.notifier.cards
    outcome = await decide(world, request_id, BOSS)
    assert outcome.settled is not None and outcome.settled.approver_oid == BOSS
    await world.steps.open_stage(TENANT, request_id, 1)
    assert not row(world, request_id).escalated  # a new stage starts unescalated
    with pytest.raises(NotAllowed):
        await decide(world, request_id, BOSS)


async def test_reminders_go_only_to_whoever_has_not_answered(world: World) -> None:
    with_policy(world, TWO_STAGES)
    request_id = await submitted_and_open(world)
    await decide(world, request_id, MEGAN)
    await world.steps.open_stage(TENANT, request_id, 1)
    await decide(world, request_id, ADELE)
    assert await world.steps.remind(TENANT, request_id, 1) == {"reminded": [ISAIAH]}
    assert await world.steps.remind(TENANT, request_id, 0) == {"reminded": []}  # a stage that is over


async def test_a_blocked_package_is_refused_at_request_time_and_nothing_is_stored(world: World) -> None:
    with_policy(world, {"blocked": True})
    command = SubmitRequest(TENANT, ALICE, ALICE, "Alice", "7zip.7zip", "needs it", client_key="k")
    with pytest.raises(PackageBlocked, match=r"7zip\.7zip"):
        await world.service.submit_request(command, world.workflow)
    assert world.requests.rows == {} and world.workflow.calls == []


async def test_a_request_not_yet_planned_cannot_be_decided_and_its_workflow_is_started(world: World) -> None:
    command = SubmitRequest(TENANT, ALICE, ALICE, "Alice", "7zip.7zip", "needs it", client_key="k")
    request_id = (await world.service.submit_request(command, world.workflow)).request.request_id
    with pytest.raises(NotOpen, match="not open for decisions yet"):
        await decide(world, request_id, "bob-oid")
    assert world.workflow.calls == [("start", request_id), ("start", request_id)]


async def test_auto_approve_and_an_unplannable_policy(world: World) -> None:
    with_policy(world, {"auto_approve": {"always": True}})
    command = SubmitRequest(TENANT, ALICE, ALICE, "Alice", "7zip.7zip", "needs it", client_key="k")
    request_id = (await world.service.submit_request(command, world.workflow)).request.request_id
    assert (await world.steps.plan_approval(TENANT, request_id))["outcome"] == "auto_approved"
    assert (await world.steps.auto_approve(TENANT, request_id, "pre-approved"))["ok"]
    assert row(world, request_id).status is RequestStatus.APPROVED
    assert "request.approved" in world.audit.actions()
    with_policy(
        world, {"stages": [{"name": "Nobody", "approvers": {"groups": ["bbbbbbbb-0000-4000-8000-000000000003"]}}]}
    )
    other = SubmitRequest(TENANT, ALICE, ALICE, "Alice", "7zip.7zip", "again", client_key="k2")
    second = (await world.service.submit_request(other, world.workflow)).request.request_id
    assert (await world.steps.plan_approval(TENANT, second))["outcome"] == "no_approvers"
    assert row(world, second).plan is None


async def test_a_stage_naming_a_group_over_the_bound_is_refused_and_no_plan_is_kept(world: World) -> None:
    with_policy(world, TWO_STAGES)
    world.policies.directory.members[IT] = {f"member-{n}" for n in range(150)}
    command = SubmitRequest(TENANT, ALICE, ALICE, "Alice", "7zip.7zip", "needs it", client_key="k")
    request_id = (await world.service.submit_request(command, world.workflow)).request.request_id
    refused = await world.steps.plan_approval(TENANT, request_id)
    assert (refused["outcome"], refused["stage_name"], refused["count"], refused["limit"]) == (
        "too_many_approvers", "IT Approvers", 150, 100)  # fmt: skip
    assert "name a smaller group" in refused["reason"]
    assert row(world, request_id).plan is None and world.notifier.cards == []
