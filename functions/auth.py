"""`api_endpoint`: the one decorator every API route uses.

    @blueprint.route(route="catalog/search", methods=["GET"])
    @api_endpoint(roles={Role.REQUESTER})
    def catalog_search(req: func.HttpRequest, principal: Principal) -> dict: ...

It binds a correlation id, refuses header values that are not UTF-8, enforces the body size limit, validates the
Entra bearer token, checks the caller holds one of `roles` (omit `roles` for an anonymous route; `principal` is
then None), validates a JSON body against `request_schema` (passed to the handler as `body`), parses the declared
query parameters (`functions.query`, passed as `query`), and converts what the handler returns: a dict/list -> 200 JSON,
`JsonResult` -> its status/headers, an HttpResponse as is. Typed errors become RFC 7807 problems.
The wrapper's signature is `(req)` only, because the Functions worker binds parameters by name; a handler that
takes `client` (an async handler under `@blueprint.durable_client_input(client_name="client")`) gets `(req, client)`.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import azure.functions as func

from functions import runtime
from functions.correlation import CORRELATION_HEADER, bind, correlation_id_from, install_log_correlation, unbind
from functions.problems import ApiProblem, problem_for, problem_response, register_problem
from functions.query import QueryParameter, parse_query
from functions.schemas import validate_body
from functions.tokens import AuthError, AuthUnavailable
from greenlight import telemetry
from greenlight.numbers import declares_more_than
from greenlight.settings import SettingsError
from greenlight.storage import (
    AlreadyExists,
    ConcurrencyConflict,
    InvalidContinuation,
    InvalidKey,
    NotFound,
    StorageError,
)

log = logging.getLogger("greenlight.api")
install_log_correlation()
telemetry.configure()  # at start, not in the first request (exporters: greenlight/telemetry.py)
DEFAULT_MAX_BODY_BYTES = 64 * 1024


class Role(StrEnum):
    REQUESTER = "Requester"
    APPROVER = "Approver"
    ADMIN = "Admin"


@dataclass(frozen=True)
class Principal:
    tenant_id: str
    oid: str
    name: str
    upn: str | None
    roles: frozenset[Role]
    is_app: bool = False  # an application (client credentials), not a user

    def has_any(self, roles: Iterable[Role]) -> bool:
        return bool(self.roles & set(roles))


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """Roles from the token's app roles (`roles`) and from membership of the configured groups (`groups`).
    Admin includes Approver and Requester."""
    auth = runtime.get().settings.auth
    by_name = {r.value.lower(): r for r in Role}
    roles = {by_name[r.lower()] for r in _strings(claims.get("roles")) if r.lower() in by_name}
    # With more than 200 groups Entra sends `_claim_names` instead of `groups` (overage); such users get their
    # roles from app roles only, which is why app roles are the recommended assignment.
    groups = {g.lower() for g in _strings(claims.get("groups"))}
    for role, ids in (
        (Role.REQUESTER, auth.requester_group_ids),
        (Role.APPROVER, auth.approver_group_ids),
        (Role.ADMIN, auth.admin_group_ids),
    ):
        if groups & set(ids):
            roles.add(role)
    if Role.ADMIN in roles:
        roles |= {Role.APPROVER, Role.REQUESTER}
    return Principal(
        tenant_id=str(claims["tid"]).lower(),
        oid=str(claims["oid"]),
        name=str(claims.get("name") or claims.get("azp") or claims["oid"]),
        upn=claims.get("preferred_username") or claims.get("upn"),
        roles=frozenset(roles),
        is_app=claims.get("idtyp") == "app",
    )


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value] if isinstance(value, list) else []


@dataclass(frozen=True)
class JsonResult:
    body: Any
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Operation:
    """What OpenAPI says about a route (read by functions.openapi from the wrapper)."""

    summary: str
    roles: frozenset[Role] | None
    request_schema: str | None
    response_schema: str | None
    response_status: int
    # QueryParameter declarations (parsed for the handler and described in OpenAPI); a (name, text) pair is an
    # older, undeclared-type parameter the handler parses itself.
    query: tuple[QueryParameter | tuple[str, str], ...] = ()
    problems: Mapping[int, str] = field(default_factory=dict)  # statuses this route answers beyond the standard


# Typed domain errors answer as problems (their messages name keys, never secrets).
register_problem(NotFound, 404, "Not found", "not-found")
register_problem(AlreadyExists, 409, "Already exists", "already-exists")
register_problem(ConcurrencyConflict, 409, "Changed by someone else; read it again", "concurrency-conflict")
register_problem(InvalidContinuation, 400, "Invalid continuation token", "invalid-continuation")


def _authenticate(req: func.HttpRequest, roles: frozenset[Role] | None) -> Principal | None:
    if roles is None:
        return None
    validator = runtime.get().validator
    try:
        claims = validator.validate_header(req.headers.get("Authorization"))
    except AuthError as error:
        raise ApiProblem(
            401,
            "Unauthorized",
            str(error),
            "unauthorized",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from None
    except AuthUnavailable as error:
        log.error("token validation unavailable: %s", error)
        raise ApiProblem(503, "Cannot validate tokens right now", "try again shortly", "auth-unavailable") from None
    principal = principal_from_claims(claims)
    if roles and not principal.has_any(roles):
        needed = " or ".join(sorted(r.value for r in roles))
        raise ApiProblem(403, "Forbidden", f"this operation needs the {needed} role", "forbidden")
    return principal


def _check_headers(req: func.HttpRequest) -> None:
    """Header values arrive as text decoded with surrogateescape (aiohttp) or Latin-1; bytes that were not UTF-8
    become lone surrogates, which fail the moment anything encodes them. Refuse them at the door, naming the
    header (never echoing its value)."""
    for name, value in req.headers.items():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ApiProblem(
                400, "Invalid header", f"the {name} header is not valid UTF-8 text", "invalid-header"
            ) from None


def _check_size(req: func.HttpRequest) -> None:
    # With invalid settings the anonymous routes (health) still answer, so fall back to the default limit.
    limit = runtime.get().settings.max_body_bytes if runtime.settings_error() is None else DEFAULT_MAX_BODY_BYTES
    declared = req.headers.get("Content-Length")
    # A Content-Length that is not a plain number is left to the body's actual length (checked first).
    if len(req.get_body() or b"") > limit or declares_more_than(declared, limit):
        raise ApiProblem(413, "Request body too large", f"the limit is {limit} bytes", "body-too-large")


def _read_body(req: func.HttpRequest, schema: str | None) -> Any:
    if schema is None:
        return None
    raw = req.get_body() or b""
    content_type = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise ApiProblem(415, "Unsupported media type", "send the body as application/json", "unsupported-media-type")
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ApiProblem(400, "Malformed JSON", "the body is not valid UTF-8 JSON", "malformed-body") from None
    except RecursionError:  # a few KB of '[' nest deeper than the parser recurses
        raise ApiProblem(400, "Malformed JSON", "the body nests too deeply", "malformed-body") from None
    errors = validate_body(schema, body)
    if errors:
        raise ApiProblem(400, "Invalid request body", "; ".join(errors[:5]), "invalid-body", extra={"errors": errors})
    return body


def _to_response(result: Any) -> func.HttpResponse:
    if isinstance(result, func.HttpResponse):
        return result
    if isinstance(result, JsonResult):
        return func.HttpResponse(
            json.dumps(result.body, default=str),
            status_code=result.status,
            headers=result.headers,
            mimetype="application/json",
            charset="utf-8",
        )
    return func.HttpResponse(json.dumps(result, default=str), status_code=200, mimetype="application/json")


def _problem_from(error: BaseException) -> func.HttpResponse:
    problem = problem_for(error)
    if problem is not None:
        return problem.to_response()
    if isinstance(error, SettingsError):
        return problem_response(503, "Service not configured", "the API's settings are invalid", "not-configured")
    if isinstance(error, InvalidKey):  # an id no table can hold is the caller's mistake, not an outage
        return problem_response(400, "Invalid identifier", str(error), "invalid-key")
    if isinstance(error, StorageError):
        log.error("storage failed: %s", error)
        return problem_response(503, "Storage unavailable", "try again shortly", "storage-unavailable")
    log.exception("unhandled error")
    return problem_response(500, "Internal error", "the error was logged with this correlation id", "internal")


def _span(req: func.HttpRequest, correlation_id: str) -> AbstractContextManager[Any]:
    """The request's root span; routes with a `{request_id}` carry it (others call telemetry.set_request_id)."""
    request_id = (req.route_params or {}).get("request_id")
    return telemetry.http_span(req.method, urlsplit(req.url).path, correlation_id, request_id)


