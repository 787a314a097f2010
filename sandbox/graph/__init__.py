"""Microsoft Graph / Intune stand-in (see app.py for the routes)."""

from sandbox.graph.app import create_app

__all__ = ["create_app"]
