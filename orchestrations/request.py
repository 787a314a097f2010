"""`request_orchestrator`: one instance per request (`req-{request_id}`), reading like the process.

plan the approval (the request's policy; a directory outage is retried, and one that lasts fails the request,
never approves it) → auto-approved, or each stage in turn: its approval cards out, then wait for decisions (or a
cancel) raced against the stage's next wake-up — a reminder to whoever has not answered, the escalation, the
expiry — each single timer ≤ 6 days → on approval: claim the publication, publish it (sub-orchestration) or wait
for the one in flight, grant access → the request is Completed, or Failed with a reason. Deterministic: no I/O,
clock or environment here; the activities (orchestrations/request_activities.py) call
greenlight.requests.RequestSteps.

Decisions are recorded (insert-only, first writer wins) before the `Decision` event is raised, and the event
carries only the stage: the orchestrator reads the stage's outcome through `decision_of`, and ignores an event
for another stage or one that arrives when it no longer waits, so a replayed or duplicated event cannot decide
twice.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import azure.durable_functions as df

from greenlight.policy import MAX_TIMER, REFUSED_OUTCOMES, Timing, next_wakeup
from greenlight.requests.workflow import CANCEL_EVENT, DECISION_EVENT
from orchestrations import blueprint

APPROVAL_TIMER = MAX_TIMER  # each durable timer stays ≤ 6 days (azure-functions-durable-python #573)
PUBLICATION_POLL = timedelta(seconds=15)
# Planning reads the directory (Graph); an outage is retried for about a quarter of an hour, then the request fails.
PLAN_RETRY = df.RetryOptions(first_retry_interval_in_milliseconds=180_000, max_number_of_attempts=6)


def progress(stage: str, percent: int | None, message: str) -> dict[str, Any]:
    return {"stage": stage, "percent": percent, "message": message}


@blueprint.orchestration_trigger(context_name="context")
def request_orchestrator(context: df.DurableOrchestrationContext):
    ref = context.get_input()  # {"tenant_id", "request_id"}
    started = context.current_utc_datetime  # the expiry counts from here (deterministic on replay)
    context.set_custom_status(progress("Approval", 5, "Finding the approvers"))
    verdict = yield from approve(context, ref, started)
    if verdict == "cancelled":
        context.set_custom_status(progress("Cancelled", None, "The request was cancelled"))
        return "Cancelled"
    if verdict != "approved":
        return (yield from not_approved(context, ref, verdict))

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


def not_approved(context: df.DurableOrchestrationContext, ref: dict[str, Any], verdict: str):
    """Rejected and Expired end here; a plan that could not be made fails the request with its reason."""
    if verdict == "rejected":
        context.set_custom_status(progress("Rejected", None, "Not approved"))
        return "Rejected"
    if verdict == "expired":
        step = progress("Expired", None, "Nobody decided in time; request it again if you still need it")
        context.set_custom_status(step)
        yield context.call_activity("set_request_status", {**ref, "status": "Expired", "progress": step})
        return "Expired"
    if verdict.startswith("failed:"):
        code, _, message = verdict.removeprefix("failed:").partition(":")
        context.set_custom_status(progress("Failed", None, message))
        error = {"code": code, "message": message}
        yield context.call_activity("set_request_status", {**ref, "status": "Failed", "error": error})
        return "Failed"
    context.set_custom_status(progress(verdict, None, "Not approved"))
    return verdict


def approve(context: df.DurableOrchestrationContext, ref: dict[str, Any], started: datetime):
    """'approved', 'rejected', 'expired', 'cancelled', 'failed:{code}:{message}', or the status the request
    already had (e.g. Cancelled before anything ran)."""
    try:
        plan = yield context.call_activity_with_retry("plan_approval", PLAN_RETRY, ref)
    except Exception:  # noqa: BLE001 - the directory stayed unreachable: fail closed, never approve
        return "failed:directory_unavailable:The approvers could not be looked up (directory unavailable); retry"
    if plan["outcome"] == "closed":
        return "cancelled" if plan["status"] == "Cancelled" else plan["status"]
    if plan["outcome"] in REFUSED_OUTCOMES:  # blocked, no_approvers, too_many_approvers: the reason says which
        return f"failed:{plan['outcome']}:{plan['reason'][:300]}"
    if plan["outcome"] == "auto_approved":
        moved = yield context.call_activity("auto_approve", {**ref, "reason": plan["reason"]})
        return "approved" if moved["ok"] else moved["status"].lower()
    # One wait per event for the whole approval, re-armed as events arrive, so no stage leaves one dangling.
    waits = {name: context.wait_for_external_event(name) for name in (DECISION_EVENT, CANCEL_EVENT)}
    for position in range(len(plan["stages"])):
        verdict = yield from run_stage(context, ref, plan, position, started, waits)
        if verdict != "approved":
            return verdict
    return "approved"


def run_stage(
    context: df.DurableOrchestrationContext,
    ref: dict[str, Any],
    plan: dict[str, Any],
    position: int,
    started: datetime,
    waits: dict[str, Any],
):
    """One stage: its cards out, then decisions (or a cancel) raced against reminders, escalation and expiry."""
    opened = yield context.call_activity("open_stage", {**ref, "stage": position})
    if opened["status"] != "PendingApproval" or opened["stage"] != position:
        return (yield from decided_before(context, ref, position, opened))
    stage_ref = {**ref, "stage": position}
    timing = Timing.from_json(plan["timing"])
    stage_started = cursor = context.current_utc_datetime
    while True:
        wake = next_wakeup(timing, started, stage_started, cursor, context.current_utc_datetime)
        timer = context.create_timer(wake.at if wake else context.current_utc_datetime + APPROVAL_TIMER)
        decision, cancel = waits[DECISION_EVENT], waits[CANCEL_EVENT]
        winner = yield context.task_any([decision, cancel, timer])
        if winner is not timer:
            timer.cancel()
        if winner is cancel:
            status = yield context.call_activity("request_status", ref)
            if status == "Cancelled":
                yield context.call_activity("set_request_status", {**ref, "status": "Cancelled"})
                return "cancelled"
            waits[CANCEL_EVENT] = context.wait_for_external_event(CANCEL_EVENT)  # stale: the row is not cancelled
            continue
        if winner is decision:
            waits[DECISION_EVENT] = context.wait_for_external_event(DECISION_EVENT)
            if event_data(decision.result).get("stage") != position:
                continue  # stale: another stage's event
        elif wake is not None and wake.actions:
            if "expire" in wake.actions:
                return "expired"
            if "remind" in wake.actions:  # before escalating, so the escalation approvers get one card
                yield context.call_activity("remind_stage", stage_ref)
            if "escalate" in wake.actions:
                yield context.call_activity("escalate_stage", stage_ref)
            cursor = wake.at
        # A decision event, or a timer (also a safety net should an event have been lost): read the outcome.
        outcome = yield context.call_activity("decision_of", stage_ref)
        if outcome["verdict"]:
            return outcome["verdict"]
        if outcome["status"] == "Cancelled":
            return "cancelled"


def decided_before(context: df.DurableOrchestrationContext, ref: dict[str, Any], position: int, opened):
    """The stage could not be opened: it was settled already (a re-run), or the request is closed."""
    if opened["status"] in ("Approved", "Rejected") or opened["stage"] > position:
        outcome = yield context.call_activity("decision_of", {**ref, "stage": position})
        return outcome["verdict"] or outcome["status"].lower()
    if opened["status"] == "Cancelled":
        return "cancelled"
    return opened["status"].lower()


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
