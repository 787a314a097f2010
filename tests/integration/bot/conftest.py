"""Bot integration fixtures: a bot runtime on Azurite with Bot Framework authentication switched on.

The Bot Framework's OpenID signing keys normally come from login.botframework.com; offline, the test's own RSA
key is placed in botbuilder's metadata cache (the one boundary no local part can play). Everything else —
token validation, the adapter, the handler, Table Storage — is the real code.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import azure.functions as func
import jwt
import pytest
from botframework.connector.auth import AuthenticationConstants
from botframework.connector.auth.jwt_token_extractor import JwtTokenExtractor, _OpenIdMetadata
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from bot.runtime import BotRuntime
from bot.settings import AppType, BotSettings
from greenlight.settings import Environment, Secret
from greenlight.storage import StorageAccount

APP_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
TENANT_ID = "72f988bf-86f1-41af-91ab-2d7cd011db47"
SERVICE_URL = "https://smba.trafficmanager.net/amer/"
KID = "greenlight-test-kid"


@dataclass(frozen=True)
class Signer:
    key: rsa.RSAPrivateKey
    other_key: rsa.RSAPrivateKey

    def token(self, **overrides: Any) -> str:
        now = dt.datetime.now(dt.UTC)
        claims = {
            "iss": "https://api.botframework.com",
            "aud": APP_ID,
            "serviceurl": SERVICE_URL,
            "nbf": now - dt.timedelta(minutes=1),
            "exp": now + dt.timedelta(minutes=30),
        }
        kid = overrides.pop("kid", KID)
        key = overrides.pop("key", self.key)
        claims.update(overrides)
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


@pytest.fixture(scope="session")
def signer() -> Iterator[Signer]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid=KID, endorsements=["msteams"])
    url = AuthenticationConstants.TO_BOT_FROM_CHANNEL_OPENID_METADATA_URL
    metadata = _OpenIdMetadata(url)
    metadata.keys = [jwk]
    metadata.last_updated = dt.datetime.now()
    previous = JwtTokenExtractor.metadataCache.get(url)
    JwtTokenExtractor.metadataCache[url] = metadata
    yield Signer(key, other)
    if previous is None:
        JwtTokenExtractor.metadataCache.pop(url, None)
    else:
        JwtTokenExtractor.metadataCache[url] = previous


@pytest.fixture(scope="session")
def authenticated_runtime(storage_connection_string: str, signer: Signer) -> BotRuntime:
    settings = BotSettings(
        environment=Environment.AZURE,
        app_id=APP_ID,
        app_type=AppType.SINGLE_TENANT,
        app_tenant_id=TENANT_ID,
        app_password=Secret("MicrosoftAppPassword", literal="not-used-offline"),
        allowed_tenants=(TENANT_ID,),
        approver_oids=frozenset(),
    )
    return BotRuntime.build(settings, StorageAccount.from_connection_string(storage_connection_string))


def activity(**overrides: Any) -> dict[str, Any]:
    base = {
        "type": "event",
        "name": "greenlight/test",
        "id": "f:1",
        "channelId": "msteams",
        "serviceUrl": SERVICE_URL,
        "from": {"id": "29:1abc", "aadObjectId": "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0", "name": "Ada Lovelace"},
        "recipient": {"id": f"28:{APP_ID}", "name": "Greenlight"},
        "conversation": {"id": "a:1xyz", "conversationType": "personal", "tenantId": TENANT_ID},
        "channelData": {"tenant": {"id": TENANT_ID}},
    }
    base.update(overrides)
    return base


def http_request(
    body: Any, token: str | None = None, content_type: str = "application/json", raw: bytes | None = None
) -> func.HttpRequest:
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else json.dumps(body).encode()
    return func.HttpRequest(method="POST", url="http://localhost/api/messages", headers=headers, body=data)
