"""/api/policies: list, read, save and delete approval policies (Admins). `*` is the tenant default.

Changes are guarded by ETags: PUT on an existing policy and DELETE need `If-Match` (428 without it, 412 when it is
stale). An invalid policy answers 400 naming each wrong field; every change is audited with its old and new value.
A saved policy's answer carries `warnings`: approver lists whose groups hold more people today than one stage may
ask (their requests would fail `too_many_approvers`), or that the sizes could not be checked.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import azure.functions as func

import services
from functions import blueprint, runtime
from functions.auth import JsonResult, Principal, Role, api_endpoint
from functions.problems import ApiProblem, register_problem
from greenlight.models import Policy, Versioned
from greenlight.policy import PolicyInvalid
from greenlight.policy.admin import DEFAULT_PACKAGE, PolicyAdmin, PreconditionFailed, PreconditionRequired
from greenlight.storage import AuditLog, PolicyRepository

register_problem(PreconditionRequired, 428, "If-Match required", "precondition-required")
register_problem(PreconditionFailed, 412, "Changed by someone else; read it again", "precondition-failed")


def to_view(versioned: Versioned[Policy]) -> dict[str, Any]:
    policy = versioned.value
    return {
        "package_id": policy.package_id,
        "policy": policy.document,
        "updated_at": policy.updated_at.isoformat(),
        "etag": versioned.etag,
    }


def _admin() -> PolicyAdmin:
    storage = runtime.get().storage
    return PolicyAdmin(PolicyRepository(storage), AuditLog(storage))


# Stricter than WinGet's own identifier rule: a policy's id is a Table Storage row key, so ASCII letters, digits and
# . _ + - only (no # or non-ASCII, which the key rules or the catalog would refuse later).
_POLICY_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]{0,127}")


def _package_id(req: func.HttpRequest) -> str:
    package_id = req.route_params.get("package_id", "")
    if package_id != DEFAULT_PACKAGE and not _POLICY_KEY.fullmatch(package_id):
        raise ApiProblem(
            400, "Invalid package_id", "package_id must be a WinGet package id, or * for the default", "invalid-path"
        )
    return package_id


def _if_match(req: func.HttpRequest) -> str | None:
    value = (req.headers.get("If-Match") or "").strip()
    return value or None


@blueprint.route(route="policies", methods=["GET"])
@api_endpoint(roles={Role.ADMIN}, response_schema="PolicyList", summary="Every saved approval policy (Admins)")
def list_policies(req: func.HttpRequest, principal: Principal) -> dict[str, Any]:
    return {"items": [to_view(v) for v in _admin().list(principal.tenant_id)]}


@blueprint.route(route="policies/{package_id}", methods=["GET"])
@api_endpoint(roles={Role.ADMIN}, response_schema="PolicyView", summary="One package's policy, or * (Admins)")
def get_policy(req: func.HttpRequest, principal: Principal) -> JsonResult:
    found = _admin().get(principal.tenant_id, _package_id(req))
    return JsonResult(to_view(found), 200, {"ETag": found.etag})


@blueprint.route(route="policies/{package_id}", methods=["PUT"])
@api_endpoint(
    roles={Role.ADMIN},
    request_schema="Policy",
    response_schema="PolicyView",
    summary="Save a package's policy, or * (Admins; 201 when new; If-Match with the ETag to change an existing one)",
    problems={
        412: "If-Match names an older version of the policy",
        428: "the policy exists: changing it needs If-Match",
    },
)
async def put_policy(req: func.HttpRequest, principal: Principal, body: dict[str, Any]) -> JsonResult:
    package_id = _package_id(req)
    policies = services.get().policies  # before the save: a settings error answers 503 with nothing saved
    try:
        saved = await asyncio.to_thread(
            _admin().save, principal.tenant_id, package_id, body, _if_match(req), principal.oid
        )
    except PolicyInvalid as error:
        raise ApiProblem(
            400, "Invalid policy", "; ".join(error.errors[:5]), "invalid-policy", extra={"errors": error.errors}
        ) from None
    headers = {"ETag": saved.policy.etag}
    if saved.created:
        headers["Location"] = f"/api/policies/{package_id}"
    warnings = await policies.size_warnings(saved.policy.value.document)
    return JsonResult({**to_view(saved.policy), "warnings": warnings}, 201 if saved.created else 200, headers)


@blueprint.route(route="policies/{package_id}", methods=["DELETE"])
@api_endpoint(
    roles={Role.ADMIN},
    response_status=204,
    summary="Delete a package's policy, or * (Admins; If-Match)",
    problems={412: "If-Match names an older version of the policy", 428: "deleting needs If-Match"},
)
def delete_policy(req: func.HttpRequest, principal: Principal) -> func.HttpResponse:
    _admin().delete(principal.tenant_id, _package_id(req), _if_match(req), principal.oid)
    return func.HttpResponse(status_code=204)
