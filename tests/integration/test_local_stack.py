"""The local stack's processes start and answer: devhost serves the real FunctionApp, the sandbox serves TLS."""

import ssl
import urllib.request

import httpx

from scripts.localstack import start_devhost


def test_devhost_serves_the_function_apps_health_route(tmp_path, azurite):
    process, base_url = start_devhost(tmp_path, env={"AzureWebJobsStorage": azurite.connection_string})
    try:
        response = httpx.get(f"{base_url}/api/health", timeout=10)
    finally:
        process.stop()
    assert response.status_code == 200
    assert response.json()["status"] in {"ok", "degraded"}


def test_sandbox_answers_over_https_with_its_own_ca(sandbox):
    context = ssl.create_default_context(cafile=str(sandbox.ca_file))
    with urllib.request.urlopen(f"{sandbox.base_url}/health", context=context, timeout=5) as response:  # noqa: S310
        assert response.status == 200
