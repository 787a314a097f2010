"""The Graph client against the sandbox over HTTPS: typed errors with Graph's code and request id, MSAL with a
client secret and with a certificate, and the token never leaving the Graph host."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from greenlight.graph.client import GraphClient, RetryPolicy, open_graph_client
from greenlight.graph.errors import GraphAuthError, GraphConfigurationError, GraphNotFound
from greenlight.graph.settings import GraphAuthMode, GraphSettings
from greenlight.settings import Secret
from sandbox.identity import register_client_certificate


async def test_missing_app_is_a_typed_not_found_with_code_and_request_id(graph: GraphClient) -> None:
    with pytest.raises(GraphNotFound) as caught:
        await graph.get("deviceAppManagement/mobileApps/00000000-0000-0000-0000-000000000000")
    assert caught.value.status == 404 and caught.value.code == "ResourceNotFound"
    assert caught.value.request_id and caught.value.request_id in str(caught.value)


async def test_wrong_client_secret_is_an_auth_error_without_the_secret(graph_settings: GraphSettings) -> None:
    wrong = dataclasses.replace(graph_settings, client_secret=Secret("S", literal="not-the-secret-xyz"))
    async with open_graph_client(wrong) as client:
        with pytest.raises(GraphAuthError) as caught:
            await client.get("deviceAppManagement/mobileApps")
    assert "not-the-secret-xyz" not in str(caught.value)


async def test_token_is_never_sent_to_another_host(graph: GraphClient) -> None:
    with pytest.raises(GraphConfigurationError):
        await graph.get("https://attacker.example/beta/deviceAppManagement/mobileApps")


async def test_certificate_credential_gets_a_token_through_msal(sandbox: Any, graph_settings: GraphSettings) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "greenlight-cert-test")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM)
    register_client_certificate(sandbox.state_dir, "greenlight-cert-client", cert_pem)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    settings = dataclasses.replace(
        graph_settings,
        auth_mode=GraphAuthMode.CERTIFICATE,
        client_id="greenlight-cert-client",
        client_secret=None,
        certificate_pem=Secret("GREENLIGHT_GRAPH_CERTIFICATE", literal=(key_pem + cert_pem).decode()),
    )
    async with open_graph_client(settings) as client:
        page = await client.get("deviceAppManagement/mobileApps")
    assert page["value"] == []


async def test_throttling_waits_what_retry_after_says_and_backs_off_on_503(
    graph_settings: GraphSettings, sandbox_control: Any
) -> None:
    """The sleep is recorded instead of slept (a boundary no local part can play: the clock)."""
    sandbox_control.faults(throttle_every=2, retry_after_seconds=7, unavailable_every=5)
    waits: list[float] = []

    async def record(seconds: float) -> None:
        waits.append(seconds)

    async with open_graph_client(graph_settings) as client:
        recording = GraphClient(
            client.urls, client._tokens, client._http, retry=RetryPolicy(max_attempts=5), sleep=record
        )
        for _ in range(4):
            assert (await recording.get("deviceAppManagement/mobileApps"))["value"] == []
    assert waits.count(7.0) >= 2  # every 429 waited exactly its Retry-After
    assert any(w != 7.0 and 0 <= w <= RetryPolicy().max_delay for w in waits)  # the 503 got jittered backoff
