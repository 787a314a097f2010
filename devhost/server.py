"""Build and run the devhost aiohttp application for one FunctionApp: HTTP triggers under `/api/`,
`/admin/host/ping`, and - when the app has orchestrators or storage is configured - the durable runtime
with the extension's management API."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from devhost.durable.client_binding import client_binding
from devhost.durable.clock import Clock, RealClock
from devhost.durable.engine import EngineOptions
from devhost.durable.http_api import ManagementApi
from devhost.durable.runtime import DurableRuntime
from devhost.durable.settings import DurableSettings
from devhost.durable.store import DurableStore
from devhost.function_index import FunctionIndex, index_app, load_app
from devhost.host_json import read_host_json
from devhost.http_host import MAX_REQUEST_BYTES, HttpHost

log = logging.getLogger("devhost")


class DevhostConfigError(RuntimeError):
    """devhost cannot serve this app with these settings (message names the setting)."""


async def _ping(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def create_runtime(
    index: FunctionIndex, settings: DurableSettings, clock: Clock | None = None
) -> DurableRuntime | None:
    """The durable runtime for this app, or None when it has no orchestrators and no storage is configured."""
    if settings.storage_connection is None:
        if index.by_trigger("orchestrationTrigger"):
            raise DevhostConfigError("AzureWebJobsStorage must be set: the app has orchestrator functions")
        return None
    store = DurableStore(settings.storage_connection, settings.table_name)
    return DurableRuntime(
        index,
        store,
        clock or RealClock(),
        max_concurrent_activities=settings.max_concurrent_activities,
        options=EngineOptions(long_timers=settings.long_timers),
    )


def build_application(
    index: FunctionIndex, runtime: DurableRuntime | None = None, task_hub: str = "TestHubName"
) -> web.Application:
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app.router.add_get("/admin/host/ping", _ping)
    binding = None
    if runtime is not None:
        ManagementApi(runtime, task_hub).add_routes(app)

        def binding(request: web.Request) -> str:
            return client_binding(f"{request.scheme}://{request.host}", task_hub)

        async def lifecycle(_: web.Application) -> AsyncIterator[None]:
            await runtime.start()
            yield
            await runtime.stop()

        app.cleanup_ctx.append(lifecycle)
    HttpHost(index, client_binding=binding).add_routes(app)
    return app


def serve(app_spec: str, host: str, port: int) -> None:
    host_json = read_host_json(Path.cwd())
    index = index_app(load_app(app_spec), route_prefix=host_json.route_prefix)
    settings = DurableSettings.from_env(host=host_json)
    runtime = create_runtime(index, settings)
    log.info(
        "devhost: %d functions from %s (durable runtime %s)",
        len(index.functions),
        app_spec,
        f"on task hub {settings.task_hub}" if runtime else "off",
    )
    web.run_app(build_application(index, runtime, settings.task_hub), host=host, port=port, print=None, access_log=None)
