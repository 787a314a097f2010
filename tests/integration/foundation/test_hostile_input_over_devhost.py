"""Hostile input at the API's door, over real HTTP (devhost serving function_app on Azurite and the sandbox):
each class answers a 400 problem that names what was wrong, never a 500."""

from __future__ import annotations

import json

import httpx
import pytest

from scripts.localstack import start_devhost
from tests.integration.foundation.conftest import ADMIN_GROUP, api_environment


@pytest.fixture(scope="module")
def api(tmp_path_factory, azurite, sandbox):
    env = {**api_environment(azurite, sandbox), "GREENLIGHT_WINGET_CACHE_DIR": str(tmp_path_factory.mktemp("wg"))}
    process, base_url = start_devhost(tmp_path_factory.mktemp("devhost-hostile"), env)
    with httpx.Client(base_url=base_url, timeout=60) as client:
        yield client
    process.stop()


@pytest.fixture(scope="module")
def admin(mint) -> dict[str, str]:
    return {"Authorization": f"Bearer {mint(oid='oid-hostile-admin', roles=(), groups=[ADMIN_GROUP])}"}


def problem_naming(response: httpx.Response, status: int, *words: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    for word in words:
        assert word.lower() in (body["title"] + body.get("detail", "")).lower(), body
    return body


# Digits that str.isdigit() accepts and int() refuses, numbers past the bounds, and non-numbers.
NOT_A_BOUNDED_NUMBER = ["²", "2¹", "٣", "１", "+5", "-1", "0", "5 ", "1e3", "9" * 5000]


@pytest.mark.parametrize("value", NOT_A_BOUNDED_NUMBER)
def test_audit_page_size_that_is_not_a_bounded_ascii_number_is_400(api, admin, value):
    problem_naming(api.get("/api/audit", params={"page_size": value}, headers=admin), 400, "page_size")


@pytest.mark.parametrize("value", ["2026¹²", "202613", "202600", "20261", "2026-12", "2026\n1", "２０２６１２"])
def test_audit_month_that_is_not_yyyymm_is_400(api, admin, value):
    problem_naming(api.get("/api/audit", params={"month": value}, headers=admin), 400, "month")


@pytest.mark.parametrize("value", ["not-base64!", "eyJ4IjoxfQ", "a\x00b", "x" * 3000])
def test_audit_continuation_that_was_not_issued_is_400(api, admin, value):
    assert api.get("/api/audit", params={"continuation": value}, headers=admin).status_code == 400


def test_audit_with_valid_parameters_answers_a_page(api, admin):
    response = api.get("/api/audit", params={"month": "202612", "page_size": "200"}, headers=admin)
    assert response.status_code == 200, response.text
    assert response.json()["month"] == "202612"


@pytest.mark.parametrize("value", NOT_A_BOUNDED_NUMBER)
def test_catalog_limit_that_is_not_a_bounded_ascii_number_is_400(api, admin, value):
    problem_naming(api.get("/api/catalog/search", params={"q": "notepad", "limit": value}, headers=admin), 400, "limit")


@pytest.mark.parametrize("value", ["", "   ", "x" * 201, "note\x00pad", "note\x1bpad"])
def test_catalog_search_text_out_of_bounds_is_400(api, admin, value):
    problem_naming(api.get("/api/catalog/search", params={"q": value}, headers=admin), 400, "q")


def test_catalog_version_of_thousands_of_digits_is_400(api, admin):
    response = api.get("/api/catalog/packages/Notepad++.Notepad++", params={"version": "9" * 5000}, headers=admin)
    problem_naming(response, 400, "version")


def test_catalog_version_at_the_bound_is_compared_safely(api, admin):
    response = api.get("/api/catalog/packages/Notepad++.Notepad++", params={"version": "9" * 128}, headers=admin)
    problem_naming(response, 404, "version")


@pytest.mark.parametrize("package_id", ["..%2F..%2Fetc", "a%0A", "Notepad%2B%2B.Notepad%2B%2B%0A", "x" * 129])
def test_catalog_package_id_that_breaks_the_identifier_rule_is_4xx(api, admin, package_id):
    response = api.get(f"/api/catalog/packages/{package_id}", headers=admin)
    assert response.status_code in (400, 404), response.text
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("package_id", "7zip.7zip\n"),
        ("package_version", "24.09\n"),
        ("justification", "please\x00"),
        ("justification", "bell\x07"),
        ("justification", "lone \ud800 surrogate"),
    ],
)
def test_body_fields_with_a_final_newline_or_control_characters_are_refused(api, mint, field, value):
    body = {"package_id": "7zip.7zip", "justification": "zip", field: value}
    headers = {"Authorization": f"Bearer {mint(oid='oid-hostile-body')}", "Content-Type": "application/json"}
    # Sent as JSON text with escapes, as a client would (a lone surrogate is only expressible escaped).
    response = api.post("/api/requests", content=json.dumps(body).encode(), headers=headers)
    problem_naming(response, 400, field)


def test_a_multiline_justification_is_accepted(api, mint):
    headers = {"Authorization": f"Bearer {mint(oid='oid-hostile-multiline')}"}
    body = {"package_id": "7zip.7zip", "justification": "line one\nline two\twith a tab"}
    assert api.post("/api/requests", json=body, headers=headers).status_code == 201


@pytest.mark.parametrize("header", ["Idempotency-Key", "x-correlation-id", "X-Anything"])
def test_a_header_that_is_not_utf8_is_400_naming_it(api, mint, header):
    headers = {"Authorization": f"Bearer {mint(oid='oid-hostile-header')}", header: b"\xff\xfe-not-utf8"}
    response = api.post("/api/requests", json={"package_id": "7zip.7zip", "justification": "zip"}, headers=headers)
    problem_naming(response, 400, header)


def test_a_non_ascii_header_that_is_valid_utf8_is_accepted(api, mint):
    headers = {"Authorization": f"Bearer {mint(oid='oid-hostile-utf8')}", "X-Note": "café".encode()}
    response = api.get("/api/requests", params={"mine": "true"}, headers=headers)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("value", ["²", "9" * 5000])
def test_requests_page_size_that_is_not_a_bounded_ascii_number_is_400(api, mint, value):
    headers = {"Authorization": f"Bearer {mint(oid='oid-hostile-list')}"}
    response = api.get("/api/requests", params={"mine": "true", "page_size": value}, headers=headers)
    problem_naming(response, 400, "page_size")


@pytest.mark.parametrize(
    "raw",
    [b"[" * 50_000 + b"]" * 50_000, b'{"type":"message","value":' + b"[" * 5_000 + b"]" * 5_000 + b"}"],
    ids=["deep-array", "deep-value"],
)
def test_bot_endpoint_answers_deeply_nested_json_with_400(api, raw):
    """The bot's door on the same host: nesting is bounded before parsing (it used to be a host 500)."""
    response = api.post("/api/messages", content=raw, headers={"Content-Type": "application/json"})
    problem_naming(response, 400, "nests deeper")
