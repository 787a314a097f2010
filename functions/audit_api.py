"""GET /api/audit?month=yyyymm: the audit log of one month, newest first (Admins)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import azure.functions as func

from functions import blueprint, runtime
from functions.auth import Principal, Role, api_endpoint
from functions.problems import ApiProblem
from greenlight.storage import AuditLog


@blueprint.route(route="audit", methods=["GET"])
@api_endpoint(
    roles={Role.ADMIN},
    response_schema="AuditPage",
    summary="Audit entries of one month, newest first (Admins)",
    query=(
        ("month", "yyyymm, default the current month"),
        ("page_size", "1-200, default 50"),
        ("continuation", "the token of the previous page"),
    ),
)
def list_audit(req: func.HttpRequest, principal: Principal) -> dict[str, Any]:
    month = req.params.get("month") or dt.datetime.now(dt.UTC).strftime("%Y%m")
    if len(month) != 6 or not month.isdigit() or not 1 <= int(month[4:]) <= 12:
        raise ApiProblem(400, "Invalid month", "month must be yyyymm", "invalid-query")
    page_size_text = req.params.get("page_size", "50")
    if not page_size_text.isdigit() or not 1 <= int(page_size_text) <= 200:
        raise ApiProblem(400, "Invalid page_size", "page_size must be a whole number from 1 to 200", "invalid-query")
    page = AuditLog(runtime.get().storage).list_month(month, int(page_size_text), req.params.get("continuation"))
    items = [
        {
            "entry_id": e.entry_id,
            "occurred_at": e.occurred_at.isoformat(),
            "actor": e.actor,
            "action": e.action,
            "entity": e.entity,
            "details": e.details,
        }
        for e in page.items
    ]
    return {"month": month, "items": items, "continuation": page.continuation}
