"""request_orchestrator on devhost (real durable SDK, Azurite, virtual clock): approve, reject, cancel,
duplicate and stale Decision events, failed and shared publications."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from devhost.durable.state import RuntimeStatus
from greenlight.models import RequestStatus, Verdict
from greenlight.requests import DecideRequest, SubmitRequest
from greenlight.requests.errors import NotYetOpen
from greenlight.requests.workflow import instance_id_for
from orchestrations.request import event_data
from tests.integration.devhost.conftest import events_of
from tests.integration.requests import workflow_app
from tests.integration.requests.conftest import Workflows

ALICE = "alice-oid"


async def submit(w: Workflows, package: str = "7zip.7zip", key: str = "k1") -> str:
    command = SubmitRequest(w.tenant, ALICE, ALICE, "Alice", package, "needs it", client_key=key)
    submission = await w.services.service.submit_request(command, w.workflow())
    await w.host.settle()
    return submission.request.request_id


async def decide(w: Workflows, request_id: str, oid: str = "bob-oid", verdict=Verdict.APPROVED):
    command = DecideRequest(w.tenant, request_id, oid, oid.title(), verdict, "fine")
    return await w.services.service.record_decision(command, w.workflow())


def stored(w: Workflows, request_id: str):
    return w.services.requests.get(w.tenant, request_id).value


async def test_an_approved_request_is_published_granted_and_completed(workflows: Workflows) -> None:
    w = workflows
    request_id = await submit(w)
    waiting = await w.host.state(instance_id_for(request_id))
    assert waiting.status is RuntimeStatus.RUNNING
    assert json.loads(waiting.custom_status)["stage"] == "Approval"
    assert stored(w, request_id).status is RequestStatus.PENDING_APPROVAL and w.notifier.sent == [request_id]

    await decide(w, request_id)
    done = await w.host.wait_for(instance_id_for(request_id), RuntimeStatus.COMPLETED)
    assert json.loads(done.output) == "Completed"
    assert json.loads(done.custom_status) == {"stage": "Done", "percent": 100, "message": "On its way to your devices"}
    request = stored(w, request_id)
    assert (request.status, request.app_id, request.progress["percent"]) == (RequestStatus.COMPLETED, "app-new", 100)
    assert {"request_id": request_id, "tenant_id": w.tenant, "group_id": "group-new"} in workflow_app.GRANTS
    assert [d.approver_oid for d in w.notifier.decisions] == ["bob-oid"]
    assert [s for s, _ in w.notifier.statuses][-3:] == ["Publishing", "Published", "Completed"]
    assert "claim_publication" in [e.get("Name") for e in events_of(done, "TASK_SCHEDULED")]


async def test_a_rejected_request_ends_rejected_and_everyone_is_told(workflows: Workflows) -> None:
    w = workflows
    request_id = await submit(w)
    await decide(w, request_id, "carol-oid", Verdict.REJECTED)
    done = await w.host.wait_for(instance_id_for(request_id), RuntimeStatus.COMPLETED)
    assert json.loads(done.output) == "Rejected"
    assert stored(w, request_id).status is RequestStatus.REJECTED
    assert [d.verdict for d in w.notifier.decisions] == [Verdict.REJECTED]
    assert "claim_publication" not in [e.get("Name") for e in events_of(done, "TASK_SCHEDULED")]


async def test_cancel_while_waiting_ends_the_workflow(workflows: Workflows) -> None:
    w = workflows
    request_id = await submit(w)
    await w.services.service.cancel_request(w.tenant, request_id, ALICE, is_admin=False, workflow=w.workflow())
    done = await w.host.wait_for(instance_id_for(request_id), RuntimeStatus.COMPLETED)
    assert json.loads(done.output) == "Cancelled"
    assert stored(w, request_id).status is RequestStatus.CANCELLED
    assert ("Cancelled", None) in w.notifier.statuses


async def test_duplicate_and_stale_decision_events_decide_once(workflows: Workflows) -> None:
    w = workflows
    request_id = await submit(w)
    client, instance = w.host.client(), instance_id_for(request_id)
    await client.raise_event(instance, "Decision", {"stage": 7})  # another stage's event: ignored
    await client.raise_event(instance, "Decision", {"stage": 0})  # no decision recorded yet: keeps waiting
    await w.host.settle()
    assert (await w.host.state(instance)).status is RuntimeStatus.RUNNING
    assert stored(w, request_id).status is RequestStatus.PENDING_APPROVAL
    await decide(w, request_id)
    await decide(w, request_id, "carol-oid", Verdict.REJECTED)  # loses; raises the event again
    await client.raise_event(instance, "Decision", {"stage": 0})  # a replayed event
    done = await w.host.wait_for(instance, RuntimeStatus.COMPLETED)
    assert json.loads(done.output) == "Completed"
    assert [g["request_id"] for g in workflow_app.GRANTS].count(request_id) == 1
    assert len(w.services.decisions.list(request_id)) == 1


async def test_a_failed_publication_fails_the_request_with_its_reason(workflows: Workflows) -> None:
    w = workflows
    request_id = await submit(w, "Contoso.Fails")
    await decide(w, request_id)
    done = await w.host.wait_for(instance_id_for(request_id), RuntimeStatus.COMPLETED)
    assert json.loads(done.output) == "Failed"
    request = stored(w, request_id)
    assert (request.status, request.error_code) == (RequestStatus.FAILED, "installer_hash_mismatch")
    assert request.error == "the installer was altered"


async def test_an_activity_that_raises_fails_the_request_instead_of_the_workflow(workflows: Workflows) -> None:
    w = workflows
    request_id = await submit(w, "Contoso.GrantFails")
    await decide(w, request_id)
    done = await w.host.wait_for(instance_id_for(request_id), RuntimeStatus.COMPLETED)
    assert json.loads(done.output) == "Failed"
    request = stored(w, request_id)
    assert (request.status, request.error_code) == (RequestStatus.FAILED, "publish_error")
    assert "assignment group is gone" in request.error
    assert w.notifier.statuses[-1][0] == "Failed"  # the requester is told


async def test_already_published_and_shared_publications_complete_too(workflows: Workflows) -> None:
    w = workflows
    published = await submit(w, "Contoso.Published", "k-published")
    shared = await submit(w, "Contoso.Waiting", "k-waiting")
    await decide(w, published)
    await decide(w, shared)
    await w.host.run_timers(timedelta(seconds=20))  # the 15 s poll of the publication in flight
    assert stored(w, published).app_id == "app-existing" and stored(w, published).status is RequestStatus.COMPLETED
    assert stored(w, shared).app_id == "app-shared" and stored(w, shared).status is RequestStatus.COMPLETED


async def test_a_decision_before_the_workflow_waits_and_a_late_start_still_decide(workflows: Workflows) -> None:
    """A submit whose start failed leaves the request Submitted; a decision on it starts the workflow and is asked
    to retry (the approvers are not known before the plan), and the retry decides."""
    w = workflows

    class Down:
        async def start(self, *_):
            raise RuntimeError("durable endpoint down")

    command = SubmitRequest(w.tenant, ALICE, ALICE, "Alice", "7zip.7zip", "needs it", client_key="late")
    try:
        await w.services.service.submit_request(command, Down())  # type: ignore[arg-type]
    except Exception as error:  # noqa: BLE001
        assert type(error).__name__ == "WorkflowUnavailable"
    (row,) = [r for r in w.services.requests.list_by_requester(w.tenant, ALICE, 50).items]
    assert row.status is RequestStatus.SUBMITTED
    with pytest.raises(NotYetOpen):
        await decide(w, row.request_id)  # starts the workflow, which plans and opens the stage
    await w.host.settle()
    assert stored(w, row.request_id).status is RequestStatus.PENDING_APPROVAL
    await decide(w, row.request_id)
    done = await w.host.wait_for(instance_id_for(row.request_id), RuntimeStatus.COMPLETED)
    assert json.loads(done.output) == "Completed"


async def test_a_card_click_and_an_api_call_raise_the_same_decision_event(workflows: Workflows) -> None:
    """The Teams door (/api/messages → handler → RequestService) and the API door end in the same event."""
    from bot.endpoint import handle
    from bot.runtime import BotRuntime
    from bot.settings import AppType, BotSettings
    from greenlight.settings import Environment
    from tests.integration.bot.conftest import activity, http_request

    w = workflows
    by_card, by_api = await submit(w, key="card"), await submit(w, key="api")
    settings = BotSettings(
        environment=Environment.LOCAL, app_id=None, app_type=AppType.MULTI_TENANT, app_tenant_id=None
    )
    runtime = BotRuntime.build(settings, w.services.account, service=w.services.service)
    click = activity(
        type="invoke",
        name="adaptiveCard/action",
        serviceUrl="http://127.0.0.1:9/",  # no replyToId: nothing is sent to a Bot Connector in this turn
        channelData={"tenant": {"id": w.tenant}},
        conversation={"id": "a:1bob", "conversationType": "personal", "tenantId": w.tenant},
        value={"action": {"type": "Action.Execute", "verb": "approve", "data": {"requestId": by_card}}},
        **{"from": {"id": "29:bob", "aadObjectId": "bob-oid", "name": "Bob"}},
    )
    response = await handle(http_request(click), runtime, w.workflow())
    assert response.status_code == 200 and "Approved by Bob" in response.get_body().decode()
    await decide(w, by_api)
    raised = []
    for request_id in (by_card, by_api):
        done = await w.host.wait_for(instance_id_for(request_id), RuntimeStatus.COMPLETED)
        raised.append([(e["Name"], event_data(json.loads(e["Input"]))) for e in events_of(done, "EVENT_RAISED")])
    assert raised[0] == raised[1] == [("Decision", {"stage": 0})]
