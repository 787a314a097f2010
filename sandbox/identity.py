"""Placeholder until this service's issue lands: an empty sub-application."""

from aiohttp import web

from sandbox.config import SandboxConfig


def create_app(config: SandboxConfig) -> web.Application:
    return web.Application()
