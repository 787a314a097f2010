"""GET /api/openapi.json, generated from the registered routes and the schemas that validate their bodies."""

from __future__ import annotations

import re
from typing import Any

import azure.functions as func

from functions import blueprint
from functions.auth import Operation, api_endpoint
from functions.query import QueryParameter
from functions.schemas import FORMATS, SCHEMAS, SINGLE_LINE_TEXT
from greenlight import __version__
from greenlight.identifiers import PACKAGE_ID_MAX_LENGTH, REQUEST_ID_MAX_LENGTH, REQUEST_ID_PATTERN

_PARAM = re.compile(r"\{\*?([A-Za-z_][A-Za-z0-9_]*)(?::[a-z]+)?\??\}")
# Statuses every operation may answer, and those that follow from its shape (auth, body, path parameters).
_ALWAYS = {
    "400": "Malformed or invalid request (a header, a query parameter or the body; the problem names it)",
    "413": "Body too large",
    "503": "A dependency is unavailable",
}
_AUTHENTICATED = {"401": "Missing or invalid bearer token", "403": "The caller lacks the role"}
_WITH_BODY = {"415": "The body is not application/json"}
_WITH_PATH = {"404": "Nothing at this path"}
_PATH_PARAMETERS: dict[str, dict[str, Any]] = {
    "request_id": {"type": "string", "pattern": REQUEST_ID_PATTERN, "maxLength": REQUEST_ID_MAX_LENGTH},
    "package_id": {
        "type": "string",
        "minLength": 1,
        "maxLength": PACKAGE_ID_MAX_LENGTH,
        "format": SINGLE_LINE_TEXT,
        "description": "a WinGet package identifier",
    },
}


def registered_routes() -> list[tuple[str, tuple[str, ...], Operation]]:
    """(route, methods, operation) of every api_endpoint on the blueprint (catalog routes included)."""
    found = []
    # The blueprint keeps its function builders privately; each holds the Function with trigger and user function.
    for builder in getattr(blueprint, "_function_builders", []):
        function = builder._function
        operation = getattr(function.get_user_function(), "__api_operation__", None)
        trigger = function.get_trigger()
        route = getattr(trigger, "route", None)
        if operation is None or route is None or "{*" in route:
            continue
        methods = tuple(str(getattr(m, "value", m)).lower() for m in (getattr(trigger, "methods", None) or ["get"]))
        found.append((route, methods, operation))
    return sorted(found)


def _response(schema: str | None, description: str) -> dict[str, Any]:
    if schema is None:
        return {"description": description}
    return {"description": description, "content": {"application/json": {"schema": _ref(schema)}}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def operation_id(method: str, route: str) -> str:
    return f"{method}_{re.sub(r'[^A-Za-z0-9]+', '_', route).strip('_')}"


def _query_parameter(parameter: QueryParameter | tuple[str, str]) -> dict[str, Any]:
    if isinstance(parameter, QueryParameter):
        return parameter.openapi()  # the same declaration parses the parameter: the document cannot drift
    name, text = parameter  # a route that still parses its parameter itself
    return {"name": name, "in": "query", "required": False, "schema": {"type": "string"}, "description": text}


def _error_statuses(route: str, operation: Operation) -> dict[str, str]:
    statuses = dict(_ALWAYS)
    if operation.roles is not None:
        statuses |= _AUTHENTICATED
    if operation.request_schema:
        statuses |= _WITH_BODY
    if _PARAM.search(route):
        statuses |= _WITH_PATH
    statuses |= {str(status): text for status, text in operation.problems.items()}
    return dict(sorted(statuses.items()))


def build_document() -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for route, methods, operation in registered_routes():
        path = "/api/" + _PARAM.sub(r"{\1}", route.strip("/"))
        parameters = [
            {"name": name, "in": "path", "required": True, "schema": _PATH_PARAMETERS.get(name, {"type": "string"})}
            for name in _PARAM.findall(route)
        ] + [_query_parameter(parameter) for parameter in operation.query]
        for method in methods:
            entry: dict[str, Any] = {
                "summary": operation.summary,
                "operationId": operation_id(method, route),
                "responses": {str(operation.response_status): _response(operation.response_schema, "Success")},
            }
            if parameters:
                entry["parameters"] = parameters
            if operation.request_schema:
                entry["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": _ref(operation.request_schema)}},
                }
            if operation.roles is not None:
                entry["security"] = [{"entra": []}]
                if operation.roles:
                    entry["x-roles"] = sorted(r.value for r in operation.roles)
            for status, text in _error_statuses(route, operation).items():
                entry["responses"].setdefault(
                    status, {"description": text, "content": {"application/problem+json": {"schema": _ref("Problem")}}}
                )
            paths.setdefault(path, {})[method] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": "Greenlight API", "version": __version__},
        "paths": paths,
        "components": {
            "x-formats": FORMATS,  # string formats the validator checks (JSON Schema leaves unknown ones unchecked)
            "schemas": SCHEMAS,
            "securitySchemes": {
                "entra": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT (Entra ID access token)"}
            },
        },
    }


@blueprint.route(route="openapi.json", methods=["GET"])
@api_endpoint(summary="This OpenAPI document")
def openapi_document(req: func.HttpRequest) -> dict[str, Any]:
    return build_document()
