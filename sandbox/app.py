"""Compose the sandbox's sub-applications into one aiohttp application."""

from __future__ import annotations

from aiohttp import web

from sandbox import graph, identity, winget_cdn
from sandbox.config import SandboxConfig


async def _health(_: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "services": ["entra", "graph", "winget"]})


def create_app(config: SandboxConfig) -> web.Application:
    app = web.Application(client_max_size=64 * 1024 * 1024)
    app["config"] = config
    app.router.add_get("/health", _health)
    app.add_subapp("/entra", identity.create_app(config))
    app.add_subapp("/graph", graph.create_app(config))
    app.add_subapp("/winget", winget_cdn.create_app(config))
    return app
