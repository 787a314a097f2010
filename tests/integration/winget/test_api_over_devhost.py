"""/api/catalog over real HTTP: devhost serves function_app with the local stack's settings; the catalog behind it
is the sandbox CDN's signed source (trust anchor found next to the sandbox CA, as under `make run`)."""

from __future__ import annotations

from urllib.parse import quote

import httpx
import pytest

from scripts.localstack import start_devhost
from tests.integration.foundation.conftest import api_environment, mint  # noqa: F401 - shared token fixture


@pytest.fixture(scope="module")
def api(tmp_path_factory, azurite, sandbox):
    env = {**api_environment(azurite, sandbox), "GREENLIGHT_WINGET_CACHE_DIR": str(tmp_path_factory.mktemp("wg"))}
    process, base_url = start_devhost(tmp_path_factory.mktemp("devhost-winget"), env)
    with httpx.Client(base_url=base_url, timeout=60) as client:
        yield client
    process.stop()


def test_search_and_details_over_http(api, mint) -> None:  # noqa: F811
    headers = {"Authorization": f"Bearer {mint(oid='oid-catalog')}"}
    found = api.get("/api/catalog/search", params={"q": "notepad"}, headers=headers)
    assert found.status_code == 200, found.text
    assert found.json()["results"][0]["package_id"] == "Notepad++.Notepad++"
    details = api.get(f"/api/catalog/packages/{quote('Notepad++.Notepad++', safe='')}", headers=headers)
    assert details.status_code == 200, details.text
    assert details.json()["versions"] == ["8.9.3"] and details.json()["publisher"] == "Notepad++ Team"


def test_unknown_package_and_missing_token_are_problems(api, mint) -> None:  # noqa: F811
    headers = {"Authorization": f"Bearer {mint(oid='oid-catalog')}"}
    missing = api.get("/api/catalog/packages/No.Such.Package", headers=headers)
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("application/problem+json")
    assert api.get("/api/catalog/search", params={"q": "x"}).status_code == 401
