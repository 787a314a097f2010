"""The Graph/Intune stand-in: wiring, bearer-token checks, fault switches and the test control endpoints.

Mounted at /graph:
  /graph/{v1.0|beta}/deviceAppManagement/mobileApps/...   apps, content versions, files, commit, assign (apps.py)
  /graph/{v1.0|beta}/groups/...                           groups and members (groups.py)
  /graph/_blob/...                                        SAS block-blob endpoint for content uploads (blob.py)
  /graph/{beta}/deviceAppManagement/mobileApps/getPublishingConstraints()   Win32 content size limit
  /graph/_sandbox/faults   POST {"tenant": ..., switch: value, ...}   turn fault switches on for one tenant
                           (store.Faults: throttling, 503s, dropped blocks, SAS lifetime, commit failure,
                           Multi Admin Approval, the fresh-SAS 403 and uncommitted-first-version 400 quirks)
  /graph/_sandbox/state    GET ?tenant=...                            everything the tenant holds (for assertions)
Tokens: RS256 access tokens from the sandbox's Entra stand-in (same process, same signing keys), audience
https://graph.microsoft.com, issuer {sandbox}/entra/{tid}/v2.0; the app roles in `roles` gate each call.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import jwt
from aiohttp import web

from sandbox.config import SandboxConfig
from sandbox.graph import apps, devices, groups
from sandbox.graph import directory as directory_routes
from sandbox.graph.blob import BlobService
from sandbox.graph.common import Context, GraphError, error_body
from sandbox.graph.store import Faults, Store, Tenant

AUDIENCES = ("https://graph.microsoft.com", "00000003-0000-0000-c000-000000000000")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _signing_keys(config: SandboxConfig) -> jwt.PyJWKSet:
    from sandbox.identity.keys import jwks  # the Entra stand-in's published keys (its JWKS document)

    return jwt.PyJWKSet.from_dict(jwks(config.state_dir))


def _authenticate(request: web.Request, config: SandboxConfig) -> dict[str, Any]:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        raise GraphError(401, "InvalidAuthenticationToken", "Access token is empty.")
    token = header.removeprefix("Bearer ").strip()
    try:
        kid = jwt.get_unverified_header(token).get("kid")
        key = next((k for k in _signing_keys(config).keys if k.key_id == kid), None)
        if key is None:
            raise GraphError(401, "InvalidAuthenticationToken", "Access token signing key is unknown.")
        claims = jwt.decode(
            token,
            key.key,
            algorithms=["RS256"],
            audience=list(AUDIENCES),
            options={"require": ["exp", "iss", "aud", "tid"]},
        )
    except jwt.ExpiredSignatureError:
        raise GraphError(
            401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired."
        ) from None
    except jwt.PyJWTError as error:
        raise GraphError(401, "InvalidAuthenticationToken", f"Access token validation failure: {error}") from None
    if claims["iss"] != f"{config.base_url}/entra/{claims['tid']}/v2.0":
        raise GraphError(401, "InvalidAuthenticationToken", "Access token issuer is not trusted.")
    return claims


def create_app(config: SandboxConfig) -> web.Application:
    store = Store(config.state_dir / "graph-blobs", state_dir=config.state_dir / "graph-state")
    store.blob_dir.mkdir(parents=True, exist_ok=True)
    store.load()

    def faults_for_blob(blob_key: str) -> Faults | None:
        tenant = store.tenants.get(blob_key.split("/", 1)[0])
        return tenant.faults if tenant else None

    blobs = BlobService(store.blob_dir, faults_for_blob)
    blobs.on_change = store.save

    @web.middleware
    async def graph_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        path = request.path.removeprefix("/graph")
        if path.startswith("/_blob/") or path.startswith("/_sandbox/"):
            return await handler(request)
        request_id = str(uuid.uuid4())
        client_request_id = request.headers.get("client-request-id")
        ids = {"request-id": request_id, "client-request-id": client_request_id or request_id}
        try:
            claims = _authenticate(request, config)
            tenant = store.tenant(claims["tid"])
            faults = tenant.faults
            faults.calls += 1
            if faults.throttle_every and faults.calls % faults.throttle_every == 0:
                raise GraphError(
                    429,
                    "TooManyRequests",
                    "Too many requests (sandbox fault switch).",
                    headers={"Retry-After": str(faults.retry_after_seconds)},
                )
            if faults.unavailable_every and faults.calls % faults.unavailable_every == 0:
                raise GraphError(503, "ServiceUnavailable", "Service unavailable (sandbox fault switch).")
            version = request.match_info.get("version", "v1.0")
            request["graph_context"] = _context(tenant, claims, version, config)
            try:
                response = await handler(request)
            finally:
                if request.method != "GET":
                    store.save(tenant)
        except GraphError as error:
            body = error_body(error.code, error.message, request_id, client_request_id)
            return web.json_response(body, status=error.status_code, headers={**ids, **error.extra_headers})
        except web.HTTPNotFound:
            body = error_body("BadRequest", f"Resource not found for the segment '{path}'.", request_id, None)
            return web.json_response(body, status=400, headers=ids)
        response.headers.update(ids)
        return response

    app = web.Application(middlewares=[graph_middleware], client_max_size=4 * 1024 * 1024)
    app["graph_store"] = store
    app["graph_blobs"] = blobs
    app["graph_base_url"] = config.base_url
    apps.add_routes(app)
    groups.add_routes(app)
    directory_routes.add_routes(app)  # managers, transitive members, checkMemberGroups (policies)
    devices.add_routes(app)  # users' managed devices (the requester's architecture)
    app.router.add_route("*", "/_blob/{key:.+}", blobs.handle)
    app.router.add_post("/_sandbox/faults", _set_faults)
    app.router.add_get("/_sandbox/state", _state)
    return app


def _context(tenant: Tenant, claims: dict[str, Any], version: str, config: SandboxConfig) -> Context:
    return Context(tenant, frozenset(claims.get("roles", [])), version, f"{config.base_url}/graph/{version}")


async def _set_faults(request: web.Request) -> web.Response:
    """Local test aid: switch faults on for one tenant (the tenant id is the token's `tid`)."""
    try:
        body = json.loads(await request.read())
        tenant = request.app["graph_store"].tenant(str(body.pop("tenant")))
        tenant.faults = Faults()
        tenant.faults.update(body)
        request.app["graph_store"].save(tenant)
    except (ValueError, KeyError, TypeError) as error:
        return web.json_response({"error": str(error)}, status=400)
    return web.json_response({"tenant": tenant.id, "faults": vars(tenant.faults)})


async def _state(request: web.Request) -> web.Response:
    tenant_id = request.query.get("tenant")
    if not tenant_id:
        return web.json_response({"error": "tenant is required"}, status=400)
    return web.json_response(request.app["graph_store"].tenant(tenant_id).summary())
