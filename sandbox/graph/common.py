"""Graph's error shape, request context and JSON helpers shared by the route modules."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from sandbox.graph.store import Store, Tenant, now_iso

GRAPH_HOST = "https://graph.microsoft.com"


class GraphError(web.HTTPException):
    """Raised by handlers; rendered as {"error": {"code", "message", "innerError": {...}}} by the middleware."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        self.status_code = status
        super().__init__()
        self.code = code
        self.message = message
        self.extra_headers = headers or {}


def error_body(code: str, message: str, request_id: str, client_request_id: str | None) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "innerError": {"date": now_iso(), "request-id": request_id, "client-request-id": client_request_id},
        }
    }


@dataclass
class Context:
    tenant: Tenant
    roles: frozenset[str]
    version: str  # "v1.0" or "beta"
    base: str  # {sandbox}/graph/{version}

    @property
    def beta(self) -> bool:
        return self.version == "beta"

    def require(self, *any_of: str) -> None:
        if not self.roles.intersection(any_of):
            raise GraphError(403, "Authorization_RequestDenied", f"Insufficient privileges; needs one of {any_of}")


def context(request: web.Request) -> Context:
    return request["graph_context"]


def store(request: web.Request) -> Store:
    return request.config_dict["graph_store"]


async def json_body(request: web.Request) -> Any:
    if request.content_type != "application/json":
        raise GraphError(415, "UnsupportedMediaType", "Content-Type must be application/json")
    try:
        return json.loads(await request.read() or b"null")
    except ValueError:
        raise GraphError(400, "BadRequest", "The request body is not valid JSON") from None


def collection(request: web.Request, items: list[dict[str, Any]], context_url: str) -> web.Response:
    """A page of `items` with @odata.nextLink when more remain ($top, $skiptoken = offset)."""
    try:
        top = min(int(request.query.get("$top", "100")), 999)
        skip = int(request.query.get("$skiptoken", "0"))
    except ValueError:
        raise GraphError(400, "BadRequest", "$top and $skiptoken must be integers") from None
    if top < 1 or skip < 0:
        raise GraphError(400, "BadRequest", "$top must be positive")
    page = items[skip : skip + top]
    body: dict[str, Any] = {"@odata.context": context_url, "value": page}
    if skip + top < len(items):
        query = {k: v for k, v in request.query.items() if k != "$skiptoken"} | {"$skiptoken": str(skip + top)}
        body["@odata.nextLink"] = str(request.url.with_query(query))
    return web.json_response(body)
