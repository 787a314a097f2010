"""The product's main job on the real stack, by the HTTP API alone: a request becomes an installed app.

devhost serves the real FunctionApp (API, bot, orchestrations) as a process over Azurite; the sandbox plays Entra
ID, Graph/Intune and the WinGet CDN. Alex requests 7zip.7zip, an approver approves, and the request reaches
Completed: Intune holds one app whose content the sandbox decrypted and verified at commit, one assignment, and
Alex in the assignment group. A second person's request for the same package reaches Completed on the same app
with no new upload. The tenant is fresh, so the sandbox's Intune starts empty for this story.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from greenlight.winget.settings import SANDBOX_ROOT_NAME
from sandbox.identity import mint_user_token
from scripts.localstack import start_devhost
from tests.integration.publishing.conftest import _clear
from tests.support.sandbox_tenant import SandboxTenant

AUDIENCE = "api://greenlight-story"
APPROVER = "8d2f9a4b-1c3e-4f5a-8b6c-7d8e9f0a1b21"  # Megan
ALEX = "4c1e8f3a-7b2d-4e6f-9a01-2b3c4d5e6f70"
PATTI = "2a4c6e8f-0b1d-4c3e-9f5a-7b9d1f3a5c04"
SIZED = "Greenlight.Sized6M"  # a 6 MiB generated installer the sandbox CDN always serves
FINAL = {"Completed", "Failed", "Rejected", "Cancelled", "Expired"}


@dataclass
class Stack:
    api: httpx.Client
    sandbox: Any
    tenant_id: str
    spans_file: Path

    def spans(self, request_id: str) -> list[dict[str, Any]]:
        """The spans devhost exported (one JSON object per line) that carry this request's id."""
        spans = [json.loads(line) for line in self.spans_file.read_text().splitlines()]
        return [s for s in spans if s["attributes"].get("greenlight.request_id") == request_id]

    def token(self, oid: str, name: str, *roles: str) -> str:
        return mint_user_token(
            self.sandbox.state_dir,
            tenant_id=self.tenant_id,
            oid=oid,
            name=name,
            upn=f"{name.split()[0].lower()}@contoso.example",
            audience=AUDIENCE,
            roles=roles,
            issuer=f"{self.sandbox.base_url}/entra/{self.tenant_id}/v2.0",
        )

    def call(self, method: str, path: str, token: str, body: Any = None) -> httpx.Response:
        return self.api.request(method, path, json=body, headers={"Authorization": f"Bearer {token}"})

    def approve_when_asked(self, request_id: str, approver: str, timeout: float = 60.0) -> httpx.Response:
        """An approver decides once the workflow has asked (before that the API says "retry shortly": 409)."""
        deadline = time.monotonic() + timeout
        while True:
            decided = self.call("POST", f"/api/requests/{request_id}/decisions", approver, {"verdict": "approve"})
            if decided.status_code != 409 or "retry shortly" not in decided.text or time.monotonic() > deadline:
                return decided
            time.sleep(0.3)

    def wait_final(self, request_id: str, token: str, timeout: float = 240.0) -> dict[str, Any]:
        deadline, seen = time.monotonic() + timeout, []
        while time.monotonic() < deadline:
            view = self.call("GET", f"/api/requests/{request_id}", token).json()
            if view.get("progress") and view["progress"] not in seen:
                seen.append(view["progress"])
            if view["status"] in FINAL:
                return view | {"seen_progress": seen}
            time.sleep(0.5)
        raise AssertionError(f"request {request_id} still {view['status']} after {timeout} s: {view}")

    def intune(self) -> dict[str, Any]:
        return SandboxTenant(self.sandbox, self.tenant_id).state()


@pytest.fixture
def stack(azurite, sandbox, tmp_path) -> Iterator[Stack]:
    from greenlight.storage import StorageAccount

    _clear(StorageAccount.from_connection_string(azurite.connection_string), ("7zip.7zip", SIZED))
    tenant_id = str(uuid.uuid4())
    env = {
        "GREENLIGHT_ENV": "local",
        "AzureWebJobsStorage": azurite.connection_string,
        "GREENLIGHT_STORAGE_CONNECTION": azurite.connection_string,
        "DEVHOST_TASK_HUB": f"story{uuid.uuid4().hex[:12]}",  # this story's instances only
        "GREENLIGHT_SANDBOX_URL": sandbox.base_url,
        "GREENLIGHT_CA_BUNDLE": str(sandbox.ca_file),
        "SSL_CERT_FILE": str(sandbox.ca_file),
        "REQUESTS_CA_BUNDLE": str(sandbox.ca_file),
        "GREENLIGHT_TENANT_ID": tenant_id,
        "GREENLIGHT_API_AUDIENCE": AUDIENCE,
        "GREENLIGHT_APPROVER_OIDS": APPROVER,
        "GREENLIGHT_WINGET_TRUST": str(sandbox.state_dir / "winget" / SANDBOX_ROOT_NAME),
        "GREENLIGHT_WINGET_CACHE_DIR": str(tmp_path / "winget-cache"),
        "GREENLIGHT_TELEMETRY_FILE": str(tmp_path / "spans.jsonl"),
    }
    process, base_url = start_devhost(tmp_path, env)
    try:
        with httpx.Client(base_url=base_url, timeout=30) as api:
            yield Stack(api, sandbox, tenant_id, tmp_path / "spans.jsonl")
    finally:
        process.stop()


