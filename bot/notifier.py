"""Proactive messages: send a card to a user by Entra object id, and update a card already sent.

- The stored 1:1 reference is used when there is one; otherwise the bot creates the 1:1 chat (Teams accepts the
  Entra object id as the member id when the app is installed for that user) and stores the new reference.
- serviceUrl hosts are checked against the allowlist before every call: botbuilder >= 4.15 attaches the bot's
  token to whatever serviceUrl a reference names.
- 429 / 412 / 5xx are retried with exponential backoff and jitter (Retry-After honoured); 403 means the user
  blocked or removed the bot and marks the reference unreachable; 404 (conversation gone) recreates the chat
  and retries once. Sends per conversation go through the in-process rate limiter.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import requests
from botbuilder.core import CardFactory, CloudAdapterBase, MessageFactory, TurnContext
from botbuilder.schema import (
    Activity,
    ChannelAccount,
    ConversationAccount,
    ConversationParameters,
    ConversationReference,
    ErrorResponseException,
)
from msrest.exceptions import ClientRequestError

from bot.rate_limit import ConversationRateLimiter
from bot.references import load_reference, serialize_reference
from bot.settings import BotSettings
from greenlight.models import CardAddress, StoredConversationReference
from greenlight.storage import ConversationReferenceRepository, NotFound

log = logging.getLogger("greenlight.bot.notifier")

RETRYABLE_STATUSES = frozenset({412, 429, 500, 502, 503, 504})


class NotificationError(Exception):
    """A proactive message could not be delivered; the message says why (no tokens, no payloads)."""


class UntrustedServiceUrl(NotificationError):
    pass


class RecipientUnreachable(NotificationError):
    """The user blocked or uninstalled the bot (403), or was marked so earlier."""


class ConversationGone(NotificationError):
    """404: the conversation or the activity no longer exists."""


SentCard = CardAddress  # where a sent card lives (greenlight.models), so it can be updated in place


def _status_and_code(error: Exception) -> tuple[int | None, str | None]:
    if isinstance(error, ErrorResponseException):
        status = getattr(getattr(error, "response", None), "status_code", None)
        code = None
        try:
            code = error.error.error.code
        except AttributeError:
            pass
        return status, code
    return None, None


def _retry_after(error: Exception) -> float | None:
    headers = getattr(getattr(error, "response", None), "headers", None) or {}
    value = headers.get("Retry-After") if hasattr(headers, "get") else None
    try:
        return min(float(value), 30.0) if value is not None else None
    except ValueError:
        return None


class ProactiveNotifier:
    def __init__(
        self,
        adapter: CloudAdapterBase,
        settings: BotSettings,
        references: ConversationReferenceRepository,
        *,
        limiter: ConversationRateLimiter | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        max_attempts: int = 4,
        base_delay: float = 0.5,
    ) -> None:
        self._adapter = adapter
        self._settings = settings
        self._references = references
        self._limiter = limiter or ConversationRateLimiter()
        self._sleep = sleep
        self._max_attempts = max_attempts
        self._base_delay = base_delay

    @property
    def _bot_app_id(self) -> str:
        # continue_conversation needs the real app id when auth is on ("Invalid app_id" otherwise); with auth
        # off (local) any non-empty value does.
        return self._settings.app_id or "greenlight-local"

    # ------------------------------------------------------------------ public API

    async def send_card(
        self,
        tenant_id: str,
        aad_object_id: str,
        card: dict[str, Any],
        *,
        service_url_hint: str | None = None,
        bot_account: dict[str, Any] | None = None,
    ) -> SentCard:
        """Send `card` to the user's 1:1 chat, creating the chat when none is known. Returns where it went."""
        stored = await asyncio.to_thread(self._references.get, tenant_id, aad_object_id)
        if stored is not None and stored.unreachable:
            raise RecipientUnreachable(f"user {aad_object_id} has blocked or removed the bot")
        if stored is None:
            reference = await self._create_conversation(tenant_id, aad_object_id, service_url_hint, bot_account)
        else:
            reference = load_reference(stored.reference, tenant_id)
        activity = MessageFactory.attachment(CardFactory.adaptive_card(card))
        try:
            activity_id = await self._send(reference, activity, tenant_id, aad_object_id)
        except ConversationGone:
            log.info("conversation for %s is gone; creating a new one", aad_object_id)
            bot = reference.bot.serialize() if reference.bot else bot_account
            reference = await self._create_conversation(tenant_id, aad_object_id, reference.service_url, bot)
            activity_id = await self._send(reference, activity, tenant_id, aad_object_id)
        return SentCard(tenant_id, reference.conversation.id, activity_id, reference.service_url)

    async def update_card(self, sent: SentCard, card: dict[str, Any]) -> bool:
        """Replace a card in place. False when it no longer exists (deleted chat): nothing left to update."""
        reference = ConversationReference(
            channel_id="msteams",
            service_url=sent.service_url,
            conversation=ConversationAccount(id=sent.conversation_id, tenant_id=sent.tenant_id),
        )
        activity = MessageFactory.attachment(CardFactory.adaptive_card(card))
        activity.id = sent.activity_id

        async def update(context: TurnContext) -> None:
            activity.conversation = context.activity.conversation
            await context.update_activity(activity)

        try:
            await self._call(reference, update)
        except ConversationGone:
            log.warning("card %s in %s is gone; not updated", sent.activity_id, sent.conversation_id)
            return False
        return True

    # ------------------------------------------------------------------ internals

    def _check_service_url(self, service_url: str | None) -> str:
        if not self._settings.is_allowed_service_url(service_url):
            raise UntrustedServiceUrl("serviceUrl host is not in GREENLIGHT_BOT_SERVICE_URL_HOSTS; nothing sent")
        assert service_url is not None
        return service_url

    async def _send(self, reference: ConversationReference, activity: Activity, tenant_id: str, oid: str) -> str:
        sent_ids: list[str] = []

        async def send(context: TurnContext) -> None:
            response = await context.send_activity(activity)
            sent_ids.append(response.id if response else "")

        try:
            await self._call(reference, send)
        except RecipientUnreachable as error:
            try:
                await asyncio.to_thread(self._references.mark_unreachable, tenant_id, oid, str(error))
            except NotFound:
                pass  # a chat created a moment ago and refused at once: nothing stored to mark
            raise
        return sent_ids[-1]

    async def _call(self, reference: ConversationReference, logic: Callable[[TurnContext], Awaitable[None]]) -> None:
        self._check_service_url(reference.service_url)
        await self._limiter.acquire(reference.conversation.id)

        async def single_attempt(context: TurnContext) -> None:
            disable_connector_retries(context)
            await logic(context)

        for attempt in range(1, self._max_attempts + 1):
            try:
                await self._adapter.continue_conversation(reference, single_attempt, self._bot_app_id)
                return
            except (ErrorResponseException, ClientRequestError, requests.RequestException) as error:
                status, code = _status_and_code(error)
                if status == 403:
                    raise RecipientUnreachable(f"the user blocked or removed the bot ({code or 'Forbidden'})") from None
                if status == 404:
                    raise ConversationGone(code or "NotFound") from None
                retryable = status is None or status in RETRYABLE_STATUSES
                if not retryable or attempt == self._max_attempts:
                    raise NotificationError(
                        f"Bot Connector answered {status or 'no response'} ({code or type(error).__name__}) "
                        f"after {attempt} attempt(s)"
                    ) from None
                delay = _retry_after(error) or self._base_delay * 2 ** (attempt - 1) * (0.5 + random.random())  # noqa: S311
                log.warning("proactive call failed with %s (%s); retry %d in %.2fs", status, code, attempt, delay)
                await self._sleep(delay)

    async def _create_conversation(
        self,
        tenant_id: str,
        aad_object_id: str,
        service_url: str | None,
        bot_account: dict[str, Any] | None,
    ) -> ConversationReference:
        service_url = self._check_service_url(service_url or self._settings.default_service_url)
        bot = ChannelAccount().deserialize(bot_account) if bot_account else None
        if bot is None or not bot.id:
            bot = ChannelAccount(id=f"28:{self._settings.app_id}" if self._settings.app_id else "greenlight")
        parameters = ConversationParameters(
            is_group=False,
            bot=bot,
            members=[ChannelAccount(id=aad_object_id)],
            tenant_id=tenant_id,
            channel_data={"tenant": {"id": tenant_id}},
        )
        created: list[dict[str, Any]] = []

        async def remember(context: TurnContext) -> None:
            created.append(serialize_reference(context.activity))

        await self._limiter.acquire(f"create:{tenant_id}")
        try:
            await self._adapter.create_conversation(
                self._bot_app_id, remember, parameters, channel_id="msteams", service_url=service_url
            )
        except (ErrorResponseException, ClientRequestError, requests.RequestException) as error:
            status, code = _status_and_code(error)
            if status == 403:
                raise RecipientUnreachable(f"cannot start a chat with {aad_object_id} ({code})") from None
            raise NotificationError(f"could not create a chat: {status or 'no response'} ({code})") from None
        data = created[-1]
        data["user"] = {"id": aad_object_id, "aadObjectId": aad_object_id}
        await asyncio.to_thread(self._references.upsert, tenant_id, aad_object_id, data, service_url, None)
        return load_reference(data, tenant_id)


def disable_connector_retries(context: TurnContext) -> None:
    """One retry policy, ours. botbuilder's connector client (msrest over urllib3) silently retries 408/5xx three
    times with backoff, which would multiply the notifier's attempts and stretch an invoke turn by seconds; with
    this, a 5xx comes back at once as an ErrorResponseException carrying its status."""
    client = context.turn_state.get(CloudAdapterBase.BOT_CONNECTOR_CLIENT_KEY)
    if client is not None:
        policy = client.config.retry_policy.policy  # a urllib3 Retry
        policy.total = 0
        policy.status_forcelist = set()


def stored_bot_account(stored: StoredConversationReference | None) -> dict[str, Any] | None:
    """The bot's own channel account as a user's stored reference names it (its `28:` id in Teams)."""
    if stored is None:
        return None
    bot = stored.reference.get("bot")
    return bot if isinstance(bot, dict) else None
