"""Wiring: settings → Bot Framework authentication → CloudAdapterBase → ApprovalBot, built once per process.

Module-level singletons persist per worker process, so they hold no per-request state.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from botbuilder.core import CloudAdapterBase
from botbuilder.integration.aiohttp import ConfigurationBotFrameworkAuthentication

from bot.catalog import CatalogFactory, default_catalog
from bot.dispatch import ApprovalDispatch
from bot.handler import ApprovalBot
from bot.notifier import ProactiveNotifier
from bot.services import BotServices
from bot.settings import BotSettings
from bot.standing import DisplayNames
from greenlight.graph.client import open_graph_client
from greenlight.graph.settings import GraphSettings
from greenlight.requests import RequestService
from greenlight.requests.approvers import ApproverDirectory, approver_directory
from greenlight.requests.catalog import WingetPackageCatalog
from greenlight.requests.devices import IntuneDevices
from greenlight.requests.ports import Notifier
from greenlight.settings import SettingsError
from greenlight.storage import (
    ApprovalCardRepository,
    AuditLog,
    ConversationReferenceRepository,
    DecisionRepository,
    RequesterCardRepository,
    RequestRepository,
    StorageAccount,
)


class _AuthConfiguration:
    """The attribute names ConfigurationBotFrameworkAuthentication reads (botbuilder's config.py convention)."""

    def __init__(self, settings: BotSettings) -> None:
        self.APP_ID = settings.app_id or ""
        self.APP_PASSWORD = settings.app_password.get() if settings.app_password else ""
        # Without an app id (local only) authentication is off; botbuilder accepts that only as MultiTenant.
        self.APP_TYPE = settings.app_type_name if settings.app_id else "MultiTenant"
        self.APP_TENANTID = settings.app_tenant_id or ""


@dataclass(frozen=True)
class BotRuntime:
    settings: BotSettings
    authentication: ConfigurationBotFrameworkAuthentication
    adapter: CloudAdapterBase
    bot: ApprovalBot
    services: BotServices

    @classmethod
    def build(
        cls,
        settings: BotSettings,
        account: StorageAccount,
        *,
        catalog: CatalogFactory = default_catalog,
        approvers: ApproverDirectory | None = None,
        service: RequestService | None = None,
        names: DisplayNames | None = None,
        **auth_overrides: Any,
    ) -> BotRuntime:
        """`service` is the process-wide application layer (services.get().service); without it one is built on
        `account`. `names` is the directory's display names (services.get().names) for people the bot has no
        name of; without it cards show them as short ids. `auth_overrides` (credentials_factory=,
        auth_configuration=) exist for offline auth tests only."""
        try:
            authentication = ConfigurationBotFrameworkAuthentication(_AuthConfiguration(settings), **auth_overrides)
        except Exception as error:  # noqa: BLE001 - botbuilder raises bare Exception for missing properties
            raise SettingsError(f"bot authentication settings are incomplete: {error}") from None
        adapter = CloudAdapterBase(authentication)
        references = ConversationReferenceRepository(account)
        requests = RequestRepository(account)
        decisions = DecisionRepository(account)
        approvers = approvers or (service.approvers if service else _approver_directory(settings))
        if service is None:
            devices = IntuneDevices(lambda: open_graph_client(GraphSettings.from_env()))
            service = RequestService(
                requests, decisions, AuditLog(account), approvers, WingetPackageCatalog(catalog), devices
            )
        notifier = ProactiveNotifier(adapter, settings, references)
        requester_cards = RequesterCardRepository(account)
        dispatch = ApprovalDispatch(
            notifier, approvers, ApprovalCardRepository(account), requester_cards, references, decisions, names
        )
        services = BotServices(
            settings=settings,
            references=references,
            requests=requests,
            decisions=decisions,
            approvers=approvers,
            service=service,
            notifier=notifier,
            dispatch=dispatch,
            requester_cards=requester_cards,
            catalog=catalog,
            names=names,
        )
        return cls(settings, authentication, adapter, ApprovalBot(services), services)


def _approver_directory(settings: BotSettings) -> ApproverDirectory:
    return approver_directory(
        settings.approver_oids, settings.approver_group_ids, settings.approver_group_cache_seconds
    )


log = logging.getLogger("greenlight.bot.runtime")

_runtime: BotRuntime | None = None
_lock = threading.Lock()


def get_runtime() -> BotRuntime:
    """The process-wide runtime from the environment; raises SettingsError when the bot is misconfigured."""
    global _runtime
    with _lock:
        if _runtime is None:
            import services  # the composition root: one application layer and approver directory per process

            shared = services.get()
            _runtime = BotRuntime.build(
                BotSettings.from_env(), shared.account, service=shared.service, names=shared.names
            )
        return _runtime


def teams_notifier() -> Notifier:
    """The bot's ApprovalDispatch as the workflow's notifier; a silent one (logged) when the bot is not configured."""
    import services

    try:
        return get_runtime().services.dispatch
    except SettingsError as error:
        log.error("bot is not configured (%s); requests go on without Teams notifications", error)
        return services.SilentNotifier()


def set_runtime(runtime: BotRuntime | None) -> None:
    """Install a runtime built by a test (or clear it)."""
    global _runtime
    with _lock:
        _runtime = runtime
