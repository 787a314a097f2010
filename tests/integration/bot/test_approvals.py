"""Who may decide, and first-writer-wins, on real Table Storage (Azurite)."""

from __future__ import annotations

import dataclasses
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from bot.approvals import ApprovalService, Outcome
from bot.approvers import ConfiguredApprovers

from greenlight.models import Request, RequestStatus, Verdict
from greenlight.storage import AuditLog, DecisionRepository, RequestRepository, StorageAccount
from tests.support.builders import a_request

APPROVERS = [str(uuid.uuid4()) for _ in range(8)]


@pytest.fixture
def world(storage_connection_string: str):
    account = StorageAccount.from_connection_string(storage_connection_string)
    requests, decisions = RequestRepository(account), DecisionRepository(account)
    service = ApprovalService(requests, decisions, ConfiguredApprovers(frozenset(APPROVERS)), AuditLog(account))
    tenant, requester = str(uuid.uuid4()), str(uuid.uuid4())
    request = a_request(tenant_id=tenant, requester_oid=requester)
    requests.create(request)
    return service, requests, decisions, request


def decide(service: ApprovalService, request: Request, oid: str, verdict=Verdict.APPROVED, tenant=None):
    return service.decide(
        tenant_id=tenant or request.tenant_id,
        request_id=request.request_id,
        clicker_oid=oid,
        clicker_name=f"approver {oid[:4]}",
        verdict=verdict,
        comment="ok",
    )


def test_a_click_from_another_tenant_does_not_find_the_request(world) -> None:
    service, _, decisions, request = world
    result = decide(service, request, APPROVERS[0], tenant=str(uuid.uuid4()))
    assert result.outcome is Outcome.REFUSED and "does not exist" in result.reason
    assert decisions.get(request.request_id, 0) is None


def test_the_requester_cannot_approve_even_when_listed_as_approver(world, storage_connection_string) -> None:
    _, requests, decisions, request = world
    account = StorageAccount.from_connection_string(storage_connection_string)
    everyone = ConfiguredApprovers(frozenset([*APPROVERS, request.requester_oid]))
    service = ApprovalService(requests, decisions, everyone)
    result = decide(service, request, request.requester_oid.upper())  # case does not matter
    assert result.outcome is Outcome.REFUSED and "your own request" in result.reason
    assert DecisionRepository(account).get(request.request_id, 0) is None


def test_a_non_approver_is_refused(world) -> None:
    service, _, decisions, request = world
    result = decide(service, request, str(uuid.uuid4()))
    assert result.outcome is Outcome.REFUSED and "not an approver" in result.reason
    assert decisions.get(request.request_id, 0) is None


def test_a_closed_request_cannot_be_decided(world) -> None:
    service, requests, decisions, request = world
    current = requests.get(request.tenant_id, request.request_id)
    requests.update(dataclasses.replace(current.value, status=RequestStatus.CANCELLED), current.etag)
    result = decide(service, request, APPROVERS[0])
    assert result.outcome is Outcome.REFUSED and "Cancelled" in result.reason
    assert decisions.get(request.request_id, 0) is None


def test_eight_simultaneous_clicks_record_one_decision_and_all_see_it(world) -> None:
    service, requests, decisions, request = world
    verdicts = [Verdict.APPROVED if i % 2 else Verdict.REJECTED for i in range(8)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda i: decide(service, request, APPROVERS[i], verdicts[i]), range(8)))
    recorded = [r for r in results if r.outcome is Outcome.RECORDED]
    assert len(recorded) == 1
    winner = recorded[0].decision
    assert all(r.decision == winner for r in results)
    assert decisions.list(request.request_id) == [winner]
    expected = RequestStatus.APPROVED if winner.verdict is Verdict.APPROVED else RequestStatus.REJECTED
    assert requests.get(request.tenant_id, request.request_id).value.status is expected


def test_a_repeated_click_converges_the_status_after_a_lost_update(world) -> None:
    """If the status update after a recorded decision was lost, the next click (a Teams retry) applies it."""
    service, requests, _, request = world
    first = decide(service, request, APPROVERS[0])
    assert first.outcome is Outcome.RECORDED
    current = requests.get(request.tenant_id, request.request_id)
    requests.update(dataclasses.replace(current.value, status=RequestStatus.PENDING_APPROVAL), current.etag)
    again = decide(service, request, APPROVERS[0])
    assert again.outcome is Outcome.ALREADY_DECIDED and again.decision == first.decision
    assert requests.get(request.tenant_id, request.request_id).value.status is RequestStatus.APPROVED
