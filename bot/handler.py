"""ApprovalBot: the Teams activity handler. Commands in, cards out; submits, decisions and cancels go through
the application layer (`greenlight.requests.RequestService`), which the HTTP API calls too.

The workflow (the durable client the endpoint got from the Functions host) reaches the handler in the turn state
under WORKFLOW_KEY; the workflow, not the handler, sends the approval cards and updates every card afterwards.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import requests
from botbuilder.core import CardFactory, InvokeResponse, MessageFactory, TurnContext
from botbuilder.core.teams import TeamsActivityHandler
from botbuilder.schema import Activity, ActivityTypes, ErrorResponseException
from msrest.exceptions import ClientRequestError

from bot import card_data
from bot.cards import (
    CARD_CONTENT_TYPE,
    request_form_card,
    request_status_card,
    search_results_card,
)
from bot.cards.approval import VERB_APPROVE, VERB_REJECT
from bot.cards.request import VERB_SUBMIT_REQUEST
from bot.cards.search import MAX_RESULTS, VERB_REQUEST_FORM
from bot.cards.status import VERB_CANCEL, VERB_REVIEW
from bot.catalog import CatalogUnavailableError
from bot.commands import HELP_TEXT, CommandKind, parse_command
from bot.notifier import SentCard, disable_connector_retries
from bot.references import is_personal, serialize_reference, tenant_of
from bot.request_views import ActionResult, RequestViews, oid_of
from bot.services import BotServices
from bot.workflow import workflow_of as _workflow
from greenlight.models import Verdict
from greenlight.policy import PackageBlocked
from greenlight.requests import (
    CatalogUnavailable,
    DecideRequest,
    IdempotencyKeyReused,
    InvalidInput,
    NotAllowed,
    NotOpen,
    RequestNotFound,
    SubmitRequest,
    UnknownPackage,
    WorkflowUnavailable,
    request_id_for,
)
from greenlight.storage import InvalidKey

log = logging.getLogger("greenlight.bot")

MESSAGE_CONTENT_TYPE = "application/vnd.microsoft.activity.message"
ERROR_CONTENT_TYPE = "application/vnd.microsoft.error"
GENERIC_FAILURE = "Sorry, something went wrong on my side. Please try again in a minute."


class ApprovalBot(RequestViews, TeamsActivityHandler):
    def __init__(self, services: BotServices) -> None:
        self._s = services

    # ------------------------------------------------------------------ turn plumbing

    async def on_turn(self, turn_context: TurnContext) -> None:
        disable_connector_retries(turn_context)  # in-turn calls fail fast; Teams retries the activity itself
        await self._remember(turn_context)
        try:
            await super().on_turn(turn_context)
        except Exception:  # a user sees a generic message; the log gets the details
            log.exception("turn failed for activity type %s", turn_context.activity.type)
            if turn_context.activity.type == ActivityTypes.message:
                await turn_context.send_activity(GENERIC_FAILURE)
            elif turn_context.activity.type == ActivityTypes.invoke:
                raise

    async def _remember(self, turn_context: TurnContext) -> None:
        """Upsert the 1:1 reference of whoever talks to the bot: install, members added, every message and click."""
        activity = turn_context.activity
        if activity.type not in (
            ActivityTypes.message,
            ActivityTypes.invoke,
            ActivityTypes.installation_update,
            ActivityTypes.conversation_update,
        ):
            return
        user = activity.from_property
        tenant_id = tenant_of(activity)
        if user is None or not user.aad_object_id or not tenant_id or not is_personal(activity):
            return
        if not self._s.settings.is_allowed_service_url(activity.service_url):
            return  # the endpoint refuses these before the turn; never store such a reference
        try:
            await asyncio.to_thread(
                self._s.references.upsert,
                tenant_id,
                user.aad_object_id.lower(),
                serialize_reference(activity),
                activity.service_url,
                user.name,
            )
        except Exception:  # storing the reference must not cost the user their answer
            log.exception("could not store the conversation reference")

    # ------------------------------------------------------------------ installation and members

    async def on_installation_update_add(self, turn_context: TurnContext) -> None:
        await turn_context.send_activity(MessageFactory.text("Hi! " + HELP_TEXT))

    async def on_teams_members_added(self, teams_members_added, team_info, turn_context: TurnContext) -> None:
        return  # the reference was captured in on_turn; the welcome comes with installationUpdate

    # ------------------------------------------------------------------ messages

    async def on_message_activity(self, turn_context: TurnContext) -> None:
        activity = turn_context.activity
        if isinstance(activity.value, dict) and activity.value.get("verb"):
            await self._on_submit_fallback(turn_context, activity.value)
            return
        command = parse_command(activity.text)
        if command.problem:
            await turn_context.send_activity(command.problem)
        elif command.kind is CommandKind.SEARCH:
            await self._search(turn_context, command.argument)
        elif command.kind is CommandKind.REQUEST:
            await self._request_form(turn_context, command.argument)
        elif command.kind is CommandKind.STATUS and command.argument:
            await self._one_request(turn_context, command.argument)
        elif command.kind is CommandKind.STATUS:
            await self._my_requests(turn_context)
        elif command.kind is CommandKind.PENDING:
            await self._pending(turn_context)
        elif command.kind is CommandKind.CANCEL:
            await self._cancel_command(turn_context, command.argument)
        elif command.kind is CommandKind.UNKNOWN:
            await turn_context.send_activity("I did not understand that.\n\n" + HELP_TEXT)
        else:
            await turn_context.send_activity(HELP_TEXT)

    async def _search(self, turn_context: TurnContext, query: str) -> None:
        try:
            catalog = await asyncio.to_thread(self._s.catalog)
            entries = await asyncio.to_thread(catalog.search, query, MAX_RESULTS + 1)
        except CatalogUnavailableError as error:
            await turn_context.send_activity(f"I cannot search right now: {error}")
            return
        await self._send_card(turn_context, search_results_card(query, list(entries)))

    async def _request_form(self, turn_context: TurnContext, package_id: str) -> None:
        try:
            catalog = await asyncio.to_thread(self._s.catalog)
            package = await asyncio.to_thread(catalog.package, package_id)
        except CatalogUnavailableError as error:
            await turn_context.send_activity(f"I cannot look that up right now: {error}")
            return
        if package is None:
            await turn_context.send_activity(f"I could not find {package_id}. Try `search {package_id}`.")
            return
        await self._send_card(turn_context, _form_for(package))

    # ------------------------------------------------------------------ card actions

    async def on_invoke_activity(self, turn_context: TurnContext) -> InvokeResponse:
        if turn_context.activity.name == "adaptiveCard/action":
            return InvokeResponse(status=200, body=await self._card_action(turn_context))
        return await super().on_invoke_activity(turn_context)

    async def _card_action(self, turn_context: TurnContext) -> dict[str, Any]:
        """The body of an adaptiveCard/action invoke response, as a plain dict.

        botbuilder's own path (on_adaptive_card_invoke → AdaptiveCardInvokeResponse) cannot serialize the
        string value of an `activity.message` response in 4.17, so the response is built here.
        """
        value = turn_context.activity.value if isinstance(turn_context.activity.value, dict) else {}
        action = value.get("action") if isinstance(value.get("action"), dict) else None
        if action is None or action.get("type") != "Action.Execute":
            return _error(400, "BadRequest", "Expected an Action.Execute card action.")
        data = action.get("data") if isinstance(action.get("data"), dict) else {}
        verb = str(action.get("verb") or data.get("verb") or "")
        try:
            result = await self._act(turn_context, verb, data)
        except Exception:
            log.exception("card action %r failed", verb)
            return _error(500, "InternalError", GENERIC_FAILURE)
        if result.error is not None:
            return _error(*result.error)
        if result.card is not None:
            return {"statusCode": 200, "type": CARD_CONTENT_TYPE, "value": result.card}
        return {
            "statusCode": 200,
            "type": "application/vnd.microsoft.activity.message",
            "value": result.message or "Done.",
        }

    async def _on_submit_fallback(self, turn_context: TurnContext, value: dict[str, Any]) -> None:
        """Action.Submit (clients without Universal Actions): same verbs, answered by updating the clicked card."""
        result = await self._act(turn_context, str(value.get("verb")), value)
        if result.error is not None:
            await turn_context.send_activity(result.error[2])
            return
        if result.card is not None and turn_context.activity.reply_to_id:
            update = MessageFactory.attachment(CardFactory.adaptive_card(result.card))
            update.id = turn_context.activity.reply_to_id
            await turn_context.update_activity(update)
        if result.message:
            await turn_context.send_activity(result.message)

    async def _act(self, turn_context: TurnContext, verb: str, data: dict[str, Any]) -> ActionResult:
        activity = turn_context.activity
        tenant_id, oid = tenant_of(activity), oid_of(activity)
        if not tenant_id or not oid:
            return ActionResult(error=(403, "Forbidden", "I could not tell who you are."))
        try:
            _check_card_data(verb, data)
        except card_data.CardDataError as refused:
            return ActionResult(error=refused.as_error())
        if verb == VERB_REQUEST_FORM:
            return await self._open_form(turn_context, _text(data, "packageId"))
        if verb == VERB_SUBMIT_REQUEST:
            return await self._submit(turn_context, tenant_id, oid, data)
        if verb in (VERB_APPROVE, VERB_REJECT):
            return await self._decide(turn_context, tenant_id, oid, verb, data)
        if verb == VERB_REVIEW:
            return await self._review(tenant_id, oid, _text(data, "requestId"))
        if verb == VERB_CANCEL:
            return await self._cancel(turn_context, _text(data, "requestId"))
        return ActionResult(error=(400, "UnknownAction", "This button is not supported any more."))

    async def _open_form(self, turn_context: TurnContext, package_id: str) -> ActionResult:
        try:
            catalog = await asyncio.to_thread(self._s.catalog)
            package = await asyncio.to_thread(catalog.package, package_id) if package_id else None
        except CatalogUnavailableError as error:
            return ActionResult(error=(503, "CatalogUnavailable", str(error)))
        if package is None:
            return ActionResult(error=(404, "PackageNotFound", "That package is no longer in the catalog."))
        # A new message, so the search results stay where they are.
        await self._send_card(turn_context, _form_for(package))
        return ActionResult(message=f"Request form for {package.package_id} sent below.")

    async def _submit(self, turn_context: TurnContext, tenant_id: str, oid: str, data: dict[str, Any]) -> ActionResult:
        activity = turn_context.activity
        form_id = activity.reply_to_id or activity.id or ""
        command = SubmitRequest(
            tenant_id=tenant_id,
            caller_oid=oid,
            requester_oid=oid,
            requester_name=(activity.from_property.name or "").strip() or oid,
            package_id=_text(data, "packageId"),
            justification=_text(data, "justification", 2000),
            client_key=form_id or None,
            via="teams",
        )
        if activity.reply_to_id and form_id:
            # Where this form is, before the workflow starts: its first status update replaces this card.
            here = SentCard(tenant_id, activity.conversation.id, activity.reply_to_id, activity.service_url)
            request_id = request_id_for(tenant_id, oid, form_id)
            await asyncio.to_thread(self._s.requester_cards.put, request_id, oid, here)
        try:
            submission = await self._s.service.submit_request(command, _workflow(turn_context))
        except CatalogUnavailable as error:
            return ActionResult(error=(503, "CatalogUnavailable", str(error)))
        except UnknownPackage as error:
            return ActionResult(error=(404, "PackageNotFound", f"{error}. Try `search`."))
        except PackageBlocked as blocked:
            message = f"{blocked.package_id} cannot be requested: your organization's policy blocks it."
            return ActionResult(error=(403, "PackageBlocked", message))
        except IdempotencyKeyReused:
            return ActionResult(error=(409, "AlreadySubmitted", "This form was already submitted; open a new one."))
        except WorkflowUnavailable:
            return ActionResult(error=(503, "TryAgain", "Your request is saved; press Submit again in a minute."))
        except InvalidInput as problem:
            return await self._form_again(command.package_id, problem.message, problem.field)
        return ActionResult(card=request_status_card(submission.request))

    async def _form_again(self, package_id: str, message: str, field: str) -> ActionResult:
        try:
            catalog = await asyncio.to_thread(self._s.catalog)
            package = await asyncio.to_thread(catalog.package, package_id) if package_id else None
        except CatalogUnavailableError:
            package = None
        text = f"Please check the {field}: {message}." if field != "justification" else _justification_hint(message)
        if package is None:
            return ActionResult(error=(400, "InvalidRequest", text))
        return ActionResult(card=_form_for(package, error=text))

    async def _decide(
        self, turn_context: TurnContext, tenant_id: str, oid: str, verb: str, data: dict[str, Any]
    ) -> ActionResult:
        activity = turn_context.activity
        command = DecideRequest(
            tenant_id=tenant_id,
            request_id=_text(data, "requestId"),
            approver_oid=oid,
            approver_name=(activity.from_property.name or "").strip() or "an approver",
            verdict=Verdict.APPROVED if verb == VERB_APPROVE else Verdict.REJECTED,
            comment=_text(data, "comment", 300),
            via="teams",
            stage=data["stage"] if isinstance(data.get("stage"), int) and not isinstance(data["stage"], bool) else None,
        )
        try:
            outcome = await self._s.service.record_decision(command, _workflow(turn_context))
        except (RequestNotFound, InvalidKey):
            return ActionResult(error=(403, "NotAllowed", "This request does not exist (or not in your organization)."))
        except NotAllowed as refused:
            log.info("click refused: %s", refused)
            return ActionResult(error=(403, "NotAllowed", f"{str(refused).capitalize()}."))
        except NotOpen as closed:
            return ActionResult(error=(409, "NotOpen", f"This request is {closed.status}; nothing to decide."))
        except InvalidInput as problem:
            return ActionResult(error=(400, "InvalidComment", f"The {problem.field} {problem.message}."))
        except WorkflowUnavailable:
            return ActionResult(error=(503, "TryAgain", "Your decision is saved; press the button again in a minute."))
        card = await self._after_decision(outcome)
        if activity.reply_to_id:
            update = MessageFactory.attachment(CardFactory.adaptive_card(card))
            update.id = activity.reply_to_id
            try:
                await turn_context.update_activity(update)
            except (ErrorResponseException, ClientRequestError, requests.RequestException) as error:
                # The decision is stored; the clicker still gets the decided card as the invoke response.
                log.warning("could not update the clicked card in place: %s", type(error).__name__)
        return ActionResult(card=card)


def _oid(activity: Activity) -> str | None:
    user = activity.from_property
    return user.aad_object_id.lower() if user is not None and user.aad_object_id else None


_PACKAGE_VERBS = frozenset({VERB_REQUEST_FORM, VERB_SUBMIT_REQUEST})
_REQUEST_VERBS = frozenset({VERB_APPROVE, VERB_REJECT, VERB_REVIEW, VERB_CANCEL})


def _check_card_data(verb: str, data: dict[str, Any]) -> None:
    """Card data is untrusted: the ids a button carries must be ones any door accepts, before any lookup."""
    if verb in _PACKAGE_VERBS:
        card_data.package_id(data)
    if verb in _REQUEST_VERBS:
        card_data.request_id(data)


def _text(data: dict[str, Any], name: str, limit: int = 200) -> str:
    value = data.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _form_for(package: Any, error: str | None = None) -> dict[str, Any]:
    return request_form_card(package, description=getattr(package, "description", None), error=error)


def _justification_hint(message: str) -> str:
    if message == "is required":
        return "Please say briefly why you need it."
    return f"Please check the justification: it {message}."


def _error(status: int, code: str, message: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "type": "application/vnd.microsoft.error",
        "value": {"code": code, "message": message},
    }
