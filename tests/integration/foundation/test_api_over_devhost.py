"""The API end to end over real HTTP: devhost serves function_app with the local settings (Azurite, sandbox)."""

from __future__ import annotations

import json

import httpx
import pytest

from scripts.localstack import free_port, start_devhost
from tests.integration.foundation.conftest import api_environment


@pytest.fixture(scope="module")
def api(tmp_path_factory, azurite, sandbox):
    process, base_url = start_devhost(tmp_path_factory.mktemp("devhost"), api_environment(azurite, sandbox))
    with httpx.Client(base_url=base_url, timeout=20) as client:
        client.log_path = process.log_path  # type: ignore[attr-defined]
        yield client
    process.stop()


def is_problem(response: httpx.Response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    return body


def test_health_reports_its_components(api):
    response = api.get("/api/health")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ok"
    assert body["components"] == {"settings": {"status": "up"}, "storage": {"status": "up"}}
    assert body["version"]


def test_a_request_round_trip_with_a_sandbox_token(api, mint):
    headers = {"Authorization": f"Bearer {mint(oid='oid-e2e')}", "x-correlation-id": "e2e-create-1"}
    created = api.post("/api/requests", json={"package_id": "7zip.7zip", "justification": "zip"}, headers=headers)
    assert created.status_code == 201, created.text
    assert created.headers["x-correlation-id"] == "e2e-create-1"
    request_id = created.json()["request_id"]
    read = api.get(f"/api/requests/{request_id}", headers=headers)
    # The workflow (run by devhost) moves it on to PendingApproval and sends the approval cards.
    assert read.status_code == 200 and read.json()["status"] in ("Submitted", "PendingApproval")
    mine = api.get("/api/requests", params={"mine": "true"}, headers=headers)
    assert request_id in [r["request_id"] for r in mine.json()["items"]]


def test_every_log_line_of_a_request_carries_its_correlation_id(api, mint):
    headers = {"Authorization": f"Bearer {mint(oid='oid-log', roles=())}", "x-correlation-id": "corr-log-check"}
    api.post("/api/requests", json={"package_id": "7zip.7zip", "justification": "zip"}, headers=headers)
    api.get("/api/requests", params={"status": "Nope"}, headers={"x-correlation-id": "corr-unauth"})
    log = api.log_path.read_text()
    forbidden = [line for line in log.splitlines() if "corr-log-check" in line]
    unauthorized = [line for line in log.splitlines() if "corr-unauth" in line]
    assert any("POST /api/requests -> 403" in line for line in forbidden)
    assert any("GET /api/requests -> 401" in line for line in unauthorized)
    assert all("[corr-log-check]" in line for line in forbidden)


def test_without_a_token_the_api_answers_401_problem(api):
    body = is_problem(api.get("/api/requests", params={"mine": "true"}), 401)
    assert body["correlationId"]


@pytest.mark.parametrize(("method", "path"), [("GET", "/api/no/such/thing"), ("GET", "/api"), ("PUT", "/api/x/y")])
def test_unknown_routes_answer_404_problem(api, method, path):
    is_problem(api.request(method, path), 404)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [("POST", "/api/health", "GET"), ("DELETE", "/api/requests", "GET, POST"), ("PUT", "/api/requests/abc", "GET")],
)
def test_a_known_path_with_another_method_answers_405_problem_with_allow(api, method, path, allow):
    response = api.request(method, path)
    is_problem(response, 405)
    assert response.headers["Allow"] == allow


def test_malformed_and_oversized_bodies_are_4xx_problems_not_500(api, mint):
    headers = {"Authorization": f"Bearer {mint()}", "Content-Type": "application/json"}
    is_problem(api.post("/api/requests", content=b"{oops", headers=headers), 400)
    is_problem(api.post("/api/requests", content=b"[" + b"1," * 40_000 + b"1]", headers=headers), 413)


def test_openapi_document_is_served(api):
    document = api.get("/api/openapi.json").json()
    assert document["openapi"].startswith("3.")
    assert "post" in document["paths"]["/api/requests"]


def test_health_is_503_when_storage_is_unreachable(tmp_path, azurite, sandbox):
    env = api_environment(azurite, sandbox)
    dead = f"http://127.0.0.1:{free_port()}/devstoreaccount1"
    broken = env["GREENLIGHT_STORAGE_CONNECTION"].split("TableEndpoint=")[0] + f"TableEndpoint={dead};"
    env["GREENLIGHT_STORAGE_CONNECTION"] = broken
    process, base_url = start_devhost(tmp_path, env)
    try:
        response = httpx.get(f"{base_url}/api/health", timeout=30)
    finally:
        process.stop()
    assert response.status_code == 503
    assert response.json()["components"]["storage"]["status"] == "down"
    assert response.json()["components"]["settings"]["status"] == "up"


def test_health_is_503_and_names_nothing_secret_when_settings_are_invalid(tmp_path, azurite, sandbox):
    env = {**api_environment(azurite, sandbox), "GREENLIGHT_MAX_BODY_BYTES": "lots"}
    process, base_url = start_devhost(tmp_path, env)
    try:
        response = httpx.get(f"{base_url}/api/health", timeout=30)
        guarded = httpx.get(f"{base_url}/api/requests?mine=true", timeout=30)
    finally:
        process.stop()
    assert response.status_code == 503
    assert response.json()["components"]["settings"]["status"] == "down"
    assert guarded.status_code == 503 and guarded.json()["title"] == "Service not configured"
    assert "GREENLIGHT_MAX_BODY_BYTES" in process.log_path.read_text()  # the one clear message is in the log
    assert json.dumps(response.json()).find("AccountKey") == -1


def test_make_runs_environment_is_enough_for_health_and_a_sandbox_user_token(tmp_path, azurite, sandbox):
    """Exactly the variables scripts/stack.py gives devhost for `make run`; the rest is derived from them."""
    from greenlight.settings import LOCAL_API_AUDIENCE, SANDBOX_TENANT_ID
    from scripts.stack import local_app_environment

    env = local_app_environment(azurite.connection_string, sandbox.base_url, sandbox.ca_file)
    process, base_url = start_devhost(tmp_path, env)
    try:
        health = httpx.get(f"{base_url}/api/health", timeout=30)
        minted = httpx.post(
            f"{sandbox.entra_url}/_sandbox/users/token",
            json={
                "tenant_id": SANDBOX_TENANT_ID,
                "oid": "oid-dev",
                "audience": LOCAL_API_AUDIENCE,
                "roles": ["Requester"],
            },
            verify=str(sandbox.ca_file),
        ).json()["access_token"]
        mine = httpx.get(
            f"{base_url}/api/requests?mine=true", headers={"Authorization": f"Bearer {minted}"}, timeout=30
        )
    finally:
        process.stop()
    assert health.status_code == 200, health.text
    assert mine.status_code == 200, mine.text
