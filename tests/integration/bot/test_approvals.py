"""Who may decide, and first-writer-wins, through the application layer on real Table Storage (Azurite).

The workflow is a recording stand-in here (a seam this layer owns); tests/integration/requests runs the real one.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid

import pytest

from greenlight.models import Request, RequestStatus, Verdict
from greenlight.requests import DecideRequest, NotAllowed, NotOpen, RequestNotFound, RequestService
from greenlight.requests.approvers import ConfiguredApprovers
from greenlight.storage import AuditLog, DecisionRepository, RequestRepository, StorageAccount
from tests.support.builders import a_request
from tests.support.fakes import FakeCatalog, FakeDevices, RecordingWorkflow

APPROVERS = [str(uuid.uuid4()) for _ in range(8)]


@pytest.fixture
def world(storage_connection_string: str):
    account = StorageAccount.from_connection_string(storage_connection_string)
    requests, decisions = RequestRepository(account), DecisionRepository(account)
    service = RequestService(
        requests, decisions, AuditLog(account), ConfiguredApprovers(frozenset(APPROVERS)), FakeCatalog(), FakeDevices()
    )
    tenant, requester = str(uuid.uuid4()), str(uuid.uuid4())
    request = a_request(tenant_id=tenant, requester_oid=requester)
    requests.create(request)
    return service, requests, decisions, request


async def decide(service: RequestService, request: Request, oid: str, verdict=Verdict.APPROVED, tenant=None):
    command = DecideRequest(tenant or request.tenant_id, request.request_id, oid, f"approver {oid[:4]}", verdict, "ok")
    return await service.record_decision(command, RecordingWorkflow())


async def test_a_click_from_another_tenant_does_not_find_the_request(world) -> None:
    service, _, decisions, request = world
    with pytest.raises(RequestNotFound):
        await decide(service, request, APPROVERS[0], tenant=str(uuid.uuid4()))
    assert decisions.get(request.request_id, 0) is None


async def test_the_requester_cannot_approve_even_when_listed_as_approver(world, storage_connection_string) -> None:
    _, requests, decisions, request = world
    everyone = ConfiguredApprovers(frozenset([*APPROVERS, request.requester_oid]))
    account = StorageAccount.from_connection_string(storage_connection_string)
    service = RequestService(requests, decisions, AuditLog(account), everyone, FakeCatalog(), FakeDevices())
    with pytest.raises(NotAllowed, match="your own request"):
        await decide(service, request, request.requester_oid.upper())  # case does not matter
    assert decisions.get(request.request_id, 0) is None


async def test_a_closed_request_cannot_be_decided(world) -> None:
    service, requests, decisions, request = world
    current = requests.get(request.tenant_id, request.request_id)
    requests.update(dataclasses.replace(current.value, status=RequestStatus.CANCELLED), current.etag)
    with pytest.raises(NotOpen, match="Cancelled"):
        await decide(service, request, APPROVERS[0])
    assert decisions.get(request.request_id, 0) is None


async def test_eight_simultaneous_clicks_settle_the_stage_once_and_all_see_it(world) -> None:
    service, requests, decisions, request = world
    verdicts = [Verdict.APPROVED if i % 2 else Verdict.REJECTED for i in range(8)]
    results = await asyncio.gather(*(decide(service, request, APPROVERS[i], verdicts[i]) for i in range(8)))
    recorded = [r for r in results if r.recorded]
    assert len(recorded) == 1
    winner = recorded[0].decision
    assert all(r.decision == winner for r in results)
    assert decisions.get(request.request_id, 0) == winner  # the stage's outcome row: written once
    clicks = decisions.list(request.request_id)  # one row per approver who got in before the stage was settled
    assert winner in clicks and len({d.approver_oid for d in clicks}) == len(clicks) <= 8
    expected = RequestStatus.APPROVED if winner.verdict is Verdict.APPROVED else RequestStatus.REJECTED
    assert requests.get(request.tenant_id, request.request_id).value.status is expected


async def test_a_repeated_click_converges_the_status_after_a_lost_update(world) -> None:
    """If the status update after a recorded decision was lost, the next click (a Teams retry) applies it."""
    service, requests, _, request = world
    first = await decide(service, request, APPROVERS[0])
    assert first.recorded
    current = requests.get(request.tenant_id, request.request_id)
    requests.update(dataclasses.replace(current.value, status=RequestStatus.PENDING_APPROVAL), current.etag)
    again = await decide(service, request, APPROVERS[0])
    assert not again.recorded and again.decision == first.decision
    assert requests.get(request.tenant_id, request.request_id).value.status is RequestStatus.APPROVED
