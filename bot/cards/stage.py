"""Where a request stands, as the cards show it: the current stage, whom it waits on, who else was asked.

`StageView` is built by the bot from greenlight.requests.stages.standing and the names it knows (the people's
conversation references); the card builders stay pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.cards.common import clip, text

MAX_NAMES = 8


@dataclass(frozen=True)
class StageView:
    label: str  # "Stage 1 of 2: Manager approval"
    rule: str  # "any" | "all"
    waiting_on: tuple[str, ...]  # names
    asked: tuple[str, ...]  # names of everyone asked in this stage
    escalated: bool = False


def names(people: Sequence[str]) -> str:
    shown = [clip(p, 60) for p in people[:MAX_NAMES]]
    more = len(people) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def rule_text(rule: str) -> str:
    return "all of them must approve" if rule == "all" else "any one of them decides"


def stage_lines(view: StageView, *, viewer_name: str | None = None) -> list[dict]:
    """The stage and its rule, whom it waits on; for an approver (`viewer_name`) who else was asked."""
    lines = [text(f"{clip(view.label, 120)} ({rule_text(view.rule)})", weight="Bolder", spacing="Medium")]
    if view.escalated:
        lines.append(text("Escalated: offered to the escalation approvers too.", color="Warning", size="Small"))
    if viewer_name is not None:
        others = [n for n in view.asked if n != viewer_name]
        lines.append(text(f"Also asked: {names(others)}" if others else "You are the only approver asked.",
                          size="Small", spacing="None"))  # fmt: skip
    if view.waiting_on:
        lines.append(text(f"Waiting on: {names(view.waiting_on)}", size="Small", spacing="None"))
    return lines
