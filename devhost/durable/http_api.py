"""The Durable extension's HTTP management API (HttpApiHandler.cs), served twice like the extension does:
under `/runtime/webhooks/durabletask/` (the public webhook URLs `create_check_status_response` hands out)
and under `/durabletask/` (the `rpcBaseUrl` that `DurableOrchestrationClient` calls).

Status codes follow reference §5.3 so the unmodified Python client reads them. Errors are
`application/problem+json` that also carry the extension's `Message` / `ExceptionMessage` keys, which the
client reads.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from devhost.durable import history as h
from devhost.durable.client_binding import RPC_PATH, WEBHOOK_PATH, management_urls
from devhost.durable.errors import (
    DurableError,
    InstanceAlreadyExists,
    InstanceFinished,
    InstanceNotFound,
    InvalidRequest,
    UnknownOrchestrator,
)
from devhost.durable.runtime import DurableRuntime
from devhost.durable.state import InstanceState, RuntimeStatus

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_ERROR_STATUS: dict[type[DurableError], tuple[int, str]] = {
    UnknownOrchestrator: (400, "Unknown orchestrator"),
    InvalidRequest: (400, "Invalid request"),
    InstanceNotFound: (404, "Instance not found"),
    InstanceAlreadyExists: (409, "Instance already exists"),
    InstanceFinished: (410, "Instance is finished"),
}


def problem(status: int, title: str, detail: str) -> web.Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail,
            "Message": detail, "ExceptionMessage": detail}  # fmt: skip
    return web.Response(status=status, text=json.dumps(body), content_type="application/problem+json")


def _guarded(handler: Handler) -> Handler:
    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except DurableError as exc:
            status, title = _ERROR_STATUS.get(type(exc), (400, "Invalid request"))
            if status == 404:
                return web.Response(status=404)  # the client treats an empty 404 body as "no such instance"
            return problem(status, title, str(exc))

    return wrapper


class ManagementApi:
    def __init__(self, runtime: DurableRuntime, task_hub: str) -> None:
        self._runtime = runtime
        self._hub = task_hub

    def add_routes(self, app: web.Application) -> None:
        for prefix in (WEBHOOK_PATH, RPC_PATH):
            routes = [
                ("POST", "/orchestrators/{name}", self.start),
                ("POST", "/orchestrators/{name}/{instance_id}", self.start),
                ("GET", "/instances", self.list_instances),
                ("GET", "/instances/", self.list_instances),
                ("DELETE", "/instances", self.purge_many),
                ("DELETE", "/instances/", self.purge_many),
                ("GET", "/instances/{instance_id}", self.status),
                ("DELETE", "/instances/{instance_id}", self.purge),
                ("POST", "/instances/{instance_id}/raiseEvent/{event}", self.raise_event),
                ("POST", "/instances/{instance_id}/terminate", self.terminate),
                ("POST", "/instances/{instance_id}/suspend", self.suspend),
                ("POST", "/instances/{instance_id}/resume", self.resume),
                ("POST", "/instances/{instance_id}/rewind", self.not_supported),
                ("POST", "/instances/{instance_id}/restart", self.restart),
            ]
            for method, path, handler in routes:
                app.router.add_route(method, prefix + path, _guarded(handler))

    # ------------------------------------------------------------------ handlers

    async def start(self, request: web.Request) -> web.Response:
        input_token = await _body_token(request)
        instance_id = request.match_info.get("instance_id")
        if instance_id is not None:
            _check_instance_id(instance_id)
        instance_id = await self._runtime.start_new(request.match_info["name"], instance_id, input_token)
        payload = management_urls(_origin(request), self._hub, instance_id)
        headers = {"Location": payload["statusQueryGetUri"], "Retry-After": "10"}
        return web.json_response(payload, status=202, headers=headers)

    async def status(self, request: web.Request) -> web.Response:
        show_history = _flag(request, "showHistory", False)
        show_output = _flag(request, "showHistoryOutput", False)
        state = await self._runtime.get(request.match_info["instance_id"], with_history=show_history)
        if state is None:
            raise InstanceNotFound(request.match_info["instance_id"])
        body = status_payload(state, _flag(request, "showInput", True), show_history, show_output)
        if state.status in (RuntimeStatus.PENDING, RuntimeStatus.RUNNING, RuntimeStatus.SUSPENDED,
                            RuntimeStatus.CONTINUED_AS_NEW):  # fmt: skip
            location = management_urls(_origin(request), self._hub, state.instance_id)["statusQueryGetUri"]
            return web.json_response(body, status=202, headers={"Location": location, "Retry-After": "10"})
        failed = state.status is RuntimeStatus.FAILED
        status = 500 if failed and _flag(request, "returnInternalServerErrorOnFailure", False) else 200
        return web.json_response(body, status=status)

    async def list_instances(self, request: web.Request) -> web.Response:
        records = await self._filtered(request)
        show_input = _flag(request, "showInput", False)
        return web.json_response([status_payload(r, show_input, False, False) for r in records])

    async def purge(self, request: web.Request) -> web.Response:
        deleted = await self._runtime.purge(request.match_info["instance_id"])
        if not deleted:
            return web.Response(status=404)
        return web.json_response({"instancesDeleted": deleted})

    async def purge_many(self, request: web.Request) -> web.Response:
        if "createdTimeFrom" not in request.query:
            raise InvalidRequest("createdTimeFrom is required to purge instances in bulk")
        records = [r for r in await self._filtered(request) if r.status.is_terminal]
        deleted = await self._runtime.purge_many(records)
        if not deleted:
            return web.Response(status=404)
        return web.json_response({"instancesDeleted": deleted})

    async def raise_event(self, request: web.Request) -> web.Response:
        if request.can_read_body and request.content_type not in ("application/json", ""):
            raise InvalidRequest("Only application/json request content is supported")
        token = await _body_token(request)
        # The extension parses the body once and stores JToken.ToString() (reference §5.4, SDK issue #295).
        await self._runtime.raise_event(request.match_info["instance_id"], request.match_info["event"], token)
        return web.Response(status=202)

    async def terminate(self, request: web.Request) -> web.Response:
        await self._runtime.terminate(request.match_info["instance_id"], request.query.get("reason"))
        return web.Response(status=202)

    async def suspend(self, request: web.Request) -> web.Response:
        await self._runtime.suspend(request.match_info["instance_id"], request.query.get("reason"))
        return web.Response(status=202)

    async def resume(self, request: web.Request) -> web.Response:
        await self._runtime.resume(request.match_info["instance_id"], request.query.get("reason"))
        return web.Response(status=202)

    async def restart(self, request: web.Request) -> web.Response:
        """A new run of the same orchestrator with the same input (a new id unless told otherwise)."""
        new_id = _flag(request, "restartWithNewInstanceId", True)
        instance_id = await self._runtime.restart(request.match_info["instance_id"], new_id)
        return web.json_response(instance_id, status=202)

    async def not_supported(self, request: web.Request) -> web.Response:
        return problem(501, "Not implemented", "devhost does not implement rewind")

    async def _filtered(self, request: web.Request) -> list[InstanceState]:
        query = request.query
        statuses = None
        if query.get("runtimeStatus"):
            try:
                statuses = [RuntimeStatus(s.strip()) for s in query["runtimeStatus"].split(",") if s.strip()]
            except ValueError:
                allowed = ", ".join(s.value for s in RuntimeStatus)
                raise InvalidRequest(f"runtimeStatus must be a comma-separated list of: {allowed}") from None
        return await self._runtime.list(
            statuses,
            _time(query.get("createdTimeFrom"), "createdTimeFrom"),
            _time(query.get("createdTimeTo"), "createdTimeTo"),
            query.get("instanceIdPrefix") or None,
        )


def status_payload(state: InstanceState, show_input: bool, show_history: bool, show_output: bool) -> dict[str, Any]:
    """StatusResponsePayload.cs."""
    body: dict[str, Any] = {
        "name": state.name,
        "instanceId": state.instance_id,
        "runtimeStatus": str(state.status),
        "input": _loads(state.input_token) if show_input else None,
        "customStatus": _loads(state.custom_status),
        "output": _loads(state.output),
        "createdTime": _seconds(state.created_time),
        "lastUpdatedTime": _seconds(state.last_updated_time),
    }
    if show_history:
        body["historyEvents"] = h.status_view(state.history, show_output)
    return body


async def _body_token(request: web.Request) -> str | None:
    raw = await request.read()
    if not raw.strip():
        return None
    try:
        return json.dumps(json.loads(raw))
    except ValueError:
        raise InvalidRequest("The request body must be JSON") from None


def _check_instance_id(instance_id: str) -> None:
    if (
        not instance_id
        or len(instance_id) > 256
        or any(c in instance_id for c in "/\\#?")
        or not instance_id.isprintable()
    ):
        raise InvalidRequest("Instance ids must be 1-256 printable characters without / \\ # ?")


def _flag(request: web.Request, name: str, default: bool) -> bool:
    value = request.query.get(name)
    return default if value is None else value.lower() in ("true", "1", "yes")


def _time(value: str | None, name: str) -> Any:
    if not value:
        return None
    try:
        return h.parse_timestamp(value)
    except ValueError:
        raise InvalidRequest(f"{name} must be an ISO 8601 UTC timestamp") from None


def _origin(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _seconds(timestamp: str) -> str:
    return timestamp[:19] + "Z"
