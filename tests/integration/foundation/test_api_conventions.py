"""Problem+json for bad input, JWKS refresh on key rollover, OpenAPI from the schemas — route functions called
directly against Azurite and the sandbox."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import ssl
import uuid

import azure.functions as func
import httpx
import jsonschema
import jwt
import pytest

from devhost.durable.client_binding import client_binding
from functions.openapi import build_document
from functions.schemas import SCHEMAS
from functions.tokens import JwksCache, TokenValidator
from greenlight.settings import SANDBOX_TENANT_ID
from sandbox.identity import mint_user_token
from scripts.localstack import start_sandbox
from tests.integration.foundation.conftest import API_AUDIENCE


def post(token: str, raw: bytes, content_type: str = "application/json", extra_headers=None):
    from functions.requests_api import create_request

    headers = {"Content-Type": content_type, "Authorization": f"Bearer {token}", **(extra_headers or {})}
    request = func.HttpRequest("POST", "http://localhost/api/requests", headers=headers, body=raw)
    # None of these bodies gets as far as the workflow, so the durable client's endpoint is never called.
    return asyncio.run(create_request(request, client=client_binding("http://127.0.0.1:9", "Unused")))


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_body()
    assert response.mimetype == "application/problem+json"
    body = json.loads(response.get_body())
    jsonschema.validate(body, SCHEMAS["Problem"])
    assert "Traceback" not in response.get_body().decode()
    return body


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b"\xff\xfe",
        b"[]",
        b'{"package_id": "7zip.7zip"}',
        b'{"package_id": "../etc", "justification": "x"}',
    ],
)
def test_malformed_or_invalid_bodies_are_400(api_runtime, mint, raw):
    body = problem(post(mint(), raw), 400)
    assert body["type"].endswith(("malformed-body", "invalid-body"))


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 30_000 + b"]" * 30_000,  # deeper than the JSON parser recurses
        json.dumps({"package_id": "a" * 5000, "justification": "x"}).encode(),
        json.dumps({"package_id": "7zip.7zip", "justification": "\u0000\ud800 nul and lone surrogate"}).encode(),
        json.dumps({"package_id": "7zip.7zip", "justification": "x", "package_version": 1e308}).encode(),
        b'{"package_id": "7zip.7zip", "justification": "x", "package_id": ["dup"]}',
        b"null",
        b"",
    ],
)
def test_hostile_bodies_never_cause_a_server_error(api_runtime, mint, raw):
    response = post(mint(), raw)
    assert 400 <= response.status_code < 500, response.get_body()
    if response.status_code >= 400:
        problem(response, response.status_code)


def test_schema_errors_name_the_field(api_runtime, mint):
    raw = json.dumps({"package_id": "7zip.7zip", "justification": "x", "architecture": "mips", "extra": 1}).encode()
    body = problem(post(mint(), raw), 400)
    assert any(e.startswith("architecture:") for e in body["errors"])
    assert any("extra" in e for e in body["errors"])


def test_an_oversized_body_is_413_before_it_is_parsed(api_runtime, mint):
    limit = api_runtime.settings.max_body_bytes
    problem(post(mint(), b"{" + b" " * limit + b"}"), 413)


def test_a_non_json_content_type_is_415(api_runtime, mint):
    problem(post(mint(), b"package_id=7zip.7zip", "application/x-www-form-urlencoded"), 415)


def test_an_unknown_route_is_404_problem(api_runtime):
    from functions.fallback import unknown_route

    response = unknown_route(func.HttpRequest("GET", "http://localhost/api/nope", body=b""))
    problem(response, 404)


def test_a_forged_continuation_is_400(api_runtime, mint):
    from functions.requests_api import list_requests

    request = func.HttpRequest(
        "GET",
        "http://localhost/api/requests",
        headers={"Authorization": f"Bearer {mint()}"},
        params={"mine": "true", "continuation": "@@@"},
        body=b"",
    )
    problem(list_requests(request), 400)


def test_the_correlation_id_is_echoed_or_generated(api_runtime):
    from functions.fallback import unknown_route

    given = unknown_route(func.HttpRequest("GET", "http://x/api/n", headers={"x-correlation-id": "abc.42"}, body=b""))
    assert given.headers["x-correlation-id"] == "abc.42"
    hostile = unknown_route(func.HttpRequest("GET", "http://x/api/n", headers={"x-correlation-id": "a\nb"}, body=b""))
    assert hostile.headers["x-correlation-id"] not in {"a\nb", ""}


def test_openapi_lists_the_routes_with_the_validating_schemas(api_runtime):
    document = build_document()
    create = document["paths"]["/api/requests"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/CreateRequest"
    }
    assert document["components"]["schemas"]["CreateRequest"] is SCHEMAS["CreateRequest"]
    assert "/api/requests/{request_id}" in document["paths"]
    assert "/api/health" in document["paths"] and "security" not in document["paths"]["/api/health"]["get"]
    assert not any("{path}" in p for p in document["paths"])  # the catch-all is not an operation


def test_the_openapi_document_is_valid_openapi_3_1(api_runtime):
    from openapi_spec_validator import validate

    validate(build_document())  # raises with the offending path when the document breaks the OpenAPI schema


# ---------------------------------------------------------------- signing-key rollover


@pytest.fixture(scope="module")
def private_sandbox(tmp_path_factory):
    """A sandbox of this module's own: rotating its key must not disturb other suites' session sandbox."""
    state = tmp_path_factory.mktemp("rollover-sandbox")
    process, endpoints = start_sandbox(state / "logs", state)
    yield endpoints
    process.stop()


def test_a_token_signed_with_a_rolled_over_key_is_accepted_after_one_jwks_refresh(private_sandbox, api_runtime):
    issuer = f"{private_sandbox.entra_url}/{SANDBOX_TENANT_ID}/v2.0"
    metadata = f"{issuer}/.well-known/openid-configuration"
    settings = dataclasses.replace(api_runtime.settings.auth, metadata_url=metadata, issuer=issuer)
    jwks = JwksCache(metadata, ca_bundle=str(private_sandbox.ca_file), min_refresh_seconds=0)
    validator = TokenValidator(settings, jwks)

    def token() -> str:
        return mint_user_token(
            private_sandbox.state_dir, tenant_id=SANDBOX_TENANT_ID, oid="o", name="n", upn="u", audience=API_AUDIENCE
        )

    assert validator.validate(token())["oid"] == "o"
    assert validator.jwks.fetch_count == 1
    context = ssl.create_default_context(cafile=str(private_sandbox.ca_file))
    rotated = httpx.post(f"{private_sandbox.entra_url}/_sandbox/keys/rotate", verify=context).json()["kid"]
    new_token = token()
    assert jwt.get_unverified_header(new_token)["kid"] == rotated
    assert validator.validate(new_token)["oid"] == "o"
    assert validator.jwks.fetch_count == 2
    assert validator.validate(new_token)["oid"] == "o"
    assert validator.jwks.fetch_count == 2  # known now: no further fetch


def test_admins_read_this_months_audit_newest_first_and_others_may_not(api_runtime, mint):
    from functions.audit_api import list_audit
    from greenlight.storage import AuditLog

    created = {"request_id": uuid.uuid4().hex}
    AuditLog(api_runtime.storage).append("oid-audited", "request.submitted", f"request/{created['request_id']}")

    def read(token: str):
        headers = {"Authorization": f"Bearer {token}"}
        return list_audit(func.HttpRequest("GET", "http://x/api/audit", headers=headers, params={}, body=b""))

    problem(read(mint(oid="oid-audited")), 403)
    response = read(mint(oid="oid-auditor", roles=("Admin",)))
    assert response.status_code == 200
    body = json.loads(response.get_body())
    jsonschema.validate(body, {**SCHEMAS["AuditPage"]})
    mine = [e for e in body["items"] if e["entity"] == f"request/{created['request_id']}"]
    assert mine and mine[0]["action"] == "request.submitted" and mine[0]["actor"] == "oid-audited"
    times = [e["occurred_at"] for e in body["items"]]
    assert times == sorted(times, reverse=True)


def test_when_the_key_endpoint_goes_away_cached_keys_keep_working(tmp_path, api_runtime):
    """Entra unreachable after a successful fetch: known keys still validate; an unknown kid is a 401, not a 503."""
    process, endpoints = start_sandbox(tmp_path / "logs", tmp_path)
    issuer = f"{endpoints.entra_url}/{SANDBOX_TENANT_ID}/v2.0"
    settings = dataclasses.replace(api_runtime.settings.auth, metadata_url=f"{issuer}/.well-known/openid-configuration")
    settings = dataclasses.replace(settings, issuer=issuer)
    validator = TokenValidator(
        settings, JwksCache(settings.metadata_url, ca_bundle=str(endpoints.ca_file), min_refresh_seconds=0)
    )

    def token(**options) -> str:
        return mint_user_token(
            tmp_path, tenant_id=SANDBOX_TENANT_ID, oid="o", name="n", upn="u", audience=API_AUDIENCE, **options
        )

    try:
        assert validator.validate(token())["oid"] == "o"
    finally:
        process.stop()
    assert validator.validate(token())["oid"] == "o"
    from functions.tokens import AuthError
    from sandbox.identity.keys import generate_key

    with pytest.raises(AuthError, match="does not publish"):
        validator.validate(token(signing_key=generate_key()))


def test_without_any_cached_keys_an_unreachable_key_endpoint_is_unavailable_not_unauthorized(api_runtime, mint):
    from functions.tokens import AuthUnavailable

    dead = "https://127.0.0.1:9/entra/t/v2.0/.well-known/openid-configuration"
    validator = TokenValidator(api_runtime.settings.auth, JwksCache(dead))
    with pytest.raises(AuthUnavailable):
        validator.validate(mint())

    from functions import runtime
    from functions.requests_api import list_requests

    runtime.reset(dataclasses.replace(api_runtime, validator=validator))
    try:
        headers = {"Authorization": f"Bearer {mint()}"}
        request = func.HttpRequest("GET", "http://x/api/requests", headers=headers, params={"mine": "true"}, body=b"")
        assert problem(list_requests(request), 503)["title"] == "Cannot validate tokens right now"
    finally:
        runtime.reset(api_runtime)
