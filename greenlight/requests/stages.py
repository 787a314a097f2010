"""Where a request stands in its approval plan, and how a stage is settled — shared by both doors and the workflow.

The plan (greenlight.policy ApprovalPlan JSON) is kept on the request row with the current stage's position
(`request.stage`) and whether it was escalated, so a click is checked against the current stage without
re-planning. A stage is settled by `StageBook.settle`: from the approvers' rows it decides with
`greenlight.policy.stage_outcome`, then inserts the stage's outcome row (insert-only: whoever settles first wins,
so two approvers clicking at once under rule `any` cannot both decide the stage).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from greenlight.models import Decision, Request, Verdict
from greenlight.policy import Rule, StagePlan, stage_outcome
from greenlight.requests.ports import DecisionStore
from greenlight.storage.errors import AlreadyDecided


def stages_of(request: Request) -> tuple[StagePlan, ...]:
    if not request.plan:
        return ()
    return tuple(StagePlan.from_json(s) for s in request.plan.get("stages", ()))


def stage_at(request: Request, index: int) -> StagePlan | None:
    stages = stages_of(request)
    return stages[index] if 0 <= index < len(stages) else None


def escalation_of(request: Request) -> tuple[str, ...]:
    return tuple((request.plan or {}).get("escalation", ()))


def deciders(request: Request, stage: StagePlan, *, escalated: bool | None = None) -> tuple[str, ...]:
    """Who may decide `stage`: its approvers, plus the escalation approvers once it is escalated (the requester
    never: a plan leaves them out, and this is checked again)."""
    escalated = request.escalated if escalated is None else escalated
    people = list(stage.approvers)
    if escalated and stage.index == _current_index(request):
        people += [oid for oid in escalation_of(request) if oid not in people]
    return tuple(oid for oid in people if oid != request.requester_oid.lower())


def _current_index(request: Request) -> int:
    current = stage_at(request, request.stage)
    return current.index if current is not None else -1


def is_last_stage(request: Request, position: int) -> bool:
    return position >= len(stages_of(request)) - 1


@dataclass(frozen=True)
class Standing:
    """Where a pending request stands: the current stage (1-based for people) and whom it waits on."""

    number: int
    count: int
    name: str
    rule: Rule
    asked: tuple[str, ...]  # everyone who may decide the stage now
    waiting_on: tuple[str, ...]  # those of them who have not answered
    escalated: bool

    @property
    def label(self) -> str:
        return f"Stage {self.number} of {self.count}: {self.name}"


def standing(request: Request, decisions: Sequence[Decision]) -> Standing | None:
    """The current stage of a request with a plan (None without one); `decisions` are the current stage's."""
    stage = stage_at(request, request.stage)
    if stage is None:
        return None
    asked = deciders(request, stage)
    answered = {d.approver_oid.lower() for d in decisions if d.stage == request.stage}
    waiting = tuple(oid for oid in asked if oid not in answered)
    return Standing(
        request.stage + 1, len(stages_of(request)), stage.name, stage.rule, asked, waiting, request.escalated
    )


def deciding_decision(
    request: Request, stage: StagePlan, position: int, decisions: Sequence[Decision]
) -> Decision | None:
    """The decision that settles the stage, or None while it is pending (`decisions` oldest first)."""
    allowed = set(deciders(request, stage, escalated=request.escalated))
    counted = [d for d in decisions if d.approver_oid.lower() in allowed and d.stage == position]
    verdicts: dict[str, Verdict] = {}
    for d in counted:
        verdicts.setdefault(d.approver_oid.lower(), d.verdict)  # an approver's first decision is theirs
    outcome = stage_outcome(stage, verdicts, escalation=escalation_of(request), escalated=request.escalated)
    if outcome == "pending":
        return None
    if outcome == "rejected":
        return next(d for d in counted if d.verdict is Verdict.REJECTED)
    approvals = [d for d in counted if d.verdict is Verdict.APPROVED]
    return approvals[0] if stage.rule is Rule.ANY else approvals[-1]


class StageBook:
    """Settling stages over the Decisions store (blocking calls run in a worker thread)."""

    def __init__(self, decisions: DecisionStore) -> None:
        self.decisions = decisions

    async def settled(self, request_id: str, position: int) -> Decision | None:
        return await asyncio.to_thread(self.decisions.get, request_id, position)

    async def for_stage(self, request_id: str, position: int) -> list[Decision]:
        return await asyncio.to_thread(self.decisions.for_stage, request_id, position)

    async def settle(self, request: Request, position: int, stage: StagePlan) -> Decision | None:
        """The stage's outcome row, written now if the approvers' decisions settle it; None while pending."""
        existing = await self.settled(request.request_id, position)
        if existing is not None:
            return existing
        deciding = deciding_decision(request, stage, position, await self.for_stage(request.request_id, position))
        if deciding is None:
            return None
        try:
            return await asyncio.to_thread(self.decisions.settle, deciding)
        except AlreadyDecided as lost:
            return lost.existing
