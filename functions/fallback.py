"""The catch-all under /api: an unknown path answers 404 problem+json, a known path with another method 405.

Literal and parameterised routes take precedence over this `{*path}` route (in the Functions host and in devhost),
so it only sees requests no other route matched.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import azure.functions as func

from functions import blueprint
from functions.auth import api_endpoint
from functions.openapi import registered_routes
from functions.problems import ApiProblem

_PARAMETER = re.compile(r"\{[^}]+\}")


def _pattern(route: str) -> re.Pattern[str]:
    parts = _PARAMETER.split(route.strip("/"))
    return re.compile("[^/]+".join(re.escape(p) for p in parts))


def allowed_methods(path: str) -> list[str]:
    """Methods of the API operations whose route template matches `path` (relative to /api/)."""
    methods = {m.upper() for route, ms, _ in registered_routes() if _pattern(route).fullmatch(path) for m in ms}
    return sorted(methods)


@blueprint.route(route="{*path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@api_endpoint(summary="Unknown route")
def unknown_route(req: func.HttpRequest) -> None:
    path = urlsplit(req.url).path.removeprefix("/api").strip("/")
    allowed = allowed_methods(path)
    if allowed and req.method.upper() not in allowed:
        raise ApiProblem(
            405,
            "Method not allowed",
            f"{req.method.upper()} is not supported here; use {', '.join(allowed)}",
            "method-not-allowed",
            headers={"Allow": ", ".join(allowed)},
        )
    raise ApiProblem(404, "Not found", "no API operation at this path and method", "no-such-route")
