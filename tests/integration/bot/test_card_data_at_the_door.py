"""Card action data no door accepts, posted to /api/messages as an Action.Execute invoke: the invoke response
carries a 4xx status, never a 500 (the handler checks the data with bot.card_data before using it)."""

from __future__ import annotations

import json

import pytest

from bot.endpoint import handle
from bot.runtime import BotRuntime
from tests.integration.bot.conftest import Signer, activity, http_request

BAD_REQUEST_IDS = ["", "a/b", "a#b", "a\x00b", 42, None, ["x"]]
BAD_PACKAGE_IDS = ["../../etc", "a/b", "a\x00", 7]


def invoke(verb: str, data: dict) -> dict:
    value = {"action": {"type": "Action.Execute", "verb": verb, "data": data}, "trigger": "manual"}
    return activity(type="invoke", name="adaptiveCard/action", value=value)


async def invoke_status(runtime: BotRuntime, signer: Signer, verb: str, data: dict) -> int:
    response = await handle(http_request(invoke(verb, data), signer.token()), runtime)
    assert response.status_code == 200, response.get_body()  # the HTTP answer; the verdict is in the body
    return json.loads(response.get_body())["statusCode"]


@pytest.mark.parametrize("verb", ["approve", "reject", "review", "cancel"])
@pytest.mark.parametrize("request_id", BAD_REQUEST_IDS)
async def test_a_request_id_no_door_accepts_is_a_4xx(authenticated_runtime, signer, verb, request_id) -> None:
    status = await invoke_status(authenticated_runtime, signer, verb, {"requestId": request_id})
    assert 400 <= status < 500


@pytest.mark.parametrize("verb", ["requestForm", "submitRequest"])
@pytest.mark.parametrize("package_id", BAD_PACKAGE_IDS)
async def test_a_package_id_no_door_accepts_is_a_4xx(authenticated_runtime, signer, verb, package_id) -> None:
    data = {"packageId": package_id, "architecture": "x64", "justification": "needed"}
    status = await invoke_status(authenticated_runtime, signer, verb, data)
    assert 400 <= status < 500
