"""The seams of the application layer: storage (real repositories or in-memory fakes in unit tests), the
verified catalog, the device directory and whoever tells people (the Teams bot implements `Notifier`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from greenlight.models import Decision, Request, Versioned

if TYPE_CHECKING:
    from greenlight.requests.progress import Progress


class RequestStore(Protocol):
    def create(self, request: Request) -> Versioned[Request]: ...

    def get(self, tenant_id: str, request_id: str) -> Versioned[Request]: ...

    def modify(
        self, tenant_id: str, request_id: str, change: Callable[[Request], Request | None], attempts: int = 5
    ) -> Versioned[Request]: ...


class DecisionStore(Protocol):
    """Insert-only (first writer wins): one row per approver per stage, and one per settled stage."""

    def record(self, decision: Decision) -> Decision: ...

    def settle(self, decision: Decision) -> Decision: ...

    def get(self, request_id: str, stage: int) -> Decision | None:
        """The decision that settled the stage, or None while it is open."""
        ...

    def of_approver(self, request_id: str, stage: int, approver_oid: str) -> Decision | None: ...

    def for_stage(self, request_id: str, stage: int) -> list[Decision]: ...


class AuditTrail(Protocol):
    def append_once(
        self,
        event_key: str,
        occurred_at: dt.datetime,
        actor: str,
        action: str,
        entity: str,
        details: dict[str, Any] | None = None,
    ) -> bool: ...


@dataclass(frozen=True)
class ResolvedPackage:
    package_id: str  # as the catalog spells it
    version: str  # the version that will be published (the latest when none was asked for)
    name: str


class PackageCatalog(Protocol):
    def resolve(self, package_id: str, version: str | None) -> ResolvedPackage:
        """The package in the verified catalog; UnknownPackage or CatalogUnavailable otherwise."""
        ...


class DeviceDirectory(Protocol):
    async def architecture_of(self, tenant_id: str, user_oid: str) -> str:
        """The architecture to publish for this user's devices (never raises: a fallback is a valid answer)."""
        ...


class Notifier(Protocol):
    async def send_approval_cards(self, request: Request) -> list[str]:
        """An approval card to each approver of the current stage (and, once escalated, each escalation
        approver) who has none for this stage yet; returns who has one now."""
        ...

    async def send_reminders(self, request: Request, approvers: list[str]) -> list[str]:
        """A reminder (a fresh approval card) to these approvers of the current stage; returns who got one."""
        ...

    async def show_decision(self, request: Request, decision: Decision) -> int:
        """Every card of the decided stage and the requester's card show the decision; returns cards updated."""
        ...

    async def show_status(self, request: Request, progress: Progress | None) -> bool:
        """The requester's card shows the request's status (and progress); a closed request's approval cards
        lose their buttons. False when there was nothing to update."""
        ...
