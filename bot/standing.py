"""Cards' view of where a request stands (`StageView`), with people's names from their conversation references
(the bot knows the name of everyone who has talked to it; anyone else shows as a short id)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from bot.cards.stage import StageView
from greenlight.models import Request, RequestStatus
from greenlight.requests import stages
from greenlight.storage import ConversationReferenceRepository, DecisionRepository


async def names_of(references: ConversationReferenceRepository, tenant_id: str, oids: Iterable[str]) -> dict[str, str]:
    async def name(oid: str) -> tuple[str, str]:
        try:
            stored = await asyncio.to_thread(references.get, tenant_id, oid)
        except Exception:  # noqa: BLE001 - a name is a nicety; the card still goes out
            stored = None
        return oid, (stored.user_name if stored is not None and stored.user_name else f"user {oid[:8]}")

    return dict(await asyncio.gather(*(name(o) for o in dict.fromkeys(oids))))


async def stage_view(
    request: Request, decisions: DecisionRepository, references: ConversationReferenceRepository
) -> StageView | None:
    """The current stage of a pending request with a plan, with whom it waits on; None otherwise."""
    if request.status is not RequestStatus.PENDING_APPROVAL or request.plan is None:
        return None
    decided = await asyncio.to_thread(decisions.for_stage, request.request_id, request.stage)
    standing = stages.standing(request, decided)
    if standing is None:
        return None
    known = await names_of(references, request.tenant_id, standing.asked)
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
