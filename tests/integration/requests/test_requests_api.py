"""The request routes of the HTTP API, called as the Functions host calls them (durable client binding from an
in-process devhost running the request workflow), with sandbox tokens, Azurite and the verified WinGet catalog
served by the sandbox CDN."""

from __future__ import annotations

import dataclasses
import inspect
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import azure.functions as func
import pytest

import services
from devhost.durable.client_binding import client_binding
from devhost.durable.state import RuntimeStatus
from devhost.function_index import FunctionIndex
from greenlight.models import Policy, RequestStatus
from greenlight.policy.admin import canonical
from greenlight.requests.approvers import ConfiguredApprovers
from greenlight.requests.catalog import WingetPackageCatalog
from greenlight.requests.workflow import instance_id_for
from greenlight.settings import SANDBOX_TENANT_ID
from greenlight.storage import AuditLog, PolicyRepository, StorageAccount
from tests.integration.devhost.conftest import DurableHost, start_host
from tests.integration.foundation.conftest import api_runtime, mint  # noqa: F401 - fixtures
from tests.integration.requests.conftest import sandbox_policies
from tests.support.fakes import FakeDevices, RecordingNotifier

APPROVER = "oid-bob"


@dataclass
class Api:
    host: DurableHost
    mint: Any
    services: services.Services

    async def call(
        self, route: Any, method: str, url: str, token: str, body: Any = None, **options
    ) -> func.HttpResponse:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json", **options.get("headers", {})}
        raw = options.get("raw", json.dumps(body).encode() if body is not None else b"")
        request = func.HttpRequest(method, url, headers=headers, body=raw, route_params=options.get("route_params", {}))
        binding = client_binding(self.host.base_url, self.host.task_hub)
        if "client" in route._function.get_user_function().__code__.co_varnames:
            return await route(request, client=binding)
        answer = route(request)  # an async route without the durable client (PUT /api/policies) gives a coroutine
        return await answer if inspect.isawaitable(answer) else answer

    async def create(self, token: str, body: dict, key: str | None = None) -> func.HttpResponse:
        from functions.requests_api import create_request

        headers = {"Idempotency-Key": key} if key is not None else {}
        return await self.call(create_request, "POST", "http://x/api/requests", token, body, headers=headers)

    async def decide(self, token: str, request_id: str, body: dict) -> func.HttpResponse:
        from functions.requests_api import decide_request

        url = f"http://x/api/requests/{request_id}/decisions"
        return await self.call(decide_request, "POST", url, token, body, route_params={"request_id": request_id})

    async def cancel(self, token: str, request_id: str) -> func.HttpResponse:
        from functions.requests_api import cancel_request

        url = f"http://x/api/requests/{request_id}/cancel"
        return await self.call(cancel_request, "POST", url, token, raw=b"", route_params={"request_id": request_id})

    async def read(self, token: str, request_id: str) -> func.HttpResponse:
        from functions.requests_api import get_request

        return await self.call(
            get_request, "GET", f"http://x/api/requests/{request_id}", token, route_params={"request_id": request_id}
        )


@pytest.fixture(scope="session")
def sandbox_catalog(sandbox, tmp_path_factory):
    from greenlight.winget.catalog import open_catalog
    from greenlight.winget.settings import SANDBOX_ROOT_NAME, WingetSettings

    env = {
        "GREENLIGHT_ENV": "local",
        "GREENLIGHT_SANDBOX_URL": sandbox.base_url,
        "GREENLIGHT_CA_BUNDLE": str(sandbox.ca_file),
        "GREENLIGHT_WINGET_TRUST": str(sandbox.state_dir / "winget" / SANDBOX_ROOT_NAME),
        "GREENLIGHT_WINGET_CACHE_DIR": str(tmp_path_factory.mktemp("winget-api")),
    }
    catalog = open_catalog(WingetSettings.from_env(env))
    return WingetPackageCatalog(lambda: catalog)


@pytest.fixture
async def api(api_runtime, mint, workflow_index: FunctionIndex, azurite, sandbox, sandbox_catalog) -> AsyncIterator[Api]:  # noqa: E501, F811 # fmt: skip
    account = StorageAccount.from_connection_string(azurite.connection_string)
    built = services.build(
        {"GREENLIGHT_ENV": "local", "GREENLIGHT_STORAGE_CONNECTION": azurite.connection_string},
        account=account,
        catalog=sandbox_catalog,
        devices=FakeDevices("x64"),
        approvers=ConfiguredApprovers(frozenset({APPROVER, "oid-alice"})),
        notifier=lambda: RecordingNotifier([APPROVER]),
        policies=sandbox_policies(account, sandbox, [APPROVER, "oid-alice"]),
    )
    previous = services.installed()
    services.set_services(built)
    host, server = await start_host(workflow_index, azurite.connection_string)
    try:
        yield Api(host, mint, built)
    finally:
        await server.close()
        services.set_services(previous)  # as other suites left it


