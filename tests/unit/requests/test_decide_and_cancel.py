"""record_decision and cancel_request: who may, first writer wins, recorded before raised, audit once."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from greenlight.models import RequestStatus, Verdict
from greenlight.requests import DecideRequest, NotAllowed, NotOpen, RequestNotFound, WorkflowUnavailable
from tests.support.builders import a_request
from tests.unit.requests.conftest import ADMIN, ALICE, BOB, CAROL, TENANT, World


def pending(world: World, **changes):
    request = a_request(tenant_id=TENANT, requester_oid=ALICE, **changes)
    world.requests.create(request)
    return request


def decide(request, oid=BOB, verdict=Verdict.APPROVED, **changes) -> DecideRequest:
    base = DecideRequest(TENANT, request.request_id, oid, f"name of {oid}", verdict, "ok")
    return dataclasses.replace(base, **changes)


async def test_an_approval_is_recorded_applied_audited_then_raised(world: World) -> None:
    request = pending(world)
    outcome = await world.service.record_decision(decide(request), world.workflow)
    assert outcome.recorded and outcome.request.status is RequestStatus.APPROVED
    assert world.decisions.get(request.request_id, 0).approver_oid == BOB
    assert world.audit.actions() == ["request.approved"]
    assert world.workflow.calls == [("Decision", request.request_id, "0")]


async def test_the_requester_cannot_decide_their_own_even_when_listed(world: World) -> None:
    request = pending(world)
    with pytest.raises(NotAllowed, match="your own request"):
        await world.service.record_decision(decide(request, oid=ALICE.upper()), world.workflow)
    assert world.decisions.rows == {} and world.workflow.calls == []


async def test_a_non_approver_and_another_tenant_are_refused(world: World) -> None:
    request = pending(world)
    with pytest.raises(NotAllowed, match="not an approver"):
        await world.service.record_decision(decide(request, oid="mallory"), world.workflow)
    with pytest.raises(RequestNotFound):
        await world.service.record_decision(decide(request, tenant_id="other-tenant"), world.workflow)
    assert world.decisions.rows == {}


async def test_the_second_decision_gets_the_first_and_the_event_again(world: World) -> None:
    request = pending(world)
    await world.service.record_decision(decide(request, oid=BOB), world.workflow)
    late = await world.service.record_decision(decide(request, oid=CAROL, verdict=Verdict.REJECTED), world.workflow)
    assert not late.recorded and late.decision.approver_oid == BOB and late.decision.verdict is Verdict.APPROVED
    assert world.audit.actions() == ["request.approved"]  # once, whoever asks again
    assert [c[0] for c in world.workflow.calls] == ["Decision", "Decision"]  # a lost raise is repaired this way


async def test_concurrent_decisions_record_exactly_one(world: World) -> None:
    request = pending(world)
    outcomes = await asyncio.gather(
        *(world.service.record_decision(decide(request, oid=o, verdict=v), world.workflow)
          for o, v in ((BOB, Verdict.APPROVED), (CAROL, Verdict.REJECTED)) * 3)
    )  # fmt: skip
    assert sum(o.recorded for o in outcomes) == 1
    assert len({o.decision for o in outcomes}) == 1


async def test_a_failed_raise_keeps_the_decision_and_says_retry(world: World) -> None:
    request = pending(world)
    world.workflow.fail = True
    with pytest.raises(WorkflowUnavailable):
        await world.service.record_decision(decide(request), world.workflow)
    assert world.decisions.get(request.request_id, 0) is not None
    world.workflow.fail = False
    again = await world.service.record_decision(decide(request), world.workflow)
    assert not again.recorded and world.workflow.calls == [("Decision", request.request_id, "0")]


async def test_a_cancelled_request_cannot_be_decided(world: World) -> None:
    request = pending(world, status=RequestStatus.CANCELLED)
    with pytest.raises(NotOpen, match="Cancelled"):
        await world.service.record_decision(decide(request), world.workflow)


async def test_a_comment_with_control_characters_is_refused(world: World) -> None:
    request = pending(world)
    with pytest.raises(Exception, match="comment"):
        await world.service.record_decision(decide(request, comment="esc \x1b[31m"), world.workflow)
    assert world.decisions.rows == {}


async def test_the_requester_or_an_admin_cancels_before_publishing_and_it_is_audited_once(world: World) -> None:
    mine = pending(world)
    cancelled = await world.service.cancel_request(
        TENANT, mine.request_id, ALICE, is_admin=False, workflow=world.workflow
    )
    again = await world.service.cancel_request(TENANT, mine.request_id, ALICE, is_admin=False, workflow=world.workflow)
    assert cancelled.status is again.status is RequestStatus.CANCELLED
    other = pending(world, status=RequestStatus.APPROVED)
    await world.service.cancel_request(TENANT, other.request_id, ADMIN, is_admin=True, workflow=world.workflow)
    assert world.audit.actions() == ["request.cancelled", "request.cancelled"]
    assert [c[0] for c in world.workflow.calls] == ["Cancel", "Cancel", "Cancel"]


async def test_others_cannot_cancel_and_publishing_cannot_be_cancelled(world: World) -> None:
    request = pending(world)
    with pytest.raises(NotAllowed):
        await world.service.cancel_request(TENANT, request.request_id, BOB, is_admin=False, workflow=world.workflow)
    publishing = pending(world, status=RequestStatus.PUBLISHING)
    with pytest.raises(NotOpen, match="Publishing"):
        await world.service.cancel_request(
            TENANT, publishing.request_id, ALICE, is_admin=False, workflow=world.workflow
        )
    assert world.workflow.calls == []
