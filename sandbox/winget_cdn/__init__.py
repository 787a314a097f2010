"""WinGet CDN stand-in (see server.py)."""

from sandbox.winget_cdn.server import create_app

__all__ = ["create_app"]
