"""An approve click through the real endpoint and handler, with the Bot Connector played by the scripted server of
test_notifier (the Playground cannot be told to fail an update); the workflow is a recording stand-in."""

from __future__ import annotations

import json
import uuid

from bot.endpoint import handle
from bot.runtime import BotRuntime
from bot.settings import AppType, BotSettings
from greenlight.settings import Environment
from greenlight.storage import DecisionRepository, RequestRepository, StorageAccount
from tests.integration.bot.conftest import activity, http_request
from tests.integration.bot.test_notifier import Connector, connector  # noqa: F401 - the fixture
from tests.support.builders import a_request
from tests.support.fakes import RecordingWorkflow


async def test_decision_stands_and_is_shown_when_the_in_place_update_fails(
    storage_connection_string: str,
    connector: Connector,  # noqa: F811
) -> None:
    tenant, requester, approver = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    settings = BotSettings(
        environment=Environment.LOCAL,
        app_id=None,
        app_type=AppType.MULTI_TENANT,
        app_tenant_id=None,
        approver_oids=frozenset({approver}),
    )
    account = StorageAccount.from_connection_string(storage_connection_string)
    runtime = BotRuntime.build(settings, account)
    request = a_request(tenant_id=tenant, requester_oid=requester)
    RequestRepository(account).create(request)
    connector.answer("update", *[(502, {"error": {"code": "BadGateway", "message": "upstream"}})] * 10)
    click = activity(
        type="invoke",
        name="adaptiveCard/action",
        serviceUrl=connector.base_url,
        replyToId="act-card",
        channelData={"tenant": {"id": tenant}},
        conversation={"id": "a:1approver", "conversationType": "personal", "tenantId": tenant},
        **{"from": {"id": "29:approver", "aadObjectId": approver, "name": "Grace Hopper"}},
        value={"action": {"type": "Action.Execute", "verb": "approve", "data": {"requestId": request.request_id}}},
    )
    workflow = RecordingWorkflow()
    response = await handle(http_request(click), runtime, workflow)
    assert response.status_code == 200
    body = json.loads(response.get_body())
    assert body["type"] == "application/vnd.microsoft.card.adaptive"
    assert "Approved by Grace Hopper" in json.dumps(body["value"])
    # one attempt, no hidden retries inside the turn (Teams retries the invoke itself if it must)
    assert [c[1] for c in connector.of("update")] == ["/v3/conversations/a:1approver/activities/act-card"]
    assert DecisionRepository(account).get(request.request_id, 0).approver_oid == approver
    assert workflow.calls == [("Decision", request.request_id, "0")]  # recorded first, then raised
    stored = runtime.services.references.get(tenant, approver)
    assert stored is not None and stored.reference["conversation"]["id"] == "a:1approver"