def test_a_request_becomes_an_installed_app_and_a_second_request_reuses_it(stack: Stack) -> None:
    alex = stack.token(ALEX, "Alex Wilber", "Requester")
    megan = stack.token(APPROVER, "Megan Bowen", "Approver")

    created = stack.call("POST", "/api/requests", alex, {"package_id": "7zip.7zip", "justification": "archives"})
    assert created.status_code == 201, created.text
    request_id = created.json()["request_id"]
    decided = stack.approve_when_asked(request_id, megan)
    assert decided.status_code in (200, 201), decided.text

    done = stack.wait_final(request_id, alex)
    assert done["status"] == "Completed", done
    assert done["error"] is None and done["app_id"]
    assert done["progress"]["stage"] == "Done" and done["progress"]["percent"] == 100
    intune = stack.intune()
    (app,) = intune["apps"]
    assert app["id"] == done["app_id"]
    (content,) = app["contentVersions"]
    (file,) = content["files"]
    assert file["uploadState"] == "commitFileSuccess"  # the sandbox decrypted it and checked MAC, size, digest
    assert len(app["assignments"]) == 1 and app["assignments"][0]["intent"] == "required"
    (group,) = intune["groups"]
    assert ALEX in group["members"]
    commits = len(intune["commits"])
    _one_trace_from_the_api_call_through_the_activities_to_graph(stack.spans(request_id))

    patti = stack.token(PATTI, "Patti Fernandez", "Requester")
    second = stack.call("POST", "/api/requests", patti, {"package_id": "7zip.7zip", "justification": "me too"})
    assert second.status_code == 201, second.text
    assert stack.approve_when_asked(second.json()["request_id"], megan).is_success
    again = stack.wait_final(second.json()["request_id"], patti)

    assert again["status"] == "Completed" and again["app_id"] == done["app_id"]
    after = stack.intune()
    assert len(after["apps"]) == 1 and len(after["apps"][0]["contentVersions"]) == 1
    assert len(after["commits"]) == commits  # nothing uploaded or committed again
    assert set(after["groups"][0]["members"]) >= {ALEX, PATTI}


def test_two_requests_for_one_package_at_the_same_moment_make_one_app(stack: Stack) -> None:
    """Both approved together: one publication owns the upload, the other request waits for it and shares the app."""
    megan = stack.token(APPROVER, "Megan Bowen", "Approver")
    people = {
        ALEX: stack.token(ALEX, "Alex Wilber", "Requester"),
        PATTI: stack.token(PATTI, "Patti Fernandez", "Requester"),
    }
    body = {"package_id": SIZED, "justification": "the same tool", "architecture": "x64"}
    ids = {oid: stack.call("POST", "/api/requests", token, body).json()["request_id"] for oid, token in people.items()}
    for request_id in ids.values():
        assert stack.approve_when_asked(request_id, megan).is_success

    finals = [stack.wait_final(ids[oid], token) for oid, token in people.items()]

    assert [f["status"] for f in finals] == ["Completed", "Completed"], finals
    assert finals[0]["app_id"] == finals[1]["app_id"]
    intune = stack.intune()
    assert len(intune["apps"]) == 1 and len(intune["apps"][0]["contentVersions"]) == 1
    assert set(intune["groups"][0]["members"]) >= {ALEX, PATTI}


def _one_trace_from_the_api_call_through_the_activities_to_graph(spans: list[dict[str, Any]]) -> None:
    """What one search for the request id shows: POST /api/requests, then the workflow's activities and the Graph
    calls they made, all in the trace the HTTP call started (later calls about it, such as the approver's POST and
    the requester's reads, are traces of their own)."""
    (root,) = [s for s in spans if s["name"] == "POST /api/requests"]
    workflow = [s for s in spans if not s["name"].startswith(("GET /api/", "POST /api/"))]
    assert {s["trace_id"] for s in workflow} == {root["trace_id"]}, "the workflow's spans are in the request's trace"
    activities = {s["name"] for s in workflow if s["name"].startswith("activity ")}
    assert {"activity plan_approval", "activity claim_publication", "activity grant_access"} <= activities
    graph_calls = [s["name"] for s in workflow if s["name"].startswith("graph ")]
    assert any("members" in name for name in graph_calls), graph_calls  # grant_access: Alex added to the group
