"""The request workflow as the handler reaches it: `/api/messages` puts the durable client (wrapped as greenlight's
Workflow) in the turn state under WORKFLOW_KEY; a turn without one fails retryably instead of dropping the work."""

from __future__ import annotations

from typing import Any

from botbuilder.core import TurnContext

from greenlight.requests import WorkflowUnavailable

WORKFLOW_KEY = "greenlight.workflow"


class _NoWorkflowBound:
    async def start(self, tenant_id: str, request_id: str) -> None:
        raise WorkflowUnavailable("no workflow client in this turn")

    async def raise_decision(self, tenant_id: str, request_id: str, stage: int) -> None:
        raise WorkflowUnavailable("no workflow client in this turn")

    async def raise_cancel(self, tenant_id: str, request_id: str) -> None:
        raise WorkflowUnavailable("no workflow client in this turn")


def workflow_of(turn_context: TurnContext) -> Any:
    return turn_context.turn_state.get(WORKFLOW_KEY) or _NoWorkflowBound()
