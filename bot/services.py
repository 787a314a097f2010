"""Everything the activity handler needs, built once per process (see bot.runtime)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.catalog import CatalogFactory
from bot.dispatch import ApprovalDispatch
from bot.notifier import ProactiveNotifier
from bot.settings import BotSettings
from bot.standing import DisplayNames
from greenlight.requests import RequestService
from greenlight.requests.approvers import ApproverDirectory
from greenlight.storage import (
    ConversationReferenceRepository,
    DecisionRepository,
    RequesterCardRepository,
    RequestRepository,
)


@dataclass(frozen=True)
class BotServices:
    settings: BotSettings
    references: ConversationReferenceRepository
    requests: RequestRepository
    decisions: DecisionRepository
    approvers: ApproverDirectory
    service: RequestService  # submit / decide / cancel: the same application layer the API calls
    notifier: ProactiveNotifier
    dispatch: ApprovalDispatch  # implements greenlight.requests.ports.Notifier for the workflow
    requester_cards: RequesterCardRepository
    catalog: CatalogFactory
    names: DisplayNames | None = None  # the directory's names (stage lines); None: stored names only
