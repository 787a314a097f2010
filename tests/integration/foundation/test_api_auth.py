"""The API's bearer-token validation matrix and role checks, calling the route functions directly.

Tokens come from the sandbox's Entra stand-in (its signing key, its JWKS over HTTPS); storage is Azurite.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time

import azure.functions as func
import pytest
from cryptography.hazmat.primitives import serialization

from devhost.durable.client_binding import client_binding
from greenlight.settings import SANDBOX_TENANT_ID
from sandbox.identity.keys import active_key, generate_key
from tests.integration.foundation.conftest import ADMIN_GROUP


def call(
    route, token: str | None = None, *, method="GET", url="/api/requests", params=None, body=None, route_params=None
):
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    raw = json.dumps(body).encode() if body is not None else b""
    request = func.HttpRequest(
        method,
        f"http://localhost{url}",
        headers=headers,
        params=params or {},
        route_params=route_params or {},
        body=raw,
    )
    if "client" in route._function.get_user_function().__code__.co_varnames:
        # A route that changes a request gets the durable client; these tests never get that far.
        return asyncio.run(route(request, client=client_binding("http://127.0.0.1:9", "Unused")))
    return route(request)


def list_mine(token):
    from functions.requests_api import list_requests

    return call(list_requests, token, params={"mine": "true"})


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    problem = json.loads(response.get_body())
    assert problem["status"] == status and problem["title"] and problem["type"]
    assert problem["correlationId"] == response.headers["x-correlation-id"]
    return problem


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


def test_a_valid_token_is_accepted(api_runtime, mint):
    response = list_mine(mint())
    assert response.status_code == 200, response.get_body()
    assert json.loads(response.get_body())["items"] == []


def test_missing_authorization_header_is_401_with_a_bearer_challenge(api_runtime):
    response = list_mine(None)
    problem = assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert "Authorization" in problem["detail"]


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"expires_in": -600}, "expired"),
        ({"audience": "api://someone-else"}, "audience"),
        ({"issuer": "https://login.microsoftonline.com/evil/v2.0"}, "issuer"),
        ({"not_before": int(time.time()) + 3600}, "not valid yet"),
        ({"tenant_id": "99999999-9999-9999-9999-999999999999"}, "issuer"),  # another tenant's issuer
        ({"extra_claims": {"tid": "99999999-9999-9999-9999-999999999999"}}, "another tenant"),
    ],
)
def test_invalid_claims_are_401(api_runtime, mint, overrides, reason):
    problem = assert_problem(list_mine(mint(**overrides)), 401)
    assert reason in problem["detail"]


def test_a_small_clock_skew_is_tolerated(api_runtime, mint):
    assert list_mine(mint(not_before=int(time.time()) + 30)).status_code == 200


def test_a_bad_signature_is_401(api_runtime, sandbox, mint):
    impostor = generate_key()  # signs, but claims the sandbox's published key id
    token = mint(signing_key=impostor, kid=active_key(sandbox.state_dir).kid)
    assert "signature" in assert_problem(list_mine(token), 401)["detail"]


def test_an_unknown_key_id_is_401(api_runtime, mint):
    assert "key" in assert_problem(list_mine(mint(signing_key=generate_key())), 401)["detail"]


def test_alg_none_is_401(api_runtime, sandbox):
    """An unsigned token that claims the Admin role, naming the real key id."""
    header = {"alg": "none", "typ": "JWT", "kid": active_key(sandbox.state_dir).kid}
    now = int(time.time())
    claims = {"aud": "api://greenlight-test", "iss": api_runtime.settings.auth.issuer, "tid": SANDBOX_TENANT_ID}
    claims |= {"oid": "oid-mallory", "iat": now, "exp": now + 600, "roles": ["Admin"]}
    token = f"{_b64(header)}.{_b64(claims)}."
    assert "'none' is not allowed" in assert_problem(list_mine(token), 401)["detail"]


def test_hs256_signed_with_the_public_key_is_401(api_runtime, sandbox):
    """The classic key-confusion attack: HMAC keyed with the published RSA public key."""
    key = active_key(sandbox.state_dir)
    public_pem = key.private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = int(time.time())
    claims = {"aud": "api://greenlight-test", "iss": api_runtime.settings.auth.issuer, "tid": SANDBOX_TENANT_ID}
    claims |= {"oid": "oid-mallory", "iat": now, "exp": now + 600, "roles": ["Admin"]}
    header = {"alg": "HS256", "typ": "JWT", "kid": key.kid}
    signing_input = f"{_b64(header)}.{_b64(claims)}"
    signature = base64.urlsafe_b64encode(hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest())
    token = f"{signing_input}.{signature.decode().rstrip('=')}"
    assert "'HS256' is not allowed" in assert_problem(list_mine(token), 401)["detail"]


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer not.a.jwt", "Bearer a.b"])
def test_malformed_authorization_headers_are_401(api_runtime, header):
    from functions.requests_api import list_requests

    request = func.HttpRequest("GET", "http://localhost/api/requests", headers={"Authorization": header}, body=b"")
    assert_problem(list_requests(request), 401)


# ---------------------------------------------------------------- roles


def create(token, body=None):
    from functions.requests_api import create_request

    return call(
        create_request,
        token,
        method="POST",
        body=body or {"package_id": "7zip.7zip", "justification": "archives"},
    )


def test_a_user_without_a_greenlight_role_is_403(api_runtime, mint):
    problem = assert_problem(create(mint(oid="oid-nobody", roles=())), 403)
    assert "Requester" in problem["detail"]


def test_admin_via_configured_group_may_list_by_status(api_runtime, mint):
    from functions.requests_api import list_requests

    requester_only = call(list_requests, mint(oid="oid-rita"), params={"status": "Submitted"})
    assert_problem(requester_only, 403)
    via_group = call(
        list_requests, mint(oid="oid-grace", roles=(), groups=[ADMIN_GROUP]), params={"status": "Submitted"}
    )
    assert via_group.status_code == 200
