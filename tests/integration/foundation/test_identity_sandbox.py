"""The Entra ID stand-in over real HTTPS: MSAL's own ConfidentialClientApplication gets tokens from it."""

from __future__ import annotations

import datetime as dt
import ssl
import uuid

import httpx
import jwt
import msal
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from sandbox.identity import DEFAULT_CLIENT_SECRET, issuer_for, mint_user_token, register_client_certificate

TENANT = "11111111-2222-3333-4444-555555555555"


@pytest.fixture(autouse=True)
def _trust_only_the_sandbox_ca(sandbox, monkeypatch):
    """As `make run` does (scripts/stack.py): requests, which MSAL uses, lets REQUESTS_CA_BUNDLE override `verify=`,
    so the bundle must name the sandbox CA too. Nothing else is trusted, so a wrong CA would fail these tests."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(sandbox.ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(sandbox.ca_file))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


def msal_app(sandbox, client_id: str, credential) -> msal.ConfidentialClientApplication:
    return msal.ConfidentialClientApplication(
        client_id,
        client_credential=credential,
        authority=f"{sandbox.entra_url}/{TENANT}",
        instance_discovery=False,
        verify=str(sandbox.ca_file),
        token_cache=msal.TokenCache(),
    )


def verify_with_jwks(sandbox, token: str, audience: str) -> dict:
    context = ssl.create_default_context(cafile=str(sandbox.ca_file))
    jwks = jwt.PyJWKClient(f"{sandbox.entra_url}/{TENANT}/discovery/v2.0/keys", ssl_context=context)
    key = jwks.get_signing_key_from_jwt(token)
    return jwt.decode(
        token, key.key, algorithms=["RS256"], audience=audience, issuer=issuer_for(sandbox.base_url, TENANT)
    )


def test_msal_acquires_a_graph_token_with_the_client_secret(sandbox):
    result = msal_app(sandbox, "greenlight-app", DEFAULT_CLIENT_SECRET).acquire_token_for_client(
        scopes=["https://graph.microsoft.com/.default"]
    )
    assert "access_token" in result, result
    claims = verify_with_jwks(sandbox, result["access_token"], "https://graph.microsoft.com")
    assert claims["tid"] == TENANT
    assert claims["azp"] == "greenlight-app"
    assert "DeviceManagementApps.ReadWrite.All" in claims["roles"]


def test_msal_reports_a_wrong_secret_as_invalid_client(sandbox):
    result = msal_app(sandbox, "greenlight-app", "wrong").acquire_token_for_client(
        scopes=["https://graph.microsoft.com/.default"]
    )
    assert result.get("error") == "invalid_client"
    assert "access_token" not in result


def _self_signed() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "greenlight-test-client")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def test_msal_acquires_a_token_with_a_registered_certificate(sandbox):
    client_id = f"cert-client-{uuid.uuid4().hex[:8]}"
    key_pem, cert_pem = _self_signed()
    register_client_certificate(sandbox.state_dir, client_id, cert_pem)
    credential = {"private_key": key_pem.decode(), "public_certificate": cert_pem.decode()}
    result = msal_app(sandbox, client_id, credential).acquire_token_for_client(scopes=["api://greenlight/.default"])
    assert "access_token" in result, result
    assert verify_with_jwks(sandbox, result["access_token"], "api://greenlight")["azp"] == client_id


def test_a_certificate_not_registered_for_the_client_is_refused(sandbox):
    key_pem, cert_pem = _self_signed()
    credential = {"private_key": key_pem.decode(), "public_certificate": cert_pem.decode()}
    result = msal_app(sandbox, "unregistered-client", credential).acquire_token_for_client(
        scopes=["https://graph.microsoft.com/.default"]
    )
    assert result.get("error") == "invalid_client"


def test_minted_user_token_verifies_against_the_published_jwks(sandbox):
    token = mint_user_token(
        sandbox.state_dir,
        tenant_id=TENANT,
        oid="oid-alice",
        name="Alice",
        upn="alice@contoso.test",
        roles=["Requester"],
        groups=["g-1"],
        audience="api://greenlight",
    )
    claims = verify_with_jwks(sandbox, token, "api://greenlight")
    assert (claims["oid"], claims["name"], claims["roles"], claims["groups"]) == (
        "oid-alice",
        "Alice",
        ["Requester"],
        ["g-1"],
    )


def test_user_token_endpoint_mints_and_rejects_a_malformed_body(sandbox):
    with httpx.Client(verify=ssl.create_default_context(cafile=str(sandbox.ca_file))) as client:
        ok = client.post(
            f"{sandbox.entra_url}/_sandbox/users/token",
            json={"tenant_id": TENANT, "oid": "oid-bob", "audience": "api://greenlight", "roles": ["Admin"]},
        )
        base = {"tenant_id": TENANT, "oid": "o", "audience": "a"}
        bad = [
            client.post(f"{sandbox.entra_url}/_sandbox/users/token", json=body)
            for body in ({"oid": "x"}, {**base, "roles": "Admin"}, {**base, "expires_in": "soon"}, [1])
        ]
    assert ok.status_code == 200
    assert verify_with_jwks(sandbox, ok.json()["access_token"], "api://greenlight")["roles"] == ["Admin"]
    assert [(r.status_code, r.json()["error"]) for r in bad] == [(400, "invalid_request")] * 4


@pytest.mark.parametrize(
    ("form", "error"),
    [
        (
            {"grant_type": "password", "client_id": "c", "client_secret": DEFAULT_CLIENT_SECRET},
            "unsupported_grant_type",
        ),
        (
            {"grant_type": "client_credentials", "client_id": "c", "client_secret": DEFAULT_CLIENT_SECRET},
            "invalid_scope",
        ),
        ({"grant_type": "client_credentials", "client_id": "c", "scope": "x/.default"}, "invalid_client"),
    ],
)
def test_token_endpoint_answers_oauth_errors(sandbox, form, error):
    with httpx.Client(verify=ssl.create_default_context(cafile=str(sandbox.ca_file))) as client:
        response = client.post(f"{sandbox.entra_url}/{TENANT}/oauth2/v2.0/token", data=form)
    assert response.status_code in {400, 401}
    assert response.json()["error"] == error


def test_openid_metadata_points_at_the_sandbox(sandbox):
    with httpx.Client(verify=ssl.create_default_context(cafile=str(sandbox.ca_file))) as client:
        metadata = client.get(f"{sandbox.entra_url}/{TENANT}/v2.0/.well-known/openid-configuration").json()
    assert metadata["issuer"] == f"{sandbox.entra_url}/{TENANT}/v2.0"
    assert metadata["jwks_uri"] == f"{sandbox.entra_url}/{TENANT}/discovery/v2.0/keys"
    assert metadata["id_token_signing_alg_values_supported"] == ["RS256"]


def test_the_token_cli_prints_a_verifiable_token(sandbox, capsys):
    from sandbox.identity.__main__ import main

    assert main(["token", "--state-dir", str(sandbox.state_dir), "--tenant", TENANT, "--role", "Admin"]) == 0
    token = capsys.readouterr().out.strip()
    assert verify_with_jwks(sandbox, token, "api://greenlight-local")["roles"] == ["Admin"]
