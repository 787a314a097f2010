"""GET /api/audit?month=yyyymm: the audit log of one month, newest first (Admins)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import azure.functions as func

from functions import blueprint, runtime
from functions.auth import Principal, Role, api_endpoint
from functions.query import Integer, Text
from greenlight.storage import AuditLog

MONTH = Text("month", 6, 6, pattern="^[0-9]{4}(0[1-9]|1[0-2])$", description="yyyymm, default the current month (UTC)")
PAGE_SIZE = Integer("page_size", 1, 200, default=50, description="entries per page")
CONTINUATION = Text("continuation", 1, 2048, description="the token of the previous page")


@blueprint.route(route="audit", methods=["GET"])
@api_endpoint(
    roles={Role.ADMIN},
    response_schema="AuditPage",
    summary="Audit entries of one month, newest first (Admins)",
    query=(MONTH, PAGE_SIZE, CONTINUATION),
)
def list_audit(req: func.HttpRequest, principal: Principal, query: dict[str, Any]) -> dict[str, Any]:
    month = query["month"] or dt.datetime.now(dt.UTC).strftime("%Y%m")
    page = AuditLog(runtime.get().storage).list_month(month, query["page_size"], query["continuation"])
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
