"""/api/requests: create a software request, decide it, cancel it, read one, list them.

Thin: every rule is in greenlight.requests (the bot calls the same service). Routes that change a request get
the durable client (`durable_client_input`) and hand it to the service as its Workflow.
"""

from __future__ import annotations

import logging
from typing import Any

import azure.functions as func

import services
from functions import blueprint, runtime
from functions.auth import JsonResult, Principal, Role, api_endpoint
from functions.problems import ApiProblem, register_problem
from functions.query import Boolean, Choice, Integer, Text
from greenlight.models import Decision, Request, RequestStatus, Verdict
from greenlight.policy import PackageBlocked
from greenlight.requests import (
    CatalogUnavailable,
    DecideRequest,
    IdempotencyKeyReused,
    InvalidInput,
    NotAllowed,
    NotOpen,
    RequestNotFound,
    SubmitRequest,
    UnknownPackage,
    WorkflowUnavailable,
    stages,
)
from greenlight.storage import DecisionRepository, RequestRepository
from orchestrations.client import DurableWorkflow

log = logging.getLogger("greenlight.api.requests")

MINE = Boolean("mine", description="true: the caller's own requests")
STATUS = Choice(
    "status", tuple(s.value for s in RequestStatus), description="Approvers and Admins: requests in this status"
)
PAGE_SIZE = Integer("page_size", 1, 100, default=20, description="requests per page")
CONTINUATION = Text("continuation", 1, 2048, description="the token of the previous page")

register_problem(InvalidInput, 400, "Invalid request", "invalid-input")
register_problem(UnknownPackage, 422, "Unknown package", "unknown-package")
register_problem(IdempotencyKeyReused, 422, "Idempotency-Key reused with a different body", "idempotency-key-reused")
register_problem(CatalogUnavailable, 503, "Catalog unavailable", "catalog-unavailable")
register_problem(RequestNotFound, 404, "Not found", "not-found")
register_problem(NotAllowed, 403, "Forbidden", "forbidden")
register_problem(NotOpen, 409, "Request not open", "not-open")
register_problem(PackageBlocked, 403, "Package blocked by policy", "package-blocked")
register_problem(WorkflowUnavailable, 503, "Workflow unavailable; retry the same call", "workflow-unavailable")


def approval_view(request: Request, decided: list[Decision]) -> dict[str, Any] | None:
    standing = stages.standing(request, decided) if request.status is RequestStatus.PENDING_APPROVAL else None
    if standing is None:
        return None
    return {
        "stage": request.stage,
        "stages": standing.count,
        "name": standing.name,
        "rule": standing.rule.value,
        "approvers": list(standing.asked),
        "waiting_on": list(standing.waiting_on),
        "escalated": standing.escalated,
    }


def to_view(request: Request, decided: list[Decision] | None = None) -> dict[str, Any]:
    error = {"code": request.error_code or "failed", "message": request.error} if request.error else None
    return {
        "request_id": request.request_id,
        "tenant_id": request.tenant_id,
        "requester_oid": request.requester_oid,
        "requester_name": request.requester_name,
        "package_id": request.package_id,
        "package_version": request.package_version,
        "architecture": request.architecture,
        "scope": request.scope,
        "justification": request.justification,
        "status": str(request.status),
        "stage": request.stage,
        "created_at": request.created_at.isoformat(),
        "updated_at": request.updated_at.isoformat(),
        "error": error,
        "progress": request.progress,
        "app_id": request.app_id,
        "approval": approval_view(request, decided or []),
    }


def decision_view(decision: Decision) -> dict[str, Any]:
    return {
        "request_id": decision.request_id,
        "stage": decision.stage,
        "verdict": str(decision.verdict),
        "approver_oid": decision.approver_oid,
        "approver_name": decision.approver_name,
        "comment": decision.comment,
        "decided_at": decision.decided_at.isoformat(),
    }


@blueprint.route(route="requests", methods=["POST"])
@blueprint.durable_client_input(client_name="client")
@api_endpoint(
    roles={Role.REQUESTER, Role.ADMIN},
    request_schema="CreateRequest",
    response_schema="Request",
    response_status=201,
    summary="Create a software request (Admins may create one on behalf of a user); Idempotency-Key makes it safe",
    problems={
        403: "the package is blocked by the approval policy (the problem names it)",
        422: "unknown package or version, or an Idempotency-Key reused with another body",
    },
)
async def create_request(req: func.HttpRequest, principal: Principal, body: dict[str, Any], client) -> JsonResult:
    on_behalf = body.get("on_behalf_of")
    if on_behalf and Role.ADMIN not in principal.roles:
        raise ApiProblem(403, "Forbidden", "only Admin callers may create requests on behalf of a user", "forbidden")
    if not on_behalf and principal.is_app:
        raise ApiProblem(400, "Requester needed", "an application must name the user in on_behalf_of", "no-requester")
    requester_oid, requester_name = (
        (on_behalf["oid"], on_behalf["name"]) if on_behalf else (principal.oid, principal.name)
    )
    command = SubmitRequest(
        tenant_id=principal.tenant_id,
        caller_oid=principal.oid,  # the key is the caller's, whoever the request is for
        requester_oid=requester_oid,
        requester_name=requester_name,
        package_id=body["package_id"],
        package_version=body.get("package_version"),
        justification=body["justification"],
        architecture=body.get("architecture"),
        scope=body.get("scope"),
        client_key=req.headers.get("Idempotency-Key"),
        via="api",
    )
    submission = await services.get().service.submit_request(command, DurableWorkflow(client))
    request = submission.request
    headers = {"Location": f"/api/requests/{request.request_id}"}
    return JsonResult(to_view(request), 201 if submission.created else 200, headers)


