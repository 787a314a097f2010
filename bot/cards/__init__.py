"""Adaptive Card builders: pure functions returning card dicts (version 1.5), no botbuilder.

Every card keeps user-supplied text short (`clip`) so the serialized card stays under the 28 KB budget
(`common.CARD_BUDGET_BYTES`); tests validate each builder against the official 1.5 schema.
"""

from bot.cards.approval import approval_card, decided_card
from bot.cards.common import CARD_BUDGET_BYTES, CARD_CONTENT_TYPE, CardTooLarge, card_size, ensure_within_budget
from bot.cards.request import request_form_card
from bot.cards.search import search_results_card
from bot.cards.status import Progress, request_list_card, request_status_card

__all__ = [
    "CARD_BUDGET_BYTES",
    "CARD_CONTENT_TYPE",
    "CardTooLarge",
    "Progress",
    "approval_card",
    "card_size",
    "decided_card",
    "ensure_within_budget",
    "request_form_card",
    "request_list_card",
    "request_status_card",
    "search_results_card",
]