def body_of(response: func.HttpResponse, status: int) -> dict:
    assert response.status_code == status, response.get_body()
    return json.loads(response.get_body())


SEVEN_ZIP = {"package_id": "7zip.7zip", "justification": "unpack archives"}


async def test_create_returns_201_with_id_and_status_and_a_retry_returns_it_again(api: Api) -> None:
    token = api.mint(f"oid-{uuid.uuid4().hex[:8]}")
    first = body_of(await api.create(token, SEVEN_ZIP, "key-1"), 201)
    again = body_of(await api.create(token, SEVEN_ZIP, "key-1"), 200)
    assert first["request_id"] == again["request_id"] and first["status"] in ("Submitted", "PendingApproval")
    assert first["architecture"] == "x64" and first["error"] is None
    await api.host.settle()
    state = await api.host.state(instance_id_for(first["request_id"]))
    assert state.status is RuntimeStatus.RUNNING  # waiting for a decision
    month = first["created_at"][:7].replace("-", "")
    submitted = [e for e in AuditLog(api.services.account).list_month(month, 100).items
                 if e.entity == f"request/{first['request_id']}"]  # fmt: skip
    assert [e.action for e in submitted] == ["request.submitted"]


async def test_the_same_key_with_another_body_is_422_naming_the_key(api: Api) -> None:
    token = api.mint("oid-carl")
    body_of(await api.create(token, SEVEN_ZIP, "key-reuse"), 201)
    for changed in ({**SEVEN_ZIP, "justification": "other"}, {**SEVEN_ZIP, "architecture": "arm64"},
                    {**SEVEN_ZIP, "scope": "user"}):  # fmt: skip
        problem = body_of(await api.create(token, changed, "key-reuse"), 422)
        assert "key-reuse" in problem["detail"]


@pytest.mark.parametrize("key", ["x" * 201, "caf\u00e9", "two words", ""])
async def test_a_bad_idempotency_key_is_400(api: Api, key: str) -> None:
    problem = body_of(await api.create(api.mint("oid-dora"), SEVEN_ZIP, key), 400)
    assert "Idempotency-Key" in problem["detail"]


async def test_an_unknown_package_is_422_naming_it(api: Api) -> None:
    problem = body_of(await api.create(api.mint("oid-erin"), {**SEVEN_ZIP, "package_id": "No.Such.Thing"}), 422)
    assert "No.Such.Thing" in problem["detail"]
    problem = body_of(await api.create(api.mint("oid-erin"), {**SEVEN_ZIP, "package_version": "0.0.1"}), 422)
    assert "7zip.7zip 0.0.1" in problem["detail"]


async def test_decisions_need_an_approver_of_that_request_never_the_requester(api: Api) -> None:
    created = body_of(await api.create(api.mint("oid-alice"), SEVEN_ZIP), 201)
    rid = created["request_id"]
    await api.host.settle()  # the workflow has made the approval plan (before it, a decision is told to retry)
    approve = {"verdict": "approve", "comment": "fine"}
    body_of(await api.decide(api.mint("oid-alice", roles=("Requester",)), rid, approve), 403)  # no Approver role
    body_of(await api.decide(api.mint("oid-alice", roles=("Approver",)), rid, approve), 403)  # her own
    body_of(await api.decide(api.mint("oid-zed", roles=("Approver",)), rid, approve), 403)  # not its approver
    body_of(await api.decide(api.mint(APPROVER, roles=("Approver",)), "0" * 32, approve), 404)
    decided = body_of(await api.decide(api.mint(APPROVER, roles=("Approver",)), rid, approve), 201)
    assert (decided["verdict"], decided["status"]) == ("approved", "Approved")
    late = body_of(await api.decide(api.mint(APPROVER, roles=("Approver",)), rid, {"verdict": "reject"}), 409)
    assert late["decision"]["verdict"] == "approved" and late["decision"]["approver_oid"] == APPROVER
    # The workflow got the Decision event and moved on (its publish stand-ins complete it).
    done = await api.host.wait_for(instance_id_for(rid), RuntimeStatus.COMPLETED)
    assert json.loads(done.output) == "Completed"
    view = body_of(await api.read(api.mint("oid-alice"), rid), 200)
    assert (view["status"], view["app_id"], view["progress"]["stage"]) == ("Completed", "app-new", "Done")


