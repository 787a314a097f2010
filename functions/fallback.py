"""The catch-all under /api: an unknown path answers 404 problem+json (literal routes take precedence)."""

from __future__ import annotations

import azure.functions as func

from functions import blueprint
from functions.auth import api_endpoint
from functions.problems import ApiProblem


@blueprint.route(route="{*path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
@api_endpoint(summary="Unknown route")
def unknown_route(req: func.HttpRequest) -> None:
    raise ApiProblem(404, "Not found", "no API operation at this path and method", "no-such-route")
