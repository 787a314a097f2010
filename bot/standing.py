"""Cards' view of where a request stands (`StageView`), with people's names: the name in their conversation
reference (everyone who has talked to the bot), else their display name in the directory (someone who only
installed the bot, or never met it), else a short id."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Protocol

from bot.cards.stage import StageView
from greenlight.models import Request, RequestStatus
from greenlight.requests import stages
from greenlight.storage import ConversationReferenceRepository, DecisionRepository

log = logging.getLogger("greenlight.bot.standing")


class DisplayNames(Protocol):
    """The directory's names (greenlight.policy.directory.DirectoryNames): never raises, leaves out the unknown."""

    async def display_names(self, user_ids: Iterable[str]) -> dict[str, str]: ...


async def names_of(
    references: ConversationReferenceRepository,
    tenant_id: str,
    oids: Iterable[str],
    directory: DisplayNames | None = None,
) -> dict[str, str]:
    async def stored_name(oid: str) -> tuple[str, str | None]:
        try:
            stored = await asyncio.to_thread(references.get, tenant_id, oid)
        except Exception:  # noqa: BLE001 - a name is a nicety; the card still goes out
            stored = None
        return oid, (stored.user_name if stored is not None and stored.user_name else None)

    stored = dict(await asyncio.gather(*(stored_name(o) for o in dict.fromkeys(oids))))
    unnamed = [oid for oid, name in stored.items() if name is None]
    found: dict[str, str] = {}
    if directory is not None and unnamed:
        try:
            found = await directory.display_names(unnamed)
        except Exception as error:  # noqa: BLE001 - DirectoryNames never raises; another must not stop a card
            log.warning("directory names of %d people not read (%s)", len(unnamed), type(error).__name__)
    return {oid: name or found.get(oid) or f"user {oid[:8]}" for oid, name in stored.items()}


async def stage_view(
    request: Request,
    decisions: DecisionRepository,
    references: ConversationReferenceRepository,
    directory: DisplayNames | None = None,
) -> StageView | None:
    """The current stage of a pending request with a plan, with whom it waits on; None otherwise."""
    if request.status is not RequestStatus.PENDING_APPROVAL or request.plan is None:
        return None
    decided = await asyncio.to_thread(decisions.for_stage, request.request_id, request.stage)
    standing = stages.standing(request, decided)
    if standing is None:
        return None
    known = await names_of(references, request.tenant_id, standing.asked, directory)
    return StageView(
        standing.label,
        standing.rule.value,
        tuple(known[o] for o in standing.waiting_on),
        tuple(known[o] for o in standing.asked),
        standing.escalated,
    )


def stage_label(request: Request, position: int) -> str | None:
    """ "Stage 1 of 2: Manager" when the plan has several stages (a one-stage request needs no label)."""
    plan_stages = stages.stages_of(request)
    if len(plan_stages) < 2 or not 0 <= position < len(plan_stages):
        return None
    return f"Stage {position + 1} of {len(plan_stages)} ({plan_stages[position].name})"


def next_step_note(request: Request, position: int) -> str | None:
    """After an earlier stage's approval: which stage comes next."""
    plan_stages = stages.stages_of(request)
    if position + 1 < len(plan_stages):
        return f"Next: stage {position + 2} of {len(plan_stages)} ({plan_stages[position + 1].name})."
    return None
