"""Claims and signing of the sandbox's access tokens (Entra v2.0 access-token shape, RS256)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import jwt

from sandbox.identity.keys import SigningKey, active_key

DEFAULT_LIFETIME = 3600
# A stable namespace so one client id always maps to the same service-principal object id.
_SP_NAMESPACE = uuid.UUID("6f1c1f0e-9b7e-4e53-9d4e-5a1a0c2b7e11")


def issuer_for(base_url: str, tenant_id: str) -> str:
    """The `iss` of every sandbox token: the v2.0 issuer under the sandbox's /entra prefix."""
    return f"{base_url.rstrip('/')}/entra/{tenant_id}/v2.0"


def base_url_file(state_dir: Path) -> Path:
    return Path(state_dir) / "entra" / "base_url"


def read_base_url(state_dir: Path) -> str:
    path = base_url_file(state_dir)
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; start the sandbox first or pass issuer=")
    return path.read_text().strip()


def service_principal_id(client_id: str) -> str:
    return str(uuid.uuid5(_SP_NAMESPACE, client_id))


def sign(claims: Mapping[str, Any], key: SigningKey, *, kid: str | None = None) -> str:
    return jwt.encode(dict(claims), key.private_key, algorithm="RS256", headers={"kid": kid or key.kid, "typ": "JWT"})


def app_token_claims(
    *, issuer: str, tenant_id: str, client_id: str, audience: str, roles: Iterable[str], lifetime: int
) -> dict[str, Any]:
    now = int(time.time())
    sp = service_principal_id(client_id)
    return {
        "aud": audience,
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "tid": tenant_id,
        "oid": sp,
        "sub": sp,
        "azp": client_id,
        "appid": client_id,
        "idtyp": "app",
        "roles": sorted(set(roles)),
        "ver": "2.0",
        "uti": uuid.uuid4().hex,
    }


def mint_user_token(
    state_dir: Path | str,
    *,
    tenant_id: str,
    oid: str,
    name: str,
    upn: str,
    audience: str,
    roles: Iterable[str] = (),
    groups: Iterable[str] = (),
    issuer: str | None = None,
    expires_in: int = DEFAULT_LIFETIME,
    not_before: int | None = None,
    scopes: Iterable[str] = ("access_as_user",),
    client_id: str = "sandbox-client",
    extra_claims: Mapping[str, Any] | None = None,
    signing_key: SigningKey | None = None,
    kid: str | None = None,
) -> str:
    """A delegated (user) access token signed with the sandbox's current key, as Entra would issue it for `audience`.

    `expires_in` may be negative (an expired token); `signing_key`/`kid` let tests sign with a key the sandbox does
    not publish. `issuer` defaults to the running sandbox's issuer for `tenant_id`.
    """
    state = Path(state_dir)
    now = int(time.time())
    claims: dict[str, Any] = {
        "aud": audience,
        "iss": issuer or issuer_for(read_base_url(state), tenant_id),
        "iat": now,
        "nbf": now if not_before is None else not_before,
        "exp": now + expires_in,
        "tid": tenant_id,
        "oid": oid,
        "sub": str(uuid.uuid5(_SP_NAMESPACE, f"{oid}:{client_id}")),
        "name": name,
        "preferred_username": upn,
        "upn": upn,
        "azp": client_id,
        "scp": " ".join(scopes),
        "idtyp": "user",
        "ver": "2.0",
        "uti": uuid.uuid4().hex,
    }
    if roles:
        claims["roles"] = list(roles)
    if groups:
        claims["groups"] = list(groups)
    claims.update(extra_claims or {})
    return sign(claims, signing_key or active_key(state), kid=kid)
