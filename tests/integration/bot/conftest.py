"""Bot integration fixtures: a bot runtime on Azurite with Bot Framework authentication switched on.

The Bot Framework's OpenID signing keys normally come from login.botframework.com; offline, the test's own RSA
key is placed in botbuilder's metadata cache (the one boundary no local part can play). Everything else —
token validation, the adapter, the handler, Table Storage — is the real code.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import azure.functions as func
import pytest

from bot.runtime import BotRuntime
from bot.settings import AppType, BotSettings
from greenlight.settings import Environment, Secret
from greenlight.storage import StorageAccount
from tests.integration.bot.bf_tokens import APP_ID, SERVICE_URL, TENANT_ID, Signer, install_signing_key

__all__ = ["APP_ID", "SERVICE_URL", "TENANT_ID", "Signer", "activity", "http_request"]


@pytest.fixture(scope="session")
def signer() -> Iterator[Signer]:
    signer, restore = install_signing_key()
    yield signer
    restore()


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
