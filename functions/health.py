"""GET /api/health: settings valid, storage reachable, version. 200 when every component is up, else 503."""

from __future__ import annotations

import asyncio
import logging
import threading

import azure.functions as func

from functions import blueprint, runtime
from functions.auth import JsonResult, api_endpoint
from greenlight import __version__
from greenlight.graph.client import open_graph_client
from greenlight.graph.role_groups import check_trusted_groups
from greenlight.graph.settings import GraphSettings
from greenlight.settings import Environment
from greenlight.storage import StorageAccount, StorageError

log = logging.getLogger("greenlight.api.health")

# A health probe must answer fast even when storage is down: no retries, short timeouts.
_PROBE_OPTIONS = {"retry_total": 0, "connection_timeout": 3, "read_timeout": 5}
_probe: StorageAccount | None = None


def _storage_component() -> dict[str, str]:
    global _probe
    try:
        if _probe is None:
            _probe = StorageAccount.from_settings(runtime.get().settings.storage, **_PROBE_OPTIONS)
        _probe.ping()
    except StorageError as error:
        log.warning("health: storage unreachable: %s", error)
        return {"status": "down", "detail": "table storage is unreachable"}
    return {"status": "up"}


def check_trusted_groups_in_background() -> threading.Thread | None:
    """At start (in Azure): warn in the log when a configured approver/admin group is not role-assignable
    (greenlight/graph/role_groups.py). In a thread, so neither the host's start nor any request waits on Graph."""
    if runtime.settings_error() is not None:
        return None
    settings = runtime.get().settings
    auth = settings.auth
    if settings.environment is not Environment.AZURE or not (auth.approver_group_ids or auth.admin_group_ids):
        return None

    def run() -> None:
        async def check() -> None:
            async with open_graph_client(GraphSettings.from_env()) as graph:
                await check_trusted_groups(graph, auth.approver_group_ids, auth.admin_group_ids)

        try:
            asyncio.run(check())
        except Exception as error:  # noqa: BLE001 - a failed check must never stop the app; it is only a warning
            log.warning("trusted group check could not run: %s", type(error).__name__)

    thread = threading.Thread(target=run, name="greenlight-trusted-group-check", daemon=True)
    thread.start()
    return thread


check_trusted_groups_in_background()


@blueprint.route(route="health", methods=["GET"])
@api_endpoint(response_schema="Health", summary="Service health: settings, storage, version")
def health(req: func.HttpRequest) -> JsonResult:
    components: dict[str, dict[str, str]] = {}
    error = runtime.settings_error()
    if error is not None:
        # The log has the full message; an anonymous endpoint only says that something is wrong.
        components["settings"] = {"status": "down", "detail": "settings are invalid; see the log"}
        components["storage"] = {"status": "down", "detail": "not checked: settings are invalid"}
    else:
        components["settings"] = {"status": "up"}
        components["storage"] = _storage_component()
    up = all(c["status"] == "up" for c in components.values())
    body = {"status": "ok" if up else "down", "version": __version__, "components": components}
    return JsonResult(body, status=200 if up else 503, headers={"Cache-Control": "no-store"})
