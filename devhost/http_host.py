"""Serve a FunctionApp's HTTP triggers over aiohttp the way the Functions host does."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import azure.functions as func
from aiohttp import web

from devhost.function_index import FunctionIndex, IndexedFunction
from devhost.routes import route_precedence, to_aiohttp_paths

log = logging.getLogger("devhost.http")

# The Functions host accepts up to 100 MB request bodies; the app applies its own, smaller limit.
MAX_REQUEST_BYTES = 100 * 1024 * 1024

ClientBindingFactory = Callable[[web.Request], str]


@dataclass(frozen=True)
class InvocationContext:
    """What the host passes as `context` to a function that asks for one."""

    invocation_id: str
    function_name: str
    function_directory: str = "."
    trace_context: Any = None
    retry_context: Any = None


class HttpHost:
    """Routes `/{prefix}/{route}` to the indexed HTTP-triggered functions."""

    def __init__(self, index: FunctionIndex, client_binding: ClientBindingFactory | None = None) -> None:
        self._index = index
        self._client_binding = client_binding

    def add_routes(self, app: web.Application) -> None:
        functions = sorted(self._index.http_functions(), key=lambda f: route_precedence(f.route or ""))
        for function in functions:
            handler = functools.partial(self._invoke, function)
            for path in to_aiohttp_paths(self._index.route_prefix, function.route or function.name):
                for method in function.methods or ("*",):
                    app.router.add_route(method, path, handler)

    async def _invoke(self, function: IndexedFunction, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        http_request = func.HttpRequest(
            method=request.method,
            url=str(request.url),
            headers=dict(request.headers),
            params=dict(request.query),
            route_params=dict(request.match_info),
            body=body,
        )
        kwargs: dict[str, Any] = {function.trigger_param: http_request}
        client = function.binding_of_type("durableClient")
        if client is not None:
            if self._client_binding is None:
                return _host_error(500, f"{function.name} needs a durable client but devhost has no runtime")
            kwargs[client["name"]] = self._client_binding(request)
        if function.accepts_parameter("context"):
            kwargs["context"] = InvocationContext(str(uuid.uuid4()), function.name)
        try:
            if function.is_async:
                response = await function.user_function(**kwargs)
            else:
                loop = asyncio.get_running_loop()
                response = await loop.run_in_executor(None, functools.partial(function.user_function, **kwargs))
        except Exception:  # the real host answers 500 with no body; the log keeps the traceback
            log.exception("function %s raised", function.name)
            return _host_error(500, "Internal Server Error")
        return _to_aiohttp(response)


def _to_aiohttp(response: Any) -> web.Response:
    if response is None:
        return web.Response(status=204)
    if not isinstance(response, func.HttpResponse):
        return web.Response(status=200, text=str(response))
    headers = dict(response.headers)
    if "content-type" not in {k.lower() for k in headers} and response.mimetype:
        charset = f"; charset={response.charset}" if response.charset else ""
        headers["Content-Type"] = f"{response.mimetype}{charset}"
    return web.Response(status=response.status_code, body=response.get_body(), headers=headers)


def _host_error(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=json.dumps({"error": message}), content_type="application/json")
