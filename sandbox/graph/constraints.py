"""Intune's publishing limits and Multi Admin Approval, as the sandbox plays them (switches in store.Faults)."""

from __future__ import annotations

from aiohttp import web

from sandbox.graph.common import Context, GraphError, context

APPS_READ = ("DeviceManagementApps.Read.All", "DeviceManagementApps.ReadWrite.All")


def approval(ctx: Context, what: str) -> None:
    """Multi Admin Approval (fault switch): Intune answers 403 ApprovalRequired until a second admin approves."""
    if ctx.tenant.faults.approval_required:
        raise GraphError(
            403,
            "ApprovalRequired",
            f"{what} is protected by Multi Admin Approval: a request for approval was created; "
            "the change happens once another administrator approves it.",
        )


async def publishing_constraints(request: web.Request) -> web.Response:
    ctx = context(request)
    ctx.require(*APPS_READ)
    if not ctx.beta:
        raise GraphError(400, "BadRequest", "getPublishingConstraints is available on beta only")
    limit = ctx.tenant.faults.max_content_bytes
    return web.json_response(
        {
            "@odata.context": f"{ctx.base}/$metadata#microsoft.graph.mobileAppPublishingConstraints",
            "@odata.type": "#microsoft.graph.mobileAppPublishingConstraints",
            "win32LobAppConstraints": {
                "@odata.type": "microsoft.graph.win32LobAppPublishingConstraints",
                "maxContentFileSizeInBytes": limit,
            },
        }
    )