async def test_cancel_by_the_requester_or_an_admin_not_others_and_not_once_publishing(api: Api) -> None:
    mine = body_of(await api.create(api.mint("oid-fay"), SEVEN_ZIP), 201)["request_id"]
    body_of(await api.cancel(api.mint("oid-stranger"), mine), 404)
    body_of(await api.cancel(api.mint("oid-gus", roles=("Approver",)), mine), 403)
    assert body_of(await api.cancel(api.mint("oid-fay"), mine), 200)["status"] == "Cancelled"
    done = await api.host.wait_for(instance_id_for(mine), RuntimeStatus.COMPLETED)
    assert json.loads(done.output) == "Cancelled"
    other = body_of(await api.create(api.mint("oid-fay"), {**SEVEN_ZIP, "justification": "again"}), 201)
    assert (
        body_of(await api.cancel(api.mint("oid-admin", roles=("Admin",)), other["request_id"]), 200)["status"]
        == "Cancelled"
    )
    api.services.requests.modify(
        SANDBOX_TENANT_ID, other["request_id"], lambda r: dataclasses.replace(r, status=RequestStatus.PUBLISHING)
    )
    problem = body_of(await api.cancel(api.mint("oid-fay"), other["request_id"]), 409)
    assert "Publishing" in problem["detail"]


async def test_read_shows_status_progress_app_and_error(api: Api) -> None:
    rid = body_of(await api.create(api.mint("oid-hal"), SEVEN_ZIP), 201)["request_id"]
    await api.host.settle()
    view = body_of(await api.read(api.mint("oid-hal"), rid), 200)
    assert view["status"] == "PendingApproval"
    assert view["progress"] == {"stage": "Approval", "percent": 10, "message": "Waiting for an approver"}
    assert (view["app_id"], view["error"]) == (None, None)


async def test_a_requester_creates_a_request_for_themselves(api: Api) -> None:
    response = await api.create(api.mint("oid-rita"), {"package_id": "7zip.7zip", "justification": "archives"})
    view = body_of(response, 201)
    assert (view["requester_oid"], view["architecture"]) == ("oid-rita", "x64")
    assert response.headers["Location"] == f"/api/requests/{view['request_id']}"


async def test_on_behalf_of_needs_admin_and_the_key_stays_the_callers(api: Api) -> None:
    body = {**SEVEN_ZIP, "on_behalf_of": {"oid": "oid-victim", "name": "V"}}
    body_of(await api.create(api.mint("oid-rita"), body, "obo-1"), 403)
    view = body_of(await api.create(api.mint("oid-helpdesk", roles=("Admin",)), body, "obo-1"), 201)
    assert view["requester_oid"] == "oid-victim"
    # The victim using the same key themselves makes a request of their own (keys are scoped to the caller).
    own = body_of(await api.create(api.mint("oid-victim"), SEVEN_ZIP, "obo-1"), 201)
    assert own["request_id"] != view["request_id"]


async def test_a_stranger_cannot_read_someone_elses_request_but_an_approver_can(api: Api) -> None:
    rid = body_of(await api.create(api.mint("oid-owner"), SEVEN_ZIP), 201)["request_id"]
    assert (await api.read(api.mint("oid-owner"), rid)).status_code == 200
    body_of(await api.read(api.mint("oid-stranger"), rid), 404)
    assert (await api.read(api.mint("oid-approver", roles=("Approver",)), rid)).status_code == 200


def test_openapi_documents_the_request_routes_and_their_problems(api_runtime) -> None:  # noqa: F811
    from functions.openapi import build_document

    paths = build_document()["paths"]
    create = paths["/api/requests"]["post"]
    assert "201" in create["responses"] and "422" in create["responses"]
    decide = paths["/api/requests/{request_id}/decisions"]["post"]
    assert decide["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/DecisionInput")
    assert {"201", "403", "404", "409"} <= set(decide["responses"])
    assert {"200", "404", "409"} <= set(paths["/api/requests/{request_id}/cancel"]["post"]["responses"])


