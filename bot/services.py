"""Everything the activity handler needs, built once per process (see bot.runtime)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.approvals import ApprovalService
from bot.approvers import ApproverDirectory
from bot.catalog import CatalogFactory
from bot.dispatch import ApprovalDispatch
from bot.notifier import ProactiveNotifier
from bot.request_cards import RequesterCardRepository
from bot.request_intake import RequestIntake
from bot.settings import BotSettings
from greenlight.storage import ConversationReferenceRepository, DecisionRepository, RequestRepository


@dataclass(frozen=True)
class BotServices:
    settings: BotSettings
    references: ConversationReferenceRepository
    requests: RequestRepository
    decisions: DecisionRepository
    approvers: ApproverDirectory
    approvals: ApprovalService
    intake: RequestIntake
    notifier: ProactiveNotifier
    dispatch: ApprovalDispatch
    requester_cards: RequesterCardRepository
    catalog: CatalogFactory
