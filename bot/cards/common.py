"""Shared card pieces: the card envelope, Universal Actions with their Action.Submit fallback, the size budget."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

Card = dict[str, Any]

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
CARD_VERSION = "1.5"
# The Teams connector limit for cards; bot messages may be larger, but a card that fits 28 KB fits everywhere.
CARD_BUDGET_BYTES = 28 * 1024


class CardTooLarge(ValueError):
    """A built card is larger than the budget; the builder should have clipped or paged its content."""


def adaptive_card(body: Sequence[Mapping[str, Any]], actions: Sequence[Mapping[str, Any]] = ()) -> Card:
    card: Card = {"type": "AdaptiveCard", "version": CARD_VERSION, "body": list(body)}
    if actions:
        card["actions"] = list(actions)
    card["msteams"] = {"width": "Full"}
    return ensure_within_budget(card)


def execute_action(title: str, verb: str, data: Mapping[str, Any], style: str | None = None) -> dict[str, Any]:
    """Action.Execute (Universal Actions) falling back to Action.Submit on clients older than 1.4.

    The fallback carries the verb in its data, so the message path (`value.verb`) can route it the same way.
    `data` holds identifiers only; the bot re-reads everything else from storage.
    """
    payload = {"verb": verb, **data}
    action: dict[str, Any] = {"type": "Action.Execute", "title": title, "verb": verb, "data": payload}
    fallback: dict[str, Any] = {"type": "Action.Submit", "title": title, "data": payload}
    if style:
        action["style"] = style
        fallback["style"] = style
    action["fallback"] = fallback
    return action


def text(value: str, **options: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": value, "wrap": True, **options}


def heading(value: str) -> dict[str, Any]:
    return text(value, size="Medium", weight="Bolder", style="heading")


def facts(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    return {"type": "FactSet", "facts": [{"title": title, "value": value} for title, value in pairs]}


def clip(value: str | None, limit: int) -> str:
    """User and catalog text is unbounded; a card is not. Keep `limit` characters and mark the cut."""
    value = (value or "").strip()
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def card_size(card: Mapping[str, Any]) -> int:
    return len(json.dumps(card, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def ensure_within_budget(card: Card) -> Card:
    size = card_size(card)
    if size > CARD_BUDGET_BYTES:
        raise CardTooLarge(f"card is {size} bytes, over the {CARD_BUDGET_BYTES}-byte budget")
    return card
