"""`python -m greenlight winget ...` as a subprocess, and the /api/catalog routes, against the sandbox CDN."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import azure.functions as func
import pytest

from tests.integration.foundation.conftest import api_runtime, mint  # noqa: F401 - shared API fixtures

ROOT = Path(__file__).resolve().parents[3]


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "greenlight", "winget", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_verify_source_over_https_succeeds_with_the_sandbox_anchor(winget, sandbox) -> None:
    trust = winget.env["GREENLIGHT_WINGET_TRUST"]
    result = run_cli(winget.env, "verify-source", sandbox.winget_url, "--trust", trust)
    assert result.returncode == 0, result.stderr
    assert "VERIFIED Microsoft.Winget.Source" in result.stdout and "schema 2.0" in result.stdout


def test_verify_source_fails_with_a_named_error_and_exit_2(winget, sandbox) -> None:
    trust = winget.env["GREENLIGHT_WINGET_TRUST"]
    result = run_cli(winget.env, "verify-source", f"{sandbox.winget_url}/v/untrusted-ca", "--trust", trust)
    assert result.returncode == 2
    assert "untrusted_certificate_chain" in result.stderr
    production = run_cli(winget.env, "verify-source", sandbox.winget_url, "--trust", "microsoft")
    assert production.returncode == 2 and "untrusted_certificate_chain" in production.stderr


def test_verify_source_trusts_what_the_local_settings_trust(sandbox) -> None:
    """`make run`'s environment names no trust file: the sandbox root is found next to the CA bundle, as the app
    finds it, so verify-source against the sandbox passes without --trust."""
    env = {
        "GREENLIGHT_ENV": "local",
        "GREENLIGHT_SANDBOX_URL": sandbox.base_url,
        "GREENLIGHT_CA_BUNDLE": str(sandbox.ca_file),
    }
    result = run_cli(env, "verify-source", sandbox.winget_url)
    assert result.returncode == 0, result.stderr
    assert "VERIFIED" in result.stdout


@pytest.mark.parametrize("location", ["https://127.0.0.1:{closed}/cache", "https://cdn.unresolvable.invalid/cache"])
def test_an_unreachable_cdn_is_exit_3_retry_later(winget, location: str) -> None:
    from scripts.localstack import free_port

    result = run_cli(winget.env, "verify-source", location.format(closed=free_port()))
    assert result.returncode == 3, result.stderr
    assert "retry later" in result.stderr and "Traceback" not in result.stderr


def test_an_unreadable_file_is_exit_4_without_a_traceback(winget, tmp_path) -> None:
    result = run_cli(winget.env, "verify-source", str(tmp_path / "missing.msix"))
    assert result.returncode == 4 and "missing.msix" in result.stderr and "Traceback" not in result.stderr


def test_a_usage_error_is_not_mistaken_for_a_failed_verification(winget) -> None:
    result = run_cli(winget.env, "search", "x", "--limit", "²")
    assert result.returncode == 64 and "--limit" in result.stderr


def test_a_reader_that_closes_early_ends_show_quietly(winget, tmp_path) -> None:
    """`show ... | head -1`: the reader is gone before the output is written; no BrokenPipeError traceback."""
    env = {**os.environ, **winget.env, "GREENLIGHT_WINGET_CACHE_DIR": str(tmp_path)}
    process = subprocess.Popen(
        [sys.executable, "-m", "greenlight", "winget", "show", "VideoLAN.VLC"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdout.close()  # before the catalog is even verified: every write meets a closed pipe
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141
    assert "Traceback" not in stderr and "BrokenPipe" not in stderr


def test_search_and_show(winget, tmp_path) -> None:
    env = {**winget.env, "GREENLIGHT_WINGET_CACHE_DIR": str(tmp_path)}
    found = run_cli(env, "search", "vlc")
    assert found.returncode == 0 and "VideoLAN.VLC" in found.stdout
    shown = run_cli(env, "show", "VideoLAN.VLC", "--architecture", "arm64")
    assert shown.returncode == 0, shown.stderr
    assert "ManifestType: merged" in shown.stdout and "# chosen installer" in shown.stdout
    missing = run_cli(env, "show", "No.Such.Package")
    assert missing.returncode == 1 and "not_in_index" in missing.stderr


def _get(route, token: str, *, params=None, route_params=None) -> func.HttpResponse:
    request = func.HttpRequest(
        "GET",
        "http://localhost/api/catalog",
        headers={"Authorization": f"Bearer {token}"},
        params=params or {},
        route_params=route_params or {},
        body=b"",
    )
    return route(request)


@pytest.fixture
def catalog_api(api_runtime, catalog_env):  # noqa: F811
    from functions import catalog

    return catalog


def test_api_search_and_package(catalog_api, mint) -> None:  # noqa: F811
    token = mint("oid-alice", roles=("Requester",))
    response = _get(catalog_api.catalog_search, token, params={"q": "notes"})
    assert response.status_code == 200
    body = json.loads(response.get_body())
    assert body["results"][0]["package_id"] == "Contoso.Notes"
    package = _get(catalog_api.catalog_package, token, route_params={"package_id": "Contoso.Notes"})
    assert package.status_code == 200 and json.loads(package.get_body())["versions"][0] == "2.0.0"


@pytest.mark.parametrize(
    ("kind", "params", "route_params", "status"),
    [
        ("search", {}, {}, 400),
        ("search", {"q": "x", "limit": "1000"}, {}, 400),
        ("package", {}, {"package_id": "No.Such.Package"}, 404),
        ("package", {}, {"package_id": "../../etc"}, 400),
    ],
)
def test_api_bad_input_is_a_problem(catalog_api, mint, kind, params, route_params, status) -> None:  # noqa: F811
    route = catalog_api.catalog_search if kind == "search" else catalog_api.catalog_package
    response = _get(route, mint("oid-alice", roles=("Requester",)), params=params, route_params=route_params)
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"


def test_api_needs_a_greenlight_role(catalog_api, mint) -> None:  # noqa: F811
    response = _get(catalog_api.catalog_search, mint("oid-nobody", roles=()), params={"q": "notes"})
    assert response.status_code == 403
