"""GET /api/health: settings valid, storage reachable, version. 200 when every component is up, else 503."""

from __future__ import annotations

import logging

import azure.functions as func

from functions import blueprint, runtime
from functions.auth import JsonResult, api_endpoint
from greenlight import __version__
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
