"""The Entra ID stand-in's HTTP endpoints (mounted at /entra by sandbox.app).

GET  /{tenant}/v2.0/.well-known/openid-configuration   OpenID metadata (what MSAL and validators read)
GET  /{tenant}/discovery/v2.0/keys                      JWKS: every published signing key
POST /{tenant}/oauth2/v2.0/token                        client_credentials (secret or client assertion)
POST /_sandbox/users/token                              test aid: a signed user token for given claims
POST /_sandbox/keys/rotate                              test aid: publish and sign with a new key
"""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

from aiohttp import web

from sandbox.config import SandboxConfig
from sandbox.identity.clients import DEFAULT_CLIENT_SECRET, ClientError, authenticate
from sandbox.identity.keys import active_key, ensure_signing_key, jwks, rotate_signing_key
from sandbox.identity.tokens import (
    DEFAULT_LIFETIME,
    app_token_claims,
    base_url_file,
    issuer_for,
    mint_user_token,
    sign,
)

_TENANT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,99}$")
# Application permissions the sandbox grants every client: exactly what infra/scripts/grant-graph-roles.sh grants
# Greenlight's identity in a tenant (greenlight/graph/permissions.py; a test keeps the two equal), so the local
# stack proves those grants suffice.
DEFAULT_APP_ROLES = (
    "DeviceManagementApps.ReadWrite.All",
    "DeviceManagementManagedDevices.Read.All",
    "Group.Create",
    "GroupMember.ReadWrite.All",
    "User.Read.All",
)

CONFIG = web.AppKey("config", SandboxConfig)


def _config(request: web.Request) -> SandboxConfig:
    return request.app[CONFIG]


def _tenant(request: web.Request) -> str:
    tenant = request.match_info["tenant"]
    if not _TENANT.match(tenant):
        raise _oauth_error("invalid_tenant", f"AADSTS90002: Tenant '{tenant}' not found.", 400)
    return tenant


def _oauth_error(error: str, description: str, status: int) -> web.HTTPException:
    body = {
        "error": error,
        "error_description": description,
        "error_codes": [int(m) for m in re.findall(r"AADSTS(\d+)", description)[:1]],
        "timestamp": time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime()),
        "trace_id": str(uuid.uuid4()),
        "correlation_id": str(uuid.uuid4()),
    }
    return _json_exception(status, body)


def _json_exception(status: int, body: dict[str, Any]) -> web.HTTPException:
    exception_type = {400: web.HTTPBadRequest, 401: web.HTTPUnauthorized}.get(status, web.HTTPBadRequest)
    return exception_type(text=json.dumps(body), content_type="application/json")


def _endpoints(config: SandboxConfig, tenant: str) -> dict[str, str]:
    base = config.url("entra", tenant)
    return {
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "jwks_uri": f"{base}/discovery/v2.0/keys",
    }


async def openid_configuration(request: web.Request) -> web.Response:
    config, tenant = _config(request), _tenant(request)
    return web.json_response(
        {
            **_endpoints(config, tenant),
            "issuer": issuer_for(config.base_url, tenant),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "grant_types_supported": ["client_credentials"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "name", "oid", "tid", "roles", "groups"],
            "tenant_region_scope": "WW",
            "cloud_instance_name": "sandbox.local",
        }
    )


async def keys(request: web.Request) -> web.Response:
    _tenant(request)
    return web.json_response(jwks(_config(request).state_dir))


async def token(request: web.Request) -> web.Response:
    config, tenant = _config(request), _tenant(request)
    form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    if form.get("grant_type") != "client_credentials":
        raise _oauth_error(
            "unsupported_grant_type", "AADSTS70003: the sandbox supports grant_type=client_credentials only", 400
        )
    try:
        client_id = authenticate(
            form,
            request.headers.get("Authorization"),
            state_dir=config.state_dir,
            expected_secret=config.options.get("entra_client_secret", DEFAULT_CLIENT_SECRET),
            token_endpoint=_endpoints(config, tenant)["token_endpoint"],
        )
    except ClientError as error:
        raise _oauth_error(error.error, error.description, error.status) from None
    scopes = form.get("scope", "").split()
    if len(scopes) != 1 or not scopes[0].endswith("/.default"):
        raise _oauth_error(
            "invalid_scope", "AADSTS1002012: client_credentials needs exactly one scope ending in /.default", 400
        )
    audience = scopes[0].removesuffix("/.default")
    roles_option = config.options.get("entra_app_roles")
    roles = tuple(r for r in roles_option.split(",") if r) if roles_option is not None else DEFAULT_APP_ROLES
    claims = app_token_claims(
        issuer=issuer_for(config.base_url, tenant),
        tenant_id=tenant,
        client_id=client_id,
        audience=audience,
        roles=roles,
        lifetime=DEFAULT_LIFETIME,
    )
    access_token = sign(claims, active_key(config.state_dir))
    return web.json_response(
        {
            "token_type": "Bearer",
            "expires_in": DEFAULT_LIFETIME - 1,
            "ext_expires_in": DEFAULT_LIFETIME - 1,
            "access_token": access_token,
        },
        headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
    )


async def user_token(request: web.Request) -> web.Response:
    """Local test aid (the sandbox never runs in Azure): mint a user token for the given identity."""
    config = _config(request)
    try:
        body = await request.json()
        if not isinstance(body, dict):
            raise TypeError
        tenant_id, oid, audience = (_text(body[k]) for k in ("tenant_id", "oid", "audience"))
        roles, groups = (_texts(body.get(k, [])) for k in ("roles", "groups"))
        expires_in = body.get("expires_in", DEFAULT_LIFETIME)
        if isinstance(expires_in, bool) or not isinstance(expires_in, int):
            raise TypeError
    except (ValueError, TypeError, KeyError):
        raise _json_exception(400, {"error": "invalid_request", "error_description": _USER_TOKEN_HELP}) from None
    access_token = mint_user_token(
        config.state_dir,
        tenant_id=tenant_id,
        oid=oid,
        name=str(body.get("name", oid)),
        upn=str(body.get("upn", f"{oid}@sandbox.local")),
        audience=audience,
        roles=roles,
        groups=groups,
        issuer=issuer_for(config.base_url, tenant_id),
        expires_in=expires_in,
    )
    return web.json_response({"token_type": "Bearer", "expires_in": expires_in, "access_token": access_token})


def _text(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError
    return value


def _texts(value: object) -> list[str]:
    if not isinstance(value, list):
        raise TypeError
    return [_text(v) for v in value]


_USER_TOKEN_HELP = (
    'POST a JSON object: {"tenant_id", "oid", "audience", optional "name", "upn", "roles": [], "groups": [], '
    '"expires_in"}'
)


async def rotate(request: web.Request) -> web.Response:
    key = rotate_signing_key(_config(request).state_dir)
    return web.json_response({"kid": key.kid})


def create_app(config: SandboxConfig) -> web.Application:
    state_dir = Path(config.state_dir)
    ensure_signing_key(state_dir)
    # mint_user_token in other processes derives the issuer from this file.
    base_url_file(state_dir).write_text(config.base_url)
    app = web.Application()
    app[CONFIG] = config
    app.router.add_get("/{tenant}/v2.0/.well-known/openid-configuration", openid_configuration)
    app.router.add_get("/{tenant}/discovery/v2.0/keys", keys)
    app.router.add_post("/{tenant}/oauth2/v2.0/token", token)
    app.router.add_post("/_sandbox/users/token", user_token)
    app.router.add_post("/_sandbox/keys/rotate", rotate)
    return app
