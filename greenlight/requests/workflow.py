"""How the application layer starts and signals the request workflow, without knowing it is Durable Functions.

The doors (HTTP routes, /api/messages) get a durable client from the Functions host and wrap it in an adapter
(`orchestrations.client.DurableWorkflow`); tests may hand in anything with these three methods.
"""

from __future__ import annotations

from typing import Protocol

ORCHESTRATOR = "request_orchestrator"
DECISION_EVENT = "Decision"
CANCEL_EVENT = "Cancel"


def instance_id_for(request_id: str) -> str:
    return f"req-{request_id}"


class Workflow(Protocol):
    async def start(self, tenant_id: str, request_id: str) -> None:
        """Start the request's workflow; an instance that already exists is left as it is."""
        ...

    async def raise_decision(self, tenant_id: str, request_id: str, stage: int) -> None:
        """Tell the workflow a decision was recorded for `stage` (it reads the decision from storage)."""
        ...

    async def raise_cancel(self, tenant_id: str, request_id: str) -> None: ...
