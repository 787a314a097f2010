"""Access tokens for Graph through MSAL: managed identity in Azure, client secret or certificate otherwise.

MSAL is synchronous (requests), so calls run in a worker thread. MSAL's own token cache answers repeated calls
until shortly before expiry; the provider adds nothing on top except serialising concurrent first calls.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, Protocol

import msal
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from greenlight.graph.errors import GraphAuthError
from greenlight.graph.settings import GraphAuthMode, GraphSettings

GRAPH_SCOPE = "https://graph.microsoft.com/.default"
GRAPH_RESOURCE = "https://graph.microsoft.com"


class TokenProvider(Protocol):
    async def token(self) -> str: ...


_PRIVATE_KEY = re.compile(r"-----BEGIN (?:RSA |EC )?PRIVATE KEY-----.+?-----END (?:RSA |EC )?PRIVATE KEY-----", re.S)


def _certificate_credential(pem: str) -> dict[str, Any]:
    """MSAL's certificate credential from one PEM holding the private key and the certificate (Key Vault's form)."""
    key = _PRIVATE_KEY.search(pem)
    try:
        certificate = x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        certificate = None
    if key is None or certificate is None:
        raise GraphAuthError("GREENLIGHT_GRAPH_CERTIFICATE must be a PEM with the private key and the certificate")
    return {
        "private_key": key.group(0),
        "thumbprint": certificate.fingerprint(hashes.SHA1()).hex(),  # noqa: S303 - x5t is SHA-1 by definition
        "public_certificate": certificate.public_bytes(serialization.Encoding.PEM).decode(),
    }


class MsalTokenProvider:
    def __init__(self, settings: GraphSettings) -> None:
        self._settings = settings
        self._lock = asyncio.Lock()
        session = requests.Session()
        if settings.ca_bundle:
            # requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override session.verify; an explicit bundle must win.
            session.trust_env = False
            session.verify = settings.ca_bundle
        self._app: Any
        if settings.auth_mode is GraphAuthMode.MANAGED_IDENTITY:
            identity = (
                msal.UserAssignedManagedIdentity(client_id=settings.client_id)
                if settings.client_id
                else msal.SystemAssignedManagedIdentity()
            )
            self._app = msal.ManagedIdentityClient(identity, http_client=session, token_cache=msal.TokenCache())
        else:
            credential: Any
            if settings.auth_mode is GraphAuthMode.CERTIFICATE:
                assert settings.certificate_pem is not None
                credential = _certificate_credential(settings.certificate_pem.get())
            else:
                assert settings.client_secret is not None
                credential = settings.client_secret.get()
            self._app = msal.ConfidentialClientApplication(
                settings.client_id,
                client_credential=credential,
                authority=f"{settings.authority_host}/{settings.tenant_id}",
                instance_discovery=settings.authority_host.rstrip("/") == "https://login.microsoftonline.com",
                http_client=session,
                token_cache=msal.TokenCache(),
            )

    def _acquire(self) -> dict[str, Any]:
        if self._settings.auth_mode is GraphAuthMode.MANAGED_IDENTITY:
            return self._app.acquire_token_for_client(resource=GRAPH_RESOURCE)
        return self._app.acquire_token_for_client(scopes=[GRAPH_SCOPE])

    async def token(self) -> str:
        async with self._lock:
            try:
                result = await asyncio.to_thread(self._acquire)
            except (requests.RequestException, ValueError, msal.ManagedIdentityError) as error:
                raise GraphAuthError(f"could not acquire a Graph token: {type(error).__name__}: {error}") from None
        if "access_token" not in result:
            # error_description is Entra's text; it never contains the secret
            raise GraphAuthError(
                f"could not acquire a Graph token: {result.get('error')}: {result.get('error_description')}",
                code=result.get("error"),
            )
        return result["access_token"]


class StaticTokenProvider:
    """A fixed token (tests that mint their own, or a token handed over by a caller)."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def token(self) -> str:
        return self._token
