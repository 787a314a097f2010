"""POST /api/messages with Bot Framework authentication on: every bad token is a 401, bad input a 4xx, never a
500; invoke responses are serialized once; a serviceUrl or tenant outside the allowlists is refused."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.endpoint import MAX_ACTIVITY_BYTES, handle
from bot.runtime import BotRuntime
from bot.settings import AppType, BotSettings
from greenlight.settings import Environment, Secret
from greenlight.storage import StorageAccount
from tests.integration.bot.conftest import APP_ID, SERVICE_URL, TENANT_ID, Signer, activity, http_request

ROOT = Path(__file__).resolve().parents[3]


def problem(response) -> dict:
    assert response.mimetype == "application/problem+json"
    return json.loads(response.get_body())


async def test_valid_token_is_accepted(authenticated_runtime: BotRuntime, signer: Signer) -> None:
    response = await handle(http_request(activity(), signer.token()), authenticated_runtime)
    assert response.status_code == 201


@pytest.mark.parametrize(
    ("case", "token_args"),
    [
        ("wrong audience", {"aud": "some-other-bot"}),
        ("wrong issuer", {"iss": "https://evil.example"}),
        ("serviceurl claim does not match the activity", {"serviceurl": "https://smba.trafficmanager.net/emea/"}),
        ("expired", {"exp": dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)}),
        ("unknown signing key id", {"kid": "someone-elses-kid"}),
        ("signed with another key", {"key": "other"}),
    ],
)
async def test_bad_tokens_get_401(authenticated_runtime: BotRuntime, signer: Signer, case: str, token_args) -> None:
    if token_args.get("key") == "other":
        token_args = {**token_args, "key": signer.other_key}
    response = await handle(http_request(activity(), signer.token(**token_args)), authenticated_runtime)
    assert response.status_code == 401, case
    assert problem(response)["title"] == "Unauthorized"


@pytest.mark.parametrize("header", [None, "garbage", ""])
async def test_missing_or_garbage_authorization_gets_401(authenticated_runtime: BotRuntime, header) -> None:
    response = await handle(http_request(activity(), header), authenticated_runtime)
    assert response.status_code == 401


async def test_invoke_response_body_is_serialized_once(authenticated_runtime: BotRuntime, signer: Signer) -> None:
    """botbuilder 4.17's aiohttp adapter double-serializes invoke bodies (HTTP 500); this endpoint must not."""
    invoke = activity(
        type="invoke",
        name="adaptiveCard/action",
        value={"action": {"type": "Action.Execute", "verb": "no-such-verb", "data": {}}, "trigger": "manual"},
    )
    response = await handle(http_request(invoke, signer.token()), authenticated_runtime)
    assert response.status_code == 200
    body = json.loads(response.get_body())
    assert body == {
        "statusCode": 400,
        "type": "application/vnd.microsoft.error",
        "value": {"code": "UnknownAction", "message": "This button is not supported any more."},
    }


async def test_service_url_outside_the_allowlist_is_refused(authenticated_runtime: BotRuntime, signer: Signer):
    """Even with a token whose serviceurl claim matches: the bot would send its own token to that host later."""
    evil = "https://bot-connector.evil.example/"
    response = await handle(
        http_request(activity(serviceUrl=evil), signer.token(serviceurl=evil)), authenticated_runtime
    )
    assert response.status_code == 403
    assert "serviceUrl" in problem(response)["detail"]


