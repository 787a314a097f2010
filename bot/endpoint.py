"""POST /api/messages: the Bot Framework messaging endpoint as a Functions HTTP trigger.

Auth level is anonymous because Bot Service sends a Bot Framework JWT, never a function key; the JWT is
validated here explicitly (whenever an app id is configured) so that every way a token can be bad — expired,
unknown key, wrong audience, garbage — is a 401 and not a 500 from deep inside botbuilder. Invoke responses are
serialized here too: botbuilder 4.17's aiohttp CloudAdapter serializes them twice and fails.

The Functions host binds a durable client (`client`); wrapped as greenlight's Workflow it reaches the handler
in the turn state, so a submit starts the request workflow and a click raises its Decision event.
"""

from __future__ import annotations

import json
import logging

import azure.functions as func
from botbuilder.schema import Activity

from bot import blueprint
from bot.http import json_response, nests_deeper_than, problem
from bot.references import tenant_of
from bot.runtime import BotRuntime, get_runtime
from bot.workflow import WORKFLOW_KEY
from greenlight.requests.workflow import Workflow
from greenlight.settings import SettingsError
from orchestrations.client import DurableWorkflow

log = logging.getLogger("greenlight.bot.endpoint")

MAX_ACTIVITY_BYTES = 256 * 1024  # Teams activities are far smaller; cards we accept are ≤ 28 KB
MAX_ACTIVITY_DEPTH = 64  # an activity with a card action's data nests about 6 deep; cards themselves ~15


@blueprint.route(route="messages", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@blueprint.durable_client_input(client_name="client")
async def messages(req: func.HttpRequest, client) -> func.HttpResponse:
    try:
        runtime = get_runtime()
    except SettingsError as error:
        log.error("bot is not configured: %s", error)
        return problem(503, "Bot not configured", "The bot endpoint is not configured; see the service logs.")
    return await handle(req, runtime, DurableWorkflow(client))


def _parse(req: func.HttpRequest) -> Activity | func.HttpResponse:
    content_type = (req.headers.get("Content-Type") or "").lower()
    if "application/json" not in content_type:
        return problem(415, "Unsupported media type", "Activities are posted as application/json.")
    body = req.get_body() or b""
    if len(body) > MAX_ACTIVITY_BYTES:
        return problem(413, "Activity too large", f"Activities are limited to {MAX_ACTIVITY_BYTES} bytes.")
    if nests_deeper_than(body, MAX_ACTIVITY_DEPTH):
        return problem(400, "Invalid JSON", f"The body nests deeper than {MAX_ACTIVITY_DEPTH} levels.")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return problem(400, "Invalid JSON", "The body is not valid JSON.")
    if not isinstance(data, dict):
        return problem(400, "Invalid activity", "An activity is a JSON object.")
    try:
        activity = Activity().deserialize(data)
    except Exception:  # noqa: BLE001 - msrest raises several types for wrong shapes
        return problem(400, "Invalid activity", "The activity does not have the Bot Framework shape.")
    missing = [
        name
        for name, value in (
            ("type", activity.type),
            ("serviceUrl", activity.service_url),
            ("channelId", activity.channel_id),
            ("conversation.id", activity.conversation.id if activity.conversation else None),
        )
        if not value
    ]
    if missing:
        return problem(400, "Invalid activity", f"Missing required field(s): {', '.join(missing)}.")
    return activity


async def handle(req: func.HttpRequest, runtime: BotRuntime, workflow: Workflow | None = None) -> func.HttpResponse:
    parsed = _parse(req)
    if isinstance(parsed, func.HttpResponse):
        return parsed
    activity = parsed
    auth_header = req.headers.get("Authorization") or ""
    try:
        auth_result = await runtime.authentication.authenticate_request(activity, auth_header)
    except Exception as error:  # noqa: BLE001 - PermissionError, jwt errors, IndexError (unknown kid), Exception
        log.warning("rejected activity: %s", type(error).__name__)
        return problem(401, "Unauthorized", "The request is not authenticated as the Bot Framework.")
    settings = runtime.settings
    if not settings.is_allowed_service_url(activity.service_url):
        log.warning("rejected activity from a serviceUrl outside the allowlist")
        return problem(403, "Forbidden", "This serviceUrl is not allowed.")
    tenant_id = tenant_of(activity)
    if settings.allowed_tenants and not settings.is_allowed_tenant(tenant_id):
        log.warning("rejected activity from tenant %s", tenant_id)
        return problem(403, "Forbidden", "This tenant is not allowed.")

    async def turn(turn_context) -> None:
        if workflow is not None:
            turn_context.turn_state[WORKFLOW_KEY] = workflow
        await runtime.bot.on_turn(turn_context)

    try:
        invoke_response = await runtime.adapter.process_activity(auth_result, activity, turn)
    except Exception:
        log.exception("activity of type %s failed", activity.type)
        return problem(500, "Internal error", "The bot could not process this activity.")
    if invoke_response is None:
        return func.HttpResponse(status_code=201)
    body = invoke_response.body
    if hasattr(body, "serialize"):
        body = body.serialize()
    return json_response(int(invoke_response.status), body)