async def test_an_api_made_request_is_listed_as_pending_approval_for_approvers(api: Api) -> None:
    from functions.requests_api import list_requests

    rid = body_of(await api.create(api.mint("oid-ivy"), SEVEN_ZIP), 201)["request_id"]
    await api.host.settle()  # the workflow puts every request up for approval, whichever door it came through
    token = api.mint(APPROVER, roles=("Approver",))

    def page(continuation: str | None) -> dict:
        params = {
            "status": "PendingApproval",
            "page_size": "100",
            **({"continuation": continuation} if continuation else {}),
        }
        headers = {"Authorization": f"Bearer {token}"}
        return body_of(
            list_requests(func.HttpRequest("GET", "http://x/api/requests", headers=headers, params=params, body=b"")),
            200,
        )

    listed: list[str] = []
    continuation = None
    while True:
        found = page(continuation)
        listed += [item["request_id"] for item in found["items"]]
        continuation = found["continuation"]
        if rid in listed or not continuation:
            break
    assert rid in listed


async def test_a_two_stage_policy_by_the_api_manager_then_every_it_approver(api: Api) -> None:
    """PUT /api/policies, then the request and every decision through the routes, over devhost."""
    from functions.policies_api import put_policy
    from sandbox.graph.directory import ADELE, ALEX, ISAIAH, IT_APPROVERS_GROUP, LYNNE, MEGAN

    package = "7zip.7zip"
    policy = {
        "stages": [
            {"name": "Manager", "approvers": {"manager": True, "users": [LYNNE]}},
            {"name": "IT Approvers", "approvers": {"groups": [IT_APPROVERS_GROUP]}, "rule": "all"},
        ]
    }
    admin = api.mint("oid-policy-admin", roles=("Admin",))
    saved = await api.call(put_policy, "PUT", f"http://x/api/policies/{package}", admin, policy,
                           route_params={"package_id": package})  # fmt: skip
    try:
        assert saved.status_code in (200, 201), saved.get_body()
        rid = body_of(await api.create(api.mint(ALEX), SEVEN_ZIP), 201)["request_id"]
        await api.host.settle()
        view = body_of(await api.read(api.mint(ALEX), rid), 200)
        assert view["approval"] == {"stage": 0, "stages": 2, "name": "Manager", "rule": "any", "approvers": [MEGAN],
                                    "waiting_on": [MEGAN], "escalated": False}  # fmt: skip
        approve = {"verdict": "approve"}
        as_approver = {oid: api.mint(oid, roles=("Approver",)) for oid in (MEGAN, ADELE, ISAIAH)}
        problem = body_of(await api.decide(as_approver[ADELE], rid, approve), 403)  # not this stage's approver
        assert "current stage" in problem["detail"]
        assert body_of(await api.decide(as_approver[MEGAN], rid, approve), 201)["status"] == "PendingApproval"
        await api.host.settle()
        adele = body_of(await api.decide(as_approver[ADELE], rid, approve), 201)
        assert (adele["stage"], adele["status"]) == (1, "PendingApproval")
        again = body_of(await api.decide(as_approver[ADELE], rid, {"verdict": "reject"}), 409)
        assert again["decision"]["verdict"] == "approved" and "already decided" in again["detail"]
        waiting = body_of(await api.read(api.mint(ALEX), rid), 200)["approval"]
        assert (waiting["stage"], waiting["rule"], waiting["waiting_on"]) == (1, "all", [ISAIAH])
        assert body_of(await api.decide(as_approver[ISAIAH], rid, approve), 201)["status"] == "Approved"
        done = await api.host.wait_for(instance_id_for(rid), RuntimeStatus.COMPLETED)
        assert json.loads(done.output) == "Completed"
    finally:
        drop_policy(api, package)


async def test_a_blocked_package_is_refused_at_request_time_naming_it(api: Api) -> None:
    package = "7zip.7zip"
    PolicyRepository(api.services.account).create(Policy(SANDBOX_TENANT_ID, package, canonical({"blocked": True})))
    try:
        problem = body_of(await api.create(api.mint("oid-kim"), SEVEN_ZIP), 403)
        assert "7zip.7zip" in problem["detail"] and "blocked" in problem["detail"]
        stored = api.services.requests.list_by_requester(SANDBOX_TENANT_ID, "oid-kim", 10).items
        assert stored == []  # nothing was stored
    finally:
        drop_policy(api, package)


def drop_policy(api: Api, package: str) -> None:
    """Other tests in this module use the sandbox tenant's default behaviour (no policy saved)."""
    policies = PolicyRepository(api.services.account)
    found = policies.get(SANDBOX_TENANT_ID, package)
    if found is not None:
        policies.delete(SANDBOX_TENANT_ID, package, found.etag)