def api_endpoint(
    roles: Iterable[Role] | None = None,
    *,
    request_schema: str | None = None,
    response_schema: str | None = None,
    response_status: int = 200,
    summary: str | None = None,
    query: Iterable[QueryParameter | tuple[str, str]] = (),
    problems: Mapping[int, str] | None = None,
) -> Callable[[Callable[..., Any]], Callable[[func.HttpRequest], Any]]:
    """See the module docstring. `roles=set()` means any authenticated caller; `None` means anonymous.
    `query` declares the query parameters: a handler with a `query` parameter receives their parsed values (a
    refused value is a 400 naming it). `problems` names the statuses the route answers beyond the standard ones
    (status -> why), for OpenAPI."""
    required = None if roles is None else frozenset(roles)

    def decorate(handler: Callable[..., Any]) -> Callable[[func.HttpRequest], Any]:
        wants = set(inspect.signature(handler).parameters)
        operation = Operation(
            summary=summary or (handler.__doc__ or handler.__name__).strip().splitlines()[0],
            roles=required,
            request_schema=request_schema,
            response_schema=response_schema,
            response_status=response_status,
            query=tuple(query),
            problems=dict(problems or {}),
        )
        declared = [p for p in operation.query if isinstance(p, QueryParameter)]

        def prepare(req: func.HttpRequest) -> dict[str, Any]:
            _check_headers(req)
            _check_size(req)  # before anything reads or parses the body
            principal = _authenticate(req, required)  # before the body is interpreted: no schema probing
            body = _read_body(req, request_schema)
            kwargs: dict[str, Any] = {}
            if "query" in wants:
                kwargs["query"] = parse_query(req.params, declared)
            if "principal" in wants:
                kwargs["principal"] = principal
            if "body" in wants:
                kwargs["body"] = body
            return kwargs

        def finish(req: func.HttpRequest, response: func.HttpResponse, correlation_id: str) -> func.HttpResponse:
            response.headers[CORRELATION_HEADER] = correlation_id
            # One line per request; the log record factory prefixes the correlation id. Path only: no query.
            log.info("%s %s -> %d", req.method, urlsplit(req.url).path, response.status_code)
            return response

        async def run_async(req: func.HttpRequest, extra: dict[str, Any]) -> func.HttpResponse:
            correlation_id = correlation_id_from(req.headers.get(CORRELATION_HEADER))
            token = bind(correlation_id)
            try:
                with _span(req, correlation_id):
                    kwargs = await asyncio.to_thread(prepare, req)  # JWKS fetch is blocking I/O
                    return finish(req, _to_response(await handler(req, **kwargs, **extra)), correlation_id)
            except Exception as error:  # noqa: BLE001 - every failure becomes a problem response
                return finish(req, _problem_from(error), correlation_id)
            finally:
                unbind(token)

        if "client" in wants:
            if not inspect.iscoroutinefunction(handler):
                raise TypeError(f"{handler.__name__}: a handler taking the durable client must be async")

            async def wrapper(req: func.HttpRequest, client: str) -> func.HttpResponse:
                return await run_async(req, {"client": client})

        elif inspect.iscoroutinefunction(handler):

            async def wrapper(req: func.HttpRequest) -> func.HttpResponse:
                return await run_async(req, {})

        else:

            def wrapper(req: func.HttpRequest) -> func.HttpResponse:
                correlation_id = correlation_id_from(req.headers.get(CORRELATION_HEADER))
                token = bind(correlation_id)
                try:
                    with _span(req, correlation_id):
                        return finish(req, _to_response(handler(req, **prepare(req))), correlation_id)
                except Exception as error:  # noqa: BLE001 - every failure becomes a problem response
                    return finish(req, _problem_from(error), correlation_id)
                finally:
                    unbind(token)

        # No functools.wraps: it would expose the handler's (req, principal) signature to the Functions worker.
        wrapper.__name__ = handler.__name__
        wrapper.__qualname__ = handler.__qualname__
        wrapper.__doc__ = handler.__doc__
        wrapper.__module__ = handler.__module__
        wrapper.__api_operation__ = operation  # type: ignore[attr-defined]
        return wrapper

    return decorate
