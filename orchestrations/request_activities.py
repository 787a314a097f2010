"""The request workflow's activities: thin calls into greenlight.requests.RequestSteps via the composition root."""

from __future__ import annotations

import asyncio
from typing import Any

from greenlight import telemetry
from greenlight.models import RequestStatus
from greenlight.requests.progress import Progress
from orchestrations import blueprint


def _traced(name: str, payload: dict[str, Any]):
    """This activity's span, joined to the trace of the request that started the workflow (its `trace` carrier)."""
    return telemetry.activity_span(name, payload.get("trace"))


def _steps():
    import services  # the composition root (top level); imported late so importing the blueprint stays cheap

    return services.get().steps


@blueprint.activity_trigger(input_name="ref")
async def plan_approval(ref: dict[str, Any]) -> dict[str, Any]:
    with _traced("plan_approval", ref):
        return await _steps().plan_approval(ref["tenant_id"], ref["request_id"])  # DirectoryUnavailable: retried


@blueprint.activity_trigger(input_name="ref")
async def open_stage(ref: dict[str, Any]) -> dict[str, Any]:
    with _traced("open_stage", ref):
        return await _steps().open_stage(ref["tenant_id"], ref["request_id"], int(ref["stage"]))


@blueprint.activity_trigger(input_name="ref")
async def remind_stage(ref: dict[str, Any]) -> dict[str, Any]:
    with _traced("remind_stage", ref):
        return await _steps().remind(ref["tenant_id"], ref["request_id"], int(ref["stage"]))


@blueprint.activity_trigger(input_name="ref")
async def escalate_stage(ref: dict[str, Any]) -> dict[str, Any]:
    with _traced("escalate_stage", ref):
        return await _steps().escalate(ref["tenant_id"], ref["request_id"], int(ref["stage"]))


@blueprint.activity_trigger(input_name="ref")
async def auto_approve(ref: dict[str, Any]) -> dict[str, Any]:
    with _traced("auto_approve", ref):
        return await _steps().auto_approve(ref["tenant_id"], ref["request_id"], str(ref.get("reason", "")))


@blueprint.activity_trigger(input_name="ref")
async def decision_of(ref: dict[str, Any]) -> dict[str, Any]:
    with _traced("decision_of", ref):
        return await _steps().decision_of(ref["tenant_id"], ref["request_id"], int(ref["stage"]))


@blueprint.activity_trigger(input_name="ref")
async def request_status(ref: dict[str, Any]) -> str:
    with _traced("request_status", ref):
        steps = _steps()
        current = await asyncio.to_thread(steps.requests.get, ref["tenant_id"], ref["request_id"])
        return str(current.value.status)


@blueprint.activity_trigger(input_name="change")
async def set_request_status(change: dict[str, Any]) -> dict[str, Any]:
    with _traced("set_request_status", change):
        return await _steps().set_status(
            change["tenant_id"],
            change["request_id"],
            RequestStatus(change["status"]),
            progress=Progress.from_dict(change.get("progress")),
            app_id=change.get("app_id"),
            error=change.get("error"),
        )