async def test_other_tenant_is_refused(authenticated_runtime: BotRuntime, signer: Signer) -> None:
    other = {"tenant": {"id": "00000000-1111-2222-3333-444444444444"}}
    response = await handle(http_request(activity(channelData=other), signer.token()), authenticated_runtime)
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("request_args", "status", "title"),
    [
        ({"body": activity(), "content_type": "text/plain"}, 415, "Unsupported media type"),
        ({"body": None, "raw": b"{not json"}, 400, "Invalid JSON"),
        ({"body": None, "raw": b"\xff\xfe"}, 400, "Invalid JSON"),
        ({"body": [activity()]}, 400, "Invalid activity"),
        ({"body": {"type": "message"}}, 400, "Invalid activity"),
        ({"body": None, "raw": b"{" + b" " * (MAX_ACTIVITY_BYTES + 1) + b"}"}, 413, "Activity too large"),
        ({"body": None, "raw": b"[" * 50_000 + b"]" * 50_000}, 400, "Invalid JSON"),  # RecursionError in the parser
        ({"body": None, "raw": b'{"value":' + b'{"a":' * 65 + b"1" + b"}" * 66}, 400, "Invalid JSON"),
    ],
)
async def test_bad_input_gets_a_named_4xx(authenticated_runtime: BotRuntime, request_args, status, title) -> None:
    response = await handle(http_request(**request_args), authenticated_runtime)
    assert response.status_code == status
    assert problem(response)["title"] == title


async def test_missing_fields_are_named(authenticated_runtime: BotRuntime, signer: Signer) -> None:
    body = activity()
    del body["serviceUrl"]
    del body["conversation"]
    response = await handle(http_request(body, signer.token()), authenticated_runtime)
    assert response.status_code == 400
    assert problem(response)["detail"] == "Missing required field(s): serviceUrl, conversation.id."


@pytest.mark.parametrize("greenlight_env", ["azure", None])
def test_app_refuses_to_load_outside_local_without_an_app_id(greenlight_env: str | None) -> None:
    """The Functions host indexes function_app at start; without an app id it must fail, not serve anonymously.
    An unset GREENLIGHT_ENV means azure."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("Microsoft") and k != "GREENLIGHT_ENV"}
    if greenlight_env is not None:
        env["GREENLIGHT_ENV"] = greenlight_env
    result = subprocess.run(
        [sys.executable, "-c", "import function_app"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "MicrosoftAppId is required outside GREENLIGHT_ENV=local" in result.stderr


def test_runtime_settings_name_what_is_missing() -> None:
    from bot.settings import BotSettings
    from greenlight.settings import SettingsError

    with pytest.raises(SettingsError, match="MicrosoftAppTenantId is required"):
        BotSettings.from_env({"GREENLIGHT_ENV": "azure", "MicrosoftAppId": APP_ID, "MicrosoftAppPassword": "x"})
    with pytest.raises(SettingsError, match="MicrosoftAppPassword is required"):
        BotSettings.from_env({"GREENLIGHT_ENV": "azure", "MicrosoftAppId": APP_ID, "MicrosoftAppTenantId": TENANT_ID})
    msi = BotSettings.from_env(
        {
            "GREENLIGHT_ENV": "azure",
            "MicrosoftAppId": APP_ID,
            "MicrosoftAppType": "UserAssignedMSI",
            "MicrosoftAppTenantId": TENANT_ID,
        }
    )
    assert msi.auth_enabled and msi.allowed_tenants == (TENANT_ID,)
    assert msi.is_allowed_service_url(SERVICE_URL)
    assert not msi.is_allowed_service_url("http://127.0.0.1:5000/_connector")  # loopback only when local


@pytest.mark.parametrize("app_type", [AppType.SINGLE_TENANT, AppType.USER_ASSIGNED_MSI, AppType.MULTI_TENANT])
async def test_every_app_type_validates_inbound_tokens(storage_connection_string: str, signer: Signer, app_type):
    """The identity kind changes how the bot gets its own tokens, never whether inbound ones are checked."""
    settings = BotSettings(
        environment=Environment.AZURE,
        app_id=APP_ID,
        app_type=app_type,
        app_tenant_id=TENANT_ID,
        app_password=None if app_type is AppType.USER_ASSIGNED_MSI else Secret("p", literal="offline"),
    )
    runtime = BotRuntime.build(settings, StorageAccount.from_connection_string(storage_connection_string))
    assert (await handle(http_request(activity(), signer.token()), runtime)).status_code == 201
    assert (await handle(http_request(activity(), signer.token(aud="other")), runtime)).status_code == 401
    assert (await handle(http_request(activity()), runtime)).status_code == 401