@blueprint.route(route="requests/{request_id}/decisions", methods=["POST"])
@blueprint.durable_client_input(client_name="client")
@api_endpoint(
    roles={Role.APPROVER},
    request_schema="DecisionInput",
    response_schema="Decision",
    response_status=201,
    summary="Approve or reject the current stage of a request (an approver of that stage, never its requester)",
    problems={
        403: "not an approver of the request's current stage",
        404: "no such request",
        409: "you decided this stage already, or it was decided first (the problem's `decision` stands)",
    },
)
async def decide_request(req: func.HttpRequest, principal: Principal, body: dict[str, Any], client) -> JsonResult:
    command = DecideRequest(
        tenant_id=principal.tenant_id,
        request_id=req.route_params.get("request_id", ""),
        approver_oid=principal.oid,
        approver_name=principal.name,
        verdict=Verdict.APPROVED if body["verdict"] == "approve" else Verdict.REJECTED,
        comment=body.get("comment", ""),
        via="api",
    )
    outcome = await services.get().service.record_decision(command, DurableWorkflow(client))
    view = {**decision_view(outcome.decision), "status": str(outcome.request.status)}
    if not outcome.recorded:
        raise ApiProblem(
            409, "Already decided", f"request {command.request_id}: {_why_not_recorded(outcome, principal.oid)}",
            "already-decided",
            extra={"decision": view},
        )  # fmt: skip
    return JsonResult(view, 201)


def _why_not_recorded(outcome: Any, oid: str) -> str:
    if outcome.decision.approver_oid == oid.lower():
        return f"you already decided stage {outcome.decision.stage}"
    return f"stage {outcome.decision.stage} was decided first"


@blueprint.route(route="requests/{request_id}/cancel", methods=["POST"])
@blueprint.durable_client_input(client_name="client")
@api_endpoint(
    roles=set(),
    response_schema="Request",
    summary="Cancel a request before publishing starts (its requester, or an Admin)",
    problems={404: "no such request", 409: "publishing has started or it is finished"},
)
async def cancel_request(req: func.HttpRequest, principal: Principal, client) -> JsonResult:
    request_id = req.route_params.get("request_id", "")
    try:
        request = await services.get().service.cancel_request(
            principal.tenant_id,
            request_id,
            principal.oid,
            is_admin=Role.ADMIN in principal.roles,
            workflow=DurableWorkflow(client),
        )
    except NotAllowed:
        if not principal.has_any({Role.APPROVER}):
            raise RequestNotFound(request_id) from None  # a stranger learns nothing about which ids exist
        raise
    return JsonResult(to_view(request), 200)


@blueprint.route(route="requests/{request_id}", methods=["GET"])
@api_endpoint(
    roles=set(),
    response_schema="Request",
    summary="Read one request (its requester, Approvers, Admins)",
    problems={404: "no such request (or not yours)"},
)
def get_request(req: func.HttpRequest, principal: Principal) -> JsonResult:
    request_id = req.route_params.get("request_id", "")
    storage = runtime.get().storage
    try:
        found = RequestRepository(storage).get(principal.tenant_id, request_id)
    except (LookupError, ValueError):
        raise ApiProblem(404, "Not found", "no such request", "not-found") from None
    if found.value.requester_oid.lower() != principal.oid.lower() and not principal.has_any(
        {Role.APPROVER, Role.ADMIN}
    ):
        # 404, not 403: a stranger learns nothing about which request ids exist.
        raise ApiProblem(404, "Not found", "no such request", "not-found")
    decided = DecisionRepository(storage).for_stage(request_id, found.value.stage) if found.value.plan else []
    return JsonResult(to_view(found.value, decided), 200, {"ETag": found.etag})


@blueprint.route(route="requests", methods=["GET"])
@api_endpoint(
    roles=set(),
    response_schema="RequestPage",
    summary="List requests: ?mine=true for your own, or ?status= (Approvers, Admins)",
    query=(MINE, STATUS, PAGE_SIZE, CONTINUATION),
    problems={400: "no filter, or a query parameter out of range"},
)
def list_requests(req: func.HttpRequest, principal: Principal, query: dict[str, Any]) -> dict[str, Any]:
    page_size, continuation = query["page_size"], query["continuation"]
    repository = RequestRepository(runtime.get().storage)
    if query["mine"]:
        page = repository.list_by_requester(principal.tenant_id, principal.oid.lower(), page_size, continuation)
    elif query["status"] is not None:
        if not principal.has_any({Role.APPROVER, Role.ADMIN}):
            raise ApiProblem(403, "Forbidden", "listing by status needs the Approver or Admin role", "forbidden")
        page = repository.list_by_status(principal.tenant_id, RequestStatus(query["status"]), page_size, continuation)
    else:
        raise ApiProblem(400, "Filter needed", "pass ?mine=true, or ?status= as an Approver or Admin", "invalid-query")
    return {"items": [to_view(r) for r in page.items], "continuation": page.continuation}
