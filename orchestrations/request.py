"""`request_orchestrator`: one instance per request (`req-{request_id}`), reading like the process.

approval cards out → wait for a decision (or a cancel), re-arming a timer of at most 6 days (no expiry policy
yet) → on approval: claim the publication, publish it (sub-orchestration) or wait for the one in flight, grant
access → the request is Completed, or Failed with a reason. Deterministic: no I/O, clock or environment here;
the activities (orchestrations/request_activities.py) call greenlight.requests.RequestSteps.

Decisions are recorded (insert-only, first writer wins) before the `Decision` event is raised, and the event
carries only the stage: the orchestrator reads the decision through `decision_of`, and ignores an event for
another stage or one that arrives when it no longer waits, so a replayed or duplicated event cannot decide twice.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import azure.durable_functions as df

from greenlight.requests.workflow import CANCEL_EVENT, DECISION_EVENT
from orchestrations import blueprint

APPROVAL_TIMER = timedelta(days=6)  # each durable timer stays ≤ 6 days (azure-functions-durable-python #573)
PUBLICATION_POLL = timedelta(seconds=15)


def progress(stage: str, percent: int | None, message: str) -> dict[str, Any]:
    return {"stage": stage, "percent": percent, "message": message}


@blueprint.orchestration_trigger(context_name="context")
def request_orchestrator(context: df.DurableOrchestrationContext):
    ref = context.get_input()  # {"tenant_id", "request_id"}
    context.set_custom_status(progress("Approval", 10, "Waiting for an approver"))
    opened = yield context.call_activity("open_for_approval", ref)
    verdict = yield from wait_for_decision(context, ref, opened)
    if verdict == "cancelled":
        context.set_custom_status(progress("Cancelled", None, "The request was cancelled"))
        return "Cancelled"
    if verdict != "approved":
        context.set_custom_status(progress("Rejected" if verdict == "rejected" else verdict, None, "Not approved"))
        return "Rejected" if verdict == "rejected" else verdict

    # Percents only grow on the requester's card: publishing's own stages start at 10 (Verifying).
    step = progress("Publishing", 10, "Approved; preparing the package")
    context.set_custom_status(step)
    moved = yield context.call_activity("set_request_status", {**ref, "status": "Publishing", "progress": step})
    if not moved["ok"]:  # cancelled in the meantime: the row decides, and everyone is told
        if moved["status"] == "Cancelled":
            yield context.call_activity("set_request_status", {**ref, "status": "Cancelled"})
        return moved["status"]
    try:
        result = yield from publish(context, ref)
        if result.get("ok"):
            return (yield from grant_and_complete(context, ref, result))
    except Exception as error:  # noqa: BLE001 - an activity failed unexpectedly: the request fails, with a reason
        first_line = (str(error).strip().splitlines() or ["an unexpected error"])[0]
        result = {"ok": False, "error": {"code": "publish_error", "message": first_line[:300]}}
    error = result.get("error") or {"code": "publish_error", "message": "Publishing failed"}
    context.set_custom_status(progress("Failed", None, error["message"]))
    yield context.call_activity("set_request_status", {**ref, "status": "Failed", "error": error})
    return "Failed"


def grant_and_complete(context: df.DurableOrchestrationContext, ref: dict[str, Any], published: dict[str, Any]):
    step = progress("Assigning", 95, "Published; giving you access")
    context.set_custom_status(step)
    yield context.call_activity(
        "set_request_status", {**ref, "status": "Published", "app_id": published["app_id"], "progress": step}
    )
    yield context.call_activity("grant_access", {**ref, "group_id": published["group_id"]})
    step = progress("Done", 100, "On its way to your devices")
    context.set_custom_status(step)
    yield context.call_activity(
        "set_request_status", {**ref, "status": "Completed", "app_id": published["app_id"], "progress": step}
    )
    return "Completed"


def wait_for_decision(context: df.DurableOrchestrationContext, ref: dict[str, Any], opened: dict[str, Any]):
    """'approved', 'rejected', 'cancelled', or the status the request already had (e.g. Failed)."""
    stage = opened["stage"]
    if opened["status"] in ("Approved", "Rejected"):  # decided before the workflow got here
        outcome = yield context.call_activity("decision_of", {**ref, "stage": stage})
        return outcome["verdict"] or outcome["status"]
    if opened["status"] == "Cancelled":
        return "cancelled"
    if opened["status"] != "PendingApproval":
        return opened["status"]
    decision = context.wait_for_external_event(DECISION_EVENT)
    cancel = context.wait_for_external_event(CANCEL_EVENT)
    while True:
        timer = context.create_timer(context.current_utc_datetime + APPROVAL_TIMER)
        winner = yield context.task_any([decision, cancel, timer])
        if winner is not timer:
            timer.cancel()
        if winner is cancel:
            status = yield context.call_activity("request_status", ref)
            if status == "Cancelled":
                yield context.call_activity("set_request_status", {**ref, "status": "Cancelled"})
                return "cancelled"
            cancel = context.wait_for_external_event(CANCEL_EVENT)  # stale: the row is not cancelled
            continue
        if winner is decision and event_data(decision.result).get("stage") != stage:
            decision = context.wait_for_external_event(DECISION_EVENT)  # stale: another stage's event
            continue
        # A decision event, or the timer (a safety net should an event have been lost): read the decision.
        outcome = yield context.call_activity("decision_of", {**ref, "stage": stage})
        if outcome["verdict"]:
            return outcome["verdict"]
        if outcome["status"] == "Cancelled":
            return "cancelled"
        if winner is decision:
            decision = context.wait_for_external_event(DECISION_EVENT)


def event_data(result: Any) -> dict[str, Any]:
    """An external event's payload: the SDK hands it over as JSON text or as the parsed value."""
    if isinstance(result, str):
        try:
            result = json.loads(result)
        except ValueError:
            return {}
    return result if isinstance(result, dict) else {}


def publish(context: df.DurableOrchestrationContext, ref: dict[str, Any]):
    """{"ok": True, "app_id", "group_id"} or {"ok": False, "error": {"code", "message"}} (CONTRACT.md)."""
    claim = yield context.call_activity("claim_publication", ref)
    if claim["outcome"] == "published":
        return {"ok": True, "app_id": claim["app_id"], "group_id": claim["group_id"]}
    if claim["outcome"] == "owner":
        return (yield context.call_sub_orchestrator("publish_orchestrator", claim["input"], claim["instance_id"]))
    while True:  # "waiting": another request's publication of the same package is in flight
        yield context.create_timer(context.current_utc_datetime + PUBLICATION_POLL)
        state = yield context.call_activity("publication_state", {"publication_id": claim["publication_id"]})
        if state["state"] == "published":
            return {"ok": True, "app_id": state["app_id"], "group_id": state["group_id"]}
        if state["state"] == "failed":
            return {"ok": False, "error": state.get("error") or {"code": "publish_failed", "message": "failed"}}
