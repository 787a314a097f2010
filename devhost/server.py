"""Build and run the devhost aiohttp application for one FunctionApp."""

from __future__ import annotations

import logging

from aiohttp import web

from devhost.function_index import FunctionIndex, index_app, load_app
from devhost.http_host import MAX_REQUEST_BYTES, HttpHost

log = logging.getLogger("devhost")


async def _ping(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def build_application(index: FunctionIndex) -> web.Application:
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app.router.add_get("/admin/host/ping", _ping)
    HttpHost(index).add_routes(app)
    return app


def serve(app_spec: str, host: str, port: int) -> None:
    index = index_app(load_app(app_spec))
    log.info("devhost: %d functions from %s", len(index.functions), app_spec)
    web.run_app(build_application(index), host=host, port=port, print=None, access_log=None)
