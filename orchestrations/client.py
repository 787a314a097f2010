"""`DurableWorkflow`: greenlight's `Workflow` over the Durable Functions client the host binds into a function.

The doors declare `@blueprint.durable_client_input(client_name="client")` and wrap what they get:
`DurableWorkflow(client)`. Starting is idempotent: an instance that exists (in any state) is left alone, because
`start_new` would silently replace it. Raising to an instance that does not exist yet (its start failed
earlier) starts it first; raising to a finished instance is dropped (the event is stale by definition).
"""

from __future__ import annotations

import logging
from typing import Any

from greenlight import telemetry
from greenlight.requests.errors import WorkflowUnavailable
from greenlight.requests.workflow import CANCEL_EVENT, DECISION_EVENT, ORCHESTRATOR, instance_id_for

log = logging.getLogger("greenlight.workflow")


class DurableWorkflow:
    def __init__(self, client: Any) -> None:
        self._client = client  # azure.durable_functions.DurableOrchestrationClient

    async def _exists(self, instance_id: str) -> bool:
        status = await self._client.get_status(instance_id)
        return status is not None and status.runtime_status is not None

    async def start(self, tenant_id: str, request_id: str) -> None:
        instance_id = instance_id_for(request_id)
        try:
            if await self._exists(instance_id):
                return
            telemetry.set_request_id(request_id)  # the HTTP span (when there is one) and what follows carry it
            start = {"tenant_id": tenant_id, "request_id": request_id, "trace": telemetry.inject()}
            await self._client.start_new(ORCHESTRATOR, instance_id, start)
        except Exception as error:  # the SDK raises bare Exception for every HTTP outcome
            raise WorkflowUnavailable(f"workflow {instance_id} could not be started: {error}") from error

    async def _raise(self, tenant_id: str, request_id: str, event: str, data: dict[str, Any]) -> None:
        instance_id = instance_id_for(request_id)
        for attempt in (1, 2):
            try:
                await self._client.raise_event(instance_id, event, data)
                return
            except Exception as error:
                message = str(error)
                if "is gone" in message:
                    log.info("%s for %s dropped: the workflow has finished", event, instance_id)
                    return
                if "No instance" in message and attempt == 1:
                    await self.start(tenant_id, request_id)
                    continue
                raise WorkflowUnavailable(f"{event} could not be raised to {instance_id}: {error}") from error

    async def raise_decision(self, tenant_id: str, request_id: str, stage: int) -> None:
        await self._raise(tenant_id, request_id, DECISION_EVENT, {"stage": stage})

    async def raise_cancel(self, tenant_id: str, request_id: str) -> None:
        await self._raise(tenant_id, request_id, CANCEL_EVENT, {})
