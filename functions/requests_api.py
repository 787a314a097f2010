"""/api/requests: create a software request, read one, list your own (or, for approvers, by status)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import azure.functions as func

from functions import blueprint, runtime
from functions.auth import JsonResult, Principal, Role, api_endpoint
from functions.problems import ApiProblem
from greenlight.models import Request, RequestStatus
from greenlight.storage import AlreadyExists, AuditLog, NotFound, RequestRepository, StorageError

log = logging.getLogger("greenlight.api.requests")

# Request ids derived from an Idempotency-Key are stable per (tenant, requester, key): a retried POST finds the
# request its first attempt created instead of creating a second one.
_IDEMPOTENCY_NAMESPACE = uuid.UUID("0d9c7a4e-3f1b-4c55-9a8e-1c2b3d4e5f60")


def to_view(request: Request) -> dict[str, Any]:
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
        "error": request.error,
        "app_id": request.app_id,
    }


def _request_id(principal: Principal, requester_oid: str, idempotency_key: str | None) -> str:
    if not idempotency_key:
        return uuid.uuid4().hex
    if len(idempotency_key) > 200:
        raise ApiProblem(400, "Invalid Idempotency-Key", "at most 200 characters", "invalid-idempotency-key")
    return uuid.uuid5(_IDEMPOTENCY_NAMESPACE, f"{principal.tenant_id}|{requester_oid}|{idempotency_key}").hex


@blueprint.route(route="requests", methods=["POST"])
@api_endpoint(
    roles={Role.REQUESTER, Role.ADMIN},
    request_schema="CreateRequest",
    response_schema="Request",
    response_status=201,
    summary="Create a software request (Admins may create one on behalf of a user)",
)
def create_request(req: func.HttpRequest, principal: Principal, body: dict[str, Any]) -> JsonResult:
    on_behalf = body.get("on_behalf_of")
    if on_behalf and Role.ADMIN not in principal.roles:
        raise ApiProblem(403, "Forbidden", "only Admin callers may create requests on behalf of a user", "forbidden")
    if not on_behalf and principal.is_app:
        raise ApiProblem(400, "Requester needed", "an application must name the user in on_behalf_of", "no-requester")
    requester_oid, requester_name = (
        (on_behalf["oid"], on_behalf["name"]) if on_behalf else (principal.oid, principal.name)
    )
    request = Request(
        tenant_id=principal.tenant_id,
        request_id=_request_id(principal, requester_oid, req.headers.get("Idempotency-Key")),
        requester_oid=requester_oid,
        requester_name=requester_name,
        package_id=body["package_id"],
        package_version=body.get("package_version"),
        architecture=body.get("architecture", "x64"),
        scope=body.get("scope", "machine"),
        justification=body["justification"],
        status=RequestStatus.SUBMITTED,
    )
    storage = runtime.get().storage
    repository = RequestRepository(storage)
    try:
        created = repository.create(request)
    except AlreadyExists:
        existing = repository.get(request.tenant_id, request.request_id)
        same = (existing.value.package_id, existing.value.package_version) == (
            request.package_id,
            request.package_version,
        )
        if not same:
            raise ApiProblem(
                409, "Idempotency-Key reused", "this key was used for a different request", "idempotency-conflict"
            ) from None
        return JsonResult(to_view(existing.value), 200, {"ETag": existing.etag})
    try:
        AuditLog(storage).append(
            principal.oid,
            "request.created",
            f"request/{request.request_id}",
            {"package_id": request.package_id, "on_behalf_of": requester_oid if on_behalf else None},
        )
    except StorageError as error:
        # The request row is the record of truth and already exists; failing now would make the caller retry into
        # the idempotent path, which cannot re-audit either. So: answer 201 and leave the event in the log.
        log.error("audit append failed for request.created %s by %s: %s", request.request_id, principal.oid, error)
    headers = {"ETag": created.etag, "Location": f"/api/requests/{request.request_id}"}
    return JsonResult(to_view(created.value), 201, headers)


@blueprint.route(route="requests/{request_id}", methods=["GET"])
@api_endpoint(roles=set(), response_schema="Request", summary="Read one request (its requester, Approvers, Admins)")
def get_request(req: func.HttpRequest, principal: Principal) -> JsonResult:
    request_id = req.route_params.get("request_id", "")
    try:
        found = RequestRepository(runtime.get().storage).get(principal.tenant_id, request_id)
    except (NotFound, ValueError):
        raise ApiProblem(404, "Not found", "no such request", "not-found") from None
    if found.value.requester_oid != principal.oid and not principal.has_any({Role.APPROVER, Role.ADMIN}):
        # 404, not 403: a stranger learns nothing about which request ids exist.
        raise ApiProblem(404, "Not found", "no such request", "not-found")
    return JsonResult(to_view(found.value), 200, {"ETag": found.etag})


@blueprint.route(route="requests", methods=["GET"])
@api_endpoint(
    roles=set(),
    response_schema="RequestPage",
    summary="List requests: ?mine=true for your own, or ?status= (Approvers, Admins)",
    query=(
        ("mine", "true: the caller's own requests"),
        ("status", "Approvers and Admins: requests in this status"),
        ("page_size", "1-100, default 20"),
        ("continuation", "the token of the previous page"),
    ),
)
def list_requests(req: func.HttpRequest, principal: Principal) -> dict[str, Any]:
    page_size_text = req.params.get("page_size", "20")
    if not page_size_text.isdigit() or not 1 <= int(page_size_text) <= 100:
        raise ApiProblem(400, "Invalid page_size", "page_size must be a whole number from 1 to 100", "invalid-query")
    page_size, continuation = int(page_size_text), req.params.get("continuation") or None
    repository = RequestRepository(runtime.get().storage)
    if req.params.get("mine", "").lower() == "true":
        page = repository.list_by_requester(principal.tenant_id, principal.oid, page_size, continuation)
    elif "status" in req.params:
        if not principal.has_any({Role.APPROVER, Role.ADMIN}):
            raise ApiProblem(403, "Forbidden", "listing by status needs the Approver or Admin role", "forbidden")
        try:
            status = RequestStatus(req.params["status"])
        except ValueError:
            allowed = ", ".join(s.value for s in RequestStatus)
            raise ApiProblem(400, "Invalid status", f"status must be one of {allowed}", "invalid-query") from None
        page = repository.list_by_status(principal.tenant_id, status, page_size, continuation)
    else:
        raise ApiProblem(400, "Filter needed", "pass ?mine=true, or ?status= as an Approver or Admin", "invalid-query")
    return {"items": [to_view(r) for r in page.items], "continuation": page.continuation}
