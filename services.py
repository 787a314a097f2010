"""The composition root: the process-wide services, built once from settings, for the bot, the API and the
activities. `greenlight/` never imports a door; this module (outside `greenlight/`) wires them together.

    import services
    s = services.get()
    await s.service.submit_request(command, workflow)       # application layer (greenlight.requests)
    await s.steps.set_status(...)                           # workflow steps (activities)
    s.notifier                                              # who tells people (function_app.py names the Teams bot)
    s.progress_for(tenant_id, request_id)                   # a ProgressSink for the publish side
    s.publishing                                            # greenlight.publishing (the publish activities)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from greenlight.models import Decision, Request
from greenlight.policy.directory import DirectoryCache, DirectoryNames
from greenlight.policy.service import PolicyService
from greenlight.publishing import PublishingService
from greenlight.requests import RequestProgress, RequestService, RequestSteps
from greenlight.requests.approvers import ApproverDirectory, approver_directory
from greenlight.requests.catalog import WingetPackageCatalog
from greenlight.requests.devices import IntuneDevices
from greenlight.requests.ports import DeviceDirectory, Notifier, PackageCatalog
from greenlight.requests.progress import Progress, ProgressSink
from greenlight.settings import EnvReader
from greenlight.storage import (
    ApprovalCardRepository,
    AuditLog,
    DecisionRepository,
    PolicyRepository,
    RequesterCardRepository,
    RequestRepository,
    StorageAccount,
    StorageSettings,
)

log = logging.getLogger("greenlight.services")


class SilentNotifier:
    """Used when the bot is not configured: the workflow goes on, nobody is told (logged once per call)."""

    async def send_approval_cards(self, request: Request) -> list[str]:
        log.warning("bot not configured: no approval cards for %s", request.request_id)
        return []

    async def send_reminders(self, request: Request, approvers: list[str]) -> list[str]:
        return []

    async def show_decision(self, request: Request, decision: Decision) -> int:
        return 0

    async def show_status(self, request: Request, progress: Progress | None) -> bool:
        return False


_default_notifier: Callable[[], Notifier] = SilentNotifier


def use_notifier(factory: Callable[[], Notifier]) -> None:
    """Who tells people: the entry point (function_app.py) names the Teams bot's notifier. This module imports no
    door, so the bot can use the composition root without a circle."""
    global _default_notifier
    _default_notifier = factory


def default_notifier() -> Notifier:
    return _default_notifier()


@dataclass
class Services:
    account: StorageAccount
    requests: RequestRepository
    decisions: DecisionRepository
    audit: AuditLog
    approval_cards: ApprovalCardRepository
    requester_cards: RequesterCardRepository
    approvers: ApproverDirectory
    catalog: PackageCatalog
    devices: DeviceDirectory
    service: RequestService
    steps: RequestSteps
    policies: PolicyService
    names: DirectoryNames  # people's display names from the directory (the bot's stage lines)
    notifier_factory: Callable[[], Notifier] = default_notifier
    _notifier: Notifier | None = field(default=None, repr=False)
    _publishing: PublishingService | None = field(default=None, repr=False)

    @property
    def notifier(self) -> Notifier:
        if self._notifier is None:
            self._notifier = self.notifier_factory()
        return self._notifier

    @property
    def publishing(self) -> PublishingService:
        """Built on first use: Graph settings are read when a publication first needs them, not at start."""
        if self._publishing is None:
            self._publishing = PublishingService.from_env(self.account, progress_for=self.progress_for)
        return self._publishing

    def progress_for(self, tenant_id: str, request_id: str) -> ProgressSink:
        """A throttled ProgressSink for one request: its row's progress and its requester's card."""
        return RequestProgress(self.requests, self.notifier, tenant_id, request_id)


def build(
    env: Mapping[str, str] | None = None,
    *,
    account: StorageAccount | None = None,
    catalog: PackageCatalog | None = None,
    devices: DeviceDirectory | None = None,
    approvers: ApproverDirectory | None = None,
    notifier: Callable[[], Notifier] | None = None,
    policies: PolicyService | None = None,
    names: DirectoryNames | None = None,
) -> Services:
    """Everything from the environment (`env` or os.environ); the keyword arguments replace one part (tests)."""
    reader = EnvReader(env)
    account = account or StorageAccount.from_settings(StorageSettings.from_env(env))
    requests, decisions, audit = RequestRepository(account), DecisionRepository(account), AuditLog(account)
    approver_oids = frozenset(o.lower() for o in reader.string_list("GREENLIGHT_APPROVER_OIDS"))
    approver_groups = reader.string_list("GREENLIGHT_APPROVER_GROUP_IDS")
    cache_seconds = reader.integer("GREENLIGHT_APPROVER_GROUP_CACHE_SECONDS", 300, minimum=10, maximum=86_400)
    approvers = approvers or approver_directory(approver_oids, approver_groups, cache_seconds)
    policies = policies or PolicyService(
        PolicyRepository(account),
        _graph_factory(env),
        DirectoryCache(cache_seconds),
        sorted(approver_oids),
        approver_groups,
    )
    names = names or DirectoryNames(_graph_factory(env), DirectoryCache(cache_seconds))
    catalog = catalog or WingetPackageCatalog()
    devices = devices or IntuneDevices(_graph_factory(env))
    holder: dict[str, Any] = {}
    services = Services(
        account=account,
        requests=requests,
        decisions=decisions,
        audit=audit,
        approval_cards=ApprovalCardRepository(account),
        requester_cards=RequesterCardRepository(account),
        approvers=approvers,
        catalog=catalog,
        devices=devices,
        service=RequestService(requests, decisions, audit, approvers, catalog, devices, policies=policies),
        steps=RequestSteps(requests, decisions, audit, lambda: holder["services"].notifier, policies),
        policies=policies,
        names=names,
        notifier_factory=notifier or default_notifier,
    )
    holder["services"] = services
    return services


def _graph_factory(env: Mapping[str, str] | None):
    def graph():  # Graph settings are read when a lookup first needs them, not at start
        from greenlight.graph.client import open_graph_client
        from greenlight.graph.settings import GraphSettings

        return open_graph_client(GraphSettings.from_env(env))

    return graph


_services: Services | None = None
_lock = threading.Lock()


def get() -> Services:
    """The process-wide services; raises SettingsError when storage is not configured."""
    global _services
    with _lock:
        if _services is None:
            _services = build()
        return _services


def installed() -> Services | None:
    """What get() would return without building anything (tests restore it)."""
    return _services


def set_services(services: Services | None) -> None:
    """Install services built by a test (or forget them)."""
    global _services
    with _lock:
        _services = services
